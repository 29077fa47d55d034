//! The confinement keys of the most production-like file read back into the topology's
//! hardening keys — written only where they differ from what topo gives the container's
//! kind, so a rendered set imports to a topology without them, and a hand-written file
//! without confinement imports to visible opt-outs (`read_only = false`, …), each noted.

use crate::compose::Node;
use crate::valid::{HardeningDefaults, Memory};
use crate::Mode;

use super::document::{Table, Toml};
use super::{Container, Note};

/// The keys this module reads.
pub(super) const KEYS: [&str; 7] = [
    "read_only",
    "tmpfs",
    "cap_drop",
    "cap_add",
    "mem_limit",
    "cpus",
    "pids_limit",
];

/// Writes the hardening keys of `container` (of a kind whose defaults are `defaults`).
pub(super) fn confinement(
    container: &Container<'_>,
    defaults: HardeningDefaults,
    table: &mut Table,
    checks: &mut Vec<Note>,
) {
    let seen = container.prod();
    if seen.mode == Mode::Dev {
        // Only dev was given: it is never confined, so it says nothing about production.
        return;
    }
    let view = &seen.view;
    let list = |key: &str| -> Vec<String> {
        view.get(key)
            .map(|n| n.items().iter().filter_map(Node::scalar).collect())
            .unwrap_or_default()
    };
    let read_only = view.text("read_only").is_some_and(|t| t == "true");
    if read_only && !defaults.read_only {
        table.set("read_only", Toml::Bool(true));
    } else if !read_only && defaults.read_only {
        table.note(checks, seen.note_here(format!("the {} file runs it on a writable root filesystem: `read_only = false` keeps that (delete the key for topo's read-only default)", seen.mode)));
        table.set("read_only", Toml::Bool(false));
    }
    let drops = list("cap_drop")
        .iter()
        .any(|c| c.eq_ignore_ascii_case("ALL"));
    if !drops {
        table.note(checks, seen.note_here(format!("the {} file keeps the engine's default capabilities: `drop_capabilities = false` keeps that (delete the key to drop them all)", seen.mode)));
        table.set("drop_capabilities", Toml::Bool(false));
    }
    let mut added = list("cap_add");
    added.sort();
    if added != defaults.capabilities && (drops || !added.is_empty()) {
        table.set("capabilities", Toml::strings(&added));
    }
    if read_only {
        let given: Vec<&str> = HardeningDefaults::ALWAYS_WRITABLE
            .iter()
            .chain(defaults.writable)
            .copied()
            .collect();
        let writable: Vec<String> = list("tmpfs")
            .into_iter()
            .filter(|path| !given.contains(&path.as_str()))
            .collect();
        if !writable.is_empty() {
            table.set("writable", Toml::strings(&writable));
        }
    }
    // Each limit as a service key or in Swarm's spelling, `deploy.resources.limits`.
    let limit = |key: &str, swarm: &str| {
        view.text(key).or_else(|| {
            view.get("deploy")?
                .get("resources")?
                .get("limits")?
                .get(swarm)?
                .scalar()
        })
    };
    let mut resources = Vec::new();
    match limit("mem_limit", "memory") {
        None => resources.push(("memory".to_owned(), Toml::str("unlimited"))),
        Some(text) if same_memory(&text, defaults.memory) => {}
        Some(text) => resources.push(("memory".to_owned(), Toml::str(text))),
    }
    let millicpus = limit("cpus", "cpus")
        .and_then(|c| c.parse::<f64>().ok())
        .map_or(0, |cpus| (cpus * 1000.0).round() as u32);
    if millicpus != defaults.millicpus {
        let cpus = if millicpus.is_multiple_of(1000) {
            Toml::Int(i64::from(millicpus / 1000))
        } else {
            Toml::Float(f64::from(millicpus) / 1000.0)
        };
        resources.push(("cpus".to_owned(), cpus));
    }
    let pids = limit("pids_limit", "pids")
        .and_then(|p| p.parse::<i64>().ok())
        .map_or(0, |p| p.max(0));
    if pids != i64::from(defaults.pids) {
        resources.push(("pids".to_owned(), Toml::Int(pids)));
    }
    if !resources.is_empty() {
        table.set("resources", Toml::Inline(resources));
    }
}

/// Whether a service's `deploy:` says nothing but what this module reads: the limits in
/// Swarm's spelling (anything else in it is dropped with a note, as before).
pub(super) fn reads_all_of_deploy(deploy: &Node) -> bool {
    let only = |node: &Node, keys: &[&str]| {
        node.entries()
            .iter()
            .all(|(key, _)| keys.contains(&key.text.as_str()))
    };
    only(deploy, &["resources"])
        && deploy.get("resources").is_some_and(|resources| {
            only(resources, &["limits"])
                && resources
                    .get("limits")
                    .is_some_and(|limits| only(limits, &["memory", "cpus", "pids"]))
        })
}

fn same_memory(written: &str, default: &str) -> bool {
    let bytes = |text: &str| crate::validate::memory_of(text).map(|Memory { bytes, .. }| bytes);
    bytes(written).is_some() && bytes(written) == bytes(default)
}
