//! Repair before deploying: what a deploy killed midway (a cancelled CI job) left behind is
//! put right first, and said.
//!
//! A blue-green deploy leaves `<name>-next` (a candidate) and, between its two renames,
//! `<name>-old` without `<name>`; a recreate leaves `<name>-old` (stopped, set aside) with or
//! without a new `<name>`. The rule: whatever was serving keeps serving. A running candidate
//! with no `<name>` had taken the traffic (the proxy switched to it), so the switch is
//! finished; otherwise the candidate goes. A set-aside container goes when `<name>` runs, and
//! is put back when it does not. Renames and restarts come first, then the proxy's routes are
//! written canonical (each service by its own name), and only then is anything removed, so
//! the proxy never points at a container that is gone.

use topo_core::naming;
use topo_core::spec::ContainerKind;

use super::switch::{remove, rename, start, stop, Proxy};
use super::Deployment;
use crate::error::SimError;

impl Deployment<'_> {
    /// Brings the host back to a state a deploy can start from; a note for each repair.
    pub(super) async fn repair(
        &self,
        proxy: Option<&Proxy<'_>>,
        notes: &mut Vec<String>,
    ) -> Result<(), SimError> {
        let mut removals = Vec::new();
        for container in &self.spec.containers {
            if container.kind == ContainerKind::Job {
                // A job has no candidate or set-aside run: an interrupted one is simply run
                // again by the deploy (its exit code decides).
                continue;
            }
            let name = container.name.as_str();
            let next = naming::next_container_name(name);
            let old = naming::old_container_name(name);
            let mut current = self.running(name).await?;
            if let Some(candidate_running) = self.running(&next).await? {
                if current.is_none() && candidate_running {
                    rename(self.engine, &next, name).await?;
                    notes.push(format!(
                        "repaired {name}: a cancelled deploy had switched the proxy to {next} but not renamed it; it now serves as {name}"
                    ));
                    current = Some(true);
                } else {
                    notes.push(format!(
                        "repaired {name}: removed {next}, a candidate a cancelled deploy left"
                    ));
                    removals.push(next);
                }
            }
            if self.running(&old).await?.is_some() {
                match current {
                    Some(true) => {
                        notes.push(format!(
                            "repaired {name}: removed {old}, set aside by a cancelled deploy ({name} serves)"
                        ));
                        removals.push(old);
                    }
                    Some(false) => {
                        remove(self.engine, name).await?;
                        rename(self.engine, &old, name).await?;
                        start(self.engine, name).await?;
                        notes.push(format!(
                            "repaired {name}: a cancelled deploy stopped it for a new container that never ran; the previous one is back"
                        ));
                    }
                    None => {
                        rename(self.engine, &old, name).await?;
                        start(self.engine, name).await?;
                        notes.push(format!(
                            "repaired {name}: a cancelled deploy had set it aside as {old}; it is back"
                        ));
                    }
                }
            }
        }
        if notes.is_empty() {
            return Ok(());
        }
        if let Some(proxy) = proxy {
            proxy.canonical(self.engine).await?;
        }
        for name in removals {
            stop(self.engine, &name).await?;
            remove(self.engine, &name).await?;
        }
        Ok(())
    }

    /// Whether a container exists (`Some`) and runs.
    async fn running(&self, name: &str) -> Result<Option<bool>, SimError> {
        Ok(self
            .engine
            .inspect_container(name)
            .await?
            .map(|info| info.state.and_then(|state| state.running).unwrap_or(false)))
    }
}
