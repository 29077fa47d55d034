//! The command-line surface of the driver, shared by `topo-sim` and `topo sim`: flags
//! (clap) and the runs behind them. Each run returns an exit status or a typed error; the
//! binaries print errors and exit.
//!
//! The engine modules know nothing about git: the source revision recorded on images is
//! `--revision`, else `$GITHUB_SHA`, else the repository's `HEAD` as topo-ci reads it.

mod deploy;
mod release;

pub use deploy::{DeployArgs, LockAction, LockArgs, LockTarget, SummaryFormat};
pub use release::{run_release_build, ReleaseBuildArgs};

use std::io::Write as _;
use std::path::{Path, PathBuf};

use clap::{Args, Subcommand, ValueEnum};
use topo_core::report::{Exit, Failure};
use topo_core::{LoadError, Mode, RuntimeSpec, SpecOptions};

use crate::build::BuildOptions;
use crate::engine::Engine;
use crate::error::SimError;
use crate::objects::down;
use crate::progress::{for_terminal, Event, Interruption, Phase, Progress, Silent};
use crate::status::{find, logs, status, status_text};
use crate::translate::ProcessEnv;
use crate::up::{up, UpOptions};

/// Why a command failed.
#[derive(Debug, thiserror::Error)]
pub enum CliError {
    /// The topology could not be read or is not valid.
    #[error(transparent)]
    Topology(#[from] LoadError),
    /// A file could not be read.
    #[error("cannot read {}: {source}", path.display())]
    Read {
        /// The file.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// A file could not be written.
    #[error("cannot write {}: {source}", path.display())]
    Write {
        /// The file.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// A flag's value is wrong.
    #[error("{0}")]
    Usage(String),
    /// The driver failed.
    #[error(transparent)]
    Sim(#[from] SimError),
    /// The topology could not be read from its repository.
    #[error(transparent)]
    Committed(#[from] topo_ci::load::LoadError),
    /// The images could not be planned.
    #[error(transparent)]
    Plan(#[from] topo_ci::plan::PlanError),
    /// The docker CLI's credentials could not be read.
    #[error(transparent)]
    Credentials(#[from] topo_core::credentials::CredentialsError),
    /// The markers could not be opened.
    #[error(transparent)]
    Markers(#[from] topo_ci::markers::MarkerError),
}

impl miette::Diagnostic for CliError {
    fn help<'a>(&'a self) -> Option<Box<dyn std::fmt::Display + 'a>> {
        match self {
            CliError::Topology(error) => error.help(),
            CliError::Sim(error) => error.help(),
            _ => None,
        }
    }
}

impl Failure for CliError {
    fn exit(&self) -> Exit {
        match self {
            CliError::Usage(_)
            | CliError::Credentials(topo_core::credentials::CredentialsError::NoPassword) => {
                Exit::Usage
            }
            _ => Exit::Failure,
        }
    }
}

/// The driver's commands.
#[derive(Subcommand, Debug, Clone)]
pub enum SimCommand {
    /// Build the prod targets and bring the prod-sim stack up from scratch; a verdict per service.
    Up(UpArgs),
    /// Build (or reuse) the prod-sim images only.
    Build(UpArgs),
    /// Remove the prod-sim containers and network (and volumes with --volumes).
    Down(DownArgs),
    /// Show the prod-sim containers, their health and whether their configuration is current.
    Status(StatusArgs),
    /// Print a service's log.
    Logs(LogsArgs),
    /// Deploy the production spec to an engine: verify first, skip what is unchanged,
    /// blue-green behind the proxy, roll back what fails, write markers; a summary.
    Deploy(Box<DeployArgs>),
    /// Show or break the deploy lock of the target engine.
    Lock(LockArgs),
}

/// The topology flag every command takes.
#[derive(Args, Debug, Clone)]
pub struct TopologyArg {
    /// The topology file; build contexts are relative to its directory.
    #[arg(short = 't', long = "topology", default_value = "topology.toml")]
    pub topology: PathBuf,
}

/// `--engine`: what runs production, instead of the topology's `[production] engine`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum EngineArg {
    /// One Docker host (Compose, or `deploy` through the Engine API).
    Compose,
    /// A Docker Swarm cluster (a stack file, or `deploy` through the services API).
    Swarm,
}

impl EngineArg {
    /// The topology's word for it.
    pub fn engine(self) -> topo_core::model::ProductionEngine {
        match self {
            EngineArg::Compose => topo_core::model::ProductionEngine::Compose,
            EngineArg::Swarm => topo_core::model::ProductionEngine::Swarm,
        }
    }

    /// Applies the override to a loaded topology (none: as the topology says).
    pub fn apply(
        engine: Option<EngineArg>,
        topology: &mut topo_core::ValidTopology,
    ) -> Result<(), CliError> {
        match engine {
            Some(engine) => topo_core::spec::swarm::override_engine(topology, engine.engine())
                .map_err(CliError::Usage),
            None => Ok(()),
        }
    }
}

/// Output formats.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum Format {
    /// Lines for people.
    Text,
    /// One JSON document on stdout.
    Json,
}

/// `up` and `build`.
#[derive(Args, Debug, Clone)]
pub struct UpArgs {
    #[command(flatten)]
    #[allow(missing_docs)]
    pub topology: TopologyArg,
    /// Reuse the existing volumes instead of starting from fresh ones.
    #[arg(long)]
    pub keep_volumes: bool,
    /// Build even when an image of the same sources exists.
    #[arg(long)]
    pub rebuild: bool,
    /// Images built at once.
    #[arg(long, default_value_t = 4)]
    pub jobs: usize,
    /// Skip the HTTP smoke checks from the host.
    #[arg(long)]
    pub no_smoke: bool,
    /// The source revision to label images with (default: $GITHUB_SHA, else git HEAD).
    #[arg(long)]
    pub revision: Option<String>,
    /// The output format of the verdict.
    #[arg(long, value_enum, default_value_t = Format::Text)]
    pub format: Format,
}

/// `down`.
#[derive(Args, Debug, Clone)]
pub struct DownArgs {
    #[command(flatten)]
    #[allow(missing_docs)]
    pub topology: TopologyArg,
    /// Remove the prod-sim volumes too.
    #[arg(long)]
    pub volumes: bool,
}

/// `status`.
#[derive(Args, Debug, Clone)]
pub struct StatusArgs {
    #[command(flatten)]
    #[allow(missing_docs)]
    pub topology: TopologyArg,
    /// The output format.
    #[arg(long, value_enum, default_value_t = Format::Text)]
    pub format: Format,
}

/// `logs`.
#[derive(Args, Debug, Clone)]
pub struct LogsArgs {
    #[command(flatten)]
    #[allow(missing_docs)]
    pub topology: TopologyArg,
    /// The service: a role (`server`) or a container name (`vendure-server`).
    pub service: String,
    /// Only the last N lines.
    #[arg(long, value_name = "N")]
    pub tail: Option<usize>,
    /// Keep printing new lines.
    #[arg(short, long)]
    pub follow: bool,
}

/// Runs one command to completion; the exit status on success.
pub fn run(command: &SimCommand) -> Result<Exit, CliError> {
    runtime()?.block_on(run_async(command))
}

/// The runtime a command's engine calls run on.
fn runtime() -> Result<tokio::runtime::Runtime, CliError> {
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(|source| CliError::Read {
            path: "<tokio runtime>".into(),
            source,
        })
}

async fn run_async(command: &SimCommand) -> Result<Exit, CliError> {
    let topology = match command {
        SimCommand::Up(a) | SimCommand::Build(a) => &a.topology,
        SimCommand::Down(a) => &a.topology,
        SimCommand::Status(a) => &a.topology,
        SimCommand::Logs(a) => &a.topology,
        SimCommand::Deploy(args) => return deploy::run_deploy(args).await,
        SimCommand::Lock(args) => return deploy::run_lock(args).await,
    };
    let (spec, root) = load_spec(&topology.topology)?;
    let engine = Engine::connect().await?;
    match command {
        SimCommand::Up(args) => run_up(&engine, &spec, &root, args).await,
        SimCommand::Build(args) => {
            let progress = for_terminal();
            let images = crate::build::prepare_images(
                &engine,
                &spec,
                &root,
                &ProcessEnv,
                &build_options(args, &root),
                progress.as_ref(),
            )
            .await;
            progress.finish();
            let images = images?;
            match args.format {
                Format::Json => println!("{}", to_json(&images)),
                Format::Text => {
                    for image in images {
                        println!("{} {} ({} ms)", image.image, image.how, image.elapsed_ms);
                    }
                }
            }
            Ok(Exit::Success)
        }
        SimCommand::Down(args) => {
            let progress = for_terminal();
            let report = down(&engine, &spec, args.volumes, progress.as_ref()).await;
            progress.finish();
            let report = report?;
            for (kind, name, why) in &report.kept {
                println!("kept {kind} {name}: {why}");
            }
            println!(
                "{} {}: removed {} objects",
                spec.project,
                spec.mode,
                report.removed.len()
            );
            Ok(Exit::Success)
        }
        SimCommand::Status(args) => {
            let found = status(&engine, &spec).await?;
            match args.format {
                Format::Json => println!("{}", to_json(&found)),
                Format::Text => print!("{}", status_text(&spec, &found)),
            }
            Ok(Exit::Success)
        }
        SimCommand::Logs(args) => {
            let container = find(&spec, &args.service)?;
            let mut out = std::io::stdout().lock();
            logs(&engine, &container.name, args.tail, args.follow, &mut out).await?;
            Ok(Exit::Success)
        }
        SimCommand::Deploy(_) | SimCommand::Lock(_) => unreachable!("run above"),
    }
}

async fn run_up(
    engine: &Engine,
    spec: &RuntimeSpec,
    root: &Path,
    args: &UpArgs,
) -> Result<Exit, CliError> {
    let progress: Box<dyn Progress> = for_terminal();
    let options = UpOptions {
        keep_volumes: args.keep_volumes,
        build: build_options(args, root),
        smoke: !args.no_smoke,
    };
    let result = tokio::select! {
        result = up(engine, spec, root, &ProcessEnv, &options, progress.as_ref()) => result,
        _ = tokio::signal::ctrl_c() => {
            // The up future is dropped here: in-flight requests are abandoned (an aborted
            // build stops in the engine). Everything created so far carries the project's
            // labels, so stopping by label finds it all, and `down` removes it.
            progress.event(Event::Phase(Phase::Interrupted(Interruption::StoppingWhatStarted)));
            let stopped = crate::objects::stop_all(engine, spec, &Silent).await;
            progress.finish();
            let stopped = stopped?;
            eprintln!(
                "interrupted: {stopped} containers stopped; `topo-sim down` removes what was created"
            );
            return Ok(Exit::Interrupted);
        }
    };
    progress.finish();
    let verdict = result?;
    match args.format {
        Format::Json => println!("{}", to_json(&verdict)),
        Format::Text => print!("{}", verdict.to_text()),
    }
    let _ = std::io::stdout().flush();
    Ok(Exit::from_ok(verdict.ok))
}

fn build_options(args: &UpArgs, root: &Path) -> BuildOptions {
    BuildOptions {
        jobs: args.jobs,
        rebuild: args.rebuild,
        revision: args
            .revision
            .clone()
            .or_else(|| std::env::var("GITHUB_SHA").ok().filter(|s| !s.is_empty()))
            .or_else(|| head_revision(root)),
    }
}

/// The repository's `HEAD` commit, when the topology is in a git repository.
fn head_revision(root: &Path) -> Option<String> {
    let repo = topo_ci::repo::Repo::discover(root).ok()?;
    repo.resolve("HEAD").ok().map(|id| id.to_string())
}

/// Reads a `topo-ci plan --format json` document; an error says where it is not one.
fn read_plan(path: &Path) -> Result<topo_ci::plan::Plan, CliError> {
    read_json(path, "topo-ci plan document", topo_ci::plan::Plan::parse)
}

/// Reads the JSON document `path` with `parse`; a parse error says where, and that the
/// file is not `what`.
fn read_json<T, E: JsonError>(
    path: &Path,
    what: &str,
    parse: impl FnOnce(&str) -> Result<T, E>,
) -> Result<T, CliError> {
    let text = std::fs::read_to_string(path).map_err(|source| CliError::Read {
        path: path.to_owned(),
        source,
    })?;
    parse(&text).map_err(|e| {
        let (line, column) = e.position();
        CliError::Usage(format!(
            "{}:{line}:{column}: not a {what}: {e}",
            path.display()
        ))
    })
}

/// A document's parse error, with where it is.
trait JsonError: std::fmt::Display {
    fn position(&self) -> (usize, usize);
}

impl JsonError for serde_json::Error {
    fn position(&self) -> (usize, usize) {
        (self.line(), self.column())
    }
}

impl JsonError for topo_ci::plan::PlanParseError {
    fn position(&self) -> (usize, usize) {
        (self.line(), self.column())
    }
}

fn to_json(value: &impl serde::Serialize) -> String {
    serde_json::to_string_pretty(value).expect("reports always serialise")
}

/// Reads and validates the topology, and builds its prod-sim spec. The root is the
/// topology's directory.
pub fn load_spec(path: &Path) -> Result<(RuntimeSpec, PathBuf), CliError> {
    let (valid, root) = load_topology(path)?;
    let spec = topo_core::runtime_spec(&valid.topology, Mode::ProdSim, &SpecOptions::default());
    Ok((spec, root))
}

/// Reads and validates the topology; the root is the topology's directory.
fn load_topology(path: &Path) -> Result<(topo_core::Validated, PathBuf), CliError> {
    let loaded = topo_core::load_path(path)?;
    Ok((loaded.validated, topo_core::repository_of(path)))
}
