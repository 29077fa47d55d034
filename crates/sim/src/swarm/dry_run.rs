//! `--dry-run` on Swarm: the checks that only read, the lock's state and each service's
//! decision (unchanged, or a rolling update), with nothing made, updated or locked. The
//! database's version is asked by a job when deploying; a dry run starts none and says so.

use std::time::Instant;

use topo_core::spec::{ContainerKind, ContainerSpec};

use super::objects::{self, Contents};
use super::service::{runs, service_spec};
use super::{summary_of, tasks};
use crate::build::millis;
use crate::deploy::{
    holder, DeployAction, DeployOptions, DeploySummary, Deployment, Release, Wanted,
    SUMMARY_VERSION,
};
use crate::error::SimError;

impl Deployment<'_> {
    /// What a Swarm deploy would do now.
    pub(super) async fn swarm_dry_run(
        &self,
        planned: Vec<(&ContainerSpec, Option<Wanted>)>,
        contents: &Contents,
        release: &Release,
        options: &DeployOptions,
    ) -> Result<DeploySummary, SimError> {
        let start = Instant::now();
        let mut notes = Vec::new();
        if let Some(holder) = holder(self.engine, &self.spec.project).await? {
            notes.push(format!(
                "the deploy lock is held by {}: a deploy would wait for it (--lock-wait), take it over if its holder is gone, or be refused",
                holder.describe()
            ));
        }
        // What the checks miss is what --setup would make; without it, a refusal.
        let mut missing = Vec::new();
        if let Err(error) = objects::stateful_node(self.engine, false, &mut notes).await {
            missing.push(error);
        }
        if let Err(error) = self.require_network().await {
            missing.push(error);
        }
        let objects = objects::named(&self.spec.project, contents);
        self.dry_fixed(&objects, &mut missing, &mut notes).await?;
        if let Some(first) = missing.into_iter().next() {
            if !options.setup {
                return Err(first);
            }
            notes.push(format!("--setup would make what is missing: {first}"));
        }
        notes.push(
            "the database's version is asked by a job when deploying; a dry run starts none"
                .to_owned(),
        );
        let mut services = Vec::new();
        for (container, wanted) in planned {
            let Some(wanted) = wanted else { continue };
            let image = wanted.reference();
            let spec = service_spec(
                container,
                &image,
                &self.spec.network.name,
                &objects,
                self.variables,
            )?;
            let current = tasks::service(self.engine, &container.name).await?;
            let same = current.as_ref().is_some_and(|c| runs(c, &spec));
            let (action, detail) = if same && !matches!(release, Release::Rollback) {
                (
                    DeployAction::Unchanged,
                    "already runs this image and configuration",
                )
            } else if current.is_none() {
                (DeployAction::WouldDeploy, "would be created")
            } else {
                (DeployAction::WouldDeploy, "would get a rolling update")
            };
            services.push(summary_of(
                container,
                action,
                &image,
                None,
                detail.to_owned(),
                Vec::new(),
            ));
        }
        Ok(DeploySummary {
            version: SUMMARY_VERSION,
            project: self.spec.project.clone(),
            target: self.engine.address().to_owned(),
            ok: true,
            rollback: matches!(release, Release::Rollback),
            dry_run: true,
            elapsed_ms: millis(start.elapsed()),
            lock_waited_ms: 0,
            checks: Vec::new(),
            services,
            notes,
            certificate: None,
        })
    }

    /// The database, accessories and proxy: what is missing (for `--setup`) and what
    /// differs from what runs.
    async fn dry_fixed(
        &self,
        objects: &super::objects::Objects,
        missing: &mut Vec<SimError>,
        notes: &mut Vec<String>,
    ) -> Result<(), SimError> {
        for container in super::fixed_containers(self.spec) {
            let spec = service_spec(
                container,
                &container.image.to_string(),
                &self.spec.network.name,
                objects,
                self.variables,
            )?;
            match tasks::service(self.engine, &container.name).await? {
                None => missing.push(SimError::Refused {
                    problem: format!("{} is not running on this cluster", container.name),
                    help: "deploy with --setup to create it".to_owned(),
                }),
                Some(current) if !runs(&current, &spec) => {
                    notes.push(format!(
                        "{}: its configuration differs from what runs{}",
                        container.name,
                        match container.kind {
                            ContainerKind::Proxy => "; a deploy would update it",
                            ContainerKind::Accessory => "; `--accessory` would replace it",
                            _ => "; a deploy leaves it as it is",
                        }
                    ));
                }
                Some(_) => {}
            }
        }
        Ok(())
    }
}
