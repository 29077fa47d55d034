//! A runtime spec, serialised as a Compose file. A pure translation: no mode rule here.
//!
//! Every literal has its `$` doubled, because Compose interpolates every string;
//! the only interpolations written are the spec's variables (secrets, image tag).

use std::collections::BTreeMap;

use serde::ser::SerializeMap;
use serde::{Serialize, Serializer};

use crate::model::Condition;
use crate::spec::{ContainerSpec, EnvSpec, FileContent, MountSource, RuntimeSpec};
use crate::value::{compose_duration, escape};

/// Serialises a list of pairs as a map, keeping their order.
pub(super) struct Ordered<V>(pub(super) Vec<(String, V)>);

impl<V: Serialize> Serialize for Ordered<V> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut map = serializer.serialize_map(Some(self.0.len()))?;
        for (key, value) in &self.0 {
            map.serialize_entry(key, value)?;
        }
        map.end()
    }
}

#[derive(Serialize)]
struct ComposeFile {
    name: String,
    services: Ordered<Service>,
    networks: Ordered<Named>,
    #[serde(skip_serializing_if = "Ordered::is_empty")]
    volumes: Ordered<Named>,
    #[serde(skip_serializing_if = "Ordered::is_empty")]
    configs: Ordered<Content>,
    /// Build secrets, each read from the variable of its name, and secret files, each
    /// from the file of its name in the secrets directory.
    #[serde(skip_serializing_if = "Ordered::is_empty")]
    secrets: Ordered<SecretSource>,
    /// The proxy's ACME account and names: Compose ignores `x-` keys; they say where the
    /// certificate in the proxy's `acme` volume comes from (topo's driver issues it), and
    /// `topo import` reads them back.
    #[serde(rename = "x-topo-acme", skip_serializing_if = "Option::is_none")]
    acme: Option<AcmeExtension>,
}

/// `x-topo-acme`: the topology's `tls.acme`, as written there.
#[derive(Serialize)]
struct AcmeExtension {
    email: String,
    domains: Vec<String>,
    directory: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    ca_certificate: Option<String>,
    renew_before: String,
}

/// A top-level `secrets:` entry: read from an environment variable (a build's), or from a
/// file (a container's: Compose copies an `environment:` secret into the container at `/`,
/// which the engine refuses on a read-only root filesystem, while it bind-mounts a file).
#[derive(Serialize)]
pub(super) struct SecretSource {
    #[serde(skip_serializing_if = "Option::is_none")]
    environment: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    file: Option<String>,
}

/// A file's contents, as a top-level `configs:` entry: written inline, or a file of the
/// repository.
#[derive(Serialize)]
struct Content {
    name: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    content: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    file: Option<String>,
}

/// A `configs:` or `secrets:` entry of a service.
#[derive(Serialize)]
pub(super) struct ConfigMount {
    pub(super) source: String,
    pub(super) target: String,
}

impl<V> Ordered<V> {
    pub(super) fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

#[derive(Serialize)]
pub(super) struct Named {
    pub(super) name: String,
    pub(super) labels: BTreeMap<String, String>,
}

#[derive(Serialize)]
struct Service {
    container_name: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    hostname: Option<String>,
    image: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    build: Option<Build>,
    #[serde(skip_serializing_if = "Option::is_none")]
    command: Option<Vec<String>>,
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    environment: BTreeMap<String, String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    env_file: Vec<EnvFile>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    volumes: Vec<Volume>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    ports: Vec<Port>,
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    depends_on: BTreeMap<String, DependsOn>,
    #[serde(skip_serializing_if = "Option::is_none")]
    healthcheck: Option<Healthcheck>,
    restart: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    stop_grace_period: Option<String>,
    #[serde(flatten)]
    confinement: Confinement,
    #[serde(skip_serializing_if = "Option::is_none")]
    logging: Option<Logging>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    configs: Vec<ConfigMount>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    secrets: Vec<ConfigMount>,
    labels: BTreeMap<String, String>,
    networks: BTreeMap<String, NetworkAttachment>,
}

#[derive(Serialize)]
struct Build {
    context: String,
    dockerfile: String,
    target: String,
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    args: BTreeMap<String, String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    secrets: Vec<String>,
}

#[derive(Serialize)]
struct EnvFile {
    path: String,
    required: bool,
}

#[derive(Serialize)]
struct Volume {
    #[serde(rename = "type")]
    kind: &'static str,
    source: String,
    target: String,
}

#[derive(Serialize)]
struct Port {
    target: u16,
    published: String,
    host_ip: String,
    protocol: &'static str,
}

#[derive(Serialize)]
struct DependsOn {
    condition: &'static str,
}

#[derive(Serialize)]
pub(super) struct Healthcheck {
    test: Vec<String>,
    interval: String,
    timeout: String,
    retries: u32,
    start_period: String,
}

#[derive(Serialize)]
pub(super) struct Logging {
    pub(super) driver: String,
    pub(super) options: BTreeMap<String, String>,
}

#[derive(Serialize)]
pub(super) struct NetworkAttachment {
    pub(super) aliases: Vec<String>,
}

/// Where the rendered file sits relative to the repository root, so relative paths
/// (contexts, bind mounts, env files) resolve as Compose resolves them: from the
/// file's own directory.
pub(super) fn to_yaml(spec: &RuntimeSpec, root: &str) -> String {
    let file = ComposeFile {
        name: lit(&spec.project),
        services: Ordered(
            spec.containers
                .iter()
                .map(|c| (c.name.clone(), service(c, root)))
                .collect(),
        ),
        networks: Ordered(vec![(
            spec.network.name.clone(),
            Named {
                name: lit(&spec.network.name),
                labels: lit_map(&spec.network.labels),
            },
        )]),
        volumes: Ordered(
            spec.volumes
                .iter()
                .map(|v| {
                    (
                        v.name.clone(),
                        Named {
                            name: lit(&v.name),
                            labels: lit_map(&v.labels),
                        },
                    )
                })
                .collect(),
        ),
        configs: Ordered(
            spec.containers
                .iter()
                .flat_map(|c| c.files.iter().enumerate().map(move |(i, f)| (c, i, f)))
                .filter_map(|(c, i, f)| {
                    let (content, file) = match &f.content {
                        FileContent::Text(text) => (Some(lit(text)), None),
                        FileContent::Repository(path) => (None, Some(lit(&join(root, path)))),
                        // A secret is a `secrets:` entry; a placeholder is the driver's alone.
                        FileContent::Secret { .. } | FileContent::SelfSigned { .. } => return None,
                    };
                    let name = config_name(c, i);
                    Some((
                        name.clone(),
                        Content {
                            name: lit(&name),
                            content,
                            file,
                        },
                    ))
                })
                .collect(),
        ),
        secrets: secrets(spec, root),
        acme: spec
            .proxy
            .as_ref()
            .and_then(|p| p.tls.as_ref()?.acme.as_ref())
            .map(|acme| AcmeExtension {
                email: lit(&acme.email),
                domains: acme.domains.iter().map(|d| lit(d)).collect(),
                directory: lit(&acme.directory),
                ca_certificate: acme.ca_certificate.as_ref().map(|c| lit(&join(root, c))),
                renew_before: humantime::format_duration(acme.renew_before).to_string(),
            }),
    };
    // A one-line value stays on its line, never folded into a block: a pinned image
    // (`repo@sha256:…`) or a long command reads as written (files keep their `|` blocks).
    let mut options = serde_saphyr::SerializerOptions::default();
    options.folded_wrap_chars = usize::MAX;
    serde_saphyr::to_string_with_options(&file, options)
        .expect("a Compose file of strings and numbers always serialises")
}

fn service(container: &ContainerSpec, root: &str) -> Service {
    let path = |relative: &str| lit(&join(root, relative));
    let common = common(container);
    Service {
        container_name: lit(&container.name),
        hostname: container.hostname.as_deref().map(lit),
        image: container.image.to_string(),
        build: container.build.as_ref().map(|b| Build {
            context: path(&b.context),
            dockerfile: lit(&b.dockerfile),
            target: lit(&b.target),
            args: b.args.iter().map(|(k, v)| (k.clone(), lit(v))).collect(),
            secrets: b.secrets.clone(),
        }),
        command: common.command,
        environment: common.environment,
        env_file: container
            .env_files
            .iter()
            .map(|f| EnvFile {
                path: path(&f.path),
                required: f.required,
            })
            .collect(),
        volumes: container
            .mounts
            .iter()
            .map(|m| match &m.source {
                MountSource::Bind(source) => Volume {
                    kind: "bind",
                    source: path(source),
                    target: lit(&m.target),
                },
                MountSource::Volume(name) => Volume {
                    kind: "volume",
                    source: lit(name),
                    target: lit(&m.target),
                },
            })
            .collect(),
        ports: container
            .ports
            .iter()
            .map(|p| Port {
                target: p.container,
                published: p.host.to_string(),
                host_ip: lit(&p.host_ip),
                protocol: p.protocol.as_str(),
            })
            .collect(),
        depends_on: container
            .depends_on
            .iter()
            .map(|(name, condition)| {
                let condition = match condition {
                    Condition::Started => "service_started",
                    Condition::Healthy => "service_healthy",
                    Condition::Completed => "service_completed_successfully",
                };
                (name.clone(), DependsOn { condition })
            })
            .collect(),
        healthcheck: container.health.as_ref().map(healthcheck),
        restart: container.restart.as_str(),
        stop_grace_period: container.stop_timeout.map(compose_duration),
        confinement: confinement(container),
        logging: common.logging,
        configs: config_mounts(container),
        secrets: common.secrets,
        labels: common.labels,
        networks: common.networks,
    }
}

/// The parts a Compose service and a stack service write alike: command, environment,
/// logging, secret files, labels and the network attachment.
pub(super) struct Common {
    pub(super) command: Option<Vec<String>>,
    pub(super) environment: BTreeMap<String, String>,
    pub(super) logging: Option<Logging>,
    pub(super) secrets: Vec<ConfigMount>,
    pub(super) labels: BTreeMap<String, String>,
    pub(super) networks: BTreeMap<String, NetworkAttachment>,
}

pub(super) fn common(container: &ContainerSpec) -> Common {
    Common {
        command: container
            .command
            .as_ref()
            .map(|c| c.iter().map(|a| lit(a)).collect()),
        environment: container
            .env
            .iter()
            .map(|(k, v)| (k.clone(), env(k, v)))
            .collect(),
        logging: container.logging.as_ref().map(|l| Logging {
            driver: lit(&l.driver),
            options: lit_map(&l.options),
        }),
        secrets: secret_files(container)
            .map(|(var, target)| ConfigMount {
                source: var.clone(),
                target: lit(target),
            })
            .collect(),
        labels: lit_map(&container.labels),
        networks: BTreeMap::from([(
            spec_network(container),
            NetworkAttachment {
                aliases: container.aliases.iter().map(|a| lit(a)).collect(),
            },
        )]),
    }
}

/// The name of a container's `i`th file as a Compose config: `<container>-file-<i>`.
/// The hardening keys of a service, in the order a reader checks them.
#[derive(Serialize)]
struct Confinement {
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    read_only: bool,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    tmpfs: Vec<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    cap_drop: Vec<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    cap_add: Vec<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    security_opt: Vec<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    mem_limit: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    cpus: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pids_limit: Option<u32>,
}

fn confinement(container: &ContainerSpec) -> Confinement {
    let confinement = container.confinement.as_ref();
    Confinement {
        read_only: confinement.is_some_and(|c| c.read_only),
        tmpfs: confinement
            .filter(|c| c.read_only)
            .map(|c| c.writable.iter().map(|p| lit(p)).collect())
            .unwrap_or_default(),
        cap_drop: confinement
            .filter(|c| c.drop_capabilities)
            .map(|_| vec!["ALL".to_owned()])
            .unwrap_or_default(),
        cap_add: confinement
            .map(|c| c.capabilities.clone())
            .unwrap_or_default(),
        security_opt: container.security_opt.iter().map(|s| lit(s)).collect(),
        mem_limit: confinement.and_then(|c| c.memory.as_ref().map(|m| lit(&m.text))),
        cpus: confinement.and_then(|c| c.millicpus.map(|m| f64::from(m) / 1000.0)),
        pids_limit: confinement.and_then(|c| c.pids),
    }
}

pub(super) fn healthcheck(health: &crate::spec::HealthSpec) -> Healthcheck {
    Healthcheck {
        test: std::iter::once("CMD".to_owned())
            .chain(health.command.iter().map(|a| lit(a)))
            .collect(),
        interval: compose_duration(health.interval),
        timeout: compose_duration(health.timeout),
        retries: health.retries,
        start_period: compose_duration(health.start_period),
    }
}

/// The service's `configs:`: every file but secrets (a `secrets:` entry) and placeholders
/// (the driver's alone).
pub(super) fn config_mounts(container: &ContainerSpec) -> Vec<ConfigMount> {
    container
        .files
        .iter()
        .enumerate()
        .filter(|(_, f)| {
            !matches!(
                f.content,
                FileContent::Secret { .. } | FileContent::SelfSigned { .. }
            )
        })
        .map(|(i, f)| ConfigMount {
            source: config_name(container, i),
            target: lit(&f.target),
        })
        .collect()
}

/// The files of `container` read from a variable: (variable, target).
fn secret_files(container: &ContainerSpec) -> impl Iterator<Item = (&String, &String)> {
    container.files.iter().filter_map(|f| match &f.content {
        FileContent::Secret { variable, .. } => Some((variable, &f.target)),
        _ => None,
    })
}

/// The top-level secrets: every build secret from its variable, every secret file from
/// its file in the secrets directory (`topo secrets` writes them), by variable name.
pub(super) fn secrets(spec: &RuntimeSpec, root: &str) -> Ordered<SecretSource> {
    let files: std::collections::BTreeSet<&String> = spec
        .containers
        .iter()
        .flat_map(secret_files)
        .map(|(var, _)| var)
        .collect();
    let directory = crate::spec::secrets_directory(spec.mode);
    let directory = crate::value::Interpolated::with_default(
        crate::spec::SECRETS_DIR_VARIABLE,
        join(root, &directory),
    )
    .render();
    Ordered(
        spec.containers
            .iter()
            .filter_map(|c| c.build.as_ref())
            .flat_map(|b| &b.secrets)
            .chain(files.iter().copied())
            .collect::<std::collections::BTreeSet<_>>()
            .into_iter()
            .map(|name| {
                let source = if files.contains(name) {
                    SecretSource {
                        environment: None,
                        file: Some(format!("{directory}/{name}")),
                    }
                } else {
                    SecretSource {
                        environment: Some(name.clone()),
                        file: None,
                    }
                };
                (name.clone(), source)
            })
            .collect(),
    )
}

pub(super) fn config_name(container: &ContainerSpec, i: usize) -> String {
    crate::naming::config_name(&container.name, i)
}

/// The network a container joins: there is exactly one, `<project>-network`.
fn spec_network(container: &ContainerSpec) -> String {
    let project = &container.labels[crate::spec::labels::PROJECT];
    crate::naming::network_name(project)
}

fn env(name: &str, value: &EnvSpec) -> String {
    value.interpolated(name).render()
}

/// A literal for Compose: `$` is doubled so it is never interpolated.
pub(super) fn lit(text: &str) -> String {
    escape(text)
}

pub(super) fn lit_map(map: &BTreeMap<String, String>) -> BTreeMap<String, String> {
    map.iter().map(|(k, v)| (k.clone(), lit(v))).collect()
}

pub(super) fn join(root: &str, relative: &str) -> String {
    let relative = relative.trim_start_matches("./");
    match (root.trim_end_matches('/'), relative) {
        ("." | "", "." | "") => ".".to_owned(),
        ("." | "", rest) => format!("./{rest}"),
        (root, "." | "") => root.to_owned(),
        (root, rest) => format!("{root}/{rest}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_and_literals() {
        assert_eq!(join(".", "apps/server"), "./apps/server");
        assert_eq!(join("../..", "apps/server"), "../../apps/server");
        assert_eq!(join(".", "."), ".");
        assert_eq!(join("..", "./x"), "../x");
        assert_eq!(lit("a$b$$"), "a$$b$$$$");
    }
}
