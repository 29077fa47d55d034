//! The mode rules: how a topology becomes the runtime spec of one mode.
//!
//! | | dev | prod-sim | production |
//! |---|---|---|---|
//! | image | built, `dev` target | built, `prod` target | pulled by tag |
//! | source | bind-mounted | in the image | in the image |
//! | generated paths | one named volume each | in the image | in the image |
//! | command | dev | prod | prod |
//! | secrets | variable, local default | variable, local default | variable, required |
//! | ports | 127.0.0.1 | 127.0.0.1, DB never | explicit host IP, DB never |
//! | restart, no-new-privileges, log rotation | no | yes | yes |
//! | one-shot jobs (awaited with `completed`) | not restarted | not restarted | not restarted |
//! | proxy (`[proxy]`): nginx, routes file | 127.0.0.1 | 127.0.0.1 | explicit host IP |
//!
//! These rules are code on purpose: no topology can ask prod-sim for a bind mount.

use std::collections::BTreeMap;
use std::time::Duration;

use sha2::{Digest, Sha256};

use super::*;
use crate::model::{Condition, Database, EnvValue, Probe, Proxy, Service};
use crate::naming;
use crate::validate::ValidTopology;

/// Options of the spec builder (the inputs being the topology and the mode).
#[derive(Clone, Debug, Default)]
pub struct SpecOptions {
    /// The tag of the images a local mode builds; defaults to the mode's name
    /// (`vendure-server:prod-sim`). The engine driver sets a fingerprint here.
    pub image_tag: Option<String>,
}

const DEFAULT_INTERVAL: Duration = Duration::from_secs(10);
const DEFAULT_TIMEOUT: Duration = Duration::from_secs(5);
const DEFAULT_RETRIES: u32 = 5;
const DEFAULT_START_PERIOD: Duration = Duration::from_secs(30);

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
        let mut container = database_container(topology, database, mode);
        label_config_hash(&mut container);
        containers.push(container);
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
    RuntimeSpec {
        project: project.to_owned(),
        mode,
        network: NetworkSpec {
            name: naming::network_name(project),
            labels: ownership,
        },
        volumes,
        containers,
        proxy,
        database: topology.database.as_ref().map(|database| {
            let engine = *database.engine.get();
            let user = database.user.as_deref().map_or(project, String::as_str);
            let name = database.name.as_deref().map_or(project, String::as_str);
            DatabaseSpec {
                container: naming::container_name(project, &database.role),
                engine,
                major: database
                    .major
                    .number()
                    .expect("validated: the major is a number"),
                version_command: engine.version_command(user, name),
            }
        }),
    }
}

/// The spec of one service's container in `mode`: exactly the entry [`runtime_spec`] holds
/// for it, config-hash label included, without building the others.
pub fn container_spec(
    topology: &ValidTopology,
    service: &Service,
    mode: Mode,
    options: &SpecOptions,
) -> ContainerSpec {
    let mut container = service_container(topology, service, mode, options);
    label_config_hash(&mut container);
    container
}

fn label_config_hash(container: &mut ContainerSpec) {
    let hash = config_hash(container);
    container
        .labels
        .insert(labels::CONFIG_HASH.to_owned(), hash);
}

/// Settings every container of a mode shares.
fn base(topology: &ValidTopology, role: &str, mode: Mode) -> ContainerSpec {
    let project = topology.project.as_str();
    let name = naming::container_name(project, role);
    let hardened = mode != Mode::Dev;
    ContainerSpec {
        aliases: vec![name.clone()],
        name,
        role: role.to_owned(),
        image: ImageRef {
            repository: String::new(),
            tag: ImageTag::Fixed(String::new()),
        },
        build: None,
        command: None,
        env: BTreeMap::new(),
        env_files: Vec::new(),
        mounts: Vec::new(),
        ports: Vec::new(),
        health: None,
        restart: if hardened {
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
        deploy: DeploySpec::default(),
        logging: hardened.then(|| LoggingSpec {
            driver: "json-file".to_owned(),
            options: BTreeMap::from([
                (
                    "max-file".to_owned(),
                    topology.production.log_max_files.to_string(),
                ),
                (
                    "max-size".to_owned(),
                    topology.production.log_max_size.to_string(),
                ),
            ]),
        }),
    }
}

fn database_container(topology: &ValidTopology, database: &Database, mode: Mode) -> ContainerSpec {
    let project = topology.project.as_str();
    let engine = *database.engine.get();
    let major = database.major.as_str();
    let user = database.user.as_deref().map_or(project, String::as_str);
    let name = database.name.as_deref().map_or(project, String::as_str);
    let (user_var, name_var, password_var) = engine.env_names();
    let mut container = base(topology, &database.role, mode);
    container.image = ImageRef::parse(
        &database
            .image
            .as_deref()
            .cloned()
            .unwrap_or_else(|| engine.official_image(major)),
    );
    container
        .env
        .insert(user_var.to_owned(), EnvSpec::Literal(user.to_owned()));
    container
        .env
        .insert(name_var.to_owned(), EnvSpec::Literal(name.to_owned()));
    if let Some(password) = &database.password {
        container
            .env
            .insert(password_var.to_owned(), env_value(password, mode));
    }
    container.mounts.push(MountSpec {
        source: MountSource::Volume(naming::volume_name(
            project,
            &database.role,
            &database.volume,
        )),
        target: engine.data_dir().to_owned(),
    });
    // The database is published in dev only, and only on loopback.
    if let (Mode::Dev, Some(port)) = (mode, &database.dev_port) {
        container.ports.push(PortSpec {
            host_ip: "127.0.0.1".to_owned(),
            host: **port,
            container: engine.port(),
            protocol: Protocol::Tcp,
        });
    }
    container.health = Some(health_spec(
        engine.health_command(user, name),
        &database.health,
        None,
    ));
    container
}

fn service_container(
    topology: &ValidTopology,
    service: &Service,
    mode: Mode,
    options: &SpecOptions,
) -> ContainerSpec {
    let project = topology.project.as_str();
    let owner = topology.image_owner(service);
    let image_repository = naming::image_name(project, &owner.role);
    let mut container = base(topology, &service.role, mode);
    let context = owner
        .context
        .as_deref()
        .expect("validated: a service that builds has a context");
    match mode {
        Mode::Dev | Mode::ProdSim => {
            let tag = options
                .image_tag
                .clone()
                .unwrap_or_else(|| mode.as_str().to_owned());
            container.image = ImageRef {
                repository: image_repository,
                tag: ImageTag::Fixed(tag),
            };
            container.build = Some(BuildSpec {
                context: context.clone(),
                dockerfile: owner.dockerfile().to_owned(),
                target: if mode == Mode::Dev {
                    owner.targets.dev.to_string()
                } else {
                    owner.targets.prod.to_string()
                },
            });
        }
        Mode::Production => {
            let settings = &topology.production;
            let registry = settings
                .registry
                .as_deref()
                .map(|r| format!("{r}/"))
                .unwrap_or_default();
            container.image = ImageRef {
                repository: format!("{registry}{image_repository}"),
                tag: ImageTag::Variable(settings.tag_variable.to_string()),
            };
        }
    }
    container.command = service.command.as_ref().and_then(|c| {
        if mode == Mode::Dev {
            c.dev.clone()
        } else {
            c.prod.clone()
        }
    });
    // A service on another's image inherits that service's environment, then its own
    // entries add to or override it: the worker needs the server's configuration.
    let inherited = if owner.role.as_str() != service.role.as_str() {
        Some(&owner.env)
    } else {
        None
    };
    for (name, value) in inherited.into_iter().flatten().chain(&service.env) {
        container
            .env
            .insert(name.to_string(), env_value(value, mode));
    }
    if mode == Mode::Dev {
        container.env_files.push(EnvFileSpec {
            path: topology.dev.env_file.to_string(),
            required: false,
        });
        // Developer-owned source, container-owned generated paths: the source is
        // bind-mounted and every generated path gets a named volume over it.
        let source_path = owner.source_path();
        container.mounts.push(MountSpec {
            // `./x` and `x` are one directory: one spec (and config hash) for both, as the
            // renderer writes both `./x`.
            source: MountSource::Bind(bind_source(context)),
            target: source_path.to_owned(),
        });
        for generated in &owner.generated {
            let relative = crate::validate::relative_to_source(generated, source_path);
            container.mounts.push(MountSpec {
                source: MountSource::Volume(naming::volume_name(
                    project,
                    &owner.role,
                    &naming::purpose_of_path(relative),
                )),
                target: format!("{}/{relative}", source_path.trim_end_matches('/')),
            });
        }
    }
    for (purpose, path) in &service.volumes {
        container.mounts.push(MountSpec {
            source: MountSource::Volume(naming::volume_name(project, &service.role, purpose)),
            target: path.to_string(),
        });
    }
    let host_ip = match mode {
        Mode::Dev | Mode::ProdSim => "127.0.0.1",
        Mode::Production => topology.production.host_ip.as_str(),
    };
    for port in service
        .ports
        .iter()
        .filter(|p| mode == Mode::Dev || !p.dev_only)
    {
        container.ports.push(PortSpec {
            host_ip: host_ip.to_owned(),
            host: port.host,
            container: port.container,
            protocol: port.protocol,
        });
    }
    for (target, condition) in &service.depends_on {
        container
            .depends_on
            .insert(naming::container_name(project, target), **condition);
    }
    if let Some(health) = &service.health {
        let (command, http) = match (&health.http, &health.port, &health.command) {
            (Some(path), Some(port), _) => {
                let probe = health.probe.as_deref().copied().unwrap_or_default();
                (
                    http_probe(probe, **port, path),
                    Some((**port, path.to_string())),
                )
            }
            (_, _, Some(command)) => (command.to_vec(), None),
            _ => unreachable!("validated: a health check is http + port or a command"),
        };
        container.health = Some(health_spec(command, &health.timing(), http));
    }
    // A service others wait for with `completed` is a one-shot job (a migration): restarting
    // it after it exits would run it again and again.
    let is_job = topology.services.iter().any(|other| {
        other.depends_on.iter().any(|(target, condition)| {
            target.as_str() == service.role.as_str() && **condition == Condition::Completed
        })
    });
    if is_job {
        container.restart = RestartPolicy::No;
    }
    container.deploy = DeploySpec {
        strategy: service.strategy(),
        drain: service
            .deploy
            .drain
            .as_deref()
            .map_or(DeploySpec::default().drain, |text| {
                humantime::parse_duration(text).expect("validated: the drain parses")
            }),
        keep_images: *topology.production.keep_images,
    };
    container
        .aliases
        .extend(service.aliases.iter().map(|a| a.to_string()));
    container
}

/// The proxy's container, and its routes: every service with a `route`, by container name.
fn proxy_container(
    topology: &ValidTopology,
    proxy: &Proxy,
    mode: Mode,
) -> (ContainerSpec, ProxySpec) {
    let project = topology.project.as_str();
    let mut container = base(topology, Proxy::ROLE, mode);
    container.image = ImageRef::parse(
        proxy
            .image
            .as_deref()
            .map_or(Proxy::DEFAULT_IMAGE, String::as_str),
    );
    let routes: Vec<RouteSpec> = topology
        .services
        .iter()
        .filter_map(|service| {
            let route = service.route.as_ref()?;
            Some(RouteSpec {
                container: naming::container_name(project, &service.role),
                port: *route.port,
                paths: route.paths.iter().map(|p| p.to_string()).collect(),
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
    let host_ip = match mode {
        Mode::Dev | Mode::ProdSim => "127.0.0.1",
        Mode::Production => topology.production.host_ip.as_str(),
    };
    container.ports.push(PortSpec {
        host_ip: host_ip.to_owned(),
        host: *proxy.port,
        container: 80,
        protocol: Protocol::Tcp,
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
    let spec = ProxySpec {
        container: container.name.clone(),
        config_path: Proxy::CONFIG_PATH.to_owned(),
        routes,
    };
    container.files.push(FileSpec {
        target: spec.config_path.clone(),
        content: spec.config(str::to_owned),
    });
    label_config_hash(&mut container);
    (container, spec)
}

fn env_value(value: &EnvValue, mode: Mode) -> EnvSpec {
    match value {
        EnvValue::Literal(text) => EnvSpec::Literal(text.clone()),
        EnvValue::PerMode { dev, prod } => {
            EnvSpec::Literal(if mode == Mode::Dev { dev } else { prod }.clone())
        }
        EnvValue::Secret { var, dev } => EnvSpec::Variable {
            name: var.clone(),
            default: dev.clone().filter(|_| mode.is_local()),
        },
    }
}

fn http_probe(probe: Probe, port: u16, path: &str) -> Vec<String> {
    let url = format!("http://127.0.0.1:{port}{path}");
    let args: Vec<&str> = match probe {
        Probe::Wget => vec!["wget", "-q", "-O", "/dev/null", &url],
        Probe::Curl => vec!["curl", "-fsS", "-o", "/dev/null", &url],
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

fn health_spec(
    command: Vec<String>,
    timing: &crate::model::HealthTiming,
    http: Option<(u16, String)>,
) -> HealthSpec {
    let duration = |value: &Option<crate::Spanned<String>>, default| {
        value.as_deref().map_or(default, |text| {
            crate::validate::parse_duration(text).expect("validated: durations parse")
        })
    };
    HealthSpec {
        command,
        interval: duration(&timing.interval, DEFAULT_INTERVAL),
        timeout: duration(&timing.timeout, DEFAULT_TIMEOUT),
        retries: timing
            .retries
            .as_deref()
            .copied()
            .unwrap_or(DEFAULT_RETRIES),
        start_period: duration(&timing.start_period, DEFAULT_START_PERIOD),
        http,
    }
}

/// A hash of everything about a container that a restart would change, its image aside
/// (the image is compared on its own: same config, new image is a deploy).
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

fn config_hash(container: &ContainerSpec) -> String {
    let mut copy = container.clone();
    copy.image.tag = ImageTag::Fixed(String::new());
    copy.build = None;
    copy.labels.remove(labels::CONFIG_HASH);
    let bytes = serde_json::to_vec(&copy).expect("a runtime spec always serialises");
    let digest = Sha256::digest(&bytes);
    digest[..8].iter().map(|b| format!("{b:02x}")).collect()
}
