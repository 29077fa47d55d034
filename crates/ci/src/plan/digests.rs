//! The digests a building service's fingerprint is made of: updated from the marker's when
//! it recorded them for the same scope (the scope's files by the diff the decision made
//! already, the closure reused while its inputs are the same), computed from scratch
//! otherwise (no marker, another recipe, another scope, the marker commit not in the
//! clone, a pull-request base).

use topo_core::valid::Service;

use super::{PlanError, Planner};
use crate::fingerprint::{hash_text, Digests, ScopeDigest, RECIPE};
use crate::markers::{Marker, Markers};
use crate::scope::Scope;

impl<'a> Planner<'a> {
    /// The digests of the service `service` (which builds its image) at head.
    pub(super) fn digests_of(
        &mut self,
        service: &Service,
        container: &str,
    ) -> Result<Digests, PlanError> {
        let scope = self.image_scope(service)?;
        let scope_key = hash_text(scope.definition());
        let closure_key = self.closure_key(service)?;
        let recorded = self.recorded(container);
        let from_marker = recorded
            .filter(|(_, digests)| digests.scope_key == scope_key)
            .and_then(|(marker, digests)| {
                Some((
                    self.repo.has_commit(&marker.commit)?,
                    ScopeDigest::from_hex(&digests.scope)?,
                ))
            });
        let scope_digest = match from_marker {
            Some((base, digest)) => self.updated(base, digest, &scope)?,
            None => ScopeDigest::compute(self.repo, self.head_tree, &scope)?,
        };
        let closure = match recorded.filter(|(_, digests)| digests.closure_key == closure_key) {
            Some((_, digests)) => digests.closure.clone(),
            None => self.closure_digest(service)?,
        };
        Ok(Digests {
            recipe: RECIPE.to_owned(),
            scope_key,
            scope: scope_digest.to_hex(),
            closure_key,
            closure,
        })
    }

    /// The marker of `container` and the digests it recorded, when they are of this
    /// recipe.
    pub(super) fn recorded(&self, container: &str) -> Option<(&'a Marker, &'a Digests)> {
        let markers: &'a Markers = self.request.markers;
        markers
            .get(self.request.env, container)
            .and_then(|marker| Some((marker, marker.digests.as_ref()?)))
            .filter(|(_, digests)| digests.recipe == RECIPE)
    }

    /// `digest`, the scope's at `base`, brought to head through the diff of each root.
    fn updated(
        &mut self,
        base: gix::ObjectId,
        mut digest: ScopeDigest,
        scope: &Scope,
    ) -> Result<ScopeDigest, PlanError> {
        let base_tree = self.repo.tree_of(base)?;
        for root in scope.roots() {
            let (old, new, changes) = self.root_diff(base_tree, root)?;
            digest.update(
                self.repo,
                scope,
                root,
                (base_tree, old),
                (self.head_tree, new),
                &changes,
            )?;
        }
        Ok(digest)
    }

    /// What the closure of the image `owner` builds is computed from (the lockfile's path,
    /// format and blob; each package's directory and dependency list; the tree of its
    /// `patch-package` directory), hashed; empty without a lockfile.
    fn closure_key(&mut self, owner: &Service) -> Result<String, PlanError> {
        let deps = self.image_deps(owner)?;
        let Some((path, kind)) = &deps.lockfile else {
            return Ok(String::new());
        };
        let blob = self
            .repo
            .entry_at(self.head_tree, path)?
            .filter(|entry| !entry.is_tree())
            .map(|entry| entry.id.to_string())
            .unwrap_or_default();
        let mut text = format!("lockfile {path} {kind:?} {blob}\n{}", deps.roots_key);
        if let (Some(dir), Some(id)) = (&deps.patches, self.patch_dir_id(self.head_tree, &deps)?) {
            text.push_str(&format!("patches {dir} {id}\n"));
        }
        Ok(hash_text(&text))
    }

    /// The closure of the image `owner` builds at head, hashed; empty without a lockfile.
    pub(super) fn closure_digest(&mut self, owner: &Service) -> Result<String, PlanError> {
        if self.image_deps(owner)?.lockfile.is_none() {
            return Ok(String::new());
        }
        Ok(hash_text(&self.lockfile_key(owner)?))
    }
}
