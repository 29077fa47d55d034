//! The topology after validation: typed facts, every default applied, every reference
//! resolved.
//!
//! [`crate::validate()`] is the only way here: it reads the written model
//! ([`crate::model::Topology`], strings and spans), reports every problem, and lowers what it
//! read into these types as it checks it. Durations are durations, a health check is an HTTP
//! probe or a command, a service knows the build of the image it runs and whether it is a
//! one-shot job. The spec builder reads only these types, so it cannot meet a value that
//! validation refused.

mod hardening;
mod service;

use std::collections::BTreeMap;
use std::time::Duration;

pub use hardening::{Hardening, HardeningDefaults, Memory};
pub use service::{
    Build, Changes, Command, DeployPolicy, HealthCheck, Route, Service, ServiceKind, Test,
};

use crate::model::{Condition, Engine, EnvValue, EventRule, Level};
use crate::naming;
use crate::value::ImageRef;

/// A topology without errors.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ValidTopology {
    /// The project name: the prefix of every derived name.
    pub project: String,
    /// The database server, if any.
    pub database: Option<Database>,
    /// The application's services, in the order written.
    pub services: Vec<Service>,
    /// Third-party servers from pinned images, in the order written.
    pub accessories: Vec<Accessory>,
    /// The reverse proxy, if any.
    pub proxy: Option<Proxy>,
    /// Dev settings.
    pub dev: Dev,
    /// Production settings.
    pub production: Production,
    /// The rendered files' names.
    pub files: Files,
    /// Change detection and release gating.
    pub ci: Ci,
    /// `[lint.rules]`: a level per rule id.
    pub lint_levels: BTreeMap<String, Level>,
}

impl ValidTopology {
    /// The service with this role, if any.
    pub fn service(&self, role: &str) -> Option<&Service> {
        self.services.iter().find(|s| s.role == role)
    }

    /// The service named by its role (`server`) or its container name (`vendure-server`),
    /// as people name services on command lines.
    pub fn service_named(&self, name: &str) -> Option<&Service> {
        self.services
            .iter()
            .find(|s| s.role == name || naming::container_name(&self.project, &s.role) == name)
    }

    /// The service whose image `service` runs: itself, or its `image_of`.
    pub fn image_owner<'a>(&'a self, service: &'a Service) -> &'a Service {
        self.service(&service.image_role).unwrap_or(service)
    }

    /// How many containers the topology runs: the database, the services and the proxy.
    pub fn container_count(&self) -> usize {
        self.services.len()
            + usize::from(self.database.is_some())
            + usize::from(self.proxy.is_some())
    }
}

/// A third-party server from a pinned image.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Accessory {
    /// The role: the container is `<project>-<role>`.
    pub role: String,
    /// The image, as written (pinned).
    pub image: ImageRef,
    /// What topo's catalogue knows of it, if anything.
    pub known: Option<&'static crate::accessory::Known>,
    /// The major its tag names, when it names one (`7` for `redis:7.2`).
    pub major: Option<u32>,
    /// The modes it runs in.
    pub modes: Vec<crate::Mode>,
    /// Its command, when not the image's.
    pub command: Command,
    /// Its environment.
    pub env: BTreeMap<String, EnvValue>,
    /// Ports published in dev.
    pub ports: Vec<crate::model::Port>,
    /// What it waits for.
    pub depends_on: BTreeMap<String, Condition>,
    /// Its health check (the catalogue's unless given).
    pub health: Option<HealthCheck>,
    /// Its data: purpose → container path.
    pub volumes: BTreeMap<String, String>,
    /// Between SIGTERM and SIGKILL.
    pub stop_timeout: Option<Duration>,
    /// Its confinement in prod-sim and production.
    pub hardening: Hardening,
}

impl Accessory {
    /// Whether it runs in `mode`.
    pub fn runs_in(&self, mode: crate::Mode) -> bool {
        self.modes.contains(&mode)
    }
}

/// The database server.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Database {
    /// The engine.
    pub engine: Engine,
    /// The pinned version: the major (PostgreSQL), or the release series (MariaDB).
    pub version: crate::engine::DatabaseVersion,
    /// The image: as written, else the engine's official image at the version.
    pub image: ImageRef,
    /// The role (`db`).
    pub role: String,
    /// The data volume's purpose (`data`).
    pub volume: String,
    /// The database to create.
    pub name: String,
    /// The user to create.
    pub user: String,
    /// The password: always a secret reference.
    pub password: Secret,
    /// The host port published on 127.0.0.1 in dev.
    pub dev_port: Option<u16>,
    /// The health check's timings.
    pub timing: Timing,
    /// Between SIGTERM and SIGKILL when stopped; `None`: the engine's default.
    pub stop_timeout: Option<std::time::Duration>,
    /// Its confinement in prod-sim and production.
    pub hardening: Hardening,
}

/// A value read from the deploying environment's variable.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Secret {
    /// The variable.
    pub var: String,
    /// A default for the local modes.
    pub dev: Option<String>,
    /// Whether prod-sim and production deliver it as a file (`<NAME>_FILE`).
    pub file: bool,
}

impl From<Secret> for EnvValue {
    fn from(secret: Secret) -> EnvValue {
        EnvValue::Secret {
            var: secret.var,
            dev: secret.dev,
            file: Some(secret.file),
        }
    }
}

/// Health check timings, defaults applied.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Timing {
    /// Time between checks.
    pub interval: Duration,
    /// How long one check may take.
    pub timeout: Duration,
    /// Failures before unhealthy.
    pub retries: u32,
    /// Grace period after start.
    pub start_period: Duration,
}

impl Timing {
    /// Every check's defaults: `10s`, `5s`, 5 retries, `30s`.
    pub const DEFAULT: Timing = Timing {
        interval: Duration::from_secs(10),
        timeout: Duration::from_secs(5),
        retries: 5,
        start_period: Duration::from_secs(30),
    };
}

/// The reverse proxy.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Proxy {
    /// The nginx image.
    pub image: ImageRef,
    /// The host port it publishes.
    pub port: u16,
    /// Its confinement in prod-sim and production.
    pub hardening: Hardening,
    /// HTTPS, when a certificate is given.
    pub tls: Option<Tls>,
}

/// The proxy's HTTPS.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Tls {
    /// Where the certificate and key come from.
    pub source: TlsSource,
    /// The host port HTTPS is published on.
    pub https_port: u16,
}

/// Where the proxy's certificate and key come from.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum TlsSource {
    /// Files: the chain from the repository, the key from a variable.
    Files {
        /// The certificate chain, relative to the topology's directory.
        certificate: String,
        /// The variable holding the private key.
        key_variable: String,
    },
    /// An ACME server.
    Acme(Acme),
}

/// An ACME account and the names it certifies.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub struct Acme {
    /// The account's contact address.
    pub email: String,
    /// The certified names, as written.
    pub domains: Vec<String>,
    /// The server's directory URL.
    pub directory: String,
    /// The root (PEM) the server's HTTPS is checked against, relative to the topology's
    /// directory; `None`: the system's roots.
    pub ca_certificate: Option<String>,
    /// Renew when the certificate expires within this.
    pub renew_before: Duration,
}

/// Dev settings.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Dev {
    /// The optional env file every dev container reads.
    pub env_file: String,
}

/// Production settings.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Production {
    /// The registry and namespace images are pushed to (`ghcr.io/acme`).
    pub registry: Option<String>,
    /// What runs production: one host, or a Swarm cluster.
    pub engine: crate::model::ProductionEngine,
    /// The address published ports bind to.
    pub host_ip: String,
    /// The variable holding the tag to deploy.
    pub tag_variable: String,
    /// Log rotation: one file's size (`10m`).
    pub log_max_size: String,
    /// Log rotation: how many files.
    pub log_max_files: u32,
    /// Deployed versions kept on the host per service (at least 1).
    pub keep_images: u32,
}

/// The rendered files' names.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Files {
    /// The dev file.
    pub dev: String,
    /// The prod-sim file.
    pub prod_sim: String,
    /// The production file.
    pub production: String,
}

/// Change detection and release gating.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Ci {
    /// Globs whose changes change every service.
    pub global_files: Vec<String>,
    /// Globs excluded from every scope.
    pub exclude: Vec<String>,
    /// The events that deploy.
    pub deploy_on: Vec<EventRule>,
}
