//! What Swarm does with a production container's tasks, decided once: the stack renderer
//! writes it as `deploy:`, the Swarm deploy (topo-sim) sends it as a service spec. Neither
//! decides anything of its own.
//!
//! - `replicas` tasks (one run to completion for a job), DNS round-robin endpoints: virtual
//!   IPs need IPVS, which not every kernel has;
//! - updates one task at a time, start-first and health-gated (monitored for the health
//!   deadline), rolled back automatically on failure; stop-first for a container publishing
//!   host ports, which two tasks on one node cannot share;
//! - whatever keeps data in a named volume (a local volume lives on one node) placed on the
//!   node labelled [`STATEFUL_LABEL`]; the proxy on the managers, whose address its
//!   host-mode ports are published on (the one a deploy and DNS name);
//! - published ports in host mode (the routing mesh needs IPVS too).

use std::time::Duration;

use super::{ContainerKind, ContainerSpec, MountSource};

/// The node label that places stateful containers: `docker node update --label-add
/// topo.stateful=true NODE`.
pub const STATEFUL_LABEL: &str = "topo.stateful";

/// The order in which a task is replaced.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum UpdateOrder {
    /// The new task starts (and is healthy) before the old one stops.
    StartFirst,
    /// The old task stops first (a host port two tasks cannot share).
    StopFirst,
}

impl UpdateOrder {
    /// `start-first` or `stop-first`, as Swarm spells it.
    pub fn as_str(self) -> &'static str {
        match self {
            UpdateOrder::StartFirst => "start-first",
            UpdateOrder::StopFirst => "stop-first",
        }
    }
}

/// What Swarm does with one container's tasks.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SwarmTasks {
    /// A one-shot job (a replicated job: one completion), never restarted.
    pub job: bool,
    /// How many tasks run it (a job: one).
    pub replicas: u32,
    /// Tasks updated at once.
    pub parallelism: u32,
    /// How a task is replaced.
    pub order: UpdateOrder,
    /// How long a new task is watched before the update counts as done: the health deadline
    /// (`None`: no health check, Swarm's default).
    pub monitor: Option<Duration>,
    /// Whether it keeps data in a named volume (placed on the stateful node).
    pub stateful: bool,
    /// Placement constraints, in Swarm's syntax.
    pub constraints: Vec<String>,
    /// Endpoint mode: `dnsrr`.
    pub endpoint_mode: &'static str,
    /// How published ports are published: `host`.
    pub port_mode: &'static str,
}

/// What Swarm does with `container`'s tasks.
pub fn swarm_tasks(container: &ContainerSpec) -> SwarmTasks {
    let stateful = container
        .mounts
        .iter()
        .any(|m| matches!(m.source, MountSource::Volume(_)));
    let mut constraints = Vec::new();
    if stateful {
        constraints.push(format!("node.labels.{STATEFUL_LABEL} == true"));
    }
    if container.kind == ContainerKind::Proxy {
        constraints.push("node.role == manager".to_owned());
    }
    let job = container.kind == ContainerKind::Job;
    SwarmTasks {
        job,
        replicas: if job { 1 } else { container.replicas },
        parallelism: 1,
        order: if container.ports.is_empty() {
            UpdateOrder::StartFirst
        } else {
            UpdateOrder::StopFirst
        },
        monitor: container.health.as_ref().map(|h| h.deadline()),
        stateful,
        constraints,
        endpoint_mode: "dnsrr",
        port_mode: "host",
    }
}

/// `--engine`: production on `engine` instead of what the topology says. Refused when the
/// topology asks for what only Swarm runs (a service with several replicas) and `engine`
/// is one host.
pub fn override_engine(
    topology: &mut crate::ValidTopology,
    engine: crate::model::ProductionEngine,
) -> Result<(), String> {
    if engine == crate::model::ProductionEngine::Compose {
        if let Some(service) = topology.services.iter().find(|s| s.replicas > 1) {
            return Err(format!(
                "`{}` runs {} replicas, which only Swarm runs: drop `replicas` or use --engine swarm",
                service.role, service.replicas
            ));
        }
    }
    topology.production.engine = engine;
    Ok(())
}
