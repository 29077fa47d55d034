//! What `patch-package`'s patches add to a plan: the patches of the workspace an image is
//! built in, read from its patch directory at a tree, carried by the closure packages they
//! patch (`lockfile::patches`).

use std::rc::Rc;

use gix::objs::tree::EntryKind;
use gix::ObjectId;

use super::deps::ImageDeps;
use super::{PlanError, Planner};
use crate::lockfile::{patched_package, Patch};

/// A patch directory as committed: its tree, and the patches in it.
pub(super) type Patches = (ObjectId, Rc<Vec<Patch>>);

impl Planner<'_> {
    /// The patches of the workspace of the image `deps` describes at the tree `tree`: `None`
    /// when it uses no `patch-package` or has no patch directory there.
    pub(super) fn patches_of(
        &mut self,
        tree: ObjectId,
        deps: &ImageDeps,
    ) -> Result<Option<Patches>, PlanError> {
        let Some(dir) = &deps.patches else {
            return Ok(None);
        };
        let Some(entry) = self.repo.entry_at(tree, dir)?.filter(|e| e.is_tree()) else {
            return Ok(None);
        };
        let key = (dir.clone(), entry.id);
        if let Some(known) = self.deps.patches.get(&key) {
            return Ok(Some((entry.id, known.clone())));
        }
        let mut patches = Vec::new();
        let prefix = format!("{dir}/");
        self.repo.walk(dir, entry.id, &mut |path, kind, id| {
            let name = path.strip_prefix(&prefix).unwrap_or(path);
            if kind != EntryKind::Tree {
                // A file `patch-package` does not recognise is one it skips (with a warning).
                if let Some(package) = patched_package(name) {
                    let (path, id) = (path.to_owned(), id.to_string());
                    patches.push(Patch { package, path, id });
                }
            }
            true
        })?;
        let patches = Rc::new(patches);
        self.deps.patches.insert(key, patches.clone());
        Ok(Some((entry.id, patches)))
    }

    /// The id of the patch directory of the image `deps` describes at the tree `tree`, if
    /// there is one: what decides whether its patches may differ.
    pub(super) fn patch_dir_id(
        &self,
        tree: ObjectId,
        deps: &ImageDeps,
    ) -> Result<Option<ObjectId>, PlanError> {
        let Some(dir) = &deps.patches else {
            return Ok(None);
        };
        let entry = self.repo.entry_at(tree, dir)?.filter(|e| e.is_tree());
        Ok(entry.map(|e| e.id))
    }
}
