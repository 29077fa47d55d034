//! Accessories read back: a container from a pinned third-party image (no build) becomes
//! `[[accessories]]`, with what the catalogue would give left out (its health check, its
//! data volume, its confinement) and the modes it runs in.

use std::collections::BTreeMap;

use crate::accessory::{hardening_defaults, known};
use crate::compose::MountKind;
use crate::naming;
use crate::value::ImageRef;
use crate::Mode;

use super::document::{Table, Toml};
use super::health::{self, Test};
use super::settings::Settings;
use super::{leftovers, wiring, Note, Plan};

/// `[[accessories]]` (and its `[accessories.env]`) for the container `index`.
pub(super) fn import(
    plan: &Plan<'_>,
    index: usize,
    settings: &mut Settings,
    checks: &mut Vec<Note>,
) -> Vec<Table> {
    let container = &plan.containers[index];
    let prod = container.prod();
    let mut table = Table::new(Some("[[accessories]]"));
    table.read_from(prod.note_here(""));
    table.set("role", Toml::str(&container.role));
    let (image, _) = prod.view.image().unwrap_or_default();
    for seen in &container.seen {
        if seen.view.image().is_some_and(|(other, _)| other != image) {
            table.note(checks, seen.note_here(format!("the {} file runs another image than production (`{image}`): an accessory runs one pinned image in every mode", seen.mode)));
        }
    }
    table.set("image", Toml::str(&image));
    let known = ImageRef::parse(&image).ok().as_ref().and_then(known);
    let given: Vec<Mode> = plan.sources.iter().map(|s| s.mode).collect();
    let modes: Vec<Mode> = given
        .iter()
        .copied()
        .filter(|m| container.get(*m).is_some())
        .collect();
    if modes.len() < given.len() {
        let names: Vec<&str> = modes.iter().map(|m| m.as_str()).collect();
        table.set("modes", Toml::strings(&names));
    }
    super::service::command(container, &mut table, checks);
    ports(container, settings, &mut table, checks);
    wiring::depends_on(plan, index, &mut table, checks);
    health_check(container, known, &mut table, checks);
    volumes(plan, container, known, &mut table, checks);
    super::hardening::confinement(container, hardening_defaults(known), &mut table, checks);
    leftovers::container_keys(
        plan,
        container,
        &["command"],
        false,
        settings,
        &mut table,
        checks,
    );
    let env = wiring::env_table(plan, container, None, "[accessories.env]", checks);
    let mut tables = vec![table];
    if !env.is_empty() {
        tables.push(env);
    }
    tables
}

/// Dev's published ports; elsewhere an accessory is reached by its name only.
fn ports(
    container: &super::Container<'_>,
    settings: &mut Settings,
    table: &mut Table,
    checks: &mut Vec<Note>,
) {
    let mut ports = Vec::new();
    for seen in &container.seen {
        let published = wiring::published(seen, settings, table, checks);
        if seen.mode == Mode::Dev {
            ports = published
                .iter()
                .map(|p| wiring::port_toml(p, false))
                .collect();
        } else if let Some(port) = published.first() {
            table.note(checks, seen.note(port.pos, format!("the {} file publishes {}: topo publishes an accessory in dev only (reached by its name elsewhere)", seen.mode, port.container)));
        }
    }
    if !ports.is_empty() {
        table.set("ports", Toml::Array(ports));
    }
}

/// Production's health check, left out where it is the catalogue's (timings kept).
fn health_check(
    container: &super::Container<'_>,
    known: Option<&'static crate::accessory::Known>,
    table: &mut Table,
    checks: &mut Vec<Note>,
) {
    let catalogue = known
        .and_then(|k| k.health)
        .map(|words| Test::Command(words.iter().map(|w| (*w).to_owned()).collect()));
    match health::read(container.prod()) {
        Some((check, _)) if Some(&check.test) == catalogue.as_ref() => {
            let timings = health::timings(&check);
            if !timings.is_empty() {
                table.set("health", Toml::Inline(timings));
            }
        }
        _ => wiring::health(container, table, checks),
    }
}

/// Named volumes `<project>-<role>-<purpose>`, left out when they are the catalogue's one.
fn volumes(
    plan: &Plan<'_>,
    container: &super::Container<'_>,
    known: Option<&'static crate::accessory::Known>,
    table: &mut Table,
    checks: &mut Vec<Note>,
) {
    let prod = container.prod();
    let prefix = naming::volume_name(&plan.project, &container.role, "");
    let mut found: BTreeMap<String, String> = BTreeMap::new();
    for mount in prod.view.mounts() {
        let purpose = mount
            .source
            .as_deref()
            .filter(|_| mount.kind == MountKind::Volume)
            .and_then(|source| source.strip_prefix(&prefix));
        match purpose {
            Some(purpose) if !purpose.is_empty() => {
                found.insert(purpose.to_owned(), mount.target.clone());
            }
            _ => table.note(checks, prod.note(mount.pos, format!("the mount of `{}` is not a volume `{prefix}<purpose>`: an accessory keeps its data in named volumes only: dropped", mount.target))),
        }
    }
    let catalogue: BTreeMap<String, String> = known
        .and_then(|k| k.data)
        .map(|path| BTreeMap::from([("data".to_owned(), path.to_owned())]))
        .unwrap_or_default();
    if found != catalogue {
        table.set(
            "volumes",
            Toml::Inline(found.into_iter().map(|(k, v)| (k, Toml::str(v))).collect()),
        );
    }
}
