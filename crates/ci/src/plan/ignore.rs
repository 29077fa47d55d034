//! The build context's `.dockerignore`: what the engine leaves out of the context the image
//! is built from leaves the scope too, so a change only there deploys nothing and the
//! fingerprint does not hash it (topo-sim and `topo build` send contexts by the same rules).

use topo_core::dockerignore::DockerIgnore;
use topo_core::valid::Service;

use super::{PlanError, Planner};
use crate::repo::join;
use crate::scope::Scope;

impl Planner<'_> {
    /// `scope` (of the image `owner` builds) without what its context's `.dockerignore` at
    /// head leaves out; unchanged, with a note, when the file does not parse (the engine
    /// refuses the build then, so nothing is left out for it).
    pub(super) fn dockerignore(
        &mut self,
        owner: &Service,
        scope: Scope,
    ) -> Result<Scope, PlanError> {
        let path = join(&self.context_of(owner), ".dockerignore");
        let Some(entry) = self
            .repo
            .entry_at(self.head_tree, &path)?
            .filter(|e| !e.is_tree())
        else {
            return Ok(scope);
        };
        let bytes = self
            .repo
            .read_file(self.head_tree, &path)?
            .unwrap_or_default();
        match DockerIgnore::parse(&String::from_utf8_lossy(&bytes)) {
            Ok(rules) => {
                Ok(scope.with_dockerignore(rules, &entry.id.to_string(), &owner.build.dockerfile))
            }
            Err(why) => {
                let note = format!(
                    "{path} cannot be read ({why}): the files it names stay in the scope of `{}`, as a build would fail on it",
                    owner.role.as_str()
                );
                if !self.notes.contains(&note) {
                    self.notes.push(note);
                }
                Ok(scope)
            }
        }
    }
}
