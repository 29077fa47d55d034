//! `topo-ci`: change-aware deploy planning. Flags and exit codes only; the work is in the
//! `topo_ci` library.

use std::process::ExitCode;

use clap::{Parser, Subcommand};
use topo_ci::cli::{self, CliError, FingerprintArgs, MarkArgs, PlanArgs};

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
    let cli = Cli::parse();
    let result = match &cli.command {
        Command::Plan(args) => cli::run_plan(args, &mut std::io::stdout().lock()),
        Command::Mark(args) => cli::run_mark(args).map(|lines| {
            for line in lines {
                println!("{line}");
            }
        }),
        Command::Fingerprint(args) => cli::run_fingerprint(args).map(|text| print!("{text}")),
        Command::Schema => {
            print!("{}", cli::plan_schema());
            Ok(())
        }
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => report(&error),
    }
}

fn report(error: &CliError) -> ExitCode {
    eprintln!("error: {error}");
    ExitCode::from(error.exit_code())
}
