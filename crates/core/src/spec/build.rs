//! The mode rules: how a topology becomes the runtime spec of one mode.
//!
//! | | dev | prod-sim | production |
//! |---|---|---|---|
//! | image | built, `dev` target | built, `prod` target | pulled by tag |
//! | source | bind-mounted | in the image | in the image |
//! | generated paths | one named volume each | in the image | in the image |
//! | command | dev | prod | prod |
//! | secrets | variable, local default | file or variable, local default | file or variable, required |
//! | ports | 127.0.0.1 | 127.0.0.1, DB never | explicit host IP, DB never |
//! | restart, no-new-privileges, log rotation | no | yes | yes |
//! | one-shot jobs (awaited with `completed`) | not restarted | not restarted | not restarted |
//! | proxy (`[proxy]`): nginx, routes file | 127.0.0.1 | 127.0.0.1 | explicit host IP |
//!
//! These rules are code on purpose: no topology can ask prod-sim for a bind mount. They
//! read only a [`ValidTopology`]: every value here was checked and typed by validation.

use std::collections::BTreeMap;
use std::time::Duration;

use sha2::{Digest, Sha256};

use super::*;
use crate::model::{Condition, EnvValue, Probe, TemplatePart};
use crate::naming;
use crate::valid::{Database, Proxy, Test, Timing, TlsSource, ValidTopology};

pub use super::service::container_spec;

/// Options of the spec builder (the inputs being the topology and the mode).
#[derive(Clone, Debug, Default)]
pub struct SpecOptions {
    /// The tag of the images a local mode builds; defaults to the mode's name
    /// (`vendure-server:prod-sim`). The engine driver sets a fingerprint here.
    pub image_tag: Option<String>,
    /// The images production containers run, by container name, instead of
    /// `<repository>:${TAG}` (`topo render --images`: a build report's digests or tags).
    pub pinned: BTreeMap<String, ImageRef>,
}

/// The runtime spec of `topology` in `mode`.
pub fn runtime_spec(topology: &ValidTopology, mode: Mode, options: &SpecOptions) -> RuntimeSpec {
    let project = topology.project.as_str();
    let ownership = BTreeMap::from([(labels::PROJECT.to_owned(), project.to_owned())]);
    // Volumes carry their mode too: dev and prod-sim share volume names, and a driver
    // that starts prod-sim from scratch must never delete the developer's dev data.
    let mut volume_labels = ownership.clone();
    volume_labels.insert(labels::MODE.to_owned(), mode.as_str().to_owned());
    let mut containers = Vec::new();
    if let Some(database) = &topology.database {
        containers.push(database_container(topology, database, mode));
    }
    // Accessories run before the application that uses them.
    let accessories: Vec<&crate::valid::Accessory> = topology
        .accessories
        .iter()
        .filter(|a| a.runs_in(mode))
        .collect();
    for accessory in &accessories {
        containers.push(super::accessory::accessory_container(
            topology, accessory, mode,
        ));
    }
    for service in &topology.services {
        containers.push(container_spec(topology, service, mode, options));
    }
    let proxy = topology.proxy.as_ref().map(|proxy| {
        let (container, routes) = proxy_container(topology, proxy, mode);
        containers.push(container);
        routes
    });
    let mut volume_names: Vec<&str> = containers
        .iter()
        .flat_map(|c| &c.mounts)
        .filter_map(|m| match &m.source {
            MountSource::Volume(name) => Some(name.as_str()),
            MountSource::Bind(_) => None,
        })
        .collect();
    volume_names.sort_unstable();
    volume_names.dedup();
    let volumes = volume_names
        .into_iter()
        .map(|name| VolumeSpec {
            name: name.to_owned(),
            labels: volume_labels.clone(),
        })
        .collect();
    // Production reads its tag variable unless every image is pinned (`topo render --images`).
    let reads_tag = containers.iter().any(|c| c.image.tag_variable().is_some());
    RuntimeSpec {
        project: project.to_owned(),
        mode,
        swarm: is_swarm(topology, mode),
        network: NetworkSpec {
            name: naming::network_name(project),
            labels: ownership,
        },
        volumes,
        containers,
        proxy,
        tag_variable: (mode == Mode::Production && reads_tag)
            .then(|| topology.production.tag_variable.clone()),
        keep_images: topology.production.keep_images,
        accessories: accessories
            .iter()
            .map(|a| super::accessory::accessory_spec(topology, a))
            .collect(),
        database: topology.database.as_ref().map(|database| DatabaseSpec {
            container: naming::container_name(project, &database.role),
            engine: database.engine,
            version: database.version,
            version_command: database
                .engine
                .version_command(&database.user, &database.name),
            version_command_from_job: database.engine.version_command_from(
                &database.user,
                &database.name,
                &naming::container_name(project, &database.role),
            ),
        }),
    }
}

/// Whether `mode` runs on a Swarm cluster: production, when the topology says so.
pub(super) fn is_swarm(topology: &ValidTopology, mode: Mode) -> bool {
    mode == Mode::Production && topology.production.engine == crate::model::ProductionEngine::Swarm
}

/// The confinement of a hardened mode (prod-sim, production); dev runs none.
pub(super) fn confined(
    hardening: &crate::valid::Hardening,
    mode: Mode,
) -> Option<crate::valid::Hardening> {
    (mode != Mode::Dev).then(|| hardening.clone())
}

/// Labels the container with the hash of its configuration: the last step of every
/// container's spec. A tmpfs path a volume already covers is left to the volume.
pub(super) fn label_config_hash(mut container: ContainerSpec) -> ContainerSpec {
    if let Some(confinement) = container.confinement.as_mut() {
        let targets: Vec<&str> = container.mounts.iter().map(|m| m.target.as_str()).collect();
        confinement
            .writable
            .retain(|path| !targets.contains(&path.as_str()));
    }
    let hash = config_hash(&container);
    container
        .labels
        .insert(labels::CONFIG_HASH.to_owned(), hash);
    container
}

/// Settings every container of a mode shares.
pub(super) fn base(
    topology: &ValidTopology,
    role: &str,
    kind: ContainerKind,
    mode: Mode,
) -> ContainerSpec {
    let project = topology.project.as_str();
    let name = naming::container_name(project, role);
    // rule: hardened-outside-dev (security options and logs here, `confined` for the rest)
    let hardened = mode != Mode::Dev;
    ContainerSpec {
        aliases: vec![name.clone()],
        hostname: None,
        name,
        role: role.to_owned(),
        kind,
        image: ImageRef::named(None, "", Interpolated::default()),
        build: None,
        command: None,
        env: BTreeMap::new(),
        env_files: Vec::new(),
        mounts: Vec::new(),
        ports: Vec::new(),
        health: None,
        // rule: restarted-outside-dev. A one-shot job is never restarted: it would run
        // again and again.
        restart: if hardened && kind != ContainerKind::Job {
            RestartPolicy::UnlessStopped
        } else {
            RestartPolicy::No
        },
        depends_on: BTreeMap::new(),
        labels: BTreeMap::from([
            (labels::PROJECT.to_owned(), project.to_owned()),
            (labels::MODE.to_owned(), mode.as_str().to_owned()),
            (labels::SERVICE.to_owned(), role.to_owned()),
        ]),
        security_opt: if hardened {
            vec!["no-new-privileges:true".to_owned()]
        } else {
            Vec::new()
        },
        files: Vec::new(),
        deploy: DeploySpec {
            strategy: Strategy::Recreate,
            drain: crate::valid::DeployPolicy::DEFAULT_DRAIN,
        },
        stop_timeout: None,
        replicas: 1,
        confinement: None,
        logging: hardened.then(|| LoggingSpec {
            driver: "json-file".to_owned(),
            options: BTreeMap::from([
                (
                    "max-file".to_owned(),
                    topology.production.log_max_files.to_string(),
                ),
                (
                    "max-size".to_owned(),
                    topology.production.log_max_size.clone(),
                ),
            ]),
        }),
    }
}

fn database_container(topology: &ValidTopology, database: &Database, mode: Mode) -> ContainerSpec {
    let engine = database.engine;
    let (user_var, name_var, password_var) = engine.env_names();
    let mut container = base(topology, &database.role, ContainerKind::Database, mode);
    container.image = database.image.clone();
    container.stop_timeout = database.stop_timeout;
    container.confinement = confined(&database.hardening, mode);
    container
        .env
        .insert(user_var.to_owned(), EnvSpec::Literal(database.user.clone()));
    container
        .env
        .insert(name_var.to_owned(), EnvSpec::Literal(database.name.clone()));
    for (name, value) in engine.extra_env() {
        container
            .env
            .insert((*name).to_owned(), EnvSpec::Literal((*value).to_owned()));
    }
    put_env(
        &mut container,
        password_var,
        &database.password.clone().into(),
        true,
        mode,
    );
    container.mounts.push(MountSpec {
        source: MountSource::Volume(naming::volume_name(
            &topology.project,
            &database.role,
            &database.volume,
        )),
        target: engine.data_dir().to_owned(),
    });
    // The database is published in dev only, and only on loopback.
    if let (Mode::Dev, Some(port)) = (mode, database.dev_port) {
        container.ports.push(PortSpec {
            host_ip: "127.0.0.1".to_owned(),
            host: port,
            container: engine.port(),
            protocol: crate::model::Protocol::Tcp,
        });
    }
    container.health = Some(health_spec(
        engine.health_command(&database.user, &database.name),
        database.timing,
        None,
    ));
    label_config_hash(container)
}

/// The proxy's container, and its routes: every service with a `route`, by container name.
fn proxy_container(
    topology: &ValidTopology,
    proxy: &Proxy,
    mode: Mode,
) -> (ContainerSpec, ProxySpec) {
    let project = topology.project.as_str();
    let mut container = base(
        topology,
        crate::model::Proxy::ROLE,
        ContainerKind::Proxy,
        mode,
    );
    container.image = proxy.image.clone();
    container.confinement = confined(&proxy.hardening, mode);
    let routes: Vec<RouteSpec> = topology
        .services
        .iter()
        .filter_map(|service| {
            let route = service.route.as_ref()?;
            Some(RouteSpec {
                container: naming::container_name(project, &service.role),
                port: route.port,
                paths: route.paths.clone(),
            })
        })
        .collect();
    // nginx resolves its upstreams when it starts: the routed containers must exist by then,
    // and should already answer.
    for service in topology.services.iter().filter(|s| s.route.is_some()) {
        let condition = if service.health.is_some() {
            Condition::Healthy
        } else {
            Condition::Started
        };
        container
            .depends_on
            .insert(naming::container_name(project, &service.role), condition);
    }
    container.ports.push(PortSpec {
        host_ip: host_ip(topology, mode).to_owned(),
        host: proxy.port,
        container: 80,
        protocol: crate::model::Protocol::Tcp,
    });
    // nginx writes its pid file after it has bound its ports: a pid file means it answers.
    // (Both the official image and Debian's nginx keep it at /var/run/nginx.pid.)
    container.health = Some(HealthSpec {
        command: ["sh", "-c", "test -s /var/run/nginx.pid"]
            .map(str::to_owned)
            .to_vec(),
        interval: Duration::from_secs(2),
        timeout: Duration::from_secs(2),
        retries: 3,
        start_period: Duration::from_secs(5),
        http: None,
    });
    let tls = tls_spec(topology, proxy, mode, &mut container);
    let spec = ProxySpec {
        container: container.name.clone(),
        config_path: crate::model::Proxy::CONFIG_PATH.to_owned(),
        routes,
        tls,
        resolve_per_request: is_swarm(topology, mode),
    };
    container.files.push(FileSpec::text(
        &spec.config_path,
        spec.config(str::to_owned),
    ));
    tls_files(&mut container, spec.tls.as_ref(), proxy);
    (label_config_hash(container), spec)
}

/// HTTPS in prod-sim and production (dev stays plain HTTP on the developer's machine): the
/// published HTTPS port, where the certificate and key are, the ACME volume.
fn tls_spec(
    topology: &ValidTopology,
    proxy: &Proxy,
    mode: Mode,
    container: &mut ContainerSpec,
) -> Option<TlsSpec> {
    let project = topology.project.as_str();
    proxy.tls.as_ref().filter(|_| mode != Mode::Dev).map(|tls| {
        container.ports.push(PortSpec {
            host_ip: host_ip(topology, mode).to_owned(),
            host: tls.https_port,
            container: 443,
            protocol: crate::model::Protocol::Tcp,
        });
        match &tls.source {
            TlsSource::Files { .. } => TlsSpec {
                certificate: crate::model::Proxy::TLS_CERTIFICATE_PATH.to_owned(),
                key: crate::model::Proxy::TLS_KEY_PATH.to_owned(),
                https_port: tls.https_port,
                acme: None,
            },
            TlsSource::Acme(acme) => {
                // Issued certificates, the account and the challenges outlast the container.
                container.mounts.push(MountSpec {
                    source: MountSource::Volume(naming::volume_name(
                        project,
                        crate::model::Proxy::ROLE,
                        "acme",
                    )),
                    target: crate::model::Proxy::ACME_DIR.to_owned(),
                });
                TlsSpec {
                    certificate: TlsSpec::acme_path("certificate.pem"),
                    key: TlsSpec::acme_path("key.pem"),
                    https_port: tls.https_port,
                    acme: Some(acme.clone()),
                }
            }
        }
    })
}

/// The proxy's TLS files: a repository chain and a key secret, or the self-signed
/// placeholder nginx starts with before an ACME server issued the first certificate.
fn tls_files(container: &mut ContainerSpec, spec: Option<&TlsSpec>, proxy: &Proxy) {
    match (spec, proxy.tls.as_ref().map(|t| &t.source)) {
        (
            Some(tls),
            Some(TlsSource::Files {
                certificate,
                key_variable,
            }),
        ) => {
            container.files.push(FileSpec {
                target: tls.certificate.clone(),
                content: FileContent::Repository(certificate.clone()),
            });
            container.files.push(FileSpec {
                target: tls.key.clone(),
                content: FileContent::Secret {
                    variable: key_variable.clone(),
                    default: None,
                    // nginx's master process, root, reads it before its workers drop root.
                    mode: 0o400,
                },
            });
        }
        (Some(tls), Some(TlsSource::Acme(acme))) => container.files.push(FileSpec {
            target: tls.certificate.clone(),
            content: FileContent::SelfSigned {
                key: tls.key.clone(),
                names: acme.domains.clone(),
            },
        }),
        _ => {}
    }
}

/// The host address published ports bind to in `mode`: loopback on a developer's machine.
/// (rule: production-binds-its-host-address)
pub(super) fn host_ip(topology: &ValidTopology, mode: Mode) -> &str {
    match mode {
        Mode::Dev | Mode::ProdSim => "127.0.0.1",
        Mode::Production => &topology.production.host_ip,
    }
}

/// An environment value in `mode`: secrets become variables, with their local default
/// only where the mode is local (rule: secret-defaults-are-local; a per-mode value is
/// value-per-mode).
pub(super) fn env_value(value: &EnvValue, mode: Mode) -> EnvSpec {
    match value {
        EnvValue::Literal(text) => EnvSpec::Literal(text.clone()),
        EnvValue::PerMode { dev, prod } => {
            EnvSpec::Literal(if mode == Mode::Dev { dev } else { prod }.clone())
        }
        EnvValue::Secret { var, dev, .. } => EnvSpec::Variable {
            name: var.clone(),
            default: dev.clone().filter(|_| mode.is_local()),
        },
        EnvValue::Template(parts) => {
            let mut pieces: Vec<EnvSpec> = parts
                .iter()
                .map(|part| match part {
                    TemplatePart::Text(text) => EnvSpec::Literal(text.clone()),
                    TemplatePart::Secret { var, dev } => EnvSpec::Variable {
                        name: var.clone(),
                        default: dev.clone().filter(|_| mode.is_local()),
                    },
                })
                .collect();
            // A template of one piece is that piece: the same value, the same config hash.
            match (
                pieces.len(),
                parts.iter().all(|p| matches!(p, TemplatePart::Text(_))),
            ) {
                (_, true) => EnvSpec::Literal(
                    parts
                        .iter()
                        .map(|p| match p {
                            TemplatePart::Text(text) => text.as_str(),
                            TemplatePart::Secret { .. } => "",
                        })
                        .collect(),
                ),
                (1, false) => pieces.remove(0),
                _ => EnvSpec::Template(pieces),
            }
        }
        EnvValue::UrlOf(_) => unreachable!("validation turns every url_of into a template"),
    }
}

/// Gives `container` the environment entry `name = value` in `mode` (rule:
/// secrets-as-files). A secret delivered as
/// a file (`file`, else `files_by_default`; prod-sim and production only: dev is not
/// confined, and its defaults are no secrets) becomes the file `/run/secrets/<VAR>`,
/// readable by every user as Compose writes it (the process may drop root), and the
/// variable `<name>_FILE` naming it, the convention of the database images.
pub(super) fn put_env(
    container: &mut ContainerSpec,
    name: &str,
    value: &EnvValue,
    files_by_default: bool,
    mode: Mode,
) {
    match value {
        EnvValue::Secret { var, dev, file }
            if mode != Mode::Dev && file.unwrap_or(files_by_default) =>
        {
            let target = format!("{}/{var}", ContainerSpec::SECRETS_DIR);
            container
                .env
                .insert(format!("{name}_FILE"), EnvSpec::Literal(target.clone()));
            if !container.files.iter().any(|f| f.target == target) {
                container.files.push(FileSpec {
                    target,
                    content: FileContent::Secret {
                        variable: var.clone(),
                        default: dev.clone().filter(|_| mode.is_local()),
                        mode: 0o444,
                    },
                });
            }
        }
        _ => {
            container
                .env
                .insert(name.to_owned(), env_value(value, mode));
        }
    }
}

/// The health check of a service: its HTTP probe or its command, with its timings.
pub(super) fn service_health(check: &crate::valid::HealthCheck) -> HealthSpec {
    let (command, http) = match &check.test {
        Test::Http { path, port, probe } => {
            (http_probe(*probe, *port, path), Some((*port, path.clone())))
        }
        Test::Command(command) => (command.clone(), None),
    };
    health_spec(command, check.timing, http)
}

fn http_probe(probe: Probe, port: u16, path: &str) -> Vec<String> {
    let url = format!("http://127.0.0.1:{port}{path}");
    let args: Vec<&str> = match probe {
        Probe::Wget => vec!["wget", "-q", "-O", "/dev/null", &url],
        Probe::Curl => vec!["curl", "-fsS", "-o", "/dev/null", &url],
        Probe::Python => {
            return vec![
                "python3".to_owned(),
                "-c".to_owned(),
                format!("import urllib.request; urllib.request.urlopen('{url}', timeout=5)"),
            ]
        }
        Probe::Node => {
            return vec![
                "node".to_owned(),
                "-e".to_owned(),
                format!(
                    "fetch('{url}').then(r => process.exit(r.ok ? 0 : 1), () => process.exit(1))"
                ),
            ]
        }
    };
    args.into_iter().map(str::to_owned).collect()
}

fn health_spec(command: Vec<String>, timing: Timing, http: Option<(u16, String)>) -> HealthSpec {
    HealthSpec {
        command,
        interval: timing.interval,
        timeout: timing.timeout,
        retries: timing.retries,
        start_period: timing.start_period,
        http,
    }
}

/// A hash of everything about a container that a restart would change, its image aside
/// (the image is compared on its own: same config, new image is a deploy).
fn config_hash(container: &ContainerSpec) -> String {
    let mut copy = container.clone();
    copy.image.tag = None;
    copy.build = None;
    copy.labels.remove(labels::CONFIG_HASH);
    let bytes = serde_json::to_vec(&copy).expect("a runtime spec always serialises");
    let digest = Sha256::digest(&bytes);
    digest[..8].iter().map(|b| format!("{b:02x}")).collect()
}
