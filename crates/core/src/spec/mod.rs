//! The per-mode runtime spec: every container of one mode, fully resolved.
//!
//! This is the one description of a container. The Compose renderer writes it
//! as YAML; the engine driver creates exactly it through the Docker API; the
//! fingerprint hashes the production one. The mode rules that produce it live
//! in [`build`](self::runtime_spec) and nowhere else: the consumers are pure
//! translations and know no rule.

mod accessory;
mod build;
pub mod diff;
mod proxy;
pub mod rules;
mod service;
pub mod swarm;

use std::collections::BTreeMap;
use std::fmt;
use std::time::Duration;

use serde::Serialize;

pub use crate::value::ImageRef;
pub use accessory::AccessorySpec;
pub use build::{container_spec, runtime_spec, SpecOptions};
pub use proxy::{ProxySpec, RouteSpec, TlsSpec};

use crate::model::{Condition, Protocol, Strategy};
use crate::value::Interpolated;

/// The variable that moves the directory of secret files Compose reads (`topo secrets`
/// writes them) away from [`secrets_directory`].
pub const SECRETS_DIR_VARIABLE: &str = "TOPO_SECRETS_DIR";

/// Where the secret files of `mode` are by default, relative to the topology's directory:
/// `.topo/secrets/<mode>` (keep `.topo/` out of version control).
pub fn secrets_directory(mode: Mode) -> String {
    format!(".topo/secrets/{mode}")
}

/// The three environments a topology is rendered for.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Mode {
    /// Local development: dev target, source bind-mounted, hot reload.
    Dev,
    /// Local production simulation: prod target built here, no bind mounts.
    ProdSim,
    /// Production: images by tag, hardened.
    Production,
}

impl Mode {
    /// Every mode, in rendering order.
    pub const ALL: [Mode; 3] = [Mode::Dev, Mode::ProdSim, Mode::Production];

    /// `dev`, `prod-sim` or `production`.
    pub fn as_str(self) -> &'static str {
        match self {
            Mode::Dev => "dev",
            Mode::ProdSim => "prod-sim",
            Mode::Production => "production",
        }
    }

    /// Dev and prod-sim run on a developer's machine; their secrets may have local defaults.
    pub fn is_local(self) -> bool {
        self != Mode::Production
    }
}

impl fmt::Display for Mode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl std::str::FromStr for Mode {
    type Err = String;
    fn from_str(text: &str) -> Result<Mode, String> {
        Mode::ALL
            .into_iter()
            .find(|m| m.as_str() == text)
            .ok_or_else(|| format!("unknown mode `{text}`: expected dev, prod-sim or production"))
    }
}

/// Everything one mode runs.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct RuntimeSpec {
    /// The project name (also the Compose project name).
    pub project: String,
    /// The mode this spec is for.
    pub mode: Mode,
    /// Whether it runs on a Swarm cluster (production with `engine = "swarm"`): rendered as
    /// a stack file.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub swarm: bool,
    /// The one network.
    pub network: NetworkSpec,
    /// Every named volume any container mounts, sorted by name.
    pub volumes: Vec<VolumeSpec>,
    /// The containers: the database first, then the services in topology order, then the
    /// proxy.
    pub containers: Vec<ContainerSpec>,
    /// The reverse proxy's routes, when the topology has a proxy.
    pub proxy: Option<ProxySpec>,
    /// The database server, when the topology has one.
    pub database: Option<DatabaseSpec>,
    /// The accessories of this mode, in topology order.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub accessories: Vec<AccessorySpec>,
    /// The variable holding the tag of the application's images, in production (where the
    /// deploying environment chooses the version); none in the local modes.
    pub tag_variable: Option<String>,
    /// How many deployed versions of each service stay on the host for a rollback (at
    /// least the running one).
    pub keep_images: u32,
}

/// What a deploy checks of the database before touching anything.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct DatabaseSpec {
    /// The database's container (`<project>-db`).
    pub container: String,
    /// The engine.
    pub engine: crate::model::Engine,
    /// The pinned version (a major, or MariaDB's release series).
    pub version: crate::DatabaseVersion,
    /// The command, run in the container, that prints the running server's version.
    pub version_command: Vec<String>,
    /// The same question from a one-off container of the database's image on the network
    /// (a Swarm deploy's check job: the server may run on another node).
    #[serde(skip)]
    pub version_command_from_job: Vec<String>,
}

impl RuntimeSpec {
    /// The container with this name.
    pub fn container(&self, name: &str) -> Option<&ContainerSpec> {
        self.containers.iter().find(|c| c.name == name)
    }

    /// The secrets its containers read as files, one per variable, by variable name: what
    /// `topo secrets` writes for Compose. A variable two containers read with different
    /// permissions gets the wider (each reader must be able to read it).
    pub fn secret_files(&self) -> Vec<SecretFile<'_>> {
        let mut files: BTreeMap<&str, SecretFile<'_>> = BTreeMap::new();
        for file in self.containers.iter().flat_map(|c| &c.files) {
            if let FileContent::Secret {
                variable,
                default,
                mode,
            } = &file.content
            {
                files
                    .entry(variable)
                    .and_modify(|known| known.mode |= mode)
                    .or_insert(SecretFile {
                        variable,
                        default: default.as_deref(),
                        mode: *mode,
                    });
            }
        }
        files.into_values().collect()
    }
}

impl RuntimeSpec {
    /// The files topo writes into containers, as (config name, text): what a Swarm stack
    /// reads from files (`topo secrets` writes them).
    pub fn config_files(&self) -> Vec<(String, &str)> {
        self.containers
            .iter()
            .flat_map(|c| {
                c.files
                    .iter()
                    .enumerate()
                    .filter_map(move |(i, f)| match &f.content {
                        FileContent::Text(text) => {
                            Some((crate::naming::config_name(&c.name, i), text.as_str()))
                        }
                        _ => None,
                    })
            })
            .collect()
    }
}

/// A secret read as a file: where its value comes from, and how the file is readable.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SecretFile<'a> {
    /// The deploying environment's variable holding it.
    pub variable: &'a str,
    /// Its value when the variable is unset (local modes only).
    pub default: Option<&'a str>,
    /// The file's permission bits.
    pub mode: u32,
}

/// The network every container joins.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct NetworkSpec {
    /// `<project>-network`.
    pub name: String,
    /// Ownership labels.
    pub labels: BTreeMap<String, String>,
}

/// A named volume.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct VolumeSpec {
    /// `<project>-<role>-<purpose>`.
    pub name: String,
    /// Ownership labels: the project and the mode (dev and prod-sim share volume names).
    pub labels: BTreeMap<String, String>,
}

/// One container, resolved for one mode.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct ContainerSpec {
    /// `<project>-<role>`: the container name and the Compose service name.
    pub name: String,
    /// The role it was derived from.
    pub role: String,
    /// What the container is. Not part of its configuration (its consequences, such as the
    /// restart policy, are), so not serialised into the config hash.
    #[serde(skip)]
    pub kind: ContainerKind,
    /// The image it runs (built under this reference when `build` is set).
    pub image: ImageRef,
    /// How to build the image, when this mode builds it.
    pub build: Option<BuildSpec>,
    /// The command; `None` runs the image's `CMD`.
    pub command: Option<Vec<String>>,
    /// The environment.
    pub env: BTreeMap<String, EnvSpec>,
    /// Env files read by the container.
    pub env_files: Vec<EnvFileSpec>,
    /// Bind mounts and named volumes.
    pub mounts: Vec<MountSpec>,
    /// Published ports.
    pub ports: Vec<PortSpec>,
    /// The health check.
    pub health: Option<HealthSpec>,
    /// The restart policy.
    pub restart: RestartPolicy,
    /// Containers (by name) this one waits for, and for what.
    pub depends_on: BTreeMap<String, Condition>,
    /// Labels, the `topo.*` ownership labels included.
    pub labels: BTreeMap<String, String>,
    /// Network aliases (the container name first).
    pub aliases: Vec<String>,
    /// The host name inside the container, when it must not be the engine's random one: an
    /// accessory's is its container name, because servers such as RabbitMQ name their data
    /// after it (a replaced container must find the data it left).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub hostname: Option<String>,
    /// Security options (`no-new-privileges:true`).
    pub security_opt: Vec<String>,
    /// Log driver settings; `None` keeps the engine's default.
    pub logging: Option<LoggingSpec>,
    /// Files written into the container before it starts (the proxy's routes).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub files: Vec<FileSpec>,
    /// How a deploy replaces the container. Not part of its configuration: changing the
    /// strategy restarts nothing (so it is not serialised into the config hash either).
    #[serde(skip)]
    pub deploy: DeploySpec,
    /// Between SIGTERM and SIGKILL when stopped (rendered `stop_grace_period`, the engine's
    /// `StopTimeout`); `None`: the engine's default, [`ContainerSpec::DEFAULT_STOP_TIMEOUT`].
    #[serde(skip_serializing_if = "Option::is_none")]
    pub stop_timeout: Option<Duration>,
    /// How many tasks run it (Swarm; 1 elsewhere). Left out at 1, so a container's config
    /// hash is the same as before replicas existed.
    #[serde(skip_serializing_if = "is_one")]
    pub replicas: u32,
    /// Its confinement: limits, capabilities, a read-only root filesystem with tmpfs
    /// paths (prod-sim and production; `None` in dev).
    pub confinement: Option<crate::valid::Hardening>,
}

fn is_one(n: &u32) -> bool {
    *n == 1
}

/// What a container is.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum ContainerKind {
    /// A long-running application service.
    Service,
    /// A one-shot job others wait for with `completed` (a migration): run to completion,
    /// never restarted.
    Job,
    /// The database server.
    Database,
    /// A third-party server from a pinned image (a cache, a queue): created once, never
    /// replaced by an application deploy.
    Accessory,
    /// The reverse proxy.
    Proxy,
}

/// A file placed in a container before it starts.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct FileSpec {
    /// The absolute path inside the container.
    pub target: String,
    /// The contents.
    pub content: FileContent,
}

/// Where a file's contents come from.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum FileContent {
    /// Written by topo (the proxy's routes): rendered inline.
    Text(String),
    /// A file of the repository, relative to the topology's directory, read when the
    /// container is made (a certificate).
    Repository(String),
    /// The value of the deploying environment's variable (a password, a private key):
    /// never rendered, a Compose secret.
    Secret {
        /// The variable.
        variable: String,
        /// Used when the variable is unset (local modes only).
        #[serde(skip_serializing_if = "Option::is_none")]
        default: Option<String>,
        /// Its permission bits: 0400 for a key only the root master reads, 0444 under
        /// `/run/secrets` (as Compose writes them: the process may run as another user).
        mode: u32,
    },
    /// A self-signed certificate for `names` (its key at `key`), written only where no
    /// certificate is yet: nginx starts with it before an ACME server issued the first.
    /// Never rendered, and never over an issued certificate.
    SelfSigned {
        /// Where its private key goes.
        key: String,
        /// The names it is for.
        names: Vec<String>,
    },
}

impl FileSpec {
    /// A file topo writes.
    pub fn text(target: impl Into<String>, content: impl Into<String>) -> FileSpec {
        FileSpec {
            target: target.into(),
            content: FileContent::Text(content.into()),
        }
    }
}

/// How a deploy replaces a container.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct DeploySpec {
    /// Recreate or blue-green.
    pub strategy: Strategy,
    /// Blue-green: how long the old container keeps running after the switch.
    pub drain: Duration,
}

impl ContainerSpec {
    /// What the engine (and Compose) give a container when no stop timeout is set.
    pub const DEFAULT_STOP_TIMEOUT: Duration = Duration::from_secs(10);

    /// Where secrets delivered as files are, one file per variable (Compose's place).
    pub const SECRETS_DIR: &'static str = "/run/secrets";

    /// The stop timeout in effect.
    pub fn effective_stop_timeout(&self) -> Duration {
        self.stop_timeout.unwrap_or(Self::DEFAULT_STOP_TIMEOUT)
    }
}

/// How an image is built.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct BuildSpec {
    /// The context directory, relative to the repository root (the topology's directory).
    pub context: String,
    /// The Dockerfile, relative to the context.
    pub dockerfile: String,
    /// The multi-stage target.
    pub target: String,
    /// Build arguments (`ARG`s) of this mode. Left out when empty, so the build of a service
    /// without arguments serialises (and fingerprints) as before they existed.
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub args: BTreeMap<String, String>,
    /// The variables holding the build's secrets (their names only; the values are read
    /// from the building process's environment when the build runs).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub secrets: Vec<String>,
}

/// One environment value.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum EnvSpec {
    /// A literal, passed as is.
    Literal(String),
    /// Read from the deploying environment's variable at run time.
    Variable {
        /// The variable's name.
        name: String,
        /// Used when the variable is unset (local modes only); without one, an unset
        /// variable is an error.
        default: Option<String>,
    },
    /// Text with secrets inside it: literals and variables, in order.
    Template(Vec<EnvSpec>),
}

impl EnvSpec {
    /// The value as Compose reads it: a literal, `${VAR:-default}`, or `${VAR:?…}` (a
    /// message naming the variable `name` it is the secret of). The renderer writes this;
    /// the engine driver resolves it.
    pub fn interpolated(&self, name: &str) -> Interpolated {
        match self {
            EnvSpec::Literal(text) => Interpolated::text(text.as_str()),
            EnvSpec::Variable {
                name: var,
                default: Some(default),
            } => Interpolated::with_default(var.as_str(), default.as_str()),
            EnvSpec::Variable {
                name: var,
                default: None,
            } => Interpolated::required(
                var.as_str(),
                format!("{var} must be set: the secret of {name}"),
            ),
            EnvSpec::Template(parts) => {
                let mut whole = Interpolated::default();
                for part in parts {
                    for piece in part.interpolated(name).parts() {
                        whole.push(piece.clone());
                    }
                }
                whole
            }
        }
    }
}

/// An env file the container reads.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct EnvFileSpec {
    /// Its path, relative to the repository root.
    pub path: String,
    /// Whether a missing file is an error.
    pub required: bool,
}

/// What is mounted.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum MountSource {
    /// A host directory, relative to the repository root.
    Bind(String),
    /// A named volume.
    Volume(String),
}

/// A mount.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct MountSpec {
    /// What is mounted.
    pub source: MountSource,
    /// Where, inside the container.
    pub target: String,
}

/// A published port.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct PortSpec {
    /// The host address it binds to; always explicit.
    pub host_ip: String,
    /// The host port.
    pub host: u16,
    /// The container port.
    pub container: u16,
    /// TCP or UDP.
    pub protocol: Protocol,
}

/// A health check.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct HealthSpec {
    /// The command, exec form (Compose and the engine both prefix it with `CMD`).
    pub command: Vec<String>,
    /// Time between checks.
    pub interval: Duration,
    /// How long one check may take.
    pub timeout: Duration,
    /// Failures before unhealthy.
    pub retries: u32,
    /// Grace period after start.
    pub start_period: Duration,
    /// For HTTP checks: the port and path a smoke check can call too.
    pub http: Option<(u16, String)>,
}

impl HealthSpec {
    /// The longest a container can take to become healthy:
    /// `start_period + retries × (interval + timeout)`.
    pub fn deadline(&self) -> Duration {
        self.start_period + (self.interval + self.timeout) * self.retries
    }
}

/// Whether the engine restarts a stopped container.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum RestartPolicy {
    /// Never (dev: a crash should be seen).
    No,
    /// Always, unless stopped by hand (prod-sim and production).
    UnlessStopped,
}

impl RestartPolicy {
    /// The Compose and engine spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            RestartPolicy::No => "no",
            RestartPolicy::UnlessStopped => "unless-stopped",
        }
    }
}

/// Log driver settings.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct LoggingSpec {
    /// The driver (`json-file`).
    pub driver: String,
    /// Its options (`max-size`, `max-file`).
    pub options: BTreeMap<String, String>,
}

/// The labels every object topo creates carries.
pub mod labels {
    /// The project the object belongs to.
    pub const PROJECT: &str = "topo.project";
    /// The mode the container runs in.
    pub const MODE: &str = "topo.mode";
    /// The role of the container.
    pub const SERVICE: &str = "topo.service";
    /// A hash of the container's runtime configuration (image aside).
    pub const CONFIG_HASH: &str = "topo.config-hash";
    /// The image reference a deploy started the container from.
    pub const IMAGE: &str = "topo.image";
    /// The fingerprint of the deployed version, when a plan gave one.
    pub const FINGERPRINT: &str = "topo.fingerprint";
    /// The tags deployed before, newest first: what a rollback returns to.
    pub const HISTORY: &str = "topo.history";
    /// The registry digest the container was created from (`sha256:…`), when a build
    /// report gave one.
    pub const DIGEST: &str = "topo.digest";
}
