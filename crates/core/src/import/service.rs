//! `[[services]]` from a container topo builds: the build (context, Dockerfile, targets) or
//! the image it shares, the production image's registry and tag, the dev source mount and
//! generated paths, persistent volumes and the command per mode. Ports, dependencies,
//! health and environment are `wiring`'s.

use std::collections::{BTreeMap, BTreeSet};

use crate::compose::{Mount, MountKind};
use crate::value::ImageRef;
use crate::{naming, Mode};

use super::document::{Table, Toml};
use super::settings::Settings;
use super::values::{literal, rebase, written_path};
use super::{leftovers, wiring, Container, Note, Plan, Seen};

/// A route the proxy's configuration gives a service (by role).
#[derive(Clone, Debug)]
pub(super) struct RouteFound {
    /// The path prefixes.
    pub paths: Vec<String>,
    /// The container port called.
    pub port: u16,
}

/// Where a service's source and generated paths are mounted in dev.
#[derive(Clone, Debug, Default)]
pub(super) struct Layout {
    /// The target of the bind mount of the context (without a trailing `/`).
    pub source_path: Option<String>,
    /// That target as written (`/usr/src/app/` stays so).
    pub source_written: Option<String>,
    /// The absolute targets of the generated paths' volumes.
    pub generated: Vec<String>,
    /// Targets of dev volumes over the source that a topology cannot hold as generated
    /// paths (noted where they were found): not persistent volumes either.
    pub dropped: Vec<String>,
}

/// The service's table and its `[services.env]`.
pub(super) fn import(
    plan: &Plan<'_>,
    index: usize,
    routes: &BTreeMap<String, RouteFound>,
    settings: &mut Settings,
    checks: &mut Vec<Note>,
) -> Vec<Table> {
    let container = &plan.containers[index];
    let owner = plan.image_of.get(&index).map(|&o| &plan.containers[o]);
    let mut table = Table::new(Some("[[services]]"));
    table.read_from(container.prod().note_here(""));
    absent_modes(plan, container, &mut table, checks);
    table.set("role", Toml::str(&container.role));
    let layout = match owner {
        Some(owner) => {
            table.set("image_of", Toml::str(&owner.role));
            let context = build_context(plan, owner);
            layout(
                plan,
                owner,
                &context,
                &mut Table::default(),
                &mut Vec::new(),
            )
        }
        None => {
            let context = build(plan, container, &mut table, checks);
            layout(plan, container, &context, &mut table, checks)
        }
    };
    if owner.is_none() {
        // Container paths come back with `$$` read as `$` (a variable is kept as written).
        let unescaped = |path: &str| literal(path).unwrap_or_else(|raw| raw);
        if let Some(source_path) = layout.source_written.as_deref().filter(|p| *p != "/app") {
            table.set("source_path", Toml::str(unescaped(source_path)));
        }
        let base = layout.source_path.as_deref().unwrap_or("/app");
        let generated: Vec<String> = layout
            .generated
            .iter()
            .map(|g| unescaped(&crate::validate::relative_to_source(g, base)))
            .collect();
        if !generated.is_empty() {
            table.set("generated", Toml::strings(&generated));
        }
    }
    production_image(
        plan,
        container,
        owner.unwrap_or(container),
        settings,
        &mut table,
        checks,
    );
    command(container, &mut table, checks);
    let is_job = wiring::is_job(plan, container);
    let route = routes.get(&container.role);
    wiring::ports_and_route(plan, container, route, is_job, settings, &mut table, checks);
    wiring::depends_on(plan, index, &mut table, checks);
    wiring::health(container, &mut table, checks);
    volumes(
        plan,
        container,
        &layout,
        owner.is_some(),
        &mut table,
        checks,
    );
    wiring::aliases(plan, container, &mut table, checks);
    super::hardening::confinement(
        container,
        crate::valid::HardeningDefaults::SERVICE,
        &mut table,
        checks,
    );
    leftovers::container_keys(
        plan,
        container,
        &["build", "command"],
        is_job,
        settings,
        &mut table,
        checks,
    );
    let env = wiring::env(plan, container, owner, checks);
    let mut tables = vec![table];
    if !env.is_empty() {
        tables.push(env);
    }
    tables
}

/// A note for each mode with a file that does not run this container (and, first, one
/// when its role is not the one its name gives: every table of a container starts here).
pub(super) fn absent_modes(
    plan: &Plan<'_>,
    container: &Container<'_>,
    table: &mut Table,
    checks: &mut Vec<Note>,
) {
    if let Some(wanted) = &container.renamed_from {
        let first = &container.seen[0];
        table.note(checks, first.note_here(format!("`{}` would have the role `{wanted}`, which another container has: it is `{}`; rename it as you wish", first.view.name(), container.role)));
    }
    for source in &plan.sources {
        if container.get(source.mode).is_none() {
            let first = &container.seen[0];
            table.note(
                checks,
                first.note_here(format!(
                    "`{}` is not in the {} file ({}); topo runs every service in every mode",
                    first.view.name(),
                    source.mode,
                    source.file.name
                )),
            );
        }
    }
}

/// The context of the build a container's dev (else prod-sim) file writes.
fn build_context(plan: &Plan<'_>, container: &Container<'_>) -> String {
    [Mode::Dev, Mode::ProdSim]
        .iter()
        .find_map(|&mode| container.get(mode)?.view.build())
        .map_or_else(
            || ".".to_owned(),
            |b| rebase(&plan.options.directory, &b.context),
        )
}

/// `context`, `dockerfile`, `targets`; the context.
fn build(
    plan: &Plan<'_>,
    container: &Container<'_>,
    table: &mut Table,
    checks: &mut Vec<Note>,
) -> String {
    let builds: Vec<(&Seen<'_>, crate::compose::BuildView)> = [Mode::Dev, Mode::ProdSim]
        .iter()
        .filter_map(|&mode| {
            let seen = container.get(mode)?;
            Some((seen, seen.view.build()?))
        })
        .collect();
    let Some((first, build)) = builds.first() else {
        let seen = container.prod();
        table.note(checks, seen.note_here(format!("no file builds `{}`: guessed the build context `.`; set `context` to the directory its Dockerfile builds", seen.view.name())));
        table.set("context", Toml::str("."));
        return ".".to_owned();
    };
    // Returned as rebased even when it escapes: the dev bind mount is matched against it.
    let context = rebase(&plan.options.directory, &build.context);
    let written = written_path(&plan.options.directory, &build.context).unwrap_or_else(|raw| {
        table.note(checks, first.note(build.pos, format!("the build context `{raw}` reads a variable; topo writes paths literally: write the directory it names")));
        raw
    });
    if crate::validate::path_escapes(&written) {
        table.note(checks, first.note(build.pos, format!("the build context `{}` is `{written}` from the topology's directory, outside it: guessed `.`; write topology.toml at the repository root (`-o`)", build.context)));
        table.set("context", Toml::str("."));
    } else {
        table.set("context", Toml::str(&written));
    }
    let dockerfile = build
        .dockerfile
        .clone()
        .unwrap_or_else(|| "Dockerfile".to_owned());
    if dockerfile != "Dockerfile" {
        let written = literal(&dockerfile).unwrap_or_else(|raw| {
            table.note(checks, first.note(build.pos, format!("the Dockerfile `{raw}` reads a variable; topo writes paths literally: write the file it names")));
            raw
        });
        if crate::validate::path_escapes(&written) {
            table.note(checks, first.note(build.pos, format!("the Dockerfile `{written}` is outside the build context: guessed `Dockerfile`; move it into the context")));
        } else {
            table.set("dockerfile", Toml::str(&written));
        }
    }
    let mut targets = Vec::new();
    for (seen, other) in &builds {
        if rebase(&plan.options.directory, &other.context) != context
            || other
                .dockerfile
                .clone()
                .unwrap_or_else(|| "Dockerfile".to_owned())
                != dockerfile
        {
            table.note(checks, seen.note(other.pos, format!("the {} file builds `{}` ({}) but the {} file `{}` ({}): topo builds one context, kept the first", seen.mode, other.context, other.dockerfile.as_deref().unwrap_or("Dockerfile"), first.mode, build.context, dockerfile)));
        }
        let (key, default) = if seen.mode == Mode::Dev {
            ("dev", "dev")
        } else {
            ("prod", "prod")
        };
        match &other.target {
            Some(target) if target != default => {
                let target = literal(target).unwrap_or_else(|raw| {
                    table.note(checks, seen.note(other.target_pos, format!("the target `{raw}` reads a variable; topo writes targets literally: write the stage it names")));
                    raw
                });
                targets.push((key.to_owned(), Toml::str(target)));
            }
            Some(_) => {}
            None => table.note(checks, seen.note(other.pos, format!("the {} build names no target: topo builds the stage `{default}` (add `FROM … AS {default}` to the Dockerfile, or set targets.{key})", seen.mode))),
        }
        if let Some(node) = seen.view.get("build") {
            for (key, _) in node.entries() {
                if !["context", "dockerfile", "target", "args", "secrets"]
                    .contains(&key.text.as_str())
                {
                    table.note(
                        checks,
                        seen.note(
                            key.pos,
                            format!(
                                "the build's `{}` cannot be written in the topology: dropped",
                                key.text
                            ),
                        ),
                    );
                }
            }
        }
    }
    if !targets.is_empty() {
        table.set("targets", Toml::Inline(targets));
    }
    build_args(&builds, table, checks);
    build_secrets(&builds, table);
    context
}

/// `build_secrets` from the builds' `secrets`.
fn build_secrets(builds: &[(&Seen<'_>, crate::compose::BuildView)], table: &mut Table) {
    let secrets: BTreeSet<&str> = builds
        .iter()
        .flat_map(|(_, build)| build.secrets.iter().map(String::as_str))
        .collect();
    if !secrets.is_empty() {
        table.set(
            "build_secrets",
            Toml::strings(&secrets.into_iter().collect::<Vec<_>>()),
        );
    }
}

/// `build_args` from the builds' `args`: one value, or `{ dev, prod }` where the dev and
/// prod-sim files differ. A value that reads a variable is dropped with a note: topo refuses
/// secrets in build arguments (they stay in the image's history).
fn build_args(
    builds: &[(&Seen<'_>, crate::compose::BuildView)],
    table: &mut Table,
    checks: &mut Vec<Note>,
) {
    let mut names: BTreeMap<&str, [Option<super::values::Interpolated>; 3]> = BTreeMap::new();
    for (seen, build) in builds {
        let slot = usize::from(seen.mode != Mode::Dev);
        for arg in &build.args {
            let value = arg.value.as_deref().map(super::values::Interpolated::parse);
            names.entry(arg.name.as_str()).or_default()[slot] = value;
        }
    }
    let given: Vec<Mode> = builds.iter().map(|(seen, _)| seen.mode).collect();
    let mut entries = Vec::new();
    for (name, values) in names {
        let (first, build) = &builds[0];
        let (value, notes) = super::env::combine(name, &values, &given);
        for (_, message) in notes {
            table.note(
                checks,
                first.note(build.pos, format!("build argument {message}")),
            );
        }
        let plain = name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
            && !name.starts_with(|c: char| c.is_ascii_digit());
        if matches!(value, crate::model::EnvValue::Secret { .. }) || !plain {
            table.note(checks, first.note(build.pos, format!("the build argument `{name}` reads a variable or is not a plain name: dropped (a build argument stays in the image's history; read secrets at run time)")));
            continue;
        }
        entries.push((name.to_owned(), wiring::env_toml(&value)));
    }
    if !entries.is_empty() {
        table.set("build_args", Toml::Inline(entries));
    }
}

/// The registry and tag variable of the production image, and whether its name is topo's.
fn production_image(
    plan: &Plan<'_>,
    container: &Container<'_>,
    owner: &Container<'_>,
    settings: &mut Settings,
    table: &mut Table,
    checks: &mut Vec<Note>,
) {
    let Some(seen) = container.get(Mode::Production) else {
        return;
    };
    let Some((reference, pos)) = seen.view.image() else {
        table.note(checks, seen.note_here("production builds this image instead of pulling it: topo deploys `<registry>/<project>-<role>:${TAG}` from a registry"));
        return;
    };
    let Ok(image) = ImageRef::parse(&reference) else {
        table.note(checks, seen.note(pos, format!("`{reference}` is not an image reference Compose reads (an unclosed or invalid `${{…}}`): topo deploys `<registry>/<project>-<role>:${{TAG}}`")));
        return;
    };
    let name = naming::image_name(&plan.project, &owner.role);
    let prefix = image.prefix();
    if let Some(prefix) = &prefix {
        settings.registry(prefix.clone(), seen.note(pos, ""));
    }
    if image.name() != name {
        let expected = match &prefix {
            Some(prefix) => format!("{prefix}/{name}"),
            None => name.clone(),
        };
        table.note(
            checks,
            seen.note(
                pos,
                format!(
                    "production pulls `{}`; topo's image is `{expected}`: push it under that name",
                    image.full_name()
                ),
            ),
        );
    }
    match (image.tag_variable(), &image.tag) {
        (Some(variable), _) => {
            if let Some(default) = variable.literal_default() {
                table.note(checks, seen.note(pos, format!("production falls back to `{default}` when `{}` is unset; topo requires `{}`", variable.name, variable.name)));
            }
            settings.tag_variable(variable.name.clone(), seen.note(pos, ""));
        }
        (None, Some(tag)) => table.note(checks, seen.note(pos, format!("production runs the fixed tag `{tag}`; topo deploys the tag in `${{TAG}}` (`TAG={tag}` deploys the same image)"))),
        (None, None) => table.note(checks, seen.note(pos, "production runs `latest`; topo deploys the tag in `${TAG}` (`TAG=latest` deploys the same image)")),
    }
}

/// The dev bind mount of the context and the generated paths' volumes over it.
fn layout(
    plan: &Plan<'_>,
    container: &Container<'_>,
    context: &str,
    table: &mut Table,
    checks: &mut Vec<Note>,
) -> Layout {
    let Some(dev) = container.get(Mode::Dev) else {
        return Layout::default();
    };
    let mounts = dev.view.mounts();
    let source_mount = mounts.iter().find(|m| {
        m.kind == MountKind::Bind
            && m.source
                .as_deref()
                .is_some_and(|s| rebase(&plan.options.directory, s) == context)
    });
    let source_path = source_mount.map(|m| m.target.trim_end_matches('/').to_owned());
    let source_written = source_mount.map(|m| m.target.clone());
    let in_production = production_targets(container);
    let mut generated: Vec<String> = Vec::new();
    let mut dropped = Vec::new();
    for mount in &mounts {
        let under_source = source_path
            .as_deref()
            .is_some_and(|s| mount.target.starts_with(&format!("{s}/")));
        match mount.kind {
            MountKind::Bind if Some(mount.target.trim_end_matches('/')) == source_path.as_deref() => {}
            MountKind::Bind => table.note(checks, dev.note(mount.pos, format!("the dev bind mount `{}:{}` cannot be written in the topology (dev binds the build context only): dropped", mount.source.as_deref().unwrap_or(""), mount.target))),
            MountKind::Volume | MountKind::Anonymous if under_source && !in_production.contains(mount.target.as_str()) => {
                if mount.kind == MountKind::Volume && in_production.is_empty() && !plan.has_mode(Mode::Production) && !plan.has_mode(Mode::ProdSim) {
                    table.note(checks, dev.note(mount.pos, format!("guessed that `{}` is build output (`generated`), not data: no production file says otherwise", mount.target)));
                }
                let target = mount.target.trim_end_matches('/').to_owned();
                let base = source_path.as_deref().unwrap_or("/app");
                match generated_problem(&generated, &target, base) {
                    None => generated.push(target),
                    Some(problem) => {
                        table.note(checks, dev.note(mount.pos, format!("the dev volume at `{}` {problem}: dropped", mount.target)));
                        dropped.push(target);
                    }
                }
            }
            _ => {}
        }
    }
    Layout {
        source_path,
        source_written,
        generated,
        dropped,
    }
}

/// Why `target` cannot be one more generated path under `base`, if it cannot: a topology
/// names each once, by a path inside the source path, and each gets its own volume name.
fn generated_problem(generated: &[String], target: &str, base: &str) -> Option<&'static str> {
    let purpose = naming::purpose_of_path(&crate::validate::relative_to_source(target, base));
    if !crate::validate::generated_inside(target, base) {
        Some("is not inside the source path as a generated path must be")
    } else if generated.iter().any(|g| g == target) {
        Some("is mounted twice")
    } else if generated
        .iter()
        .any(|g| naming::purpose_of_path(&crate::validate::relative_to_source(g, base)) == purpose)
    {
        Some("would get the same volume name as another generated path")
    } else {
        None
    }
}

/// The targets of the named volumes prod-sim and production mount.
fn production_targets(container: &Container<'_>) -> BTreeSet<String> {
    container
        .seen
        .iter()
        .filter(|s| s.mode != Mode::Dev)
        .flat_map(|s| s.view.mounts())
        .filter(|m| m.kind == MountKind::Volume)
        .map(|m| m.target)
        .collect()
}

/// `volumes = { purpose = "/path" }`: runtime state kept in every mode.
fn volumes(
    plan: &Plan<'_>,
    container: &Container<'_>,
    layout: &Layout,
    inherited: bool,
    table: &mut Table,
    checks: &mut Vec<Note>,
) {
    let mut found: Vec<(String, String)> = Vec::new();
    let is_layout = |m: &Mount| {
        layout
            .generated
            .iter()
            .chain(&layout.dropped)
            .any(|g| *g == m.target.trim_end_matches('/'))
            || (m.kind == MountKind::Bind
                && layout.source_path.as_deref() == Some(m.target.trim_end_matches('/')))
    };
    // Production first: its volume names are the ones whose data must move.
    for seen in container.seen.iter().rev() {
        for mount in seen.view.mounts() {
            if seen.mode == Mode::Dev
                && (is_layout(&mount) || (!inherited && mount.kind == MountKind::Bind))
            {
                continue;
            }
            if seen.mode == Mode::Dev && inherited && mount.kind == MountKind::Bind {
                table.note(checks, seen.note(mount.pos, format!("the dev bind mount `{}:{}` cannot be written in the topology (a service on another's image gets its source mount): dropped", mount.source.as_deref().unwrap_or(""), mount.target)));
                continue;
            }
            match (mount.kind, &mount.source) {
                (MountKind::Volume, Some(_)) if !mount.target.starts_with('/') => {
                    table.note(checks, seen.note(mount.pos, format!("the volume's container path `{}` is not absolute (Compose refuses it too): dropped", mount.target)));
                }
                (MountKind::Volume, Some(source)) => {
                    if found.iter().any(|(_, target)| *target == mount.target) {
                        continue;
                    }
                    let mut purpose = plan.purpose_of(source, &container.role);
                    while found.iter().any(|(p, _)| *p == purpose) {
                        purpose.push_str("-2");
                    }
                    let derived = naming::volume_name(&plan.project, &container.role, &purpose);
                    let engine_name = plan.volume_engine_name(seen.file, source);
                    if seen.mode == Mode::Dev && !production_targets(container).contains(&mount.target) && (plan.has_mode(Mode::Production) || plan.has_mode(Mode::ProdSim)) {
                        table.note(checks, seen.note(mount.pos, format!("the volume at `{}` is mounted in dev only; topo keeps runtime state in every mode", mount.target)));
                    } else if engine_name != derived && seen.mode != Mode::Dev {
                        table.note(checks, seen.note(mount.pos, format!("the data at `{}` is in the volume `{engine_name}`; topo's volume is `{derived}`: copy it across before switching", mount.target)));
                    }
                    found.push((purpose, mount.target.clone()));
                }
                (MountKind::Bind, _) => table.note(checks, seen.note(mount.pos, format!("the bind mount `{}:{}` in the {} file cannot be written in the topology (topo never bind-mounts outside dev): dropped", mount.source.as_deref().unwrap_or(""), mount.target, seen.mode))),
                _ => table.note(checks, seen.note(mount.pos, format!("the mount at `{}` (anonymous, tmpfs or other) cannot be written in the topology: dropped", mount.target))),
            }
        }
    }
    if !found.is_empty() {
        table.set(
            "volumes",
            Toml::Inline(
                found
                    .into_iter()
                    .map(|(purpose, target)| {
                        (purpose, Toml::str(literal(&target).unwrap_or(target)))
                    })
                    .collect(),
            ),
        );
    }
}

/// `command`: one for every mode, or `{ dev = [...], prod = [...] }`.
pub(super) fn command(container: &Container<'_>, table: &mut Table, checks: &mut Vec<Note>) {
    // Outer `None`: no file of that mode; inner `None`: the image's own command.
    let mut of = |mode: Mode| {
        let seen = container.get(mode)?;
        let words = seen
            .view
            .command()
            .map(|w| literal_words(seen, &w.words, "command", table, checks));
        Some(words.filter(|w| !w.is_empty()))
    };
    let (dev, sim, prod) = (of(Mode::Dev), of(Mode::ProdSim), of(Mode::Production));
    if let (Some(sim), Some(prod), Some(seen)) = (&sim, &prod, container.get(Mode::ProdSim)) {
        if sim != prod {
            table.note(checks, seen.note_at("command", "prod-sim and production run different commands: topo runs production's in both"));
        }
    }
    let prod = prod.or(sim).or_else(|| dev.clone()).flatten();
    let dev = dev.unwrap_or_else(|| prod.clone());
    let words = |w: &Vec<String>| Toml::strings(w);
    match (dev, prod) {
        (None, None) => {}
        (dev, prod) if dev == prod => table.set(
            "command",
            words(dev.as_ref().expect("equal and not both none")),
        ),
        (dev, prod) => {
            let mut entries = Vec::new();
            if let Some(dev) = &dev {
                entries.push(("dev".to_owned(), words(dev)));
            }
            if let Some(prod) = &prod {
                entries.push(("prod".to_owned(), words(prod)));
            }
            table.set("command", Toml::Inline(entries));
        }
    }
}

/// Words that must be literals, with a note for each that reads a variable (kept as written).
pub(super) fn literal_words(
    seen: &Seen<'_>,
    words: &[String],
    key: &str,
    table: &mut Table,
    checks: &mut Vec<Note>,
) -> Vec<String> {
    words
        .iter()
        .map(|word| {
            super::values::literal(word).unwrap_or_else(|raw| {
                table.note(checks, seen.note_at(key, format!("`{raw}` reads a variable; topo writes commands literally (`$` escaped): replace it with the value, or read the variable in a shell (`sh -c`)")));
                raw
            })
        })
        .collect()
}
