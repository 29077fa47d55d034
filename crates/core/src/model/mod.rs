//! The topology as typed data: what `topology.toml` holds, and nothing derived.
//!
//! Every name that appears in a rendered file (container, network, volume,
//! image) is *derived* from the project name and roles by [`crate::naming`];
//! the topology never spells one out, so it cannot spell one two ways.

mod accessory;
mod ci;
mod deploy;
mod forms;
mod hardening;
mod lint;
pub mod lint_rules;
mod service;

use schemars::JsonSchema;
use serde::Deserialize;

pub use accessory::Accessory;
pub use ci::{Changes, CiSettings, EventKind, EventRule};
pub use deploy::{Acme, Deploy, Proxy, Route, Strategy, Tls};
pub use forms::{Command, EnvValue, MajorVersion, Port, Protocol, TemplatePart, UrlOf};
pub use hardening::{HardeningKeys, Resources};
pub use lint::{Level, LintSettings};
pub use lint_rules::{Rule, RULES};
pub use service::{Condition, Health, HealthTiming, Probe, Service, Targets};

use crate::Spanned;

/// The whole application: one project, one network, an optional database and its services.
#[derive(Clone, Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
#[schemars(title = "topo topology")]
pub struct Topology {
    /// The project name: the prefix of every container, network, volume and image name
    /// (`vendure` gives `vendure-server`, `vendure-network`, …). Lowercase `[a-z0-9-]`.
    pub project: Spanned<String>,
    /// The database server, if the application has one.
    #[serde(default)]
    pub database: Option<Database>,
    /// The application's own services, in the order they are rendered.
    #[serde(default)]
    pub services: Vec<Service>,
    /// Third-party servers from pinned images (a cache, a queue, object storage, mail).
    #[serde(default)]
    pub accessories: Vec<Accessory>,
    /// The reverse proxy in front of the services that have a `route`, if any.
    #[serde(default)]
    pub proxy: Option<Proxy>,
    /// Settings of the local development mode.
    #[serde(default)]
    pub dev: DevSettings,
    /// Settings of the production mode (and of the images prod-sim builds for it).
    #[serde(default)]
    pub production: ProductionSettings,
    /// File names of the rendered Compose files.
    #[serde(default)]
    pub files: OutputFiles,
    /// Change detection and release gating in CI.
    #[serde(default)]
    pub ci: CiSettings,
    /// How `topo lint` weighs its rules for this project.
    #[serde(default)]
    pub lint: LintSettings,
}

impl Topology {
    /// An empty topology for a project: add a database and services to it.
    pub fn new(project: impl Into<String>) -> Self {
        Topology {
            project: Spanned::new(project.into()),
            database: None,
            services: Vec::new(),
            accessories: Vec::new(),
            proxy: None,
            dev: DevSettings::default(),
            production: ProductionSettings::default(),
            files: OutputFiles::default(),
            ci: CiSettings::default(),
            lint: LintSettings::default(),
        }
    }

    /// The service with this role, if any.
    pub fn service(&self, role: &str) -> Option<&Service> {
        self.services.iter().find(|s| s.role.as_str() == role)
    }

    /// The service named by its role (`server`) or its container name (`vendure-server`),
    /// as people name services on command lines.
    pub fn service_named(&self, name: &str) -> Option<&Service> {
        self.services.iter().find(|s| {
            s.role.as_str() == name || crate::naming::container_name(&self.project, &s.role) == name
        })
    }

    /// The service whose image `service` runs: itself, or the one named by `image_of`.
    pub fn image_owner<'a>(&'a self, service: &'a Service) -> &'a Service {
        match &service.image_of {
            Some(owner) => self.service(owner).unwrap_or(service),
            None => service,
        }
    }
}

/// Database engines topo knows how to run, check and pin.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Deserialize, JsonSchema, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Engine {
    /// PostgreSQL (the official `postgres` image layout and `pg_isready`).
    #[default]
    #[serde(alias = "postgresql")]
    Postgres,
    /// MariaDB (the official `mariadb` image layout and its `healthcheck.sh`), pinned by
    /// release series (`version = "11.8"`).
    Mariadb,
}

/// The database server: its engine, the pinned major version and its data volume.
#[derive(Clone, Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Database {
    /// The engine; `postgres` (the default).
    #[serde(default)]
    pub engine: Spanned<Engine>,
    /// The major version, pinned once and used verbatim in every mode (`17`; MariaDB's
    /// majors are release series, written as text: `"11.8"`).
    pub major: Spanned<MajorVersion>,
    /// The image to run; defaults to the engine's official image at the pinned major
    /// (`postgres:17`). Its tag must name the same major.
    #[serde(default)]
    pub image: Option<Spanned<String>>,
    /// The role: the container is `<project>-<role>`. Defaults to `db`.
    #[serde(default = "default_db_role")]
    pub role: Spanned<String>,
    /// The purpose of the data volume: `<project>-<role>-<volume>`. Defaults to `data`.
    #[serde(default = "default_db_volume")]
    pub volume: Spanned<String>,
    /// The database to create; defaults to the project name.
    #[serde(default)]
    pub name: Option<Spanned<String>>,
    /// The user to create; defaults to the project name.
    #[serde(default)]
    pub user: Option<Spanned<String>>,
    /// The password: a reference to a secret (`{ secret = "DB_PASSWORD" }`), never a literal.
    #[serde(default)]
    pub password: Option<Spanned<EnvValue>>,
    /// A host port published on 127.0.0.1 in dev only; the database is never published
    /// in prod-sim or production.
    #[serde(default)]
    pub dev_port: Option<Spanned<u16>>,
    /// Timings of the engine-derived health check.
    #[serde(default)]
    pub health: HealthTiming,
    /// How long the server gets to shut down cleanly when stopped, before SIGKILL (whole
    /// seconds, `"60s"`); defaults to the engine's 10 s.
    #[serde(default)]
    pub stop_timeout: Option<Spanned<String>>,
    /// Resource limits in prod-sim and production: `{ memory = "1g", cpus = 1, pids = 512 }`.
    #[serde(default)]
    pub resources: Option<Spanned<Resources>>,
    /// Capabilities added back after all are dropped, in prod-sim and production
    /// (`["NET_BIND_SERVICE"]`); the default is the engine's own minimal set (PostgreSQL: `CHOWN`, `DAC_OVERRIDE`,
    /// `FOWNER`, `SETGID`, `SETUID`).
    #[serde(default)]
    pub capabilities: Option<Spanned<Vec<Spanned<String>>>>,
    /// `false` keeps the engine's default capabilities instead of dropping them all.
    #[serde(default)]
    pub drop_capabilities: Option<Spanned<bool>>,
    /// `false` gives a writable root filesystem in prod-sim and production (read-only by
    /// default, with a tmpfs on `/tmp` and `/run`).
    #[serde(default)]
    pub read_only: Option<Spanned<bool>>,
    /// Absolute paths the container writes on a read-only root filesystem: each gets a
    /// tmpfs (emptied at every start; state that must last belongs in `volumes`).
    #[serde(default)]
    pub writable: Option<Spanned<Vec<Spanned<String>>>>,
}

hardening::hardening_keys!(Database);

fn default_db_role() -> Spanned<String> {
    Spanned::new("db".to_owned())
}

fn default_db_volume() -> Spanned<String> {
    Spanned::new("data".to_owned())
}

impl Database {
    /// A PostgreSQL server of the given major, with the default role `db` and volume `data`.
    pub fn postgres(major: u32) -> Self {
        Database {
            engine: Spanned::new(Engine::Postgres),
            major: Spanned::new(MajorVersion::new(major.to_string())),
            image: None,
            role: default_db_role(),
            volume: default_db_volume(),
            name: None,
            user: None,
            password: None,
            dev_port: None,
            health: HealthTiming::default(),
            stop_timeout: None,
            resources: None,
            capabilities: None,
            drop_capabilities: None,
            read_only: None,
            writable: None,
        }
    }
}

/// Settings of the dev mode.
#[derive(Clone, Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct DevSettings {
    /// An optional env file every dev container reads (developer-local overrides).
    /// Defaults to `.env.local`; a missing file is not an error.
    #[serde(default = "default_dev_env_file")]
    pub env_file: Spanned<String>,
}

fn default_dev_env_file() -> Spanned<String> {
    Spanned::new(".env.local".to_owned())
}

impl Default for DevSettings {
    fn default() -> Self {
        DevSettings {
            env_file: default_dev_env_file(),
        }
    }
}

/// What runs production.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Deserialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum ProductionEngine {
    /// One Docker host, through Compose or `topo deploy`.
    #[default]
    Compose,
    /// A Docker Swarm cluster, through `docker stack deploy`.
    Swarm,
}

/// Settings of the production mode.
#[derive(Clone, Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ProductionSettings {
    /// The registry images are pushed to and pulled from (`ghcr.io/acme`); none means
    /// images are loaded on the host by name.
    #[serde(default)]
    pub registry: Option<Spanned<String>>,
    /// The host IP published ports bind to in production. Defaults to `0.0.0.0`,
    /// written out explicitly.
    #[serde(default = "default_host_ip")]
    pub host_ip: Spanned<String>,
    /// What runs production: `"compose"` (one Docker host, the default) or `"swarm"` (a
    /// Swarm cluster: the production file is a stack file, services have `replicas`).
    #[serde(default)]
    pub engine: Spanned<ProductionEngine>,
    /// The variable holding the image tag to deploy. Defaults to `TAG`.
    #[serde(default = "default_tag_variable")]
    pub tag_variable: Spanned<String>,
    /// Log rotation of the json-file driver: the size of one file (`10m`).
    #[serde(default = "default_log_max_size")]
    pub log_max_size: Spanned<String>,
    /// Log rotation: how many files are kept.
    #[serde(default = "default_log_max_files")]
    pub log_max_files: Spanned<u32>,
    /// How many deployed versions of each service stay on the host for a rollback (the
    /// running one included); older images are removed after a successful deploy.
    #[serde(default = "default_keep_images")]
    pub keep_images: Spanned<u32>,
}

fn default_keep_images() -> Spanned<u32> {
    Spanned::new(3)
}

fn default_host_ip() -> Spanned<String> {
    Spanned::new("0.0.0.0".to_owned())
}

fn default_tag_variable() -> Spanned<String> {
    Spanned::new("TAG".to_owned())
}

fn default_log_max_size() -> Spanned<String> {
    Spanned::new("10m".to_owned())
}

fn default_log_max_files() -> Spanned<u32> {
    Spanned::new(3)
}

impl Default for ProductionSettings {
    fn default() -> Self {
        ProductionSettings {
            registry: None,
            engine: Spanned::new(ProductionEngine::default()),
            host_ip: default_host_ip(),
            tag_variable: default_tag_variable(),
            log_max_size: default_log_max_size(),
            log_max_files: default_log_max_files(),
            keep_images: default_keep_images(),
        }
    }
}

/// The names of the rendered Compose files, relative to the output directory.
#[derive(Clone, Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct OutputFiles {
    /// The dev file; `docker-compose.yml`, so a plain `docker compose up` is the dev loop.
    #[serde(default = "default_dev_file")]
    pub dev: Spanned<String>,
    /// The prod-sim file; `docker-compose.prod-sim.yml`.
    #[serde(default = "default_prod_sim_file")]
    pub prod_sim: Spanned<String>,
    /// The production file; `docker-compose.prod.yml`.
    #[serde(default = "default_production_file")]
    pub production: Spanned<String>,
}

fn default_dev_file() -> Spanned<String> {
    Spanned::new("docker-compose.yml".to_owned())
}

fn default_prod_sim_file() -> Spanned<String> {
    Spanned::new("docker-compose.prod-sim.yml".to_owned())
}

fn default_production_file() -> Spanned<String> {
    Spanned::new("docker-compose.prod.yml".to_owned())
}

impl Default for OutputFiles {
    fn default() -> Self {
        OutputFiles {
            dev: default_dev_file(),
            prod_sim: default_prod_sim_file(),
            production: default_production_file(),
        }
    }
}
