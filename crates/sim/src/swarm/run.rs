//! The steps of a Swarm deploy under the lock: checks, the fixed services (`--setup`),
//! the database's version, each job and service, the objects no longer used.

use std::time::{Duration, Instant};

use bollard::models::ServiceSpec;
use bollard::query_parameters::UpdateServiceOptionsBuilder;
use topo_core::spec::{ContainerKind, ContainerSpec};

use super::objects::{self, Contents, Objects};
use super::service::{runs, service_spec};
use super::summary_of;
use super::tasks::{self, UpdateEnd};
use crate::build::millis;
use crate::deploy::summary::{Check, Step};
use crate::deploy::{
    DeployAction, DeployOptions, Deployment, OnDeployed, Release, ServiceDeploy, Wanted,
};
use crate::error::{explain, SimError};
use crate::progress::{Event, Phase};

/// What a Swarm deploy did so far.
#[derive(Default)]
pub(super) struct Done {
    pub checks: Vec<Check>,
    pub services: Vec<ServiceDeploy>,
    pub notes: Vec<String>,
}

/// How long a service may take to converge or update: each task's health deadline and
/// stop timeout, plus room for scheduling.
fn patience(container: &ContainerSpec) -> Duration {
    let per_task = container
        .health
        .as_ref()
        .map_or(Duration::from_secs(30), |h| h.deadline())
        + container.effective_stop_timeout()
        + Duration::from_secs(30);
    per_task * container.replicas.max(1) + Duration::from_secs(30)
}

impl Deployment<'_> {
    /// Everything under the lock.
    pub(super) async fn swarm_locked(
        &self,
        planned: Vec<(&ContainerSpec, Option<Wanted>)>,
        contents: &Contents,
        release: &Release,
        options: &DeployOptions,
        on_deployed: &mut OnDeployed<'_>,
        done: &mut Done,
    ) -> Result<(), SimError> {
        self.progress.event(Event::Phase(Phase::Checks));
        let t = Instant::now();
        let node = objects::stateful_node(self.engine, options.setup, &mut done.notes).await?;
        done.checks
            .push(check("stateful node", format!("{node} keeps the data"), t));
        let t = Instant::now();
        let made = match options.setup {
            true => objects::ensure_network(self.engine, self.spec).await?,
            false => false,
        };
        self.require_network().await?;
        let network = &self.spec.network.name;
        let what = if made { "created" } else { "present" };
        done.checks
            .push(check("network", format!("{network} (overlay) {what}"), t));
        let objects = objects::ensure_objects(self.engine, &self.spec.project, contents).await?;
        self.fixed_services(&objects, options, done).await?;
        self.database_version(&objects, done).await?;
        let mut failed = false;
        for (container, wanted) in planned {
            let Some(wanted) = wanted else {
                continue;
            };
            if failed {
                let detail = "not attempted: an earlier service failed".to_owned();
                let image = wanted.reference();
                done.services.push(summary_of(
                    container,
                    DeployAction::NotReached,
                    &image,
                    None,
                    detail,
                    Vec::new(),
                ));
                continue;
            }
            let deployed = self
                .swarm_service(container, &wanted, &objects, release)
                .await?;
            failed = !deployed.action.is_ok();
            if deployed.action.is_ok() {
                if let Err(error) = on_deployed(&deployed, &wanted) {
                    done.notes
                        .push(format!("{}: marker not written: {error}", container.name));
                }
            }
            done.services.push(deployed);
        }
        if !failed {
            let removed =
                objects::remove_unused(self.engine, &self.spec.project, &objects.names()).await;
            if !removed.is_empty() {
                done.notes.push(format!(
                    "removed secrets and configs no service uses any more: {}",
                    removed.join(", ")
                ));
            }
        }
        Ok(())
    }

    pub(super) async fn require_network(&self) -> Result<(), SimError> {
        let name = &self.spec.network.name;
        match self.engine.docker().inspect_network(name, None).await {
            Ok(_) => Ok(()),
            Err(e) if crate::error::is_not_found(&e) => Err(SimError::Refused {
                problem: format!(
                    "the overlay network {name} does not exist: this cluster was never set up"
                ),
                help: "deploy once with --setup".to_owned(),
            }),
            Err(e) => Err(explain(format!("inspecting the network {name}"), &e)),
        }
    }

    /// The database, accessories and proxy: made (and awaited) by `--setup`; the proxy
    /// updated when its routes changed; an accessory only when named (`--accessory`); the
    /// database never by a deploy.
    async fn fixed_services(
        &self,
        objects: &Objects,
        options: &DeployOptions,
        done: &mut Done,
    ) -> Result<(), SimError> {
        for container in super::fixed_containers(self.spec) {
            let t = Instant::now();
            let image = container.image.to_string();
            let spec = service_spec(
                container,
                &image,
                &self.spec.network.name,
                objects,
                self.variables,
            )?;
            let Some(current) = tasks::service(self.engine, &container.name).await? else {
                if !options.setup {
                    return Err(SimError::Refused {
                        problem: format!("{} is not running on this cluster", container.name),
                        help: "deploy with --setup to create it".to_owned(),
                    });
                }
                self.create(container, spec).await?;
                done.checks.push(check(
                    &container.name,
                    format!("created ({image}) and running"),
                    t,
                ));
                continue;
            };
            let same = runs(&current, &spec);
            let replace = !same
                && match container.kind {
                    ContainerKind::Proxy => true,
                    ContainerKind::Accessory => options
                        .accessories
                        .iter()
                        .any(|a| *a == container.role || *a == container.name),
                    _ => false,
                };
            if replace {
                match self.update(container, spec).await? {
                    UpdateEnd::Completed => done.notes.push(format!(
                        "{}: updated to its new configuration",
                        container.name
                    )),
                    UpdateEnd::RolledBack(why) | UpdateEnd::Stuck(why) => {
                        return Err(SimError::Refused {
                            problem: format!("{} could not be updated: {why}", container.name),
                            help: "its previous version still runs; see `docker service ps`"
                                .to_owned(),
                        })
                    }
                }
            } else if !same {
                done.notes.push(format!(
                    "{}: its configuration differs from what runs; a deploy leaves it as it is{}",
                    container.name,
                    if container.kind == ContainerKind::Accessory {
                        " (`--accessory` replaces it, data kept)"
                    } else {
                        ""
                    }
                ));
            }
            done.checks
                .push(check(&container.name, format!("running ({image})"), t));
        }
        Ok(())
    }

    /// Asks the running database server its version with a one-off job of the database's
    /// image on the network, and refuses a version other than the pin.
    async fn database_version(&self, objects: &Objects, done: &mut Done) -> Result<(), SimError> {
        let Some(database) = &self.spec.database else {
            return Ok(());
        };
        let Some(server) = self.spec.container(&database.container) else {
            return Ok(());
        };
        let t = Instant::now();
        let mut job = server.clone();
        job.name = topo_core::naming::check_job_name(&server.name);
        job.kind = ContainerKind::Job;
        job.command = Some(database.version_command_from_job.clone());
        job.health = None;
        job.mounts.clear();
        job.ports.clear();
        job.aliases.clear();
        job.hostname = None;
        job.replicas = 1;
        let image = server.image.to_string();
        let spec = service_spec(
            &job,
            &image,
            &self.spec.network.name,
            objects,
            self.variables,
        )?;
        let (code, output) = self.run_job(&job, spec).await?;
        let text = output.join("\n");
        let found = database.engine.version_of_output(&text);
        match found {
            Some(version) if code == 0 && version == database.version => {
                done.checks.push(check(
                    "database version",
                    format!("{} answers {version} (pinned {})", server.name, database.version),
                    t,
                ));
                Ok(())
            }
            Some(version) if code == 0 => Err(SimError::Refused {
                problem: format!(
                    "{} runs {} {version}, the topology pins {}",
                    server.name,
                    database.engine.display_name(),
                    database.version
                ),
                help: "upgrade the data with the engine's own tool (pg_upgrade, mariadb-upgrade) before changing the pin, or pin the version that runs".to_owned(),
            }),
            _ => Err(SimError::Refused {
                problem: format!(
                    "{} did not say its version (exit {code}): {}",
                    server.name,
                    text.trim()
                ),
                help: "check that the database runs and its password secret is the one it was created with".to_owned(),
            }),
        }
    }

    /// One application job or service at its wanted image.
    async fn swarm_service(
        &self,
        container: &ContainerSpec,
        wanted: &Wanted,
        objects: &Objects,
        release: &Release,
    ) -> Result<ServiceDeploy, SimError> {
        let image = wanted.reference();
        let mut spec = service_spec(
            container,
            &image,
            &self.spec.network.name,
            objects,
            self.variables,
        )?;
        let current = tasks::service(self.engine, &container.name).await?;
        self.record_history(&mut spec, current.as_ref(), wanted);
        let running_image = current
            .as_ref()
            .and_then(|s| s.spec.as_ref())
            .and_then(|s| s.task_template.as_ref())
            .and_then(|t| t.container_spec.as_ref())
            .and_then(|c| c.image.clone());
        let same = current.as_ref().is_some_and(|c| runs(c, &spec));
        let summary = |action, detail: String, steps| {
            summary_of(
                container,
                action,
                &image,
                running_image.clone(),
                detail,
                steps,
            )
        };
        if same && !matches!(release, Release::Rollback) {
            let detail = "already runs this image and configuration: not touched".to_owned();
            return Ok(summary(DeployAction::Unchanged, detail, Vec::new()));
        }
        self.progress.event(Event::Phase(Phase::Replacing {
            container: container.name.clone(),
            replacement: crate::deploy::Replacement::Rolling,
        }));
        let t = Instant::now();
        if container.kind == ContainerKind::Job {
            let (code, output) = self.run_job(container, spec).await?;
            let step = vec![step("run", t)];
            return Ok(if code == 0 {
                summary(DeployAction::Deployed, "ran to completion".to_owned(), step)
            } else {
                let mut failed = summary(
                    DeployAction::Failed,
                    format!("exited with {code}: no service after it was updated"),
                    step,
                );
                failed.log_tail = output;
                failed
            });
        }
        if current.is_none() {
            self.create(container, spec).await?;
            let detail = format!("created, {} task(s) running", container.replicas);
            return Ok(summary(
                DeployAction::Deployed,
                detail,
                vec![step("create", t)],
            ));
        }
        let end = self.update(container, spec).await?;
        let steps = vec![step("rolling-update", t)];
        Ok(match end {
            UpdateEnd::Completed => summary(
                DeployAction::Deployed,
                format!(
                    "rolling update of {} task(s), start-first and health-gated",
                    container.replicas
                ),
                steps,
            ),
            UpdateEnd::RolledBack(why) => {
                let mut rolled = summary(
                    DeployAction::RolledBack,
                    format!("a new task failed; Swarm rolled the service back: {why}"),
                    steps,
                );
                rolled.log_tail = tasks::logs(self.engine, &container.name, 20).await;
                rolled
            }
            UpdateEnd::Stuck(why) => summary(
                DeployAction::Failed,
                format!("the update did not finish: {why}"),
                steps,
            ),
        })
    }

    /// Labels the service with the versions it ran, newest first: what `--rollback`
    /// returns to.
    fn record_history(
        &self,
        spec: &mut ServiceSpec,
        current: Option<&bollard::models::Service>,
        wanted: &Wanted,
    ) {
        let tag = crate::deploy::tag_of(&wanted.image);
        let mut history = vec![tag.clone()];
        let old = current
            .as_ref()
            .and_then(|s| s.spec.as_ref())
            .and_then(|s| s.labels.clone());
        history.extend(
            crate::deploy::history_of(&old.unwrap_or_default())
                .into_iter()
                .filter(|t| *t != tag),
        );
        history.truncate(usize::try_from(self.spec.keep_images.max(2)).unwrap_or(2));
        spec.labels.get_or_insert_with(Default::default).insert(
            topo_core::spec::labels::HISTORY.to_owned(),
            history.join(","),
        );
    }

    /// Creates a service and waits for its tasks.
    async fn create(&self, container: &ContainerSpec, spec: ServiceSpec) -> Result<(), SimError> {
        self.engine
            .docker()
            .create_service(spec, None)
            .await
            .map_err(|e| explain(format!("creating the service {}", container.name), &e))?;
        let replicas = usize::try_from(container.replicas).unwrap_or(1);
        tasks::converged(self.engine, &container.name, replicas, patience(container))
            .await
            .map_err(|why| SimError::Refused {
                problem: format!("{} did not start: {why}", container.name),
                help: format!(
                    "see `docker service ps --no-trunc {}` and its logs",
                    container.name
                ),
            })
    }

    /// Sends a new spec to an existing service and waits for Swarm's rolling update.
    async fn update(
        &self,
        container: &ContainerSpec,
        spec: ServiceSpec,
    ) -> Result<UpdateEnd, SimError> {
        let current = tasks::service(self.engine, &container.name)
            .await?
            .ok_or_else(|| SimError::Engine {
                context: format!("updating {}", container.name),
                detail: "the service disappeared".to_owned(),
            })?;
        let version = current.version.as_ref().and_then(|v| v.index).unwrap_or(0);
        let before = tasks::update_started(&current);
        let options = UpdateServiceOptionsBuilder::new()
            .version(i32::try_from(version).unwrap_or(i32::MAX))
            .build();
        self.engine
            .docker()
            .update_service(&container.name, spec, options, None)
            .await
            .map_err(|e| explain(format!("updating the service {}", container.name), &e))?;
        tasks::update_ended(self.engine, &container.name, before, patience(container)).await
    }

    /// Runs a job service afresh (the previous run's service removed): its exit code and
    /// what it printed.
    async fn run_job(
        &self,
        job: &ContainerSpec,
        spec: ServiceSpec,
    ) -> Result<(i64, Vec<String>), SimError> {
        if tasks::service(self.engine, &job.name).await?.is_some() {
            self.engine
                .docker()
                .delete_service(&job.name)
                .await
                .map_err(|e| explain(format!("removing the last run of {}", job.name), &e))?;
        }
        self.engine
            .docker()
            .create_service(spec, None)
            .await
            .map_err(|e| explain(format!("creating the job {}", job.name), &e))?;
        let code = tasks::job_ended(self.engine, &job.name, patience(job))
            .await
            .map_err(|why| SimError::Refused {
                problem: format!("the job {} did not run: {why}", job.name),
                help: format!("see `docker service ps --no-trunc {}`", job.name),
            })?;
        Ok((code, tasks::logs(self.engine, &job.name, 50).await))
    }
}

fn check(name: &str, detail: String, since: Instant) -> Check {
    Check {
        name: name.to_owned(),
        ok: true,
        detail,
        elapsed_ms: millis(since.elapsed()),
    }
}

fn step(name: &str, since: Instant) -> Step {
    Step {
        name: name.to_owned(),
        elapsed_ms: millis(since.elapsed()),
    }
}
