//! What must hold on the target before a deploy touches anything: the network and volumes
//! exist, the database runs, is healthy and *is* the pinned major (asked of the server),
//! the proxy runs, and every name topo will use is topo's. With `--setup` (a host's first
//! deploy) the missing network, volumes and database are created first; the checks then
//! run the same.

use std::time::Instant;

use bollard::models::{HealthStatusEnum, NetworkCreateRequest, VolumeCreateRequest};
use topo_core::naming;

use super::summary::Check;
use super::switch::Proxy;
use super::Deployment;
use crate::build::millis;
use crate::engine::{ObjectKind, Owner};
use crate::error::{explain, is_not_found, SimError};
use crate::lifecycle::{await_ready, create_container, exec};
use crate::translate::create_body;

const SETUP_HINT: &str =
    "if this engine was never deployed to, run the first deploy with `--setup`";

/// Records a check that held.
fn pass(checks: &mut Vec<Check>, name: &str, detail: String, start: Instant) {
    checks.push(Check {
        name: name.to_owned(),
        ok: true,
        detail,
        elapsed_ms: millis(start.elapsed()),
    })
}

impl Deployment<'_> {
    /// Step 4, the checks, in order; the first failure stops the deploy with what to do.
    /// With `setup` the missing network, volumes and database are created first. Returns
    /// the proxy when it runs (a deploy switches through it).
    pub(super) async fn verify(
        &self,
        setup: bool,
        checks: &mut Vec<Check>,
    ) -> Result<Option<Proxy<'_>>, SimError> {
        self.ownership(checks).await?;
        self.network(setup, checks).await?;
        self.volumes(setup, checks).await?;
        self.database(setup, checks).await?;
        self.running_proxy(setup, checks).await
    }

    /// Names first: a foreign object with one of our names is never touched.
    async fn ownership(&self, checks: &mut Vec<Check>) -> Result<(), SimError> {
        let start = Instant::now();
        let project = self.spec.project.as_str();
        for container in &self.spec.containers {
            for name in [
                container.name.clone(),
                naming::next_container_name(&container.name),
                naming::old_container_name(&container.name),
            ] {
                if let Some(info) = self.engine.inspect_container(&name).await? {
                    let labels = info.config.and_then(|c| c.labels);
                    if let Owner::Foreign(why) = Owner::of(labels.as_ref(), project) {
                        return Err(SimError::Foreign {
                            kind: ObjectKind::Container,
                            name,
                            project: project.to_owned(),
                            why,
                            help: "rename or remove it; topo deploys only to names it owns"
                                .to_owned(),
                        });
                    }
                }
            }
        }
        pass(
            checks,
            "ownership",
            "every name topo uses is free or topo's".to_owned(),
            start,
        );
        Ok(())
    }

    async fn network(&self, setup: bool, checks: &mut Vec<Check>) -> Result<(), SimError> {
        let start = Instant::now();
        let project = self.spec.project.as_str();
        let network = &self.spec.network.name;
        match self.engine.docker().inspect_network(network, None).await {
            Ok(info) => {
                if let Owner::Foreign(why) = Owner::of(info.labels.as_ref(), project) {
                    return Err(SimError::Foreign {
                        kind: ObjectKind::Network,
                        name: network.clone(),
                        project: project.to_owned(),
                        why,
                        help: "remove it or rename the project".to_owned(),
                    });
                }
            }
            Err(error) if is_not_found(&error) && setup => {
                let request = NetworkCreateRequest {
                    name: network.clone(),
                    driver: Some("bridge".to_owned()),
                    labels: Some(self.spec.network.labels.clone().into_iter().collect()),
                    ..Default::default()
                };
                self.engine
                    .docker()
                    .create_network(request)
                    .await
                    .map_err(|e| explain(format!("creating network {network}"), &e))?;
            }
            Err(error) if is_not_found(&error) => {
                return Err(SimError::Refused {
                    problem: format!("the network {network} does not exist on the target"),
                    help: SETUP_HINT.to_owned(),
                })
            }
            Err(error) => return Err(explain(format!("inspecting network {network}"), &error)),
        }
        pass(checks, "network", format!("{network} exists"), start);
        Ok(())
    }

    async fn volumes(&self, setup: bool, checks: &mut Vec<Check>) -> Result<(), SimError> {
        let start = Instant::now();
        for volume in &self.spec.volumes {
            match self.engine.docker().inspect_volume(&volume.name).await {
                Ok(_) => {}
                Err(error) if is_not_found(&error) && setup => {
                    let request = VolumeCreateRequest {
                        name: Some(volume.name.clone()),
                        labels: Some(volume.labels.clone().into_iter().collect()),
                        ..Default::default()
                    };
                    self.engine
                        .docker()
                        .create_volume(request)
                        .await
                        .map_err(|e| explain(format!("creating volume {}", volume.name), &e))?;
                }
                Err(error) if is_not_found(&error) => {
                    return Err(SimError::Refused {
                        problem: format!("the volume {} does not exist on the target: the data it should hold is not there", volume.name),
                        help: format!("restore it (or create it on purpose with `docker volume create {}`); {SETUP_HINT}", volume.name),
                    })
                }
                Err(error) => {
                    return Err(explain(format!("inspecting volume {}", volume.name), &error))
                }
            }
        }
        let detail = format!("{} volume(s) exist", self.spec.volumes.len());
        pass(checks, "volumes", detail, start);
        Ok(())
    }

    /// The database runs, is healthy, and is the pinned major (asked of the server).
    async fn database(&self, setup: bool, checks: &mut Vec<Check>) -> Result<(), SimError> {
        let Some(database) = &self.spec.database else {
            return Ok(());
        };
        let Some(container) = self.spec.container(&database.container) else {
            return Ok(());
        };
        let start = Instant::now();
        let detail = self.runs_healthy("database", container, setup).await?;
        pass(checks, "database running", detail, start);
        self.database_major(database, checks).await
    }

    /// A stateful container (the database, an accessory) exists, runs and is healthy; with
    /// `setup`, a missing one is created first. A deploy never creates or replaces it
    /// otherwise. The check's detail.
    pub(super) async fn runs_healthy(
        &self,
        what: &str,
        container: &topo_core::spec::ContainerSpec,
        setup: bool,
    ) -> Result<String, SimError> {
        let name = &container.name;
        let mut info = self.engine.inspect_container(name).await?;
        if info.is_none() && setup {
            self.start_created(what, container).await?;
            info = self.engine.inspect_container(name).await?;
        }
        let Some(info) = info else {
            return Err(SimError::Refused {
                problem: format!("the {what} container {name} does not exist on the target"),
                help: format!("a deploy never creates or replaces the {what}; {SETUP_HINT}"),
            });
        };
        let state = info.state.unwrap_or_default();
        if state.running != Some(true) {
            return Err(SimError::Refused {
                problem: format!(
                    "the {what} {name} is not running ({})",
                    state.status.map_or("unknown".to_owned(), |s| s.to_string())
                ),
                help: format!("start it (`docker start {name}`), wait until it is healthy, then deploy again; a deploy never starts or replaces the {what}"),
            });
        }
        let mut health = state.health.and_then(|h| h.status);
        let mut detail = format!("{name} is running and healthy");
        if health == Some(HealthStatusEnum::STARTING) {
            // Just (re)started, by the engine after a restart or by a repair: its check
            // decides, within its own deadline.
            let since = Instant::now();
            if await_ready(self.engine, container, name).await.is_ok() {
                health = Some(HealthStatusEnum::HEALTHY);
                detail = format!(
                    "{name} is running and healthy (it was starting: waited {:.1} s)",
                    since.elapsed().as_secs_f64()
                );
            }
        }
        if container.health.is_some() && health != Some(HealthStatusEnum::HEALTHY) {
            return Err(SimError::Refused {
                problem: format!(
                    "the {what} {name} is running but not healthy ({})",
                    health.map_or("no health check".to_owned(), |h| h.to_string())
                ),
                help: format!("see `docker inspect --format '{{{{json .State.Health}}}}' {name}` and `docker logs {name}`; deploy once it is healthy"),
            });
        }
        if container.health.is_none() {
            detail = format!("{name} is running (it has no health check)");
        }
        Ok(detail)
    }

    /// A host's first deploy (or an accessory's upgrade): the container created, started
    /// and awaited.
    pub(super) async fn start_created(
        &self,
        what: &str,
        container: &topo_core::spec::ContainerSpec,
    ) -> Result<(), SimError> {
        let name = &container.name;
        let body = create_body(
            container,
            &self.spec.network.name,
            self.root,
            self.variables,
        )?;
        create_container(
            self.engine,
            container,
            name,
            body,
            Some(crate::lifecycle::Sources {
                root: self.root,
                variables: self.variables,
            }),
        )
        .await?;
        self.engine
            .docker()
            .start_container(name, None)
            .await
            .map_err(|e| explain(format!("starting {name}"), &e))?;
        if let Err(failure) = await_ready(self.engine, container, name).await {
            return Err(SimError::Refused {
                problem: format!(
                    "the new {what} {name} did not become healthy: {}",
                    failure.reason
                ),
                help: format!("see `docker logs {name}`"),
            });
        }
        Ok(())
    }

    async fn database_major(
        &self,
        database: &topo_core::spec::DatabaseSpec,
        checks: &mut Vec<Check>,
    ) -> Result<(), SimError> {
        let start = Instant::now();
        let name = &database.container;
        let (code, output) = exec(self.engine, name, &database.version_command).await?;
        let answer = output.trim();
        let running = (code == 0)
            .then(|| database.engine.version_of_output(answer))
            .flatten();
        let engine = database.engine;
        match running {
            Some(running) if running == database.version => {
                let detail = format!("the server reports {answer}: major {running}, as pinned");
                pass(checks, "database major", detail, start);
                Ok(())
            }
            Some(running) => Err(SimError::Refused {
                problem: format!(
                    "the database server {name} runs {} major {running} (it reports {answer}), but the topology pins major {}",
                    engine.display_name(),
                    database.version
                ),
                help: match engine {
                    topo_core::model::Engine::Postgres => format!(
                        "a major upgrade needs a dump and restore (or pg_upgrade) of the data volume: do it first, or pin `major = {running}` in the topology until then"
                    ),
                    topo_core::model::Engine::Mariadb => format!(
                        "a major upgrade needs mariadb-upgrade (or a dump and restore) of the data volume: do it first, or pin `major = \"{running}\"` in the topology until then"
                    ),
                },
            }),
            None => Err(SimError::Refused {
                problem: format!(
                    "could not ask the database server {name} for its version (`{}` exited {code}): {answer}",
                    database.version_command.join(" ")
                ),
                help: "check that the database accepts local connections for its user (see `docker logs`)".to_owned(),
            }),
        }
    }

    /// The proxy runs (on a first deploy, `setup` starts it after the services).
    async fn running_proxy(
        &self,
        setup: bool,
        checks: &mut Vec<Check>,
    ) -> Result<Option<Proxy<'_>>, SimError> {
        let Some(proxy) = &self.spec.proxy else {
            return Ok(None);
        };
        let info = self.engine.inspect_container(&proxy.container).await?;
        match info.and_then(|i| i.state).and_then(|s| s.running) {
            Some(true) => {
                let detail = format!("{} is running", proxy.container);
                pass(checks, "proxy", detail, Instant::now());
                Ok(Some(self.proxy_of(proxy)?))
            }
            _ if setup => Ok(None),
            Some(false) => Err(SimError::Refused {
                problem: format!("the proxy {} is not running", proxy.container),
                help: format!(
                    "start it (`docker start {}`) and deploy again",
                    proxy.container
                ),
            }),
            None => Err(SimError::Refused {
                problem: format!("the proxy {} does not exist on the target", proxy.container),
                help: SETUP_HINT.to_owned(),
            }),
        }
    }
}
