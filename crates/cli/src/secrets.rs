//! `topo secrets`: the secret files a mode's Compose file reads, written from the
//! deploying environment (the local modes fall back to their defaults).
//!
//! Compose bind-mounts a secret's `file:` into the container, the one way into a read-only
//! root filesystem; the rendered file reads them from `${TOPO_SECRETS_DIR:-.topo/secrets/<mode>}`.

use std::io::Write as _;
use std::os::unix::fs::PermissionsExt as _;
use std::path::{Path, PathBuf};

use topo_core::report::Exit;
use topo_core::spec::{runtime_spec, secrets_directory, SECRETS_DIR_VARIABLE};
use topo_core::{Mode, SpecOptions};

use crate::error::CommandError;
use crate::input::Input;

/// Writes every secret file of `mode` into `out` (else `$TOPO_SECRETS_DIR`, else
/// `.topo/secrets/<mode>` beside the topology): all or none, the directory private (0700),
/// each file with the permissions its container needs. Values are never printed.
pub fn write(input: &Input, mode: Mode, out: Option<&Path>) -> Result<Exit, CommandError> {
    let Some((_, validated)) = crate::output::load(input, crate::output::Format::Human)? else {
        return Ok(Exit::Failure);
    };
    let spec = runtime_spec(&validated.topology, mode, &SpecOptions::default());
    let directory = match (out, std::env::var_os(SECRETS_DIR_VARIABLE)) {
        (Some(out), _) => out.to_owned(),
        (None, Some(variable)) if !variable.is_empty() => PathBuf::from(variable),
        _ => input
            .repository()
            .unwrap_or_else(|| PathBuf::from("."))
            .join(secrets_directory(mode)),
    };
    let files = spec.secret_files();
    let mut values = Vec::new();
    let mut missing = Vec::new();
    for file in &files {
        let from_environment = std::env::var(file.variable).ok().filter(|v| !v.is_empty());
        match (from_environment, file.default) {
            (Some(value), _) => values.push((file, value, "the environment")),
            (None, Some(default)) => values.push((file, default.to_owned(), "its local default")),
            (None, None) => missing.push(file.variable),
        }
    }
    if !missing.is_empty() {
        return Err(CommandError::Refused {
            message: format!(
                "{} must be set: {mode} reads {} from the environment, without a default; nothing was written",
                missing.join(", "),
                if missing.len() == 1 { "it" } else { "them" },
            ),
            help: Some("export the variables (in CI, from its secret store), then run this again".to_owned()),
        });
    }
    std::fs::create_dir_all(&directory).map_err(CommandError::io("create", &directory))?;
    std::fs::set_permissions(&directory, std::fs::Permissions::from_mode(0o700))
        .map_err(CommandError::io("protect", &directory))?;
    for (file, value, _) in &values {
        let path = directory.join(file.variable);
        let mut written = atomic_write_file::AtomicWriteFile::open(&path)
            .map_err(CommandError::io("write", &path))?;
        written
            .set_permissions(std::fs::Permissions::from_mode(file.mode))
            .and_then(|()| written.write_all(value.as_bytes()))
            .and_then(|()| written.commit())
            .map_err(CommandError::io("write", &path))?;
    }
    println!(
        "wrote {} secret file{} of {mode} into {}",
        values.len(),
        if values.len() == 1 { "" } else { "s" },
        directory.display()
    );
    for (file, _, from) in &values {
        println!("  {} ({:o}, from {from})", file.variable, file.mode);
    }
    if spec.swarm {
        write_configs(input, &spec)?;
    }
    Ok(Exit::Success)
}

/// A Swarm stack reads its configs (the proxy's routes) from files too:
/// `${TOPO_CONFIGS_DIR:-.topo/configs/production}/<name>`.
fn write_configs(input: &Input, spec: &topo_core::RuntimeSpec) -> Result<(), CommandError> {
    let directory = match std::env::var_os(topo_core::render::CONFIGS_DIR_VARIABLE) {
        Some(variable) if !variable.is_empty() => PathBuf::from(variable),
        _ => input
            .repository()
            .unwrap_or_else(|| PathBuf::from("."))
            .join(topo_core::render::configs_directory()),
    };
    std::fs::create_dir_all(&directory).map_err(CommandError::io("create", &directory))?;
    let configs = spec.config_files();
    for (name, text) in &configs {
        crate::output::write_atomically(&directory.join(name), text.as_bytes())?;
    }
    println!(
        "wrote {} config file{} of the stack into {}",
        configs.len(),
        if configs.len() == 1 { "" } else { "s" },
        directory.display()
    );
    Ok(())
}
