//! `topo import`: flags, a call into `topo_core::import`, the file written atomically.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::Args;

/// Flags of `topo import`.
#[derive(Args)]
pub struct ImportArgs {
    /// The Compose files (their modes inferred from their names, as `topo lint` does).
    #[arg(required = true, value_name = "FILE")]
    files: Vec<PathBuf>,
    /// The project name; defaults to the files' `name:`.
    #[arg(long, value_name = "NAME")]
    project: Option<String>,
    /// Where to write the topology.
    #[arg(short = 'o', long, value_name = "FILE", default_value = "topology.toml")]
    output: PathBuf,
    /// Overwrite an existing topology.
    #[arg(long)]
    force: bool,
}

/// Runs `topo import`.
pub fn run(args: &ImportArgs) -> ExitCode {
    let _ = (&args.files, &args.project, &args.output, args.force);
    eprintln!("error: topo import is not built yet");
    ExitCode::from(1)
}
