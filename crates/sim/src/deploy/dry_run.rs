//! `--dry-run`: every check, the lock's state and each service's decision, with nothing
//! changed on the target — no lock taken, no image pulled, no container touched.

use std::time::Instant;

use super::resolve::Planned;
use super::service::{entry_of, runs_already};
use super::summary::{DeployAction, DeploySummary, SUMMARY_VERSION};
use super::{lock, DeployOptions, Deployment, Release};
use crate::build::millis;
use crate::error::SimError;

impl Deployment<'_> {
    /// What a deploy would do now.
    pub(super) async fn dry_run(
        &self,
        mut planned: Vec<Planned<'_>>,
        release: &Release,
        options: &DeployOptions,
    ) -> Result<DeploySummary, SimError> {
        let start = Instant::now();
        let mut checks = Vec::new();
        let mut notes = Vec::new();
        if let Some(holder) = lock::holder(self.engine, &self.spec.project).await? {
            notes.push(if holder.is_dead() {
                format!("the deploy lock is held by {}: a deploy would take it over", holder.describe())
            } else {
                format!("the deploy lock is held by {}: a deploy would wait for it (--lock-wait) or be refused", holder.describe())
            });
        }
        // Without `--setup` the checks only read; with it, what they miss is what setup
        // would create.
        if let Err(error) = self.verify(false, &mut checks).await {
            if !options.setup {
                return Err(error);
            }
            notes.push(format!(
                "--setup would create what the checks miss: {error}"
            ));
        }
        // What the accessories are; `--accessory` would replace those that differ.
        if let Err(error) = self.accessories(false, &[], &mut checks, &mut notes).await {
            notes.push(format!("accessories: {error}"));
        }
        let mut services = Vec::new();
        for service in &mut planned {
            let mut entry = entry_of(service, options);
            let Some((wanted, _)) = service.wanted.clone() else {
                entry.detail = "not part of this deploy".to_owned();
                services.push(entry);
                continue;
            };
            entry.image = wanted.image.clone();
            let reference = wanted.reference();
            match self.engine.docker().inspect_image(&reference).await {
                Ok(image) => service.wanted_id = image.id,
                Err(_) => notes.push(format!(
                    "{reference} is not on the target: a deploy would pull it"
                )),
            }
            if runs_already(service, &wanted) {
                entry.action = DeployAction::Unchanged;
                entry.detail =
                    "already runs this image and configuration: would not be restarted".to_owned();
            } else {
                entry.action = DeployAction::WouldDeploy;
                entry.detail = match &entry.previous_image {
                    Some(previous) if *previous != wanted.image => {
                        format!("would replace {previous} ({})", entry.strategy)
                    }
                    Some(_) => format!(
                        "configuration changed: would replace it ({})",
                        entry.strategy
                    ),
                    None => "would be deployed for the first time".to_owned(),
                };
            }
            services.push(entry);
        }
        Ok(DeploySummary {
            version: SUMMARY_VERSION,
            project: self.spec.project.clone(),
            target: self.engine.address().to_owned(),
            ok: checks.iter().all(|c| c.ok),
            rollback: matches!(release, Release::Rollback),
            dry_run: true,
            elapsed_ms: millis(start.elapsed()),
            lock_waited_ms: 0,
            checks,
            services,
            notes,
            certificate: self.certificate_preview(options).await,
        })
    }
}
