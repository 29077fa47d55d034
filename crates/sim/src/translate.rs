//! A [`ContainerSpec`] in the engine's words: the create request of one container.
//!
//! A pure translation, as the Compose renderer is one: every value comes from the spec;
//! no rule of any mode is decided here. Variables are resolved by
//! [`Interpolated::resolve`], the way Compose resolves what the renderer writes:
//! `${VAR:-default}` takes the default when the variable is unset *or empty*, and an unset
//! `${VAR:?…}` (a production secret, the image tag) is an error.

use std::collections::HashMap;
use std::path::Path;

use bollard::models::{
    ContainerCreateBody, EndpointSettings, HealthConfig, HostConfig, HostConfigLogConfig, Mount,
    MountType, NetworkingConfig, PortBinding, RestartPolicy, RestartPolicyNameEnum,
};
use topo_core::spec::{ContainerSpec, ImageRef, MountSource, PortSpec, RestartPolicy as Restart};
use topo_core::value::Interpolated;

use crate::error::SimError;

/// Where variables are read: the process environment in the binaries, a map in tests.
pub trait Variables {
    /// The value of `name`, if set.
    fn get(&self, name: &str) -> Option<String>;
}

/// The process environment.
pub struct ProcessEnv;

impl Variables for ProcessEnv {
    fn get(&self, name: &str) -> Option<String> {
        std::env::var(name).ok()
    }
}

impl Variables for HashMap<String, String> {
    fn get(&self, name: &str) -> Option<String> {
        HashMap::get(self, name).cloned()
    }
}

/// Resolves a Compose value as Compose would, from `variables`; a required variable that
/// is unset (or empty) is an error naming the container.
fn resolve(
    container: &ContainerSpec,
    variables: &dyn Variables,
    value: &Interpolated,
) -> Result<String, SimError> {
    value
        .resolve(&|name| variables.get(name))
        .map_err(|missing| SimError::MissingVariable {
            container: container.name.clone(),
            variable: missing.name,
        })
}

/// The image reference a container runs, its tag variable resolved.
pub fn image_reference(
    container: &ContainerSpec,
    variables: &dyn Variables,
) -> Result<ImageRef, SimError> {
    let mut image = container.image.clone();
    if let Some(tag) = &image.tag {
        image.tag = Some(Interpolated::text(resolve(container, variables, tag)?));
    }
    Ok(image)
}

/// The engine's `3000/tcp` key of a port.
pub fn port_key(port: &PortSpec) -> String {
    format!("{}/{}", port.container, port.protocol.as_str())
}

/// The create request of `container`, joined to `network`. Bind sources are resolved
/// against `root`, the topology's directory.
pub fn create_body(
    container: &ContainerSpec,
    network: &str,
    root: &Path,
    variables: &dyn Variables,
) -> Result<ContainerCreateBody, SimError> {
    let env = container
        .env
        .iter()
        .map(|(name, value)| {
            let value = resolve(container, variables, &value.interpolated(name))?;
            Ok(format!("{name}={value}"))
        })
        .collect::<Result<Vec<_>, SimError>>()?;
    let mounts = mounts(container, root);
    let mut port_bindings: HashMap<String, Option<Vec<PortBinding>>> = HashMap::new();
    for port in &container.ports {
        port_bindings
            .entry(port_key(port))
            .or_insert_with(|| Some(Vec::new()))
            .get_or_insert_with(Vec::new)
            .push(PortBinding {
                host_ip: Some(port.host_ip.clone()),
                host_port: Some(port.host.to_string()),
            });
    }
    let healthcheck = container.health.as_ref().map(health_config);
    let host_config = HostConfig {
        mounts: Some(mounts),
        port_bindings: Some(port_bindings),
        restart_policy: Some(RestartPolicy {
            name: Some(match container.restart {
                Restart::No => RestartPolicyNameEnum::NO,
                Restart::UnlessStopped => RestartPolicyNameEnum::UNLESS_STOPPED,
            }),
            maximum_retry_count: None,
        }),
        security_opt: Some(container.security_opt.clone()),
        log_config: container
            .logging
            .as_ref()
            .map(|logging| HostConfigLogConfig {
                typ: Some(logging.driver.clone()),
                config: Some(logging.options.clone().into_iter().collect()),
            }),
        network_mode: Some(network.to_owned()),
        ..confinement(container)
    };
    let endpoint = EndpointSettings {
        aliases: Some(container.aliases.clone()),
        ..Default::default()
    };
    Ok(ContainerCreateBody {
        hostname: container.hostname.clone(),
        image: Some(image_reference(container, variables)?.to_string()),
        cmd: container.command.clone(),
        env: Some(env),
        labels: Some(container.labels.clone().into_iter().collect()),
        exposed_ports: Some(container.ports.iter().map(port_key).collect()),
        healthcheck,
        stop_timeout: container
            .stop_timeout
            .map(|t| i64::try_from(t.as_secs()).unwrap_or(i64::MAX)),
        host_config: Some(host_config),
        networking_config: Some(NetworkingConfig {
            endpoints_config: Some(HashMap::from([(network.to_owned(), endpoint)])),
        }),
        ..Default::default()
    })
}

/// A health check as the engine takes it (a container's, or a Swarm task's).
pub fn health_config(health: &topo_core::spec::HealthSpec) -> HealthConfig {
    let nanos = |d: std::time::Duration| i64::try_from(d.as_nanos()).unwrap_or(i64::MAX);
    HealthConfig {
        test: Some(
            std::iter::once("CMD".to_owned())
                .chain(health.command.iter().cloned())
                .collect(),
        ),
        interval: Some(nanos(health.interval)),
        timeout: Some(nanos(health.timeout)),
        retries: Some(i64::from(health.retries)),
        start_period: Some(nanos(health.start_period)),
        start_interval: None,
    }
}

/// The container's mounts: its volumes and bind mounts, and a volume for its secret files.
fn mounts(container: &ContainerSpec, root: &Path) -> Vec<Mount> {
    let mut mounts: Vec<Mount> = container
        .mounts
        .iter()
        .map(|mount| {
            let (typ, source) = match &mount.source {
                MountSource::Volume(name) => (MountType::VOLUME, name.clone()),
                MountSource::Bind(path) => (
                    MountType::BIND,
                    root.join(path).to_string_lossy().into_owned(),
                ),
            };
            Mount {
                typ: Some(typ),
                source: Some(source),
                target: Some(mount.target.clone()),
                ..Default::default()
            }
        })
        .collect();
    // Secret files get a volume of their own (anonymous: removed with the container), the
    // one place the engine accepts uploads into a read-only root filesystem before start.
    let secrets_dir = ContainerSpec::SECRETS_DIR;
    if container
        .files
        .iter()
        .any(|f| f.target.starts_with(&format!("{secrets_dir}/")))
    {
        mounts.push(Mount {
            typ: Some(MountType::VOLUME),
            target: Some(secrets_dir.to_owned()),
            ..Default::default()
        });
    }
    mounts
}

/// The container's confinement as the engine takes it (what Compose makes of `read_only`,
/// `tmpfs`, `cap_drop`, `cap_add`, `mem_limit`, `cpus`, `pids_limit`).
fn confinement(container: &ContainerSpec) -> HostConfig {
    let Some(confinement) = &container.confinement else {
        return HostConfig::default();
    };
    let tmpfs: HashMap<String, String> = if confinement.read_only {
        confinement
            .writable
            .iter()
            .map(|path| (path.clone(), String::new()))
            .collect()
    } else {
        HashMap::new()
    };
    HostConfig {
        readonly_rootfs: Some(confinement.read_only),
        tmpfs: (!tmpfs.is_empty()).then_some(tmpfs),
        cap_drop: confinement
            .drop_capabilities
            .then(|| vec!["ALL".to_owned()]),
        cap_add: (!confinement.capabilities.is_empty()).then(|| confinement.capabilities.clone()),
        memory: confinement
            .memory
            .as_ref()
            .map(|m| i64::try_from(m.bytes).unwrap_or(i64::MAX)),
        nano_cpus: confinement.millicpus.map(|m| i64::from(m) * 1_000_000),
        pids_limit: confinement.pids.map(i64::from),
        ..Default::default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use topo_core::{example, Mode, SourceFile, SpecOptions, ValidateOptions};

    fn prod_sim_spec() -> topo_core::RuntimeSpec {
        let source = SourceFile::new(
            "vendure.toml",
            example::topology("vendure").expect("the example exists"),
        );
        let valid = topo_core::load(&source, &ValidateOptions::default()).expect("valid");
        topo_core::runtime_spec(&valid.topology, Mode::ProdSim, &SpecOptions::default())
    }

    #[test]
    fn server_create_body_carries_the_spec() {
        let spec = prod_sim_spec();
        let server = spec.container("vendure-server").expect("the server");
        let variables = HashMap::from([("COOKIE_SECRET".to_owned(), "from-env".to_owned())]);
        let body = create_body(server, "vendure-network", Path::new("/repo"), &variables)
            .expect("translatable");
        assert_eq!(body.image.as_deref(), Some("vendure-server:prod-sim"));
        let env = body.env.expect("env");
        assert!(
            env.contains(&"COOKIE_SECRET=from-env".to_owned()),
            "{env:?}"
        );
        assert!(env.contains(&"DB_PASSWORD=vendure-dev-password".to_owned()));
        let host = body.host_config.expect("host config");
        assert!(
            host.port_bindings.unwrap_or_default().is_empty(),
            "the server is reached through the proxy in prod-sim"
        );
        let proxy = spec.container("vendure-proxy").expect("the proxy");
        let proxy_body =
            create_body(proxy, "vendure-network", Path::new("/repo"), &variables).expect("proxy");
        let bindings = proxy_body
            .host_config
            .and_then(|h| h.port_bindings)
            .expect("ports");
        let binding = &bindings["80/tcp"].as_ref().expect("bound")[0];
        assert_eq!(binding.host_ip.as_deref(), Some("127.0.0.1"));
        assert_eq!(binding.host_port.as_deref(), Some("8080"));
        let health = body.healthcheck.expect("health");
        assert_eq!(health.test.expect("test")[0], "CMD");
        assert_eq!(health.start_period, Some(60_000_000_000));
        assert_eq!(
            body.labels.expect("labels")["topo.mode"],
            "prod-sim".to_owned()
        );
    }

    #[test]
    fn unset_variable_without_default_is_an_error() {
        let source = SourceFile::new(
            "vendure.toml",
            example::topology("vendure").expect("the example exists"),
        );
        let valid = topo_core::load(&source, &ValidateOptions::default()).expect("valid");
        let spec = topo_core::runtime_spec(&valid.topology, Mode::Production, &Default::default());
        let server = spec.container("vendure-server").expect("the server");
        let error = create_body(server, "n", Path::new("/"), &HashMap::new())
            .expect_err("production secrets have no default");
        assert!(matches!(error, SimError::MissingVariable { .. }), "{error}");
    }
}
