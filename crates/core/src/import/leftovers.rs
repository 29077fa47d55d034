//! What the topology does not say in a container's own fields: the keys topo derives from
//! the mode (restart, hardening, logging, labels, the network), keys it cannot represent,
//! and whole services and top-level sections it cannot run. Each deviation is a note; each
//! dropped key is also quoted as a comment.

use crate::compose::Node;
use crate::{naming, Mode};

use super::document::{Table, Toml};
use super::settings::Settings;
use super::values::written_path;
use super::{Container, Note, Plan, Seen};

/// Keys every imported container may have and import reads.
const COMMON: [&str; 14] = [
    "container_name",
    "image",
    "environment",
    "env_file",
    "volumes",
    "ports",
    "depends_on",
    "healthcheck",
    "restart",
    "stop_grace_period",
    "security_opt",
    "logging",
    "labels",
    "networks",
];

/// The mode-derived keys of every view of `container`, and the keys nobody reads (beyond
/// `COMMON` and `own_keys`), as notes in `table`.
pub(super) fn container_keys(
    plan: &Plan<'_>,
    container: &Container<'_>,
    own_keys: &[&str],
    is_job: bool,
    settings: &mut Settings,
    table: &mut Table,
    checks: &mut Vec<Note>,
) {
    let name = naming::container_name(&plan.project, &container.role);
    if let Some(seen) = container
        .seen
        .iter()
        .find(|s| s.view.name() != name && s.view.container_name().is_none())
    {
        table.note(checks, seen.note_here(format!("the Compose service `{}` is the container `{name}` now; other containers reach it by that name (environment values naming `{}` were rewritten: check config files and commands too)", seen.view.name(), seen.view.name())));
    }
    for seen in &container.seen {
        for (key, _) in seen.view.node.entries() {
            let key = key.text.as_str();
            // An accessory's host name is its container name, which topo gives it.
            let read = COMMON.contains(&key)
                || key == "hostname"
                    && seen.view.text("hostname").as_deref() == Some(name.as_str())
                || own_keys.contains(&key)
                || key == "secrets" && only_secret_files(seen)
                || super::hardening::KEYS.contains(&key)
                || key == "deploy"
                    && seen
                        .view
                        .get("deploy")
                        .is_some_and(super::hardening::reads_all_of_deploy);
            if !read {
                dropped(seen, key, "is not something a topology says", table, checks);
            }
        }
        if let Some((written, pos)) = seen.view.container_name() {
            if written != name {
                table.note(checks, seen.note(pos, format!("the container `{written}` is called `{name}` now (scripts that name it need the new name)")));
            }
        }
        restart(seen, is_job, table, checks);
        hardening(seen, settings, table, checks);
        let foreign_labels: Vec<String> = seen
            .view
            .labels()
            .into_iter()
            .filter(|(key, _)| !key.starts_with("topo."))
            .map(|(key, value)| match value {
                Some(value) => format!("{key}={value}"),
                None => key,
            })
            .collect();
        if !foreign_labels.is_empty() {
            table.note(
                checks,
                seen.note_at(
                    "labels",
                    format!(
                        "labels cannot be written in the topology: dropped {}",
                        foreign_labels.join(", ")
                    ),
                ),
            );
        }
        if seen.view.get("network_mode").is_some() {
            // Already reported as a dropped key.
        } else if seen.view.networks().len() > 1 {
            let names: Vec<String> = seen
                .view
                .networks()
                .into_iter()
                .map(|a| a.network)
                .collect();
            table.note(
                checks,
                seen.note_at(
                    "networks",
                    format!(
                        "joins the networks {}; a topology has one network, `{}`",
                        names.join(", "),
                        naming::network_name(&plan.project)
                    ),
                ),
            );
        }
        env_file(plan, seen, settings, table, checks);
    }
    stop_timeout(container, table, checks);
}

/// `stop_grace_period` (production's, else the first file's) becomes `stop_timeout`, in
/// whole seconds as the engine counts them.
fn stop_timeout(container: &Container<'_>, table: &mut Table, checks: &mut Vec<Note>) {
    let prod = container.prod();
    let Some((seen, written)) = std::iter::once(prod)
        .chain(container.seen.iter())
        .find_map(|seen| seen.view.text("stop_grace_period").map(|w| (seen, w)))
    else {
        return;
    };
    let Some(duration) = crate::value::parse_duration(&written) else {
        table.note(
            checks,
            seen.note_at(
                "stop_grace_period",
                format!("`{written}` is not a duration Compose reads: dropped"),
            ),
        );
        return;
    };
    let seconds = duration.as_secs() + u64::from(duration.subsec_nanos() > 0);
    if u128::from(seconds) * 1000 != duration.as_millis() {
        table.note(
            checks,
            seen.note_at(
                "stop_grace_period",
                format!(
                    "`{written}` becomes {seconds}s: the engine stops containers in whole seconds"
                ),
            ),
        );
    }
    table.set("stop_timeout", Toml::str(format!("{seconds}s")));
}

fn restart(seen: &Seen<'_>, is_job: bool, table: &mut Table, checks: &mut Vec<Note>) {
    let Some(written) = seen.view.text("restart") else {
        return;
    };
    let expected = if seen.mode == Mode::Dev || is_job {
        "no"
    } else {
        "unless-stopped"
    };
    if written != expected {
        table.note(checks, seen.note_at("restart", format!("restart `{written}` becomes `{expected}`: topo restarts nothing in dev or one-shot jobs, and everything else `unless-stopped`")));
    }
}

fn hardening(seen: &Seen<'_>, settings: &mut Settings, table: &mut Table, checks: &mut Vec<Note>) {
    let hardened = seen.mode != Mode::Dev;
    let options: Vec<String> = seen
        .view
        .get("security_opt")
        .map(|s| s.items().iter().filter_map(Node::scalar).collect())
        .unwrap_or_default();
    let extra: Vec<&String> = options
        .iter()
        .filter(|o| !(hardened && o.as_str() == "no-new-privileges:true"))
        .collect();
    if !extra.is_empty() {
        let list: Vec<&str> = extra.iter().map(|s| s.as_str()).collect();
        table.note(checks, seen.note_at("security_opt", format!("security_opt {} cannot be written in the topology: dropped (prod-sim and production get `no-new-privileges:true`)", list.join(", "))));
    }
    let Some(logging) = seen.view.get("logging") else {
        return;
    };
    let driver = logging
        .get("driver")
        .and_then(Node::scalar)
        .unwrap_or_else(|| "json-file".to_owned());
    if !hardened || driver != "json-file" {
        table.note(checks, seen.note_at("logging", format!("the `{driver}` logging of the {} file is not topo's: dev keeps the engine's default, prod-sim and production rotate json-file logs", seen.mode)));
        return;
    }
    let options = logging.get("options");
    let option = |key: &str| {
        options
            .and_then(|o| o.get(key))
            .and_then(|v| Some((v.scalar()?, v.pos)))
    };
    settings.logging(
        option("max-size").map(|(size, pos)| (size, seen.note(pos, ""))),
        option("max-file").and_then(|(files, pos)| Some((files.parse().ok()?, seen.note(pos, "")))),
    );
}

fn env_file(
    plan: &Plan<'_>,
    seen: &Seen<'_>,
    settings: &mut Settings,
    table: &mut Table,
    checks: &mut Vec<Note>,
) {
    let Some(node) = seen.view.get("env_file") else {
        return;
    };
    // `env_file: x`, `- x`, or `- { path: x, required: false }`; a plain path is required.
    let entries: Vec<(String, bool, crate::compose::Pos)> = match node.scalar() {
        Some(path) => vec![(path, true, node.pos)],
        None => node
            .items()
            .iter()
            .filter_map(|item| match item.scalar() {
                Some(path) => Some((path, true, item.pos)),
                None => Some((
                    item.get("path").and_then(Node::scalar)?,
                    item.get("required").and_then(Node::as_bool).unwrap_or(true),
                    item.pos,
                )),
            })
            .collect(),
    };
    if seen.mode != Mode::Dev {
        let paths: Vec<&str> = entries.iter().map(|(p, _, _)| p.as_str()).collect();
        table.note(checks, seen.note_at("env_file", format!("env_file {} in the {} file: topo reads no env file outside dev (production takes secrets from the host's environment): dropped; move what it sets into `env`", paths.join(", "), seen.mode)));
        return;
    }
    let Some(((path, required, pos), rest)) = entries.split_first() else {
        return;
    };
    let written = written_path(&plan.options.directory, path).unwrap_or_else(|raw| {
        table.note(checks, seen.note(*pos, format!("the env file `{raw}` reads a variable; topo writes paths literally: write the file it names")));
        raw
    });
    settings.env_file(written, seen.note(*pos, ""));
    if *required {
        table.note(checks, seen.note(*pos, format!("`{path}` is required here; topo's dev env file is optional (a missing one is not an error)")));
    }
    for (other, _, pos) in rest {
        table.note(
            checks,
            seen.note(
                *pos,
                format!("a second env file `{other}`: topo reads one in dev: dropped"),
            ),
        );
    }
}

/// A key of a service that is not imported: a note, and its text quoted.
pub(super) fn dropped(
    seen: &Seen<'_>,
    key: &str,
    why: &str,
    table: &mut Table,
    checks: &mut Vec<Note>,
) {
    let Some((k, value)) = seen.view.node.entry(key) else {
        return;
    };
    table.note(checks, seen.note(k.pos, format!("`{key}` {why}: dropped")));
    table.comment(&quote(seen.file, k.pos.line, value.last_line()));
}

/// Lines `first..=last` of a file, indented under a comment.
fn quote(file: &crate::compose::ComposeFile, first: u32, last: u32) -> String {
    let lines: Vec<&str> = (first..=last).map(|line| file.line(line)).collect();
    let indent = lines
        .iter()
        .filter(|l| !l.trim().is_empty())
        .map(|l| l.len() - l.trim_start().len())
        .min()
        .unwrap_or(0);
    lines
        .iter()
        .map(|l| format!("  {}", l.get(indent..).unwrap_or(l.trim_start())))
        .collect::<Vec<_>>()
        .join("\n")
}

/// The services topo cannot run and the top-level sections it does not read, quoted.
pub(super) fn not_imported(plan: &Plan<'_>, checks: &mut Vec<Note>) -> Table {
    let mut table = Table::new(None);
    table.comment("Not imported (quoted from the Compose files):");
    let before = checks.len();
    let foreign: Vec<usize> = plan.foreign.clone();
    for index in foreign {
        let container = &plan.containers[index];
        for seen in &container.seen {
            let image = seen.view.image().map_or_else(
                || "no image".to_owned(),
                |(i, _)| format!("the image `{i}`"),
            );
            table.note(checks, seen.note_here(format!("`{}` runs {image}: not imported (an accessory needs an image pinned to a version and, unless topo's catalogue knows the image, a health check; add it as `[[accessories]]` by hand)", seen.view.name())));
            table.comment(&quote(
                seen.file,
                seen.view.key.pos.line,
                seen.view.node.last_line(),
            ));
        }
    }
    for source in &plan.sources {
        let root = &source.file.root;
        for (key, value) in root.entries() {
            let seen_note = |message: String| Note {
                file: source.file.name.clone(),
                pos: key.pos,
                message,
            };
            match key.text.as_str() {
                "name" | "services" | "version" | "configs" => {}
                // Build secrets read from the variable of their own name are `build_secrets`.
                "secrets" => secret_sources(value, &mut table, checks, &seen_note),
                "networks" => {
                    for (network, definition) in value.entries() {
                        let expected = naming::network_name(&plan.project);
                        let extra: Vec<&str> = definition
                            .entries()
                            .iter()
                            .map(|(k, _)| k.text.as_str())
                            .filter(|k| *k != "name" && *k != "labels")
                            .collect();
                        if network.text != expected || !extra.is_empty() {
                            table.note(
                                checks,
                                Note {
                                    pos: network.pos,
                                    ..seen_note(format!(
                                        "the network `{}`{}: topo makes one network, `{expected}`",
                                        network.text,
                                        if extra.is_empty() {
                                            String::new()
                                        } else {
                                            format!(" ({})", extra.join(", "))
                                        }
                                    ))
                                },
                            );
                        }
                    }
                }
                "volumes" => {
                    for (volume, definition) in value.entries() {
                        let extra: Vec<&str> = definition
                            .entries()
                            .iter()
                            .map(|(k, _)| k.text.as_str())
                            .filter(|k| *k != "name" && *k != "labels")
                            .collect();
                        if !extra.is_empty() {
                            table.note(checks, Note {
                                pos: volume.pos,
                                ..seen_note(format!("the volume `{}` sets {}: topo's volumes are plain local volumes, it must be moved by hand", volume.text, extra.join(", ")))
                            });
                        }
                    }
                }
                other if other.starts_with("x-") => {}
                other => {
                    table.note(checks, seen_note(format!("the top-level `{other}` cannot be written in the topology: not imported")));
                    table.comment(&quote(source.file, key.pos.line, value.last_line()));
                }
            }
        }
    }
    if checks.len() == before {
        Table::new(None)
    } else {
        table
    }
}

/// Whether a service's `secrets:` are only secret files topo derives from the environment:
/// each mounted at `/run/secrets/<source>` and named by a `*_FILE` variable (which
/// [`super::env`] reads back as a secret given as a file).
fn only_secret_files(seen: &Seen<'_>) -> bool {
    let Some(secrets) = seen.view.get("secrets") else {
        return true;
    };
    let named: Vec<String> = seen
        .view
        .environment()
        .into_iter()
        .filter(|e| e.name.ends_with("_FILE"))
        .filter_map(|e| e.value)
        .collect();
    secrets.items().iter().all(|item| {
        let source = item.scalar().or_else(|| item.get("source")?.scalar());
        let Some(source) = source else { return false };
        let target = format!("/run/secrets/{source}");
        let written = item.get("target").and_then(Node::scalar);
        written.is_none_or(|t| t == target) && named.contains(&target)
    })
}

/// Top-level `secrets:` that are not a build secret read from the variable of its own name
/// get a note: they are dropped.
fn secret_sources(
    value: &crate::compose::Node,
    table: &mut Table,
    checks: &mut Vec<Note>,
    seen_note: &dyn Fn(String) -> Note,
) {
    for (secret, definition) in value.entries() {
        // A build secret read from its variable, or a secret file topo's renderer names
        // after its variable (`topo secrets` writes it).
        let from_own_variable = definition.entries().len() == 1
            && (definition
                .get("environment")
                .and_then(crate::compose::Node::scalar)
                .is_some_and(|variable| variable == secret.text)
                || definition
                    .get("file")
                    .and_then(crate::compose::Node::scalar)
                    .is_some_and(|file| file.rsplit('/').next() == Some(secret.text.as_str())));
        if !from_own_variable {
            table.note(
                checks,
                Note {
                    pos: secret.pos,
                    ..seen_note(format!("the secret `{}`: topo passes build secrets from the variable of their own name (`build_secrets`), and runtime secrets as `{{ secret = \"VAR\" }}` in `env` (`file = true` for a file named by `<NAME>_FILE`): dropped", secret.text))
                },
            );
        }
    }
}
