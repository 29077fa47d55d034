//! `topo import`: flags, a call into `topo_core::import`, the file written atomically.
//!
//! Exit codes: 0 written; 1 refused (the output exists without `--force`, a file is not
//! Compose, two files of one mode, an I/O error); 2 usage.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::Context;
use clap::Args;
use topo_core::compose::{self, ComposeFile};
use topo_core::import::{import, ImportError, ImportOptions};
use topo_core::Mode;

use crate::input::directory_of;

/// Flags of `topo import`.
#[derive(Args)]
pub struct ImportArgs {
    /// The Compose files, one per mode (modes inferred from their names, as `topo lint`
    /// does: `*prod-sim*`, `*prod*`, anything else dev).
    #[arg(required = true, value_name = "FILE")]
    files: Vec<PathBuf>,
    /// The project name; defaults to the files' `name:`, else their containers' common prefix.
    #[arg(long, value_name = "NAME")]
    project: Option<String>,
    /// Where to write the topology.
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
    /// The mode of a file, when its name does not tell: `FILE=dev|prod-sim|production`.
    #[arg(long = "mode", value_name = "FILE=MODE", value_parser = parse_mode)]
    modes: Vec<(PathBuf, Mode)>,
}

fn parse_mode(text: &str) -> Result<(PathBuf, Mode), String> {
    let (file, mode) = text
        .rsplit_once('=')
        .ok_or_else(|| format!("`{text}`: write FILE=MODE, e.g. deploy/compose.yml=production"))?;
    Ok((PathBuf::from(file), mode.parse()?))
}

/// Why the import stopped, and with which exit code.
enum Stop {
    /// Exit 2: the command line is wrong.
    Usage(String),
    /// Exit 1: refused or failed; nothing was written.
    Refused(String),
}

/// Runs `topo import`.
pub fn run(args: &ImportArgs) -> ExitCode {
    match import_files(args) {
        Ok(()) => ExitCode::SUCCESS,
        Err(Stop::Usage(message)) => {
            eprintln!("error: {message}");
            ExitCode::from(2)
        }
        Err(Stop::Refused(message)) => {
            eprintln!("{message}");
            ExitCode::from(1)
        }
    }
}

fn import_files(args: &ImportArgs) -> Result<(), Stop> {
    for (path, _) in &args.modes {
        if !args.files.contains(path) {
            return Err(Stop::Usage(format!(
                "--mode names {}, which is not among the files to import",
                path.display()
            )));
        }
    }
    let directory = directory_of(&args.files[0]);
    if let Some(other) = args.files.iter().find(|f| directory_of(f) != directory) {
        return Err(Stop::Usage(format!(
            "{} and {} are in different directories; the files' relative paths need one: import files that sit together",
            args.files[0].display(),
            other.display()
        )));
    }
    if args.output.exists() && !args.force {
        return Err(Stop::Refused(format!(
            "error: {} already exists; pass --force to overwrite it",
            args.output.display()
        )));
    }
    let mut files = Vec::new();
    let mut problems = Vec::new();
    for path in &args.files {
        let name = path.display().to_string();
        let text = std::fs::read_to_string(path)
            .map_err(|e| Stop::Refused(format!("error: cannot read {name}: {e}")))?;
        match ComposeFile::read(name.clone(), text) {
            Ok(file) => {
                let mode = args
                    .modes
                    .iter()
                    .find(|(p, _)| p == path)
                    .map_or_else(|| compose::mode_of_file_name(&name), |(_, m)| *m);
                files.push((file, mode));
            }
            Err(error) => {
                let at = error
                    .pos
                    .map_or(String::new(), |p| format!(":{}:{}", p.line, p.column));
                problems.push(format!("{name}{at}: error: {}", error.message));
            }
        }
    }
    if !problems.is_empty() {
        return Err(Stop::Refused(problems.join("\n")));
    }
    let options = options(args, &directory).map_err(|e| Stop::Refused(format!("error: {e:#}")))?;
    let imported = import(&files, &options).map_err(|e| match e {
        // Already `file:line:column: error: …` lines.
        ImportError::Unrepresentable(_) => Stop::Refused(e.to_string()),
        _ => Stop::Refused(format!("error: {e}")),
    })?;
    let output_directory = directory_of(&args.output);
    std::fs::create_dir_all(&output_directory)
        .with_context(|| format!("cannot create {}", output_directory.display()))
        .and_then(|()| crate::output::write_atomically(&args.output, imported.text.as_bytes()))
        .map_err(|e| Stop::Refused(format!("error: {e:#}")))?;
    println!(
        "wrote {} ({} thing{} to check)",
        args.output.display(),
        imported.checks.len(),
        if imported.checks.len() == 1 { "" } else { "s" }
    );
    for note in &imported.checks {
        println!("{}: check: {}", note.location(), note.message);
    }
    println!(
        "next: `topo check -t {0}`, then `topo render -t {0}` and compare with the files you had",
        args.output.display()
    );
    Ok(())
}

/// Where the files sit as seen from the topology's directory, and the name Compose gives
/// their project (their directory's).
fn options(args: &ImportArgs, directory: &Path) -> anyhow::Result<ImportOptions> {
    let absolute = |p: &Path| {
        std::path::absolute(p).with_context(|| format!("cannot resolve {}", p.display()))
    };
    let files_directory = absolute(directory)?;
    let topology_directory = absolute(&directory_of(&args.output))?;
    let relative = pathdiff::diff_paths(&files_directory, &topology_directory)
        .map(|p| p.to_string_lossy().replace('\\', "/"))
        .filter(|p| !p.is_empty())
        .unwrap_or_else(|| ".".to_owned());
    Ok(ImportOptions {
        project: args.project.clone(),
        compose_project: files_directory
            .file_name()
            .map(|n| n.to_string_lossy().to_lowercase()),
        directory: relative,
    })
}
