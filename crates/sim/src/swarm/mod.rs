//! `deploy` on a Swarm manager: the production spec as Swarm services, through the Engine
//! API's services endpoints (never `docker stack`).
//!
//! The order of work and the guarantees are a single host's: what each service should run
//! and every secret resolved first (a missing one stops here); the lock; the checks (a
//! Swarm manager; the stateful node; the network; the database's version asked of the
//! running server by a one-off job on the network, whichever node it runs on); with
//! `--setup`, the database, accessories and proxy made and awaited; then each job (a
//! replicated-job service, awaited) and each service in dependency order. A service whose
//! spec hash equals the one it runs is not touched (its tasks keep their ids); another is
//! updated by Swarm itself, one task at a time, start-first, health-gated, and rolled back
//! by Swarm when a new task fails: topo waits for the update to end and reports how. Last:
//! the secrets and configs no service uses any more, and the lock.

mod dry_run;
mod objects;
mod run;
pub mod service;
mod tasks;

pub use tasks::running_task_ids;

use std::time::Instant;

use topo_core::spec::{ContainerKind, ContainerSpec};

use crate::build::millis;
use crate::deploy::{
    DeployAction, DeployOptions, DeploySummary, Deployment, Lock, OnDeployed, Release, Replacement,
    ServiceDeploy, Wanted, SUMMARY_VERSION,
};
use crate::error::{explain, SimError};
use crate::progress::{Event, Phase};

impl Deployment<'_> {
    /// A deploy to a Swarm manager (the spec's production engine is `swarm`).
    pub(crate) async fn run_swarm(
        &self,
        release: &Release,
        options: &DeployOptions,
        on_deployed: &mut OnDeployed<'_>,
    ) -> Result<DeploySummary, SimError> {
        let start = Instant::now();
        self.require_manager().await?;
        let planned = self.swarm_release(release, options).await?;
        let contents = objects::contents(self.spec, self.root, self.variables)?;
        if options.dry_run {
            return self
                .swarm_dry_run(planned, &contents, release, options)
                .await;
        }
        self.progress.event(Event::Phase(Phase::Lock));
        let image = self
            .spec
            .containers
            .iter()
            .find(|c| c.image.tag_variable().is_none())
            .map(|c| c.image.to_string())
            .ok_or_else(|| SimError::Refused {
                problem: "no image of fixed version to hold the lock with".to_owned(),
                help: "a topology with a database, an accessory or a proxy".to_owned(),
            })?;
        let lock = Lock::acquire(
            self.engine,
            &self.spec.project,
            &image,
            &options.purpose,
            options.lock_wait,
            options.lock_lease,
        )
        .await?;
        let mut done = run::Done::default();
        if let Some(holder) = &lock.taken_over {
            done.notes.push(format!(
                "took over the deploy lock of {holder}: a deploy that died (a cancelled job) cannot release it"
            ));
        }
        let result = self
            .swarm_locked(planned, &contents, release, options, on_deployed, &mut done)
            .await;
        let waited = lock.waited;
        let released = lock.release(self.engine).await;
        result?;
        released?;
        Ok(DeploySummary {
            version: SUMMARY_VERSION,
            project: self.spec.project.clone(),
            target: self.engine.address().to_owned(),
            ok: done.services.iter().all(|s| s.action.is_ok()),
            rollback: matches!(release, Release::Rollback),
            dry_run: false,
            elapsed_ms: millis(start.elapsed()),
            lock_waited_ms: millis(waited),
            checks: done.checks,
            services: done.services,
            notes: done.notes,
            certificate: None,
        })
    }

    /// The engine must be a Swarm manager: services are made there.
    async fn require_manager(&self) -> Result<(), SimError> {
        let info = self
            .engine
            .docker()
            .info()
            .await
            .map_err(|e| explain("asking the engine about its Swarm", &e))?;
        let manager = info
            .swarm
            .as_ref()
            .and_then(|s| s.control_available)
            .unwrap_or(false);
        if manager {
            return Ok(());
        }
        Err(SimError::Refused {
            problem: format!(
                "{} is not a Swarm manager, and the topology's production engine is swarm",
                self.engine.address()
            ),
            help: "deploy to a manager (`--host`), or make one with `docker swarm init`".to_owned(),
        })
    }

    /// What each application container should run: `None` leaves it out (not selected,
    /// not in the plan). A rollback asks Swarm for each service's previous spec instead.
    async fn swarm_release<'s>(
        &'s self,
        release: &Release,
        options: &DeployOptions,
    ) -> Result<Vec<(&'s ContainerSpec, Option<Wanted>)>, SimError> {
        let order = crate::deploy::deploy_order(self.spec);
        for wanted in &options.services {
            if !order.iter().any(|c| c.role == *wanted || c.name == *wanted) {
                return Err(SimError::UnknownService(wanted.clone()));
            }
        }
        let mut planned = Vec::new();
        for container in order {
            let selected = options.services.is_empty()
                || options
                    .services
                    .iter()
                    .any(|s| *s == container.role || *s == container.name);
            let wanted = match (selected, release) {
                (false, _) => None,
                (true, Release::Tag(tag)) => Some(Wanted::tagged(
                    container.image.with_tag(tag).to_string(),
                    None,
                )),
                (true, Release::Images(images)) => images.get(&container.name).cloned(),
                (true, Release::Rollback) => {
                    let current = tasks::service(self.engine, &container.name).await?;
                    let labels = current
                        .and_then(|s| s.spec)
                        .and_then(|s| s.labels)
                        .unwrap_or_default();
                    match crate::deploy::history_of(&labels).get(1) {
                        Some(previous) => Some(Wanted::tagged(
                            container.image.with_tag(previous).to_string(),
                            None,
                        )),
                        None if container.kind == topo_core::spec::ContainerKind::Job => None,
                        None => {
                            return Err(SimError::Refused {
                                problem: format!(
                                    "{} has no previous version to roll back to",
                                    container.name
                                ),
                                help: "name the services to roll back, or deploy a tag".to_owned(),
                            })
                        }
                    }
                }
            };
            planned.push((container, wanted));
        }
        Ok(planned)
    }
}

/// The database, accessories and proxy: made by `--setup`, never replaced by an
/// application deploy (the proxy when its routes change, an accessory when named).
fn fixed_containers(spec: &topo_core::RuntimeSpec) -> impl Iterator<Item = &ContainerSpec> {
    spec.containers.iter().filter(|c| {
        matches!(
            c.kind,
            ContainerKind::Database | ContainerKind::Accessory | ContainerKind::Proxy
        )
    })
}

/// A service's summary line.
fn summary_of(
    container: &ContainerSpec,
    action: DeployAction,
    image: &str,
    previous_image: Option<String>,
    detail: String,
    steps: Vec<crate::deploy::summary::Step>,
) -> ServiceDeploy {
    ServiceDeploy {
        name: container.role.clone(),
        container: container.name.clone(),
        action,
        strategy: if container.kind == topo_core::spec::ContainerKind::Job {
            Replacement::Job
        } else {
            Replacement::Rolling
        },
        image: image.to_owned(),
        previous_image,
        detail,
        steps,
        health_log: Vec::new(),
        log_tail: Vec::new(),
    }
}
