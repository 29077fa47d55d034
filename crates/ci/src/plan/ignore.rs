//! The build context's `.dockerignore` (or the Dockerfile's own ignore file, which the engine
//! prefers): what the engine leaves out of the context the image
//! is built from leaves the scope too, so a change only there deploys nothing and the
//! fingerprint does not hash it (topo-sim and `topo build` send contexts by the same rules).

use topo_core::dockerignore::{ignore_files, DockerIgnore};
use topo_core::valid::Service;

use super::{PlanError, Planner};
use crate::repo::join;

impl Planner<'_> {
    /// The rules of the ignore file of the image `owner`'s build at head (its Dockerfile's
    /// own, else its context's `.dockerignore`), its blob id and its path; none without the
    /// file, or, with a note, when it does not parse (the engine refuses the build then, so
    /// nothing is left out for it).
    pub(super) fn dockerignore(
        &mut self,
        owner: &Service,
    ) -> Result<Option<(DockerIgnore, String, String)>, PlanError> {
        let context = self.context_of(owner);
        let mut found = None;
        for file in ignore_files(&owner.build.dockerfile) {
            let path = join(&context, &file);
            if let Some(entry) = self.repo.entry_at(self.head_tree, &path)? {
                if !entry.is_tree() {
                    found = Some((path, entry));
                    break;
                }
            }
        }
        let Some((path, entry)) = found else {
            return Ok(None);
        };
        let bytes = self.repo.read_blob(entry.id, &path)?;
        match DockerIgnore::parse(&String::from_utf8_lossy(&bytes)) {
            Ok(rules) => Ok(Some((rules, entry.id.to_string(), path))),
            Err(why) => {
                let note = format!(
                    "{path} cannot be read ({why}): the files it names stay in the scope of `{}`, as a build would fail on it",
                    owner.role.as_str()
                );
                if !self.notes.contains(&note) {
                    self.notes.push(note);
                }
                Ok(None)
            }
        }
    }
}
