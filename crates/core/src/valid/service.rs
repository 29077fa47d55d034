//! One validated application service.

use std::collections::BTreeMap;
use std::time::Duration;

use super::Timing;
use crate::model::{Condition, EnvValue, Port, Probe, Strategy};

/// An application service, with the build of the image it runs and what it is.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Service {
    /// The role: the container is `<project>-<role>`.
    pub role: String,
    /// Long-running, or a one-shot job others wait for with `completed`.
    pub kind: ServiceKind,
    /// The role of the service whose image this one runs: its own, or its `image_of`.
    pub image_role: String,
    /// How that image is built (the owner's build for a service on another's image).
    pub build: Build,
    /// The commands of dev and of prod-sim/production; none runs the image's `CMD`.
    pub command: Command,
    /// The environment, an image owner's inherited first: the service's own entries add
    /// to and override it.
    pub env: BTreeMap<String, EnvValue>,
    /// Published ports.
    pub ports: Vec<Port>,
    /// Roles (the database's included) this one waits for, and for what.
    pub depends_on: BTreeMap<String, Condition>,
    /// The health check.
    pub health: Option<HealthCheck>,
    /// Runtime state: purpose → container path (absolute).
    pub volumes: BTreeMap<String, String>,
    /// Extra network aliases.
    pub aliases: Vec<String>,
    /// Change detection beyond the build context.
    pub changes: Changes,
    /// The proxy's route to it.
    pub route: Option<Route>,
    /// How a deploy replaces it.
    pub deploy: DeployPolicy,
    /// Its confinement in prod-sim and production.
    pub hardening: super::Hardening,
    /// How many tasks run it in production on Swarm (1 elsewhere).
    pub replicas: u32,
}

impl Service {
    /// Whether it runs the image of another service.
    pub fn runs_another_image(&self) -> bool {
        self.image_role != self.role
    }
}

/// What a service is to the engine.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ServiceKind {
    /// Runs until stopped; restarted by the engine in prod-sim and production.
    LongRunning,
    /// Runs to completion (a migration) before the services that wait for it with
    /// `completed`; never restarted.
    Job,
}

/// How an image is built.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Build {
    /// The context, relative to the repository root.
    pub context: String,
    /// The Dockerfile, relative to the context.
    pub dockerfile: String,
    /// The dev image's target.
    pub dev_target: String,
    /// The production image's target.
    pub prod_target: String,
    /// The dev image's build arguments.
    pub dev_args: BTreeMap<String, String>,
    /// The prod-sim and production images' build arguments.
    pub prod_args: BTreeMap<String, String>,
    /// The variables holding the secrets the build reads, sorted.
    pub secrets: Vec<String>,
    /// Where dev mounts the context (absolute).
    pub source_path: String,
    /// Container-owned paths, relative to the source path, normalised (`node_modules`).
    pub generated: Vec<String>,
}

/// The commands of a service.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Command {
    /// The dev command.
    pub dev: Option<Vec<String>>,
    /// The prod-sim and production command.
    pub prod: Option<Vec<String>>,
}

/// A health check.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct HealthCheck {
    /// What is checked.
    pub test: Test,
    /// When.
    pub timing: Timing,
}

/// What a health check runs.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Test {
    /// An HTTP request from inside the container.
    Http {
        /// The path (starts with `/`).
        path: String,
        /// The container port.
        port: u16,
        /// The program making the request.
        probe: Probe,
    },
    /// A command that exits 0 when healthy (not empty).
    Command(Vec<String>),
}

/// Change detection globs beyond the build context.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Changes {
    /// Globs whose changes change the service.
    pub include: Vec<String>,
    /// Globs whose changes do not.
    pub exclude: Vec<String>,
    /// The workspace package the image is built from, by name or directory (from the
    /// topology's), with where the topology says it.
    pub package: Option<crate::Spanned<String>>,
}

/// The proxy's route to a service.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Route {
    /// Path prefixes (each starts with `/`).
    pub paths: Vec<String>,
    /// The container port called.
    pub port: u16,
}

/// How a deploy replaces a service.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct DeployPolicy {
    /// Recreate or blue-green (blue-green only for a long-running, routed service).
    pub strategy: Strategy,
    /// Blue-green: how long the old container keeps running after the switch.
    pub drain: Duration,
    /// Between SIGTERM and SIGKILL when stopped; `None`: the engine's default.
    pub stop_timeout: Option<Duration>,
}

impl DeployPolicy {
    /// The drain when none is written.
    pub const DEFAULT_DRAIN: Duration = Duration::from_secs(5);
}
