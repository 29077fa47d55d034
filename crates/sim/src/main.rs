//! `topo-sim`: the production simulation and production deploys through the Docker Engine
//! API. Flags and exit codes only; the work is in the `topo_sim` library.

use std::process::ExitCode;

use clap::Parser;
use topo_core::report::outcome;
use topo_sim::cli::{self, SimCommand};

/// Build and run a topology's prod-sim stack through the Docker Engine API, with a verdict.
#[derive(Parser, Debug)]
#[command(name = "topo-sim", version, about)]
struct Cli {
    #[command(subcommand)]
    command: SimCommand,
}

fn main() -> ExitCode {
    let (exit, error) = outcome(cli::run(&Cli::parse().command));
    if let Some(error) = error {
        eprint!("{error}");
    }
    exit.into()
}
