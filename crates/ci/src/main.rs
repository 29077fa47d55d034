//! `topo-ci`: change-aware deploy planning. Flags and exit codes only; the work is in the
//! `topo_ci` library.

use std::process::ExitCode;

use clap::{Parser, Subcommand};
use topo_ci::cli::{self, FingerprintArgs, MarkArgs, PlanArgs};
use topo_ci::plan::Plan;
use topo_core::report::{outcome, Exit};

/// Decide which services to deploy, record what was deployed.
#[derive(Parser, Debug)]
#[command(name = "topo-ci", version, about)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand, Debug)]
enum Command {
    /// Plan a deploy: per service deploy, build or skip, and why.
    Plan(PlanArgs),
    /// Record successful deploys in the markers.
    Mark(MarkArgs),
    /// Print the content fingerprint of each service (the natural image tag).
    Fingerprint(FingerprintArgs),
    /// Print the JSON Schema of the plan document.
    Schema,
}

fn main() -> ExitCode {
    let result = match &Cli::parse().command {
        Command::Plan(args) => cli::run_plan(args),
        Command::Mark(args) => cli::run_mark(args),
        Command::Fingerprint(args) => cli::run_fingerprint(args),
        Command::Schema => {
            print!("{}", Plan::schema_json());
            Ok(Exit::Success)
        }
    };
    let (exit, error) = outcome(result);
    if let Some(error) = error {
        eprint!("{error}");
    }
    exit.into()
}
