//! What must hold on the target before a deploy touches anything: the network and volumes
//! exist, the database runs, is healthy and *is* the pinned major (asked of the server),
//! the proxy runs, and every name topo will use is topo's. With `--setup` (a host's first
//! deploy) the missing network, volumes and database are created first; the checks then
//! run the same.

use std::time::Instant;

use bollard::models::{HealthStatusEnum, NetworkCreateRequest, VolumeCreateRequest};
use topo_core::naming;
use topo_core::spec::RuntimeSpec;

use super::summary::Check;
use crate::build::millis;
use crate::engine::{Engine, Owner};
use crate::error::{explain, is_not_found, SimError};
use crate::lifecycle::{await_ready, create_container, exec};
use crate::translate::{create_body, Variables};

/// Runs the checks in order and stops at the first failure, with what to do.
pub(super) async fn verify(
    engine: &Engine,
    spec: &RuntimeSpec,
    root: &std::path::Path,
    variables: &dyn Variables,
    setup: bool,
    checks: &mut Vec<Check>,
) -> Result<(), SimError> {
    let project = spec.project.as_str();
    let setup_hint = "if this engine was never deployed to, run the first deploy with `--setup`";
    let mut pass = |name: &str, detail: String, start: Instant| {
        checks.push(Check {
            name: name.to_owned(),
            ok: true,
            detail,
            elapsed_ms: millis(start.elapsed()),
        })
    };

    // Names first: a foreign object with one of our names is never touched.
    let start = Instant::now();
    for container in &spec.containers {
        for name in [
            container.name.clone(),
            naming::next_container_name(&container.name),
            naming::old_container_name(&container.name),
        ] {
            if let Some(info) = engine.inspect_container(&name).await? {
                let labels = info.config.and_then(|c| c.labels);
                if let Owner::Foreign(why) = Owner::of(labels.as_ref(), project) {
                    return Err(SimError::Foreign {
                        kind: "container",
                        name,
                        project: project.to_owned(),
                        why,
                        help: "rename or remove it; topo deploys only to names it owns".to_owned(),
                    });
                }
            }
        }
    }
    pass(
        "ownership",
        "every name topo uses is free or topo's".to_owned(),
        start,
    );

    let start = Instant::now();
    let network = &spec.network.name;
    match engine.docker().inspect_network(network, None).await {
        Ok(info) => {
            if let Owner::Foreign(why) = Owner::of(info.labels.as_ref(), project) {
                return Err(SimError::Foreign {
                    kind: "network",
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
                labels: Some(spec.network.labels.clone().into_iter().collect()),
                ..Default::default()
            };
            engine
                .docker()
                .create_network(request)
                .await
                .map_err(|e| explain(format!("creating network {network}"), &e))?;
        }
        Err(error) if is_not_found(&error) => {
            return Err(SimError::Refused {
                problem: format!("the network {network} does not exist on the target"),
                help: setup_hint.to_owned(),
            })
        }
        Err(error) => return Err(explain(format!("inspecting network {network}"), &error)),
    }
    pass("network", format!("{network} exists"), start);

    let start = Instant::now();
    for volume in &spec.volumes {
        match engine.docker().inspect_volume(&volume.name).await {
            Ok(_) => {}
            Err(error) if is_not_found(&error) && setup => {
                let request = VolumeCreateRequest {
                    name: Some(volume.name.clone()),
                    labels: Some(volume.labels.clone().into_iter().collect()),
                    ..Default::default()
                };
                engine
                    .docker()
                    .create_volume(request)
                    .await
                    .map_err(|e| explain(format!("creating volume {}", volume.name), &e))?;
            }
            Err(error) if is_not_found(&error) => {
                return Err(SimError::Refused {
                    problem: format!("the volume {} does not exist on the target: the data it should hold is not there", volume.name),
                    help: format!("restore it (or create it on purpose with `docker volume create {}`); {setup_hint}", volume.name),
                })
            }
            Err(error) => return Err(explain(format!("inspecting volume {}", volume.name), &error)),
        }
    }
    pass(
        "volumes",
        format!("{} volume(s) exist", spec.volumes.len()),
        start,
    );

    let Some(database) = &spec.database else {
        return Ok(());
    };
    let start = Instant::now();
    let name = &database.container;
    let container = spec
        .container(name)
        .expect("the database's container is in the spec");
    let mut info = engine.inspect_container(name).await?;
    if info.is_none() && setup {
        let body = create_body(container, network, root, variables)?;
        create_container(engine, container, name, body).await?;
        engine
            .docker()
            .start_container(name, None)
            .await
            .map_err(|e| explain(format!("starting {name}"), &e))?;
        if let Err(failure) = await_ready(engine, container, name).await {
            return Err(SimError::Refused {
                problem: format!(
                    "the new database {name} did not become healthy: {}",
                    failure.reason
                ),
                help: format!("see `docker logs {name}`"),
            });
        }
        info = engine.inspect_container(name).await?;
    }
    let Some(info) = info else {
        return Err(SimError::Refused {
            problem: format!("the database container {name} does not exist on the target"),
            help: format!("a deploy never creates or replaces the database; {setup_hint}"),
        });
    };
    let state = info.state.unwrap_or_default();
    if state.running != Some(true) {
        return Err(SimError::Refused {
            problem: format!(
                "the database {name} is not running ({})",
                state.status.map_or("unknown".to_owned(), |s| s.to_string())
            ),
            help: format!("start it (`docker start {name}`), wait until it is healthy, then deploy again; a deploy never starts or replaces the database"),
        });
    }
    let health = state.health.and_then(|h| h.status);
    if container.health.is_some() && health != Some(HealthStatusEnum::HEALTHY) {
        return Err(SimError::Refused {
            problem: format!(
                "the database {name} is running but not healthy ({})",
                health.map_or("no health check".to_owned(), |h| h.to_string())
            ),
            help: format!("see `docker inspect --format '{{{{json .State.Health}}}}' {name}` and `docker logs {name}`; deploy once it is healthy"),
        });
    }
    pass(
        "database running",
        format!("{name} is running and healthy"),
        start,
    );

    let start = Instant::now();
    let (code, output) = exec(engine, name, &database.version_command).await?;
    let answer = output.trim();
    let major = (code == 0)
        .then(|| database.engine.major_of_version_output(answer))
        .flatten();
    match major {
        Some(major) if major == database.major => pass(
            "database major",
            format!("the server reports {answer}: major {major}, as pinned"),
            start,
        ),
        Some(major) => {
            return Err(SimError::Refused {
                problem: format!(
                    "the database server {name} runs {} major {major} (server_version_num {answer}), but the topology pins major {}",
                    database.engine.as_str(),
                    database.major
                ),
                help: format!(
                    "a major upgrade needs a dump and restore (or pg_upgrade) of the data volume: do it first, or pin `major = {major}` in the topology until then"
                ),
            })
        }
        None => {
            return Err(SimError::Refused {
                problem: format!(
                    "could not ask the database server {name} for its version (`{}` exited {code}): {answer}",
                    database.version_command.join(" ")
                ),
                help: "check that the database accepts local connections for its user (see `docker logs`)".to_owned(),
            })
        }
    }
    Ok(())
}
