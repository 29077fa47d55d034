//! A service's scope and what changed in it: the scope made once per plan, the diff of each
//! of its roots made once per base for every service sharing the root, and the changed
//! files sorted into the service's own, its workspace dependencies', excluded and outside.
//!
//! What the build context's `.dockerignore` leaves out is taken from the scope only when a
//! root changed or a fingerprint is computed (`image_scope`): reading it means reading the
//! context's tree, which a plan of an unchanged service otherwise never does.

use std::rc::Rc;

use topo_core::valid::Service;

use super::{Found, PlanError, Planner, RootDiff};
use crate::scope::{Match, Scope};

impl Planner<'_> {
    /// The scope of the image `owner` builds, made once per plan, before `.dockerignore`:
    /// its roots, and every path it can hold.
    pub(super) fn scope(&mut self, owner: &Service) -> Result<Rc<Scope>, PlanError> {
        if let Some(scope) = self.scopes.get(owner.role.as_str()) {
            return Ok(scope.clone());
        }
        let deps = self.image_deps(owner)?;
        let scope = Scope::of(&self.request.topology.ci, owner, self.prefix)?;
        let mut scope = scope.with_workspace(deps.packages.clone());
        if let Some(outside) = &deps.outside {
            scope = scope.with_named_package(outside.clone());
        }
        let scope = Rc::new(scope);
        self.deps.note_hidden_manifests(&deps, &scope);
        self.scopes.insert(owner.role.to_string(), scope.clone());
        Ok(scope)
    }

    /// The scope of the image `owner` builds as the engine gets its context: `scope` less
    /// what its `.dockerignore` at head leaves out (the same roots). Made once per plan.
    pub(super) fn image_scope(&mut self, owner: &Service) -> Result<Rc<Scope>, PlanError> {
        if let Some(scope) = self.image_scopes.get(owner.role.as_str()) {
            return Ok(scope.clone());
        }
        let scope = self.scope(owner)?;
        let scope = match self.dockerignore(owner)? {
            Some((rules, id, _)) => {
                let dockerfile = &owner.build.dockerfile;
                Rc::new(Scope::clone(&scope).with_dockerignore(rules, &id, dockerfile))
            }
            None => scope,
        };
        self.image_scopes
            .insert(owner.role.to_string(), scope.clone());
        Ok(scope)
    }

    /// The files of the scope of the image `owner` builds that differ between `base` and
    /// head.
    pub(super) fn diff(
        &mut self,
        base: gix::ObjectId,
        owner: &Service,
    ) -> Result<Found, PlanError> {
        let base_tree = self.repo.tree_of(base)?;
        let mut changed = Vec::new();
        for root in self.scope(owner)?.roots() {
            changed.push(self.root_diff(base_tree, root)?.2);
        }
        let mut found = Found::default();
        if changed.iter().all(|changes| changes.is_empty()) {
            return Ok(found);
        }
        let scope = self.image_scope(owner)?;
        for change in changed.iter().flat_map(|changes| changes.iter()) {
            match scope.classify(&change.path) {
                Match::Own | Match::Global => found.files.push(change.path.clone()),
                Match::Workspace => {
                    found.files.push(change.path.clone());
                    let package = scope.workspace_package(&change.path).unwrap_or_default();
                    found
                        .workspace
                        .push((package.to_owned(), change.path.clone()));
                }
                Match::Excluded => found.excluded += 1,
                Match::Outside => {}
            }
        }
        found.files.sort();
        found.files.dedup();
        found.workspace.sort();
        found.workspace.dedup();
        Ok(found)
    }

    /// What `root` holds in `base_tree` and at head, and the files that differ under it:
    /// diffed once per plan for every service sharing the root and the base.
    pub(super) fn root_diff(
        &mut self,
        base_tree: gix::ObjectId,
        root: &str,
    ) -> Result<RootDiff, PlanError> {
        let old = self.repo.entry_at(base_tree, root)?;
        let new = self.repo.entry_at(self.head_tree, root)?;
        let key = (root.to_owned(), old, new);
        let changes = match self.diffs.get(&key) {
            Some(changes) => changes.clone(),
            None => {
                let changes = Rc::new(self.repo.diff_at(root, old, new)?);
                self.diffs.insert(key, changes.clone());
                changes
            }
        };
        Ok((old, new, changes))
    }
}
