//! `topo import`: flags, a call into `topo_core::import`, the file written atomically.
//!
//! Exit codes: 0 written; 1 refused (the output exists without `--force`, a file is not
//! Compose, two files of one mode, an I/O error); 2 usage.

use clap::Args;
use std::path::{Path, PathBuf};
use topo_core::compose::{self, ComposeFile};
use topo_core::import::{import, ImportOptions};
use topo_core::report::Exit;
use topo_core::Mode;

use crate::error::CommandError;
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
    #[arg(long = "mode", value_name = "FILE=MODE", value_parser = crate::lint::parse_mode)]
    modes: Vec<(PathBuf, Mode)>,
}

impl ImportArgs {
    /// `topo import FILES -o OUTPUT [--force]`, modes from the files' names.
    pub fn of(files: Vec<PathBuf>, output: &Path, force: bool) -> ImportArgs {
        ImportArgs {
            files,
            project: None,
            output: output.to_owned(),
            force,
            modes: Vec::new(),
        }
    }
}

/// Runs `topo import`.
pub fn run(args: &ImportArgs) -> Result<Exit, CommandError> {
    import_files(args)?;
    Ok(Exit::Success)
}

fn import_files(args: &ImportArgs) -> Result<(), CommandError> {
    for (path, _) in &args.modes {
        if !args.files.contains(path) {
            return Err(CommandError::Usage(format!(
                "--mode names {}, which is not among the files to import",
                path.display()
            )));
        }
    }
    let directory = directory_of(&args.files[0]);
    if let Some(other) = args.files.iter().find(|f| directory_of(f) != directory) {
        return Err(CommandError::Usage(format!(
            "{} and {} are in different directories; the files' relative paths need one: import files that sit together",
            args.files[0].display(),
            other.display()
        )));
    }
    if args.output.exists() && !args.force {
        return Err(CommandError::Refused {
            message: format!(
                "{} already exists; pass --force to overwrite it",
                args.output.display()
            ),
            help: None,
        });
    }
    let mut files = Vec::new();
    let mut problems = Vec::new();
    for path in &args.files {
        let name = path.display().to_string();
        let text = std::fs::read_to_string(path).map_err(CommandError::io("read", path))?;
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
        return Err(CommandError::Located(problems));
    }
    let imported = import(&files, &options(args, &directory)?)?;
    let output_directory = directory_of(&args.output);
    std::fs::create_dir_all(&output_directory)
        .map_err(CommandError::io("create", &output_directory))?;
    crate::output::write_atomically(&args.output, imported.text.as_bytes())?;
    println!(
        "wrote {} ({} thing{} to check)",
        args.output.display(),
        imported.checks.len(),
        if imported.checks.len() == 1 { "" } else { "s" }
    );
    for line in topo_core::import::note_lines(&imported.checks, "check") {
        println!("{line}");
    }
    println!(
        "next: `topo check -t {0}`, then `topo render -t {0}` and compare with the files you had",
        args.output.display()
    );
    Ok(())
}

/// Where the files sit as seen from the topology's directory, and the name Compose gives
/// their project (their directory's).
fn options(args: &ImportArgs, directory: &Path) -> Result<ImportOptions, CommandError> {
    let absolute = |p: &Path| std::path::absolute(p).map_err(CommandError::io("resolve", p));
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
