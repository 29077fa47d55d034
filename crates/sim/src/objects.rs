//! The network, volumes and containers of a stack: what is there, what may be removed,
//! and `down`. Every decision goes through [`Owner`]: foreign objects stop the command
//! before anything is changed.

use bollard::models::{NetworkCreateRequest, VolumeCreateRequest};
use bollard::query_parameters::{
    ListVolumesOptionsBuilder, RemoveContainerOptionsBuilder, RemoveVolumeOptions,
};
use serde::Serialize;
use topo_core::spec::RuntimeSpec;

use crate::engine::{container_name, label_filters, Engine, ObjectKind, Owner};
use crate::error::{explain, is_not_found, SimError};
use crate::progress::{Event, Phase, Progress};

/// What `up` found under the names it needs, checked before anything is changed.
#[derive(Debug, Default)]
pub struct Survey {
    /// This project's containers to remove: the mode's previous stack (orphans included)
    /// and same-named containers of the project's other modes.
    pub containers: Vec<String>,
    /// Whether the network exists already (and is the project's).
    pub network_exists: bool,
    /// Volumes to remove before starting (from scratch).
    pub stale_volumes: Vec<String>,
    /// Volumes the spec needs that exist and are kept (`--keep-volumes`).
    pub kept_volumes: Vec<String>,
}

/// Looks at every name `spec` needs. A foreign object, or a volume holding another mode's
/// data when volumes are not kept, is an error and nothing has been touched.
pub async fn survey(
    engine: &Engine,
    spec: &RuntimeSpec,
    keep_volumes: bool,
) -> Result<Survey, SimError> {
    let project = spec.project.as_str();
    let mode = spec.mode.as_str();
    let docker = engine.docker();
    let mut survey = Survey::default();
    for container in &spec.containers {
        if let Some(found) = engine.inspect_container(&container.name).await? {
            let labels = found.config.as_ref().and_then(|c| c.labels.as_ref());
            if let Owner::Foreign(why) = Owner::of(labels, project) {
                return Err(foreign(
                    ObjectKind::Container,
                    &container.name,
                    project,
                    why,
                ));
            }
            survey.containers.push(container.name.clone());
        }
    }
    for summary in engine.project_containers(project, Some(mode)).await? {
        let name = container_name(&summary);
        if !survey.containers.contains(&name) {
            survey.containers.push(name);
        }
    }
    let network = &spec.network.name;
    match docker.inspect_network(network, None).await {
        Ok(found) => {
            if let Owner::Foreign(why) = Owner::of(found.labels.as_ref(), project) {
                return Err(foreign(ObjectKind::Network, network, project, why));
            }
            survey.network_exists = true;
        }
        Err(error) if is_not_found(&error) => {}
        Err(error) => return Err(explain(format!("inspecting network {network}"), &error)),
    }
    for volume in &spec.volumes {
        let found = match docker.inspect_volume(&volume.name).await {
            Ok(found) => found,
            Err(error) if is_not_found(&error) => continue,
            Err(error) => {
                return Err(explain(
                    format!("inspecting volume {}", volume.name),
                    &error,
                ))
            }
        };
        match Owner::of(Some(&found.labels), project) {
            Owner::Foreign(why) => return Err(foreign(ObjectKind::Volume, &volume.name, project, why)),
            _ if keep_volumes => survey.kept_volumes.push(volume.name.clone()),
            Owner::Ours(Some(m)) if m == mode => survey.stale_volumes.push(volume.name.clone()),
            Owner::Ours(other) => {
                return Err(SimError::Foreign {
                    kind: ObjectKind::Volume,
                    name: volume.name.clone(),
                    project: format!("{project} in {mode}"),
                    why: match other {
                        Some(m) => format!("it holds {m} data"),
                        None => "it has no topo.mode label: its data may be another mode's".into(),
                    },
                    help: format!(
                        "{mode} starts from fresh volumes and never deletes another mode's data: \
                         remove it yourself (`docker volume rm {}`) or pass --keep-volumes to run on it",
                        volume.name
                    ),
                })
            }
        }
    }
    if !keep_volumes {
        for name in project_volumes(engine, project, mode).await? {
            if !survey.stale_volumes.contains(&name) {
                survey.stale_volumes.push(name);
            }
        }
    }
    Ok(survey)
}

fn foreign(kind: ObjectKind, name: &str, project: &str, why: String) -> SimError {
    SimError::Foreign {
        kind,
        name: name.to_owned(),
        project: project.to_owned(),
        why,
        help: format!(
            "remove or rename the {kind} {name} yourself, or rename the topology's project"
        ),
    }
}

/// Removes the containers and stale volumes the survey found, then makes sure the network
/// and the spec's volumes exist.
pub async fn prepare(
    engine: &Engine,
    spec: &RuntimeSpec,
    survey: &Survey,
    progress: &dyn Progress,
) -> Result<(), SimError> {
    remove_containers(engine, &survey.containers, progress).await?;
    remove_volumes(engine, &survey.stale_volumes, progress).await?;
    let docker = engine.docker();
    if !survey.network_exists {
        docker
            .create_network(NetworkCreateRequest {
                name: spec.network.name.clone(),
                driver: Some("bridge".to_owned()),
                labels: Some(spec.network.labels.clone().into_iter().collect()),
                ..Default::default()
            })
            .await
            .map_err(|e| explain(format!("creating network {}", spec.network.name), &e))?;
        progress.event(Event::Created {
            kind: ObjectKind::Network,
            name: spec.network.name.clone(),
        });
    }
    for volume in &spec.volumes {
        if survey.kept_volumes.contains(&volume.name) {
            continue;
        }
        docker
            .create_volume(VolumeCreateRequest {
                name: Some(volume.name.clone()),
                labels: Some(volume.labels.clone().into_iter().collect()),
                ..Default::default()
            })
            .await
            .map_err(|e| explain(format!("creating volume {}", volume.name), &e))?;
        progress.event(Event::Created {
            kind: ObjectKind::Volume,
            name: volume.name.clone(),
        });
    }
    Ok(())
}

async fn remove_containers(
    engine: &Engine,
    names: &[String],
    progress: &dyn Progress,
) -> Result<(), SimError> {
    let options = RemoveContainerOptionsBuilder::default()
        .force(true)
        // Its anonymous volumes too (its secret files).
        .v(true)
        .build();
    for name in names {
        match engine
            .docker()
            .remove_container(name, Some(options.clone()))
            .await
        {
            Ok(()) => progress.event(Event::Removed {
                kind: ObjectKind::Container,
                name: name.clone(),
            }),
            Err(error) if is_not_found(&error) => {}
            Err(error) => return Err(explain(format!("removing container {name}"), &error)),
        }
    }
    Ok(())
}

async fn remove_volumes(
    engine: &Engine,
    names: &[String],
    progress: &dyn Progress,
) -> Result<(), SimError> {
    for name in names {
        engine
            .docker()
            .remove_volume(name, None::<RemoveVolumeOptions>)
            .await
            .map_err(|e| explain(format!("removing volume {name}"), &e))?;
        progress.event(Event::Removed {
            kind: ObjectKind::Volume,
            name: name.clone(),
        });
    }
    Ok(())
}

async fn project_volumes(
    engine: &Engine,
    project: &str,
    mode: &str,
) -> Result<Vec<String>, SimError> {
    let options = ListVolumesOptionsBuilder::default()
        .filters(&label_filters(project, Some(mode)))
        .build();
    let listed = engine
        .docker()
        .list_volumes(Some(options))
        .await
        .map_err(|e| explain("listing the project's volumes", &e))?;
    let mut names: Vec<String> = listed
        .volumes
        .unwrap_or_default()
        .into_iter()
        .map(|v| v.name)
        .collect();
    names.sort();
    Ok(names)
}

/// What `down` did.
#[derive(Clone, Debug, Default, Serialize)]
pub struct DownReport {
    /// Removed objects: (kind, name).
    pub removed: Vec<(ObjectKind, String)>,
    /// Objects left in place, and why.
    pub kept: Vec<(ObjectKind, String, String)>,
}

/// Removes this project's containers of `mode`, its network when nothing else uses it, and
/// with `volumes` the mode's volumes. Objects without the project's labels are never looked at.
pub async fn down(
    engine: &Engine,
    spec: &RuntimeSpec,
    volumes: bool,
    progress: &dyn Progress,
) -> Result<DownReport, SimError> {
    let project = spec.project.as_str();
    let mode = spec.mode.as_str();
    let mut report = DownReport::default();
    let names: Vec<String> = engine
        .project_containers(project, Some(mode))
        .await?
        .iter()
        .map(container_name)
        .collect();
    remove_containers(engine, &names, progress).await?;
    report
        .removed
        .extend(names.into_iter().map(|n| (ObjectKind::Container, n)));
    let docker = engine.docker();
    let network = &spec.network.name;
    match docker.inspect_network(network, None).await {
        Ok(found) => match Owner::of(found.labels.as_ref(), project) {
            Owner::Foreign(why) => report
                .kept
                .push((ObjectKind::Network, network.clone(), why)),
            Owner::Ours(_) if found.containers.as_ref().is_some_and(|c| !c.is_empty()) => {
                report.kept.push((
                    ObjectKind::Network,
                    network.clone(),
                    "other containers still use it".into(),
                ))
            }
            Owner::Ours(_) => {
                docker
                    .remove_network(network)
                    .await
                    .map_err(|e| explain(format!("removing network {network}"), &e))?;
                progress.event(Event::Removed {
                    kind: ObjectKind::Network,
                    name: network.clone(),
                });
                report.removed.push((ObjectKind::Network, network.clone()));
            }
        },
        Err(error) if is_not_found(&error) => {}
        Err(error) => return Err(explain(format!("inspecting network {network}"), &error)),
    }
    if volumes {
        let names = project_volumes(engine, project, mode).await?;
        remove_volumes(engine, &names, progress).await?;
        report
            .removed
            .extend(names.into_iter().map(|n| (ObjectKind::Volume, n)));
    }
    Ok(report)
}

/// Stops every running container of the project in `spec`'s mode (after an interrupted
/// `up`); the number stopped.
pub async fn stop_all(
    engine: &Engine,
    spec: &RuntimeSpec,
    progress: &dyn Progress,
) -> Result<usize, SimError> {
    let options = bollard::query_parameters::StopContainerOptionsBuilder::default()
        .t(10)
        .build();
    let mut stopped = 0;
    for summary in engine
        .project_containers(&spec.project, Some(spec.mode.as_str()))
        .await?
    {
        let running = summary.state == Some(bollard::models::ContainerSummaryStateEnum::RUNNING);
        let name = container_name(&summary);
        if running {
            engine
                .docker()
                .stop_container(&name, Some(options.clone()))
                .await
                .map_err(|e| explain(format!("stopping container {name}"), &e))?;
            progress.event(Event::Phase(Phase::Stopped(name.clone())));
            stopped += 1;
        }
    }
    Ok(stopped)
}
