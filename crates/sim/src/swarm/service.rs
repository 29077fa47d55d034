//! A [`ContainerSpec`] in Swarm's words: the service spec of one container.
//!
//! A pure translation, as the stack renderer is one: the container from the production
//! spec, what Swarm does with its tasks from [`swarm_tasks`] (the decisions the stack file
//! writes too), the secrets and configs as the Swarm objects `Objects` made of them.

use std::collections::{BTreeMap, HashMap};

use bollard::models::{
    EndpointPortConfig, EndpointPortConfigPublishModeEnum, EndpointSpec, EndpointSpecModeEnum,
    HealthConfig, Limit, Mount, MountType, NetworkAttachmentConfig, ServiceSpec, ServiceSpecMode,
    ServiceSpecModeReplicated, ServiceSpecModeReplicatedJob, ServiceSpecRollbackConfig,
    ServiceSpecRollbackConfigFailureActionEnum, ServiceSpecRollbackConfigOrderEnum,
    ServiceSpecUpdateConfig, ServiceSpecUpdateConfigFailureActionEnum,
    ServiceSpecUpdateConfigOrderEnum, TaskSpec, TaskSpecContainerSpec,
    TaskSpecContainerSpecConfigs, TaskSpecContainerSpecFile, TaskSpecContainerSpecFile1,
    TaskSpecContainerSpecSecrets, TaskSpecLogDriver, TaskSpecPlacement, TaskSpecResources,
    TaskSpecRestartPolicy, TaskSpecRestartPolicyConditionEnum,
};
use sha2::{Digest as _, Sha256};
use topo_core::spec::swarm::{swarm_tasks, SwarmTasks, UpdateOrder};
use topo_core::spec::{labels, ContainerSpec, FileContent, MountSource};

use super::objects::Objects;
use crate::error::SimError;
use crate::translate::Variables;

/// Label on a service: a hash of its whole service spec as topo sent it (configuration,
/// image, resolved environment, secret and config objects). Equal: the service already runs
/// what the deploy asks, and is not touched.
pub const SWARM_HASH: &str = "topo.swarm-hash";

fn nanos(duration: std::time::Duration) -> i64 {
    i64::try_from(duration.as_nanos()).unwrap_or(i64::MAX)
}

/// The service spec of `container` running `image`, on `network`.
pub fn service_spec(
    container: &ContainerSpec,
    image: &str,
    network: &str,
    objects: &Objects,
    variables: &dyn Variables,
) -> Result<ServiceSpec, SimError> {
    let tasks = swarm_tasks(container);
    let env = environment(container, variables)?;
    let (secrets, configs) = files(container, objects);
    let mut labels: BTreeMap<String, String> = container.labels.clone();
    labels.insert(labels::IMAGE.to_owned(), image.to_owned());
    // What the hash covers, in a deterministic order (the engine's maps are HashMaps).
    let hashed = serde_json::json!({
        "config": container.labels.get(labels::CONFIG_HASH),
        "image": image,
        "env": env,
        "secrets": secrets.iter().map(|s| &s.secret_name).collect::<Vec<_>>(),
        "configs": configs.iter().map(|c| &c.config_name).collect::<Vec<_>>(),
    });
    let digest = Sha256::digest(hashed.to_string().as_bytes());
    let hash: String = digest[..8].iter().map(|b| format!("{b:02x}")).collect();
    let mut service_labels = labels.clone();
    service_labels.insert(SWARM_HASH.to_owned(), hash);
    let confinement = container.confinement.as_ref();
    let container_spec = TaskSpecContainerSpec {
        image: Some(image.to_owned()),
        labels: Some(labels.clone().into_iter().collect()),
        args: container.command.clone(),
        hostname: container.hostname.clone(),
        env: Some(env.iter().map(|(k, v)| format!("{k}={v}")).collect()),
        read_only: confinement.map(|c| c.read_only),
        mounts: Some(mounts(container)),
        stop_grace_period: container.stop_timeout.map(nanos),
        health_check: health(container),
        secrets: Some(secrets),
        configs: Some(configs),
        capability_drop: confinement
            .filter(|c| c.drop_capabilities)
            .map(|_| vec!["ALL".to_owned()]),
        capability_add: confinement
            .filter(|c| !c.capabilities.is_empty())
            .map(|c| c.capabilities.clone()),
        ..Default::default()
    };
    let task_template = task_template(container, &tasks, network, container_spec);
    Ok(ServiceSpec {
        name: Some(container.name.clone()),
        labels: Some(service_labels.into_iter().collect()),
        task_template: Some(task_template),
        mode: Some(mode(&tasks)),
        update_config: (!tasks.job).then(|| update_config(&tasks)),
        rollback_config: (!tasks.job).then(|| rollback_config(&tasks)),
        networks: None,
        endpoint_spec: Some(endpoint(container)),
    })
}

/// Where and how the tasks run: resources, restarts, placement, the network.
fn task_template(
    container: &ContainerSpec,
    tasks: &SwarmTasks,
    network: &str,
    container_spec: TaskSpecContainerSpec,
) -> TaskSpec {
    let confinement = container.confinement.as_ref();
    let limits = Limit {
        nano_cpus: confinement
            .and_then(|c| c.millicpus)
            .map(|m| i64::from(m) * 1_000_000),
        memory_bytes: confinement
            .and_then(|c| c.memory.as_ref())
            .map(|m| i64::try_from(m.bytes).unwrap_or(i64::MAX)),
        pids: confinement.and_then(|c| c.pids).map(i64::from),
    };
    TaskSpec {
        container_spec: Some(container_spec),
        resources: Some(TaskSpecResources {
            limits: Some(limits),
            ..Default::default()
        }),
        restart_policy: Some(TaskSpecRestartPolicy {
            condition: Some(if tasks.job {
                TaskSpecRestartPolicyConditionEnum::NONE
            } else {
                TaskSpecRestartPolicyConditionEnum::ANY
            }),
            ..Default::default()
        }),
        placement: Some(TaskSpecPlacement {
            constraints: Some(tasks.constraints.clone()),
            ..Default::default()
        }),
        networks: Some(vec![NetworkAttachmentConfig {
            target: Some(network.to_owned()),
            aliases: Some(container.aliases.clone()),
            ..Default::default()
        }]),
        log_driver: container.logging.as_ref().map(|l| TaskSpecLogDriver {
            name: Some(l.driver.clone()),
            options: Some(l.options.clone().into_iter().collect()),
        }),
        ..Default::default()
    }
}

/// The environment, its variables resolved as Compose would.
fn environment(
    container: &ContainerSpec,
    variables: &dyn Variables,
) -> Result<BTreeMap<String, String>, SimError> {
    container
        .env
        .iter()
        .map(|(name, value)| {
            let value = value
                .interpolated(name)
                .resolve(&|v| variables.get(v))
                .map_err(|missing| SimError::MissingVariable {
                    container: container.name.clone(),
                    variable: missing.name,
                })?;
            Ok((name.clone(), value))
        })
        .collect()
}

/// Volumes (and bind mounts), and a tmpfs for each writable path of a read-only root.
fn mounts(container: &ContainerSpec) -> Vec<Mount> {
    let mut mounts: Vec<Mount> = container
        .mounts
        .iter()
        .map(|m| Mount {
            typ: Some(match m.source {
                MountSource::Volume(_) => MountType::VOLUME,
                MountSource::Bind(_) => MountType::BIND,
            }),
            source: Some(match &m.source {
                MountSource::Volume(name) | MountSource::Bind(name) => name.clone(),
            }),
            target: Some(m.target.clone()),
            ..Default::default()
        })
        .collect();
    if let Some(confinement) = container.confinement.as_ref().filter(|c| c.read_only) {
        mounts.extend(confinement.writable.iter().map(|path| Mount {
            typ: Some(MountType::TMPFS),
            target: Some(path.clone()),
            ..Default::default()
        }));
    }
    mounts
}

fn health(container: &ContainerSpec) -> Option<HealthConfig> {
    container
        .health
        .as_ref()
        .map(crate::translate::health_config)
}

fn mode(tasks: &SwarmTasks) -> ServiceSpecMode {
    if tasks.job {
        ServiceSpecMode {
            replicated_job: Some(ServiceSpecModeReplicatedJob {
                max_concurrent: Some(1),
                total_completions: Some(1),
            }),
            ..Default::default()
        }
    } else {
        ServiceSpecMode {
            replicated: Some(ServiceSpecModeReplicated {
                replicas: Some(i64::from(tasks.replicas)),
            }),
            ..Default::default()
        }
    }
}

fn update_config(tasks: &SwarmTasks) -> ServiceSpecUpdateConfig {
    ServiceSpecUpdateConfig {
        parallelism: Some(i64::from(tasks.parallelism)),
        failure_action: Some(ServiceSpecUpdateConfigFailureActionEnum::ROLLBACK),
        monitor: tasks.monitor.map(nanos),
        max_failure_ratio: Some(0.0),
        order: Some(match tasks.order {
            UpdateOrder::StartFirst => ServiceSpecUpdateConfigOrderEnum::START_FIRST,
            UpdateOrder::StopFirst => ServiceSpecUpdateConfigOrderEnum::STOP_FIRST,
        }),
        ..Default::default()
    }
}

fn rollback_config(tasks: &SwarmTasks) -> ServiceSpecRollbackConfig {
    ServiceSpecRollbackConfig {
        parallelism: Some(i64::from(tasks.parallelism)),
        failure_action: Some(ServiceSpecRollbackConfigFailureActionEnum::PAUSE),
        order: Some(match tasks.order {
            UpdateOrder::StartFirst => ServiceSpecRollbackConfigOrderEnum::START_FIRST,
            UpdateOrder::StopFirst => ServiceSpecRollbackConfigOrderEnum::STOP_FIRST,
        }),
        ..Default::default()
    }
}

fn endpoint(container: &ContainerSpec) -> EndpointSpec {
    EndpointSpec {
        mode: Some(EndpointSpecModeEnum::DNSRR),
        ports: Some(
            container
                .ports
                .iter()
                .map(|p| EndpointPortConfig {
                    protocol: Some(match p.protocol {
                        topo_core::model::Protocol::Tcp => {
                            bollard::models::EndpointPortConfigProtocolEnum::TCP
                        }
                        topo_core::model::Protocol::Udp => {
                            bollard::models::EndpointPortConfigProtocolEnum::UDP
                        }
                    }),
                    target_port: Some(i64::from(p.container)),
                    published_port: Some(i64::from(p.host)),
                    publish_mode: Some(EndpointPortConfigPublishModeEnum::HOST),
                    ..Default::default()
                })
                .collect(),
        ),
    }
}

/// The container's files as Swarm secret and config references.
fn files(
    container: &ContainerSpec,
    objects: &Objects,
) -> (
    Vec<TaskSpecContainerSpecSecrets>,
    Vec<TaskSpecContainerSpecConfigs>,
) {
    let mut secrets = Vec::new();
    let mut configs = Vec::new();
    for (i, file) in container.files.iter().enumerate() {
        match &file.content {
            FileContent::Secret { variable, mode, .. } => {
                if let Some(object) = objects.secrets.get(variable) {
                    secrets.push(TaskSpecContainerSpecSecrets {
                        file: Some(TaskSpecContainerSpecFile {
                            name: Some(file.target.clone()),
                            uid: Some("0".to_owned()),
                            gid: Some("0".to_owned()),
                            mode: Some(*mode),
                        }),
                        secret_id: Some(object.id.clone()),
                        secret_name: Some(object.name.clone()),
                    });
                }
            }
            FileContent::Text(_) | FileContent::Repository(_) => {
                let name = topo_core::naming::config_name(&container.name, i);
                if let Some(object) = objects.configs.get(&name) {
                    configs.push(TaskSpecContainerSpecConfigs {
                        file: Some(TaskSpecContainerSpecFile1 {
                            name: Some(file.target.clone()),
                            uid: Some("0".to_owned()),
                            gid: Some("0".to_owned()),
                            mode: Some(0o444),
                        }),
                        config_id: Some(object.id.clone()),
                        config_name: Some(object.name.clone()),
                        ..Default::default()
                    });
                }
            }
            // A self-signed placeholder certificate is made on one host before an ACME
            // issuance; on Swarm the certificate comes from the repository or a secret.
            FileContent::SelfSigned { .. } => {}
        }
    }
    (secrets, configs)
}

/// Whether `current` already runs `spec`: its `topo.swarm-hash` label is the spec's.
pub fn runs(current: &bollard::models::Service, spec: &ServiceSpec) -> bool {
    let hash =
        |labels: Option<&HashMap<String, String>>| labels.and_then(|l| l.get(SWARM_HASH)).cloned();
    let running = hash(current.spec.as_ref().and_then(|s| s.labels.as_ref()));
    running.is_some() && running == hash(spec.labels.as_ref())
}
