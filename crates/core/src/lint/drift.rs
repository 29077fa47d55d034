//! `topology-drift`: each file compared with what the topology renders for its mode.
//!
//! Both sides are brought to one canonical shape first (environment as a mapping, volumes
//! keyed by target, ports by container port, `${VAR:?message}` as `${VAR}`, durations in one
//! unit, topo's own bookkeeping labels left out), so only differences in meaning are
//! reported, each with its field path (`services.vendure-server.environment.DB_HOST`).

use std::collections::BTreeMap;

use super::{render_options, LintFile, Place, Raw};
use crate::compose::{ComposeFile, MountKind, Node, Pos, ServiceView, Value};
use crate::render::render;
use crate::validate::ValidTopology;
use crate::value::{Interpolated, Part, Variable};

/// A value in canonical form, with where it is written in the linted file.
#[derive(Clone, Debug, PartialEq)]
enum Canon {
    Text(String),
    List(Vec<String>),
    Map(BTreeMap<String, (Canon, Pos)>),
}

type Fields = BTreeMap<String, (Canon, Pos)>;

pub(super) fn check(
    files: &[LintFile],
    topology: &ValidTopology,
    topology_name: &str,
    out: &mut Vec<Raw>,
) {
    for lf in files {
        let rendered = render(topology, lf.mode, &render_options(lf, topology_name));
        let Ok(expected) = ComposeFile::read(rendered.file_name.clone(), rendered.contents) else {
            continue; // topo's own output always reads back; nothing to compare otherwise
        };
        let ours = canon_file(&lf.file);
        let theirs = canon_file(&expected);
        let mut differences = Vec::new();
        diff("", &ours, &theirs, lf.file.root.pos, &mut differences);
        for (path, message, pos) in differences {
            out.push(
                Raw::new(
                    "topology-drift",
                    Place::at(&lf.file, pos),
                    format!("`{path}` {message} ({} renders for {})", topology_name, lf.mode),
                )
                .hint(format!(
                    "make this match the topology, or regenerate the file: `topo render -t {topology_name} --mode {}`",
                    lf.mode
                )),
            );
        }
    }
}

fn diff(
    path: &str,
    ours: &Fields,
    theirs: &Fields,
    parent: Pos,
    out: &mut Vec<(String, String, Pos)>,
) {
    for (key, (their_value, _)) in theirs {
        let here = field_path(path, key);
        match ours.get(key) {
            None => out.push((
                here,
                format!("is missing here; the topology has {}", show(their_value)),
                parent,
            )),
            Some((Canon::Map(our_map), pos)) => match their_value {
                Canon::Map(their_map) => diff(&here, our_map, their_map, *pos, out),
                other => out.push((
                    here,
                    format!("is a mapping here; the topology has {}", show(other)),
                    *pos,
                )),
            },
            Some((our_value, pos)) if our_value != their_value => out.push((
                here,
                format!(
                    "is {} here; the topology has {}",
                    show(our_value),
                    show(their_value)
                ),
                *pos,
            )),
            Some(_) => {}
        }
    }
    for (key, (our_value, pos)) in ours {
        if !theirs.contains_key(key) {
            out.push((
                field_path(path, key),
                format!("({}) is not in the topology", show(our_value)),
                *pos,
            ));
        }
    }
}

fn field_path(path: &str, key: &str) -> String {
    let plain = key
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-');
    match (path.is_empty(), plain) {
        (true, _) => key.to_owned(),
        (false, true) => format!("{path}.{key}"),
        (false, false) => format!("{path}[\"{key}\"]"),
    }
}

fn show(value: &Canon) -> String {
    let text = format!("`{}`", text_of(value));
    const LIMIT: usize = 120;
    if text.chars().count() > LIMIT {
        let cut: String = text.chars().take(LIMIT).collect();
        format!("{cut}…`").replace('\n', "⏎")
    } else {
        text.replace('\n', "⏎")
    }
}

/// A canonical value as one line of text (positions left out).
fn text_of(value: &Canon) -> String {
    match value {
        Canon::Text(text) => text.clone(),
        Canon::List(items) => format!("[{}]", items.join(", ")),
        Canon::Map(map) => format!(
            "{{{}}}",
            map.iter()
                .map(|(k, (v, _))| format!("{k}: {}", text_of(v)))
                .collect::<Vec<_>>()
                .join(", ")
        ),
    }
}

fn canon_file(file: &ComposeFile) -> Fields {
    let mut out = Fields::new();
    if let Some(name) = file.project() {
        out.insert(
            "name".to_owned(),
            (Canon::Text(name.scalar().unwrap_or_default()), name.pos),
        );
    }
    let services: Fields = file
        .services()
        .iter()
        .map(|s| {
            (
                s.name().to_owned(),
                (Canon::Map(canon_service(file, s)), s.key.pos),
            )
        })
        .collect();
    out.insert(
        "services".to_owned(),
        (
            Canon::Map(services),
            file.root
                .entry("services")
                .map_or(file.root.pos, |(k, _)| k.pos),
        ),
    );
    for (section, default_prefix) in [("networks", true), ("volumes", true), ("configs", false)] {
        let Some((key, node)) = file.root.entry(section) else {
            continue;
        };
        let entries: Fields = node
            .entries()
            .iter()
            .map(|(k, v)| {
                // On the engine a network or volume is known by its `name:`, not its key.
                let name = if default_prefix {
                    v.get("name")
                        .and_then(Node::scalar)
                        .unwrap_or_else(|| k.text.clone())
                } else {
                    k.text.clone()
                };
                let value = match section {
                    "configs" => Canon::Text(
                        v.get("content")
                            .or_else(|| v.get("file"))
                            .and_then(Node::scalar)
                            .unwrap_or_default(),
                    ),
                    _ => Canon::Text(
                        if v.get("external").and_then(Node::as_bool) == Some(true) {
                            "external"
                        } else {
                            "defined"
                        }
                        .to_owned(),
                    ),
                };
                (name, (value, k.pos))
            })
            .collect();
        out.insert(section.to_owned(), (Canon::Map(entries), key.pos));
    }
    out
}

fn canon_service(file: &ComposeFile, service: &ServiceView<'_>) -> Fields {
    let mut out = Fields::new();
    for (key, node) in service.node.entries() {
        let value = match key.text.as_str() {
            "image" => Canon::Text(interpolation(&node.scalar().unwrap_or_default())),
            "build" => build(service),
            "command" | "entrypoint" => Canon::List(
                match key.text.as_str() {
                    "command" => service.command(),
                    _ => service.entrypoint(),
                }
                .map(|w| w.words)
                .unwrap_or_default(),
            ),
            "environment" => environment(service),
            "env_file" => Canon::List(
                node.items()
                    .iter()
                    .chain(std::iter::once(node).filter(|n| n.scalar().is_some()))
                    .filter_map(|i| i.scalar().or_else(|| i.get("path").and_then(Node::scalar)))
                    .map(|p| path(&p))
                    .collect(),
            ),
            "volumes" => volumes(service),
            "ports" => ports(service),
            "depends_on" => Canon::Map(
                service
                    .depends_on()
                    .into_iter()
                    .map(|d| (d.service, (Canon::Text(d.condition), d.pos)))
                    .collect(),
            ),
            "healthcheck" => healthcheck(node),
            "networks" => networks(file, service),
            "labels" => Canon::Map(
                service
                    .labels()
                    .into_iter()
                    .filter(|(k, _)| !k.starts_with("topo."))
                    .map(|(k, v)| (k, (Canon::Text(v.unwrap_or_default()), node.pos)))
                    .collect(),
            ),
            _ => generic(node),
        };
        out.insert(
            key.text.clone(),
            (value, if node.is_map() { key.pos } else { node.pos }),
        );
    }
    defaults(service, &mut out);
    out
}

/// Defaults written out by one side and left out by the other mean the same.
fn defaults(service: &ServiceView<'_>, out: &mut Fields) {
    out.entry("restart".to_owned())
        .or_insert((Canon::Text("no".to_owned()), service.key.pos));
    if !out.contains_key("networks") && service.get("network_mode").is_none() {
        out.insert(
            "networks".to_owned(),
            (
                Canon::Map(Fields::from([(
                    "default".to_owned(),
                    (Canon::List(Vec::new()), service.key.pos),
                )])),
                service.key.pos,
            ),
        );
    }
    if matches!(out.get("labels"), Some((Canon::Map(m), _)) if m.is_empty()) {
        out.remove("labels");
    }
}

fn environment(service: &ServiceView<'_>) -> Canon {
    Canon::Map(
        service
            .environment()
            .into_iter()
            .map(|e| {
                let value = e
                    .value
                    .map_or_else(|| "(from the shell)".to_owned(), |v| interpolation(&v));
                (e.name, (Canon::Text(value), e.value_pos))
            })
            .collect(),
    )
}

/// Mounts by target: what is mounted there, and whether read-only.
fn volumes(service: &ServiceView<'_>) -> Canon {
    Canon::Map(
        service
            .mounts()
            .into_iter()
            .map(|m| {
                let source = match m.kind {
                    MountKind::Bind => format!("bind {}", path(m.source.as_deref().unwrap_or(""))),
                    MountKind::Volume => format!("volume {}", m.source.unwrap_or_default()),
                    MountKind::Anonymous => "anonymous volume".to_owned(),
                    MountKind::Other => "other".to_owned(),
                };
                let read_only = if m.read_only { " (read-only)" } else { "" };
                (
                    m.target,
                    (Canon::Text(format!("{source}{read_only}")), m.pos),
                )
            })
            .collect(),
    )
}

/// Ports by container port: where each is published.
fn ports(service: &ServiceView<'_>) -> Canon {
    Canon::Map(
        service
            .ports()
            .into_iter()
            .map(|p| {
                let published = p.published.unwrap_or_else(|| "(any)".to_owned());
                let host_ip = p.host_ip.unwrap_or_else(|| "0.0.0.0".to_owned());
                (
                    format!("{}/{}", p.target, p.protocol),
                    (Canon::Text(format!("{host_ip}:{published}")), p.pos),
                )
            })
            .collect(),
    )
}

/// Networks by their name on the engine, with the aliases that matter.
fn networks(file: &ComposeFile, service: &ServiceView<'_>) -> Canon {
    let container_name = service.container_name().map(|(n, _)| n);
    Canon::Map(
        service
            .networks()
            .into_iter()
            .map(|a| {
                // The service name and container name answer anyway: not aliases that matter.
                let aliases = a
                    .aliases
                    .into_iter()
                    .filter(|alias| {
                        alias != service.name() && Some(alias) != container_name.as_ref()
                    })
                    .collect();
                (file.network_name(&a.network), (Canon::List(aliases), a.pos))
            })
            .collect(),
    )
}

fn build(service: &ServiceView<'_>) -> Canon {
    let build = service.build().expect("called for a service with build");
    let mut fields = Fields::new();
    fields.insert(
        "context".to_owned(),
        (Canon::Text(path(&build.context)), build.pos),
    );
    fields.insert(
        "dockerfile".to_owned(),
        (
            Canon::Text(build.dockerfile.unwrap_or_else(|| "Dockerfile".to_owned())),
            build.pos,
        ),
    );
    if let Some(target) = build.target {
        fields.insert("target".to_owned(), (Canon::Text(target), build.target_pos));
    }
    Canon::Map(fields)
}

fn healthcheck(node: &Node) -> Canon {
    let mut fields = Fields::new();
    for (key, value) in node.entries() {
        let canon = match key.text.as_str() {
            "test" => Canon::Text(match &value.value {
                Value::Str(shell) => format!("CMD-SHELL {shell}"),
                _ => value
                    .items()
                    .iter()
                    .filter_map(Node::scalar)
                    .collect::<Vec<_>>()
                    .join(" "),
            }),
            "interval" | "timeout" | "start_period" | "start_interval" => Canon::Text(
                value
                    .scalar()
                    .map(|d| {
                        crate::value::parse_duration(&d)
                            .map_or(d, |d| humantime::format_duration(d).to_string())
                    })
                    .unwrap_or_default(),
            ),
            _ => generic(value),
        };
        fields.insert(key.text.clone(), (canon, value.pos));
    }
    Canon::Map(fields)
}

/// Any other value, as written.
fn generic(node: &Node) -> Canon {
    match &node.value {
        Value::Map(entries) => Canon::Map(
            entries
                .iter()
                .map(|(k, v)| (k.text.clone(), (generic(v), v.pos)))
                .collect(),
        ),
        Value::Seq(items) => Canon::List(
            items
                .iter()
                .map(|i| i.scalar().unwrap_or_else(|| text_of(&generic(i))))
                .collect(),
        ),
        _ => Canon::Text(node.scalar().unwrap_or_default()),
    }
}

/// A relative path without `./` and trailing `/`.
fn path(text: &str) -> String {
    let trimmed = text.trim_end_matches('/');
    let trimmed = trimmed.strip_prefix("./").unwrap_or(trimmed);
    if trimmed.is_empty() {
        ".".to_owned()
    } else {
        trimmed.to_owned()
    }
}

/// `${VAR:?message}` and `${VAR?message}` as `${VAR}`, `$VAR` as `${VAR}`: the same variable
/// whatever error message is attached. Text Compose cannot read stays as written.
fn interpolation(value: &str) -> String {
    let Ok(parsed) = Interpolated::parse(value) else {
        return value.to_owned();
    };
    let mut out = Interpolated::default();
    for part in parsed.parts() {
        match part {
            Part::Variable(variable) if variable.is_required() => {
                out.push(Part::Variable(Variable {
                    name: variable.name.clone(),
                    modifier: None,
                }));
            }
            other => out.push(other.clone()),
        }
    }
    out.render()
}

#[cfg(test)]
mod tests {
    use super::interpolation;

    #[test]
    fn interpolations_compare_by_variable() {
        assert_eq!(interpolation("a:${TAG:?set TAG}"), "a:${TAG}");
        assert_eq!(interpolation("a:$TAG"), "a:${TAG}");
        assert_eq!(interpolation("${DB:-x}"), "${DB:-x}");
        assert_eq!(interpolation("pa$$word"), "pa$$word");
    }
}
