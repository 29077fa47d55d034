//! The mode rules of an accessory's container: its pinned image in every mode it runs in,
//! its data in named volumes, its ports published in dev only, confined like the rest.

use super::build::{base, label_config_hash, put_env, service_health};
use super::*;
use crate::naming;
use crate::valid::{Accessory, ValidTopology};

/// What a deploy checks of an accessory: that it runs, and the version it runs.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct AccessorySpec {
    /// Its container (`<project>-<role>`).
    pub container: String,
    /// The catalogue's name for it (`redis`), when the catalogue knows its image.
    pub known: Option<String>,
    /// The major its image's tag names.
    pub major: Option<u32>,
    /// The command, run in the container, that prints the running server's version.
    pub version_command: Option<Vec<String>>,
}

impl AccessorySpec {
    /// The major in the output of the version command, when the catalogue knows how to
    /// read it.
    pub fn major_of_version_output(&self, output: &str) -> Option<u32> {
        let known = crate::accessory::CATALOGUE
            .iter()
            .find(|k| Some(k.name) == self.known.as_deref())?;
        known.major_of_version_output(output)
    }
}

/// The accessory's container in `mode`.
pub(super) fn accessory_container(
    topology: &ValidTopology,
    accessory: &Accessory,
    mode: Mode,
) -> ContainerSpec {
    let project = topology.project.as_str();
    let mut container = base(topology, &accessory.role, ContainerKind::Accessory, mode);
    container.hostname = Some(container.name.clone());
    container.image = accessory.image.clone();
    container.command = if mode == Mode::Dev {
        accessory.command.dev.clone()
    } else {
        accessory.command.prod.clone()
    };
    for (name, value) in &accessory.env {
        put_env(&mut container, name, value, false, mode);
    }
    for (purpose, path) in &accessory.volumes {
        container.mounts.push(MountSpec {
            source: MountSource::Volume(naming::volume_name(project, &accessory.role, purpose)),
            target: path.clone(),
        });
    }
    // Reached by its name on the network; published for a developer's tools only.
    if mode == Mode::Dev {
        for port in &accessory.ports {
            container.ports.push(PortSpec {
                host_ip: "127.0.0.1".to_owned(),
                host: port.host,
                container: port.container,
                protocol: port.protocol,
            });
        }
    }
    for (target, condition) in &accessory.depends_on {
        container
            .depends_on
            .insert(naming::container_name(project, target), *condition);
    }
    container.health = accessory.health.as_ref().map(service_health);
    container.stop_timeout = accessory.stop_timeout;
    container.confinement = super::build::confined(&accessory.hardening, mode);
    label_config_hash(container)
}

/// The accessory's deploy checks.
pub(super) fn accessory_spec(topology: &ValidTopology, accessory: &Accessory) -> AccessorySpec {
    AccessorySpec {
        container: naming::container_name(&topology.project, &accessory.role),
        known: accessory.known.map(|k| k.name.to_owned()),
        major: accessory.major,
        version_command: accessory
            .known
            .and_then(|k| k.version)
            .map(|(command, _)| command.iter().map(|a| (*a).to_owned()).collect()),
    }
}
