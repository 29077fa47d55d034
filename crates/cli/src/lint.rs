//! `topo lint`: flags, a call into `topo_core::lint`, the report printed, exit codes.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::Args;

/// Flags of `topo lint`.
#[derive(Args)]
pub struct LintArgs {
    /// The Compose files.
    #[arg(required = true, value_name = "FILE")]
    files: Vec<PathBuf>,
}

/// Runs `topo lint`.
pub fn run(args: &LintArgs) -> ExitCode {
    let _ = &args.files;
    eprintln!("error: topo lint is not built yet");
    ExitCode::from(2)
}
