//! A production runtime spec on Swarm, serialised as a stack file for `docker stack deploy
//! -c` (Compose file format 3.8, as Docker 20.10's stack loader reads it). The same spec as
//! the Compose renderer reads; what Swarm says differently is said here:
//!
//! - each service gets `deploy:` — what [`swarm_tasks`] decided (replicas, DNS round-robin,
//!   the update and rollback order, the health-gated monitor, placement), with the restart
//!   policy and `resources.limits`;
//! - published ports are host-mode (the routing mesh needs IPVS);
//! - tmpfs paths are `tmpfs` mounts; `container_name`, `depends_on`, `restart`,
//!   `security_opt` and `pids_limit` are left out (Swarm does not honour them; the update
//!   order and health gate stand in for `depends_on`);
//! - secrets are Swarm secrets and the proxy's files Swarm configs, each from a file
//!   (`topo secrets --mode production` writes both).

use std::collections::BTreeMap;

use serde::Serialize;

use super::compose::{
    common, config_mounts, config_name, healthcheck, join, lit, lit_map, secrets, ConfigMount,
    Healthcheck, Logging, Named, NetworkAttachment, Ordered, SecretSource,
};
use crate::spec::swarm::swarm_tasks;
pub use crate::spec::swarm::STATEFUL_LABEL;
use crate::spec::{ContainerSpec, FileContent, MountSource, RuntimeSpec};
use crate::value::compose_duration;

/// The environment variable naming the directory of the configs' files (as
/// `TOPO_SECRETS_DIR` names the secrets').
pub const CONFIGS_DIR_VARIABLE: &str = "TOPO_CONFIGS_DIR";

#[derive(Serialize)]
struct StackFile {
    version: &'static str,
    services: Ordered<Service>,
    networks: Ordered<Network>,
    #[serde(skip_serializing_if = "Ordered::is_empty")]
    volumes: Ordered<Named>,
    #[serde(skip_serializing_if = "Ordered::is_empty")]
    configs: Ordered<FileSource>,
    #[serde(skip_serializing_if = "Ordered::is_empty")]
    secrets: Ordered<SecretSource>,
}

#[derive(Serialize)]
struct Network {
    name: String,
    driver: &'static str,
    attachable: bool,
    labels: BTreeMap<String, String>,
}

#[derive(Serialize)]
struct FileSource {
    name: String,
    file: String,
}

#[derive(Serialize)]
struct Service {
    #[serde(skip_serializing_if = "Option::is_none")]
    hostname: Option<String>,
    image: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    command: Option<Vec<String>>,
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    environment: BTreeMap<String, String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    volumes: Vec<Mount>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    ports: Vec<Port>,
    #[serde(skip_serializing_if = "Option::is_none")]
    healthcheck: Option<Healthcheck>,
    #[serde(skip_serializing_if = "Option::is_none")]
    stop_grace_period: Option<String>,
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    read_only: bool,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    cap_drop: Vec<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    cap_add: Vec<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    logging: Option<Logging>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    configs: Vec<ConfigMount>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    secrets: Vec<ConfigMount>,
    labels: BTreeMap<String, String>,
    networks: BTreeMap<String, NetworkAttachment>,
    deploy: Deploy,
}

#[derive(Serialize)]
struct Mount {
    #[serde(rename = "type")]
    kind: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    source: Option<String>,
    target: String,
}

#[derive(Serialize)]
struct Port {
    target: u16,
    published: u16,
    protocol: &'static str,
    mode: &'static str,
}

#[derive(Serialize)]
struct Deploy {
    mode: &'static str,
    replicas: u32,
    endpoint_mode: &'static str,
    restart_policy: RestartPolicy,
    #[serde(skip_serializing_if = "Option::is_none")]
    update_config: Option<Update>,
    #[serde(skip_serializing_if = "Option::is_none")]
    rollback_config: Option<Update>,
    #[serde(skip_serializing_if = "Option::is_none")]
    resources: Option<Resources>,
    #[serde(skip_serializing_if = "Option::is_none")]
    placement: Option<Placement>,
    labels: BTreeMap<String, String>,
}

#[derive(Serialize)]
struct RestartPolicy {
    condition: &'static str,
}

#[derive(Serialize)]
struct Update {
    parallelism: u32,
    order: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    failure_action: Option<&'static str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    monitor: Option<String>,
}

#[derive(Serialize)]
struct Resources {
    limits: Limits,
}

#[derive(Serialize)]
struct Limits {
    #[serde(skip_serializing_if = "Option::is_none")]
    cpus: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    memory: Option<String>,
}

#[derive(Serialize)]
struct Placement {
    constraints: Vec<String>,
}

/// The stack file of a Swarm production spec; relative paths are written through `root`.
pub(super) fn to_yaml(spec: &RuntimeSpec, root: &str) -> String {
    let configs_dir = crate::value::Interpolated::with_default(
        CONFIGS_DIR_VARIABLE,
        join(root, &configs_directory()),
    )
    .render();
    let file = StackFile {
        version: "3.8",
        services: Ordered(
            spec.containers
                .iter()
                .map(|c| (c.name.clone(), service(c)))
                .collect(),
        ),
        networks: Ordered(vec![(
            spec.network.name.clone(),
            Network {
                name: lit(&spec.network.name),
                driver: "overlay",
                // `docker run --network` can join it: one-off tasks and debugging.
                attachable: true,
                labels: lit_map(&spec.network.labels),
            },
        )]),
        volumes: Ordered(
            spec.volumes
                .iter()
                .map(|v| {
                    let named = Named {
                        name: lit(&v.name),
                        labels: lit_map(&v.labels),
                    };
                    (v.name.clone(), named)
                })
                .collect(),
        ),
        configs: Ordered(
            spec.containers
                .iter()
                .flat_map(|c| c.files.iter().enumerate().map(move |(i, f)| (c, i, f)))
                .filter_map(|(c, i, f)| {
                    let name = config_name(c, i);
                    let file = match &f.content {
                        FileContent::Text(_) => format!("{configs_dir}/{name}"),
                        FileContent::Repository(path) => lit(&join(root, path)),
                        FileContent::Secret { .. } | FileContent::SelfSigned { .. } => return None,
                    };
                    let source = FileSource {
                        name: lit(&name),
                        file,
                    };
                    Some((name, source))
                })
                .collect(),
        ),
        secrets: secrets(spec, root),
    };
    let mut options = serde_saphyr::SerializerOptions::default();
    options.folded_wrap_chars = usize::MAX;
    serde_saphyr::to_string_with_options(&file, options)
        .expect("a stack file of strings and numbers always serialises")
}

/// Where `topo secrets --mode production` writes the configs' files, relative to the
/// repository: `.topo/configs/production`.
pub fn configs_directory() -> String {
    ".topo/configs/production".to_owned()
}

fn service(container: &ContainerSpec) -> Service {
    let confinement = container.confinement.as_ref();
    let mut volumes: Vec<Mount> = container
        .mounts
        .iter()
        .map(|m| {
            // Production binds nothing (the spec gives binds to dev only).
            let (kind, source) = match &m.source {
                MountSource::Bind(source) => ("bind", source),
                MountSource::Volume(name) => ("volume", name),
            };
            Mount {
                kind,
                source: Some(lit(source)),
                target: lit(&m.target),
            }
        })
        .collect();
    if let Some(confinement) = confinement.filter(|c| c.read_only) {
        volumes.extend(confinement.writable.iter().map(|path| Mount {
            kind: "tmpfs",
            source: None,
            target: lit(path),
        }));
    }
    let ports: Vec<Port> = container
        .ports
        .iter()
        .map(|p| Port {
            target: p.container,
            published: p.host,
            protocol: p.protocol.as_str(),
            mode: swarm_tasks(container).port_mode,
        })
        .collect();
    let common = common(container);
    Service {
        hostname: container.hostname.as_deref().map(lit),
        image: container.image.to_string(),
        command: common.command,
        environment: common.environment,
        volumes,
        healthcheck: container.health.as_ref().map(healthcheck),
        stop_grace_period: container.stop_timeout.map(compose_duration),
        read_only: confinement.is_some_and(|c| c.read_only),
        cap_drop: confinement
            .filter(|c| c.drop_capabilities)
            .map(|_| vec!["ALL".to_owned()])
            .unwrap_or_default(),
        cap_add: confinement
            .map(|c| c.capabilities.clone())
            .unwrap_or_default(),
        logging: common.logging,
        configs: config_mounts(container),
        secrets: common.secrets,
        labels: common.labels,
        networks: common.networks,
        deploy: deploy(container),
        ports,
    }
}

/// A service's `deploy:`: what Swarm does with its tasks ([`swarm_tasks`]).
fn deploy(container: &ContainerSpec) -> Deploy {
    let tasks = swarm_tasks(container);
    let update = |failure_action, monitor| Update {
        parallelism: tasks.parallelism,
        order: tasks.order.as_str(),
        failure_action,
        monitor,
    };
    let monitor = tasks.monitor.map(compose_duration);
    let confinement = container.confinement.as_ref();
    let limits = Limits {
        cpus: confinement
            .and_then(|c| c.millicpus)
            .map(|m| format!("{:.3}", f64::from(m) / 1000.0)),
        memory: confinement.and_then(|c| c.memory.as_ref().map(|m| lit(&m.text))),
    };
    Deploy {
        mode: "replicated",
        replicas: tasks.replicas,
        endpoint_mode: tasks.endpoint_mode,
        restart_policy: RestartPolicy {
            condition: if tasks.job { "none" } else { "any" },
        },
        update_config: (!tasks.job).then(|| update(Some("rollback"), monitor)),
        rollback_config: (!tasks.job).then(|| update(None, None)),
        resources: (limits.cpus.is_some() || limits.memory.is_some())
            .then_some(Resources { limits }),
        placement: (!tasks.constraints.is_empty()).then(|| Placement {
            constraints: tasks.constraints.clone(),
        }),
        labels: lit_map(&container.labels),
    }
}
