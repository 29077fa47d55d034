//! One application service of the topology.

use std::collections::BTreeMap;

use schemars::JsonSchema;
use serde::Deserialize;

use super::{Changes, Command, Deploy, EnvValue, Port, Resources, Route, Strategy};
use crate::Spanned;

/// An application service: how its image is built, how it runs in each mode, what it owns.
#[derive(Clone, Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Service {
    /// The role: the container is `<project>-<role>`, the image `<project>-<role>`.
    pub role: Spanned<String>,
    /// The build context, relative to the topology file's directory (the repository).
    /// It is also the service's scope for change detection.
    #[serde(default)]
    pub context: Option<Spanned<String>>,
    /// The Dockerfile, relative to the context. Defaults to `Dockerfile`.
    #[serde(default)]
    pub dockerfile: Option<Spanned<String>>,
    /// The build targets of the dev and production images.
    #[serde(default)]
    pub targets: Targets,
    /// Build arguments (the Dockerfile's `ARG`s): one value for every mode, or `{ dev =
    /// "...", prod = "..." }` (prod for prod-sim and production). Never secrets: a build
    /// argument stays readable in the image's history.
    #[serde(default)]
    pub build_args: BTreeMap<Spanned<String>, Spanned<EnvValue>>,
    /// Secrets the build reads (`RUN --mount=type=secret,id=NPM_TOKEN`), by the variable
    /// holding each: never written into a layer, a label or a rendered file.
    #[serde(default)]
    pub build_secrets: Vec<Spanned<String>>,
    /// Run the image of another service (by role) instead of building one, usually with
    /// another command: the worker runs the server's image. Such a service inherits the
    /// other's environment (its own `env` adds to it) and, in dev, its source mount and
    /// generated-path volumes.
    #[serde(default)]
    pub image_of: Option<Spanned<String>>,
    /// Where the context is mounted in dev and copied to by the Dockerfile. Defaults to `/app`.
    #[serde(default)]
    pub source_path: Option<Spanned<String>>,
    /// Paths the container generates and owns, relative to the source path (`node_modules`,
    /// `dist`, `.next`). In dev each gets its own named volume so the bind-mounted source
    /// never shadows or leaks them; in prod-sim and production they live in the image.
    #[serde(default)]
    pub generated: Vec<Spanned<String>>,
    /// The command: one for every mode, or `{ dev = [...], prod = [...] }`.
    #[serde(default)]
    pub command: Option<Spanned<Command>>,
    /// Environment: literal values, per-mode values (`{ dev = "...", prod = "..." }`) and
    /// references to secrets (`{ secret = "VAR" }`), never secret values.
    #[serde(default)]
    pub env: BTreeMap<Spanned<String>, Spanned<EnvValue>>,
    /// Container ports published on the host: `3000`, or `{ container = 3000, host = 8080 }`.
    #[serde(default)]
    pub ports: Vec<Spanned<Port>>,
    /// Services (by role, the database included) this one waits for, and for what:
    /// `{ db = "healthy" }`.
    #[serde(default)]
    pub depends_on: BTreeMap<Spanned<String>, Spanned<Condition>>,
    /// The health check: an HTTP path and port, or a command.
    #[serde(default)]
    pub health: Option<Spanned<Health>>,
    /// Runtime state kept across restarts in every mode: purpose → container path
    /// (`{ assets = "/usr/src/app/static/assets" }` gives the volume `<project>-<role>-assets`).
    #[serde(default)]
    pub volumes: BTreeMap<Spanned<String>, Spanned<String>>,
    /// Extra network aliases, beside the container name.
    #[serde(default)]
    pub aliases: Vec<Spanned<String>>,
    /// Change detection beyond the build context: extra include and exclude globs.
    #[serde(default)]
    pub changes: Changes,
    /// The path prefixes the proxy sends to this service, and the port it calls.
    #[serde(default)]
    pub route: Option<Spanned<Route>>,
    /// How a deploy replaces this service's container.
    #[serde(default)]
    pub deploy: Deploy,
    /// How many tasks run it in production on Swarm (`[production] engine = "swarm"`);
    /// one host runs one container. Defaults to 1.
    #[serde(default)]
    pub replicas: Option<Spanned<u32>>,
    /// How long the container gets between SIGTERM and SIGKILL when it is stopped (whole
    /// seconds: `"30s"`); Compose's `stop_grace_period`, the engine's `StopTimeout`.
    /// Defaults to the engine's 10 s.
    #[serde(default)]
    pub stop_timeout: Option<Spanned<String>>,
    /// Resource limits in prod-sim and production: `{ memory = "1g", cpus = 1, pids = 512 }`.
    #[serde(default)]
    pub resources: Option<Spanned<Resources>>,
    /// Capabilities added back after all are dropped, in prod-sim and production
    /// (`["NET_BIND_SERVICE"]`); the default is none.
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

super::hardening::hardening_keys!(Service);

impl Service {
    /// A service built from `context` with the default targets and source path.
    pub fn build(role: impl Into<String>, context: impl Into<String>) -> Self {
        Service {
            context: Some(Spanned::new(context.into())),
            ..Service::empty(role)
        }
    }

    /// A service that runs the image of the service `owner` (by role).
    pub fn same_image_as(role: impl Into<String>, owner: impl Into<String>) -> Self {
        Service {
            image_of: Some(Spanned::new(owner.into())),
            ..Service::empty(role)
        }
    }

    fn empty(role: impl Into<String>) -> Self {
        Service {
            role: Spanned::new(role.into()),
            context: None,
            dockerfile: None,
            targets: Targets::default(),
            build_args: BTreeMap::new(),
            build_secrets: Vec::new(),
            image_of: None,
            source_path: None,
            generated: Vec::new(),
            command: None,
            env: BTreeMap::new(),
            ports: Vec::new(),
            depends_on: BTreeMap::new(),
            health: None,
            volumes: BTreeMap::new(),
            aliases: Vec::new(),
            changes: Changes::default(),
            route: None,
            replicas: None,
            deploy: Deploy::default(),
            stop_timeout: None,
            resources: None,
            capabilities: None,
            drop_capabilities: None,
            read_only: None,
            writable: None,
        }
    }

    /// The source path, defaulted.
    pub fn source_path(&self) -> &str {
        self.source_path.as_deref().map_or("/app", String::as_str)
    }

    /// The deploy strategy: as written, else blue-green behind the proxy and recreate otherwise.
    pub fn strategy(&self) -> Strategy {
        match (&self.deploy.strategy, &self.route) {
            (Some(strategy), _) => **strategy,
            (None, Some(_)) => Strategy::BlueGreen,
            (None, None) => Strategy::Recreate,
        }
    }

    /// The Dockerfile, defaulted.
    pub fn dockerfile(&self) -> &str {
        self.dockerfile
            .as_deref()
            .map_or("Dockerfile", String::as_str)
    }
}

/// The Dockerfile targets of the dev and production images.
#[derive(Clone, Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Targets {
    /// The dev image's target. Defaults to `dev`.
    #[serde(default = "default_dev_target")]
    pub dev: Spanned<String>,
    /// The production image's target, built by prod-sim and CI alike. Defaults to `prod`.
    #[serde(default = "default_prod_target")]
    pub prod: Spanned<String>,
}

fn default_dev_target() -> Spanned<String> {
    Spanned::new("dev".to_owned())
}

fn default_prod_target() -> Spanned<String> {
    Spanned::new("prod".to_owned())
}

impl Default for Targets {
    fn default() -> Self {
        Targets {
            dev: default_dev_target(),
            prod: default_prod_target(),
        }
    }
}

/// What a dependent waits for.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize, JsonSchema, serde::Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Condition {
    /// The dependency's container has started.
    Started,
    /// The dependency's health check passes.
    Healthy,
    /// The dependency ran to completion with exit code 0. The dependency is then a one-shot
    /// job (a migration) and is never restarted.
    Completed,
}

/// A health check: `{ http = "/health", port = 3000 }` or `{ command = [...] }`, with timings.
#[derive(Clone, Debug, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Health {
    /// An HTTP path probed inside the container (`/health`); needs `port`.
    #[serde(default)]
    pub http: Option<Spanned<String>>,
    /// The container port the HTTP probe calls.
    #[serde(default)]
    pub port: Option<Spanned<u16>>,
    /// The program that makes the HTTP probe inside the container: `wget` (default;
    /// busybox and Alpine have it), `curl`, or `node` (its built-in fetch).
    #[serde(default)]
    pub probe: Option<Spanned<Probe>>,
    /// A command that exits 0 when the service is healthy (instead of `http`).
    #[serde(default)]
    pub command: Option<Spanned<Vec<String>>>,
    // The timing keys repeat `HealthTiming`'s: serde's `flatten` cannot be combined with
    // `deny_unknown_fields`, and it would lose the spans. `timing()` regroups them.
    /// Time between checks. Defaults to `10s`.
    #[serde(default)]
    pub interval: Option<Spanned<String>>,
    /// How long one check may take. Defaults to `5s`.
    #[serde(default)]
    pub timeout: Option<Spanned<String>>,
    /// Consecutive failures before the container is unhealthy. Defaults to 5.
    #[serde(default)]
    pub retries: Option<Spanned<u32>>,
    /// Grace period after start during which failures do not count. Defaults to `30s`.
    #[serde(default)]
    pub start_period: Option<Spanned<String>>,
}

impl Health {
    /// An HTTP check of `path` on the container port `port`, with default timings.
    pub fn http(path: impl Into<String>, port: u16) -> Self {
        Health {
            http: Some(Spanned::new(path.into())),
            port: Some(Spanned::new(port)),
            ..Health::default()
        }
    }

    /// The timings of this check.
    pub fn timing(&self) -> HealthTiming {
        HealthTiming {
            interval: self.interval.clone(),
            timeout: self.timeout.clone(),
            retries: self.retries.clone(),
            start_period: self.start_period.clone(),
        }
    }
}

/// The program that makes an HTTP health probe inside the container.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Deserialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum Probe {
    /// `wget -q -O /dev/null URL` (busybox, Alpine, Debian with wget).
    #[default]
    Wget,
    /// `curl -fsS -o /dev/null URL`.
    Curl,
    /// Node's built-in `fetch` (Node 18+), for images with neither wget nor curl.
    Node,
    /// Python 3's `urllib.request` (`python:3.12-slim` has neither wget nor curl).
    Python,
}

/// Health check timings; each is a duration such as `10s` or `1m30s`.
#[derive(Clone, Debug, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct HealthTiming {
    /// Time between checks. Defaults to `10s`.
    #[serde(default)]
    pub interval: Option<Spanned<String>>,
    /// How long one check may take. Defaults to `5s`.
    #[serde(default)]
    pub timeout: Option<Spanned<String>>,
    /// Consecutive failures before the container is unhealthy. Defaults to 5.
    #[serde(default)]
    pub retries: Option<Spanned<u32>>,
    /// Grace period after start during which failures do not count. Defaults to `30s`.
    #[serde(default)]
    pub start_period: Option<Spanned<String>>,
}
