//! `topo`: flags, a call into topo-core (topo-ci for `plan`, topo-sim for `sim`), and exit
//! codes. Nothing else lives here.
//!
//! Exit codes are `topo_core::report::Exit`'s table, shared with `topo-ci` and `topo-sim`:
//! 0 success, 1 invalid topology / stale files / I/O failure / a failed verdict, 2 usage,
//! 130 interrupted.

mod diff;
mod error;
mod import;
mod init;
mod input;
mod lint;
mod output;
mod pinned;
mod secrets;

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Args, Parser, Subcommand, ValueEnum};
use topo_core::report::{outcome, Exit};
use topo_core::Mode;

use error::CommandError;
use input::Input;
use output::Format;

#[derive(Parser)]
#[command(
    name = "topo",
    version,
    about = "One typed topology; dev, prod-sim and production Compose files derived from it."
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Validate a topology and report every problem with file:line:column.
    Check {
        #[command(flatten)]
        input: InputArgs,
        /// How to print problems.
        #[arg(long, value_enum, default_value_t = Format::Human)]
        format: Format,
    },
    /// Render the Compose files of one or every mode.
    Render {
        #[command(flatten)]
        input: InputArgs,
        /// Which mode to render.
        #[arg(long, value_enum, default_value_t = ModeArg::All)]
        mode: ModeArg,
        /// The directory to write into; defaults to the topology's directory
        /// (the current directory with --example).
        #[arg(long, value_name = "DIR")]
        out: Option<PathBuf>,
        /// Write nothing; exit 1 and print a diff when a file on disk is stale.
        #[arg(long)]
        check: bool,
        /// A `topo build` report: production runs its images (by digest once pushed, else
        /// by fingerprint tag) instead of `<image>:${TAG}`.
        #[arg(long, value_name = "FILE")]
        images: Option<PathBuf>,
        /// A `topo-ci plan --format json` document: production runs each service at its
        /// fingerprint tag (a build report given too wins for its images).
        #[arg(long, value_name = "FILE")]
        plan: Option<PathBuf>,
        /// What runs production, instead of the topology's `[production] engine`: `swarm`
        /// renders a stack file for `docker stack deploy -c`.
        #[arg(long, value_enum, value_name = "ENGINE")]
        engine: Option<topo_sim::cli::EngineArg>,
    },
    /// Every difference between two modes' containers, each with the rule that made it
    /// ("why is this different in production?").
    Diff(diff::DiffArgs),
    /// Write the secret files a mode's Compose file reads (one per variable, from the
    /// environment; dev and prod-sim fall back to their defaults). Values are never printed.
    Secrets {
        #[command(flatten)]
        input: InputArgs,
        /// The mode whose Compose file will read them.
        #[arg(long, value_name = "MODE")]
        mode: Mode,
        /// The directory to write into; defaults to $TOPO_SECRETS_DIR, else
        /// `.topo/secrets/<mode>` beside the topology (what the rendered file reads).
        #[arg(long, value_name = "DIR")]
        out: Option<PathBuf>,
    },
    /// Plan a deploy from CI: per service deploy, build or skip, and why (as `topo-ci plan`).
    Plan(topo_ci::cli::PlanArgs),
    /// Build the production images of HEAD (or of a plan) in the engine, tagged by their
    /// fingerprint and the short commit, with OCI labels; a report (text or JSON).
    Build(topo_sim::cli::ReleaseBuildArgs),
    /// Run the production simulation through the Docker Engine API (as `topo-sim`).
    #[command(subcommand)]
    Sim(topo_sim::cli::SimCommand),
    /// Deploy the production spec to an engine: verify, skip unchanged, blue-green behind
    /// the proxy, roll back on failure, lock, markers (as `topo-sim deploy`).
    Deploy(Box<topo_sim::cli::DeployArgs>),
    /// Find parity drift in hand-written Compose files: across environments, per file,
    /// and (with -t) against what the topology renders.
    Lint(lint::LintArgs),
    /// Build a topology from existing Compose files (dev and prod files together give the most).
    Import(import::ImportArgs),
    /// Print the JSON Schema of topology.toml.
    Schema,
    /// Write a starting topology.toml (and its schema beside it): from the repository in
    /// front of it (its Compose files through import, else its Dockerfiles and package
    /// files), or from a built-in example.
    Init {
        /// Start from this built-in example (`vendure`) instead of the repository.
        #[arg(long, value_name = "NAME")]
        example: Option<String>,
        /// Where to write the topology; the repository read is its directory.
        #[arg(
            short = 'o',
            long,
            value_name = "FILE",
            default_value = "topology.toml"
        )]
        output: PathBuf,
        /// Overwrite an existing topology.
        #[arg(long)]
        force: bool,
        /// The project name; defaults to the repository directory's name.
        #[arg(long, value_name = "NAME")]
        project: Option<String>,
    },
}

#[derive(Args)]
pub(crate) struct InputArgs {
    /// The topology file.
    #[arg(
        short = 't',
        long = "topology",
        value_name = "FILE",
        conflicts_with = "example"
    )]
    topology: Option<PathBuf>,
    /// Use a built-in example instead of a file (`vendure`).
    #[arg(long, value_name = "NAME")]
    example: Option<String>,
}

impl InputArgs {
    pub(crate) fn input(self) -> Input {
        match self.example {
            Some(name) => Input::Example(name),
            None => Input::File(
                self.topology
                    .unwrap_or_else(|| PathBuf::from("topology.toml")),
            ),
        }
    }
}

#[derive(Clone, Copy, ValueEnum)]
enum ModeArg {
    Dev,
    ProdSim,
    Production,
    All,
}

fn main() -> ExitCode {
    let (exit, error) = outcome(run(Cli::parse().command));
    if let Some(error) = error {
        eprint!("{error}");
    }
    exit.into()
}

fn run(command: Command) -> Result<Exit, CommandError> {
    match command {
        Command::Check { input, format } => output::check(&input.input(), format),
        Command::Render {
            input,
            mode,
            out,
            check,
            images,
            plan,
            engine,
        } => {
            let modes = match mode {
                ModeArg::Dev => vec![Mode::Dev],
                ModeArg::ProdSim => vec![Mode::ProdSim],
                ModeArg::Production => vec![Mode::Production],
                ModeArg::All => Mode::ALL.to_vec(),
            };
            let pins = output::Pins {
                images: images.as_deref(),
                plan: plan.as_deref(),
                engine,
            };
            output::render(&input.input(), &modes, out.as_deref(), check, &pins)
        }
        Command::Diff(args) => diff::run(args),
        Command::Secrets { input, mode, out } => {
            secrets::write(&input.input(), mode, out.as_deref())
        }
        Command::Plan(args) => Ok(topo_ci::cli::run_plan(&args)?),
        Command::Build(args) => Ok(topo_sim::cli::run_release_build(&args)?),
        Command::Sim(command) => Ok(topo_sim::cli::run(&command)?),
        Command::Deploy(args) => Ok(topo_sim::cli::run(&topo_sim::cli::SimCommand::Deploy(
            args,
        ))?),
        Command::Lint(args) => lint::run(&args),
        Command::Import(args) => import::run(&args),
        Command::Schema => {
            print!("{}", topo_core::schema::topology_schema_json());
            Ok(Exit::Success)
        }
        Command::Init {
            example,
            output,
            force,
            project,
        } => init::run(example.as_deref(), &output, force, project.as_deref()),
    }
}
