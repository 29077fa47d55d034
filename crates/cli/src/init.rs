//! `topo init`: a first topology. From a built-in example with `--example`; otherwise from
//! the repository in front of it: its Compose files through `topo import` when it has
//! some, else its Dockerfiles and package files (`topo_core::import::from_repository`),
//! else the `vendure` example.

use std::path::{Path, PathBuf};

use topo_core::import::{from_repository, note_lines, RepositoryFile, READ_FILES};
use topo_core::report::Exit;

use crate::error::CommandError;
use crate::input::directory_of;

/// Directories never read: generated, vendored or version control.
const SKIPPED: &[&str] = &[
    ".git",
    "node_modules",
    "target",
    "dist",
    "build",
    ".next",
    "vendor",
    ".venv",
    "venv",
    "__pycache__",
    ".topo",
];

/// How deep below the repository root files are looked for (`apps/web/Dockerfile` is 2).
const DEPTH: usize = 4;

/// Runs `topo init`.
pub fn run(
    example: Option<&str>,
    output: &Path,
    force: bool,
    project: Option<&str>,
) -> Result<Exit, CommandError> {
    if let Some(example) = example {
        return crate::output::init(example, output, force);
    }
    crate::output::refuse_overwrite(output, force)?;
    let root = directory_of(output);
    let compose = compose_files(&root)?;
    if !compose.is_empty() {
        let names: Vec<String> = compose.iter().map(|p| p.display().to_string()).collect();
        println!("found Compose files ({}): importing them", names.join(", "));
        return crate::import::run(&crate::import::ImportArgs::of(compose, output, force));
    }
    let mut files = Vec::new();
    read_tree(&root, &root, 0, &mut files)?;
    files.sort_by(|a, b| a.path.cmp(&b.path));
    if !files
        .iter()
        .any(|f| f.path.rsplit('/').next() == Some("Dockerfile"))
    {
        println!(
            "no Dockerfile or Compose file under {}: starting from the `vendure` example",
            root.display()
        );
        return crate::output::init("vendure", output, force);
    }
    let project = match project {
        Some(project) => project.to_owned(),
        None => project_name(&root),
    };
    let imported = from_repository(&files, &project)?;
    crate::output::write_atomically(output, imported.text.as_bytes())?;
    let schema = root.join("topology.schema.json");
    crate::output::write_atomically(
        &schema,
        topo_core::schema::topology_schema_json().as_bytes(),
    )?;
    println!(
        "wrote {} from the repository ({} thing{} to check) and {}",
        output.display(),
        imported.checks.len(),
        if imported.checks.len() == 1 { "" } else { "s" },
        schema.display()
    );
    for line in note_lines(&imported.checks, "check") {
        println!("{line}");
    }
    println!(
        "next: edit it, then `topo check -t {}` and `topo render -t {}`",
        output.display(),
        output.display()
    );
    Ok(Exit::Success)
}

/// The Compose files at the repository's root, by their conventional names.
fn compose_files(root: &Path) -> Result<Vec<PathBuf>, CommandError> {
    let mut found = Vec::new();
    let entries = std::fs::read_dir(root).map_err(CommandError::io("read", root))?;
    for entry in entries.flatten() {
        let name = entry.file_name().to_string_lossy().into_owned();
        let compose = (name.starts_with("docker-compose") || name.starts_with("compose"))
            && (name.ends_with(".yml") || name.ends_with(".yaml"));
        if compose && entry.path().is_file() {
            found.push(entry.path());
        }
    }
    found.sort();
    Ok(found)
}

/// Every file `topo init` reads under `dir`, with its path relative to `root`.
fn read_tree(
    root: &Path,
    dir: &Path,
    depth: usize,
    out: &mut Vec<RepositoryFile>,
) -> Result<(), CommandError> {
    let entries = std::fs::read_dir(dir).map_err(CommandError::io("read", dir))?;
    for entry in entries.flatten() {
        let path = entry.path();
        let name = entry.file_name().to_string_lossy().into_owned();
        let Ok(kind) = entry.file_type() else {
            continue;
        };
        if kind.is_dir() && depth < DEPTH && !SKIPPED.contains(&name.as_str()) {
            read_tree(root, &path, depth + 1, out)?;
        } else if kind.is_file() && READ_FILES.contains(&name.as_str()) {
            let text = std::fs::read_to_string(&path).map_err(CommandError::io("read", &path))?;
            let relative = path.strip_prefix(root).unwrap_or(&path);
            let parts: Vec<String> = relative
                .components()
                .map(|c| c.as_os_str().to_string_lossy().into_owned())
                .collect();
            out.push(RepositoryFile {
                path: parts.join("/"),
                text,
            });
        }
    }
    Ok(())
}

/// A project name from the repository's directory: lowercase `[a-z0-9-]`.
fn project_name(root: &Path) -> String {
    let absolute = std::fs::canonicalize(root).unwrap_or_else(|_| root.to_owned());
    let name = absolute
        .file_name()
        .map(|n| n.to_string_lossy().to_ascii_lowercase())
        .unwrap_or_default();
    let cleaned: String = name
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() { c } else { '-' })
        .collect();
    let cleaned = cleaned.trim_matches('-').to_owned();
    if cleaned.is_empty() || !cleaned.starts_with(|c: char| c.is_ascii_lowercase()) {
        "app".to_owned()
    } else {
        cleaned
    }
}
