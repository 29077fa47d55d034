//! The mode rules of an application service's container.

use super::build::{
    base, host_ip, is_swarm, label_config_hash, put_env, service_health, SpecOptions,
};
use super::*;
use crate::naming;
use crate::valid::{Service, ServiceKind, ValidTopology};

/// The spec of one service's container in `mode`: exactly the entry [`super::runtime_spec`]
/// holds for it, config-hash label included, without building the others.
pub fn container_spec(
    topology: &ValidTopology,
    service: &Service,
    mode: Mode,
    options: &SpecOptions,
) -> ContainerSpec {
    let kind = match service.kind {
        ServiceKind::LongRunning => ContainerKind::Service,
        ServiceKind::Job => ContainerKind::Job,
    };
    let mut container = base(topology, &service.role, kind, mode);
    // rule: replicas-on-swarm
    if is_swarm(topology, mode) {
        container.replicas = service.replicas;
    }
    image(topology, service, mode, options, &mut container);
    container.command = if mode == Mode::Dev {
        service.command.dev.clone()
    } else {
        service.command.prod.clone()
    };
    for (name, value) in &service.env {
        put_env(&mut container, name, value, false, mode);
    }
    if mode == Mode::Dev {
        dev_sources(topology, service, &mut container);
    }
    for (purpose, path) in &service.volumes {
        container.mounts.push(MountSpec {
            source: MountSource::Volume(naming::volume_name(
                &topology.project,
                &service.role,
                purpose,
            )),
            target: path.clone(),
        });
    }
    // rule: ports-published-in-dev-only
    for port in service
        .ports
        .iter()
        .filter(|p| mode == Mode::Dev || !p.dev_only)
    {
        container.ports.push(PortSpec {
            host_ip: host_ip(topology, mode).to_owned(),
            host: port.host,
            container: port.container,
            protocol: port.protocol,
        });
    }
    for (target, condition) in &service.depends_on {
        container.depends_on.insert(
            naming::container_name(&topology.project, target),
            *condition,
        );
    }
    container.health = service.health.as_ref().map(service_health);
    container.deploy.strategy = service.deploy.strategy;
    container.deploy.drain = service.deploy.drain;
    container.stop_timeout = service.deploy.stop_timeout;
    container.confinement = super::build::confined(&service.hardening, mode);
    container.aliases.extend(service.aliases.iter().cloned());
    label_config_hash(container)
}

/// The image: built from the owner's context in the local modes (the dev or prod target),
/// pulled by the tag the deploying environment names in production.
fn image(
    topology: &ValidTopology,
    service: &Service,
    mode: Mode,
    options: &SpecOptions,
    container: &mut ContainerSpec,
) {
    let name = naming::image_name(&topology.project, &service.image_role);
    match mode {
        Mode::Dev | Mode::ProdSim => {
            let tag = options
                .image_tag
                .clone()
                .unwrap_or_else(|| mode.as_str().to_owned());
            container.image = ImageRef::named(None, &name, Interpolated::text(tag));
            let build = &service.build;
            container.build = Some(BuildSpec {
                context: build.context.clone(),
                dockerfile: build.dockerfile.clone(),
                // rule: each-mode-builds-its-target
                target: if mode == Mode::Dev {
                    build.dev_target.clone()
                } else {
                    build.prod_target.clone()
                },
                args: if mode == Mode::Dev {
                    build.dev_args.clone()
                } else {
                    build.prod_args.clone()
                },
                secrets: build.secrets.clone(),
            });
        }
        Mode::Production => {
            if let Some(pinned) = options.pinned.get(&container.name) {
                container.image = pinned.clone();
                return;
            }
            let production = &topology.production;
            let variable = &production.tag_variable;
            container.image = ImageRef::named(
                production.registry.as_deref(),
                &name,
                Interpolated::required(
                    variable.as_str(),
                    format!("set {variable} to the image tag to deploy"),
                ),
            );
        }
    }
}

/// Dev: developer-owned source, container-owned generated paths. The source is
/// bind-mounted and every generated path gets a named volume over it (the image owner's,
/// shared by every service on that image).
fn dev_sources(topology: &ValidTopology, service: &Service, container: &mut ContainerSpec) {
    let build = &service.build;
    // rule: dev-env-file
    container.env_files.push(EnvFileSpec {
        path: topology.dev.env_file.clone(),
        required: false,
    });
    // rule: dev-bind-mounts-the-source
    container.mounts.push(MountSpec {
        // `./x` and `x` are one directory: one spec (and config hash) for both, as the
        // renderer writes both `./x`.
        source: MountSource::Bind(bind_source(&build.context)),
        target: build.source_path.clone(),
    });
    // rule: dev-keeps-generated-directories
    for relative in &build.generated {
        container.mounts.push(MountSpec {
            source: MountSource::Volume(naming::volume_name(
                &topology.project,
                &service.image_role,
                &naming::purpose_of_path(relative),
            )),
            target: format!("{}/{relative}", build.source_path.trim_end_matches('/')),
        });
    }
}

/// A context as a bind mount's source: without the leading `./`s (`.` when nothing is left).
fn bind_source(context: &str) -> String {
    let mut rest = context;
    while let Some(shorter) = rest.strip_prefix("./") {
        rest = shorter;
    }
    if rest.is_empty() {
        ".".to_owned()
    } else {
        rest.to_owned()
    }
}
