//! Repair before deploying: what a deploy killed midway (a cancelled CI job) left behind is
//! put right first, and said.
//!
//! A blue-green deploy leaves `<name>-next` (a candidate) and, between its two renames,
//! `<name>-old` without `<name>`; a recreate leaves `<name>-old` (stopped, set aside) with or
//! without a new `<name>`. The rule: whatever was serving keeps serving. A running candidate
//! with no `<name>` had taken the traffic (the proxy switched to it), so the switch is
//! finished; otherwise the candidate goes. A set-aside container goes when `<name>` runs, and
//! is put back when it does not (or is not ready: a recreate killed after starting the new
//! one never proved it). A stopped service with nothing set aside is started again; a
//! job's unfinished run is noted (the deploy runs it again). Renames and restarts come
//! first, then the proxy's routes are written canonical (each service by its own name), and
//! only then is anything removed, so the proxy never points at a container that is gone.

use std::time::Duration;

use bollard::models::ContainerStateStatusEnum;
use topo_core::naming;
use topo_core::spec::{ContainerKind, ContainerSpec};

use super::switch::{remove, rename, start, stop, Proxy};
use super::Deployment;
use crate::error::SimError;
use crate::lifecycle::await_ready;

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
                self.interrupted_job(container, notes).await?;
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
                    removals.push((next, container.effective_stop_timeout()));
                }
            }
            if self.running(&old).await?.is_some() {
                self.set_aside(container, current, &mut removals, notes)
                    .await?;
            } else if current == Some(false) && start(self.engine, name).await.is_ok() {
                // (One that does not start is left to the deploy, which replaces it.)
                notes.push(format!(
                    "repaired {name}: it was stopped (by a cancelled deploy, or it exited) with nothing set aside; started again"
                ));
            }
        }
        if notes.is_empty() {
            return Ok(());
        }
        if let Some(proxy) = proxy {
            proxy.canonical(self.engine).await?;
        }
        for (name, timeout) in removals {
            notes.extend(stop(self.engine, &name, timeout).await?);
            remove(self.engine, &name).await?;
        }
        Ok(())
    }

    /// `<name>-old` exists: it goes once `<name>` runs and is ready; otherwise it is put back.
    async fn set_aside(
        &self,
        container: &ContainerSpec,
        current: Option<bool>,
        removals: &mut Vec<(String, Duration)>,
        notes: &mut Vec<String>,
    ) -> Result<(), SimError> {
        let name = container.name.as_str();
        let old = naming::old_container_name(name);
        // A new container a cancelled recreate started was never proven ready: it is now,
        // before the one set aside is given up.
        let ready = match current {
            Some(true) => await_ready(self.engine, container, name).await.is_ok(),
            _ => false,
        };
        if ready {
            notes.push(format!(
                "repaired {name}: removed {old}, set aside by a cancelled deploy ({name} serves)"
            ));
            removals.push((old, container.effective_stop_timeout()));
            return Ok(());
        }
        let what = match current {
            Some(true) => "started a new container that never became ready",
            Some(false) => "stopped it for a new container that never ran",
            None => "had set it aside",
        };
        if current.is_some() {
            remove(self.engine, name).await?;
        }
        rename(self.engine, &old, name).await?;
        start(self.engine, name).await?;
        notes.push(format!(
            "repaired {name}: a cancelled deploy {what} ({old}); the previous one is back"
        ));
        Ok(())
    }

    /// A job's run that a cancelled deploy left unfinished (created, or still running) is
    /// run again by this deploy: said here.
    async fn interrupted_job(
        &self,
        container: &ContainerSpec,
        notes: &mut Vec<String>,
    ) -> Result<(), SimError> {
        let name = container.name.as_str();
        let Some(info) = self.engine.inspect_container(name).await? else {
            return Ok(());
        };
        let status = info.state.and_then(|s| s.status);
        if matches!(
            status,
            Some(ContainerStateStatusEnum::CREATED | ContainerStateStatusEnum::RUNNING)
        ) {
            let status = status.map(|s| s.to_string()).unwrap_or_default();
            notes.push(format!(
                "repaired {name}: a cancelled deploy left its run unfinished ({status}); it runs again"
            ));
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
