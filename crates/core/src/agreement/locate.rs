//! Where in the topology a finding in one of its renders comes from: the rendered place read
//! back as a container and a field of it (an environment variable, a mount, a port, a key),
//! then that field found in the topology as written.

use std::ops::Range;

use crate::compose::{ComposeFile, Mount, MountKind, Node, PortEntry, ServiceView};
use crate::model::{Accessory, Database, EnvValue, HardeningKeys, Proxy, Service, Topology};
use crate::naming::container_name;
use crate::{Mode, Spanned};

type Span = Option<Range<usize>>;

/// What a place in a rendered file is about.
#[derive(Debug)]
pub(super) struct Subject<'f> {
    /// The Compose service (topo's container name), when the place is inside one.
    pub container: Option<&'f str>,
    /// The field of it, when the place is inside one.
    pub field: Field,
}

/// A field of a rendered service.
#[derive(Debug)]
pub(super) enum Field {
    /// The service itself (its key).
    None,
    /// An `environment` entry.
    Env(String),
    /// A `volumes` entry.
    Mount(Mount),
    /// A `ports` entry.
    Port(PortEntry),
    /// A `depends_on` entry (the container waited for).
    Depends(String),
    /// Any other key (`command`, `image`, `build`, `healthcheck`, …).
    Key(String),
}

/// The subject of byte `offset` of a rendered file.
pub(super) fn subject(file: &ComposeFile, offset: usize) -> Subject<'_> {
    let nothing = Subject {
        container: None,
        field: Field::None,
    };
    let Some((top, services)) = last_at(file.root.entries(), offset) else {
        return nothing;
    };
    if top.text != "services" {
        return nothing;
    }
    let Some((key, node)) = last_at(services.entries(), offset) else {
        return nothing;
    };
    let view = ServiceView {
        key,
        node,
        text: &file.text,
    };
    let field = match last_at(node.entries(), offset) {
        None => Field::None,
        Some((field, _)) => match field.text.as_str() {
            "environment" => last(view.environment(), offset, |e| e.pos.offset)
                .map_or(Field::None, |e| Field::Env(e.name)),
            "volumes" => {
                last(view.mounts(), offset, |m| m.pos.offset).map_or(Field::None, Field::Mount)
            }
            "ports" => {
                last(view.ports(), offset, |p| p.pos.offset).map_or(Field::None, Field::Port)
            }
            "depends_on" => last(view.depends_on(), offset, |d| d.pos.offset)
                .map_or(Field::None, |d| Field::Depends(d.service)),
            other => Field::Key(other.to_owned()),
        },
    };
    Subject {
        container: Some(&key.text),
        field,
    }
}

/// The entry of a mapping written last at or before `offset`.
fn last_at(
    entries: &[(crate::compose::Key, Node)],
    offset: usize,
) -> Option<(&crate::compose::Key, &Node)> {
    entries
        .iter()
        .rev()
        .find(|(key, _)| key.pos.offset <= offset)
        .map(|(key, node)| (key, node))
}

/// The item written last at or before `offset`.
fn last<T>(items: Vec<T>, offset: usize, at: impl Fn(&T) -> usize) -> Option<T> {
    items.into_iter().rev().find(|item| at(item) <= offset)
}

/// A container of the topology as written.
#[derive(Clone, Copy)]
enum Owner<'t> {
    Database(&'t Database),
    Service(&'t Service),
    Accessory(&'t Accessory),
    Proxy(&'t Proxy),
}

impl<'t> Owner<'t> {
    /// The container `container` of `topology`.
    fn find(topology: &'t Topology, container: &str) -> Option<Owner<'t>> {
        let project = topology.project.as_str();
        let is = |role: &str| container_name(project, role) == container;
        if let Some(database) = topology.database.as_ref().filter(|d| is(&d.role)) {
            return Some(Owner::Database(database));
        }
        if let Some(service) = topology.services.iter().find(|s| is(&s.role)) {
            return Some(Owner::Service(service));
        }
        if let Some(accessory) = topology.accessories.iter().find(|a| is(&a.role)) {
            return Some(Owner::Accessory(accessory));
        }
        topology
            .proxy
            .as_ref()
            .filter(|_| is(Proxy::ROLE))
            .map(Owner::Proxy)
    }

    /// Where it is named: its role, or the proxy's first key written.
    fn named(self) -> Span {
        match self {
            Owner::Database(d) => d.role.span().or_else(|| d.major.span()),
            Owner::Service(s) => s.role.span(),
            Owner::Accessory(a) => a.role.span(),
            Owner::Proxy(p) => span_of(&p.image).or_else(|| p.port.span()),
        }
    }

    fn hardening(self) -> HardeningKeys<'t> {
        match self {
            Owner::Database(d) => d.hardening(),
            Owner::Service(s) => s.hardening(),
            Owner::Accessory(a) => a.hardening(),
            Owner::Proxy(p) => p.hardening(),
        }
    }
}

fn span_of<T>(value: &Option<Spanned<T>>) -> Span {
    value.as_ref().and_then(Spanned::span)
}

/// What the span search needs beside the subject.
pub(super) struct Finding<'a> {
    /// The rule's id.
    pub rule: &'a str,
    /// The finding's message.
    pub message: &'a str,
    /// The mode of the file it is in.
    pub mode: Mode,
}

/// Where in `topology` the subject is written: the field itself, else the container's
/// role; `None` when not even that is written (the caller points at the file's top).
pub(super) fn span(topology: &Topology, subject: &Subject<'_>, finding: &Finding<'_>) -> Span {
    let owner = Owner::find(topology, subject.container?)?;
    field_span(topology, owner, &subject.field, finding).or_else(|| owner.named())
}

fn field_span(topology: &Topology, owner: Owner<'_>, field: &Field, finding: &Finding<'_>) -> Span {
    let hardening = owner.hardening();
    match (field, owner) {
        (Field::None, _) if finding.rule == "unconfined-in-prod" => {
            unconfined(owner, hardening, finding.message)
        }
        (Field::None, _) => None,
        (Field::Env(name), _) => env_span(topology, owner, name),
        (Field::Mount(mount), _) => mount_span(topology, owner, mount),
        (Field::Port(port), _) => port_span(owner, port),
        (Field::Depends(container), _) => {
            let project = topology.project.as_str();
            let depends_on = match owner {
                Owner::Service(s) => &s.depends_on,
                Owner::Accessory(a) => &a.depends_on,
                Owner::Database(_) | Owner::Proxy(_) => return None,
            };
            depends_on
                .keys()
                .find(|role| container_name(project, role) == *container)
                .and_then(Spanned::span)
        }
        (Field::Key(key), _) => key_span(topology, owner, hardening, key, finding.mode),
    }
}

/// `unconfined-in-prod` points at the service: the key that would confine it.
fn unconfined(owner: Owner<'_>, hardening: HardeningKeys<'_>, message: &str) -> Span {
    if message.contains("cap_drop") {
        span_of(hardening.drop_capabilities)
    } else if message.contains("read_only") {
        span_of(hardening.read_only)
    } else if message.contains("mem_limit") || message.contains("pids_limit") {
        span_of(hardening.resources)
    } else if let Owner::Database(database) = owner {
        span_of(&database.password)
    } else {
        None
    }
}

fn key_span(
    topology: &Topology,
    owner: Owner<'_>,
    hardening: HardeningKeys<'_>,
    key: &str,
    mode: Mode,
) -> Span {
    let common = match key {
        "privileged" | "cap_add" => span_of(hardening.capabilities),
        "cap_drop" => span_of(hardening.drop_capabilities),
        "read_only" | "tmpfs" => {
            span_of(hardening.read_only).or_else(|| span_of(hardening.writable))
        }
        "mem_limit" | "pids_limit" | "cpus" | "deploy" => span_of(hardening.resources),
        "env_file" => topology.dev.env_file.span(),
        _ => None,
    };
    if common.is_some() {
        return common;
    }
    match owner {
        Owner::Service(service) => {
            let builds = topology.image_owner(service);
            match key {
                "command" | "entrypoint" => span_of(&service.command),
                "image" => span_of(&service.image_of).or_else(|| span_of(&builds.context)),
                "build" if mode == Mode::Dev => builds
                    .targets
                    .dev
                    .span()
                    .or_else(|| span_of(&builds.context)),
                "build" => builds
                    .targets
                    .prod
                    .span()
                    .or_else(|| span_of(&builds.context)),
                "healthcheck" => span_of(&service.health),
                "stop_grace_period" => span_of(&service.stop_timeout),
                "networks" => service.aliases.first().and_then(Spanned::span),
                _ => None,
            }
        }
        Owner::Accessory(accessory) => match key {
            "command" | "entrypoint" => span_of(&accessory.command),
            "image" => accessory.image.span(),
            "healthcheck" => span_of(&accessory.health),
            "stop_grace_period" => span_of(&accessory.stop_timeout),
            _ => None,
        },
        Owner::Database(database) => match key {
            "image" => span_of(&database.image).or_else(|| database.major.span()),
            "stop_grace_period" => span_of(&database.stop_timeout),
            _ => None,
        },
        Owner::Proxy(proxy) => match key {
            "image" => span_of(&proxy.image),
            "ports" => proxy.port.span(),
            "configs" | "secrets" => span_of(&proxy.tls),
            _ => None,
        },
    }
}

fn env_span(topology: &Topology, owner: Owner<'_>, name: &str) -> Span {
    // A secret delivered as a file is rendered as `<NAME>_FILE`.
    let names = [Some(name), name.strip_suffix("_FILE")];
    let in_env = |env: &std::collections::BTreeMap<Spanned<String>, Spanned<EnvValue>>| {
        names
            .iter()
            .flatten()
            .find_map(|n| env.get_key_value(*n))
            .and_then(|(_, value)| value.span())
    };
    match owner {
        Owner::Service(service) => {
            in_env(&service.env).or_else(|| in_env(&topology.image_owner(service).env))
        }
        Owner::Accessory(accessory) => in_env(&accessory.env),
        Owner::Database(database) => {
            let upper = name.to_ascii_uppercase();
            if upper.contains("PASSWORD") {
                span_of(&database.password)
            } else if upper.contains("USER") {
                span_of(&database.user)
            } else if upper.ends_with("DB") || upper.contains("DATABASE") {
                span_of(&database.name)
            } else {
                None
            }
        }
        Owner::Proxy(_) => None,
    }
}

fn mount_span(topology: &Topology, owner: Owner<'_>, mount: &Mount) -> Span {
    let target = mount.target.trim_end_matches('/');
    let state = |volumes: &std::collections::BTreeMap<Spanned<String>, Spanned<String>>| {
        volumes
            .values()
            .find(|path| path.trim_end_matches('/') == target)
            .and_then(Spanned::span)
    };
    match owner {
        Owner::Service(service) => {
            let builds = topology.image_owner(service);
            if mount.kind == MountKind::Bind {
                return span_of(&builds.context).or_else(|| span_of(&builds.source_path));
            }
            let source = builds.source_path().trim_end_matches('/');
            state(&service.volumes).or_else(|| {
                builds
                    .generated
                    .iter()
                    .find(|g| {
                        let g = g.trim_start_matches("./").trim_end_matches('/');
                        format!("{source}/{g}") == target
                    })
                    .and_then(Spanned::span)
            })
        }
        Owner::Accessory(accessory) => accessory.volumes.as_ref().and_then(state),
        Owner::Database(database) => database.volume.span(),
        Owner::Proxy(proxy) => span_of(&proxy.tls),
    }
}

fn port_span(owner: Owner<'_>, port: &PortEntry) -> Span {
    let target: Option<u16> = port.target.parse().ok();
    let of = |ports: &[Spanned<crate::model::Port>]| {
        ports
            .iter()
            .find(|p| Some(p.container) == target)
            .and_then(Spanned::span)
    };
    match owner {
        Owner::Service(service) => of(&service.ports),
        Owner::Accessory(accessory) => of(&accessory.ports),
        Owner::Database(database) => span_of(&database.dev_port),
        Owner::Proxy(proxy) => match target {
            Some(443) => span_of(&proxy.https_port),
            _ => proxy.port.span(),
        },
    }
}

/// `span` narrowed to where `word` is written inside it as a whole word and not as a URL's
/// scheme (a host in a URL: after a `@` when it is there too), when it is.
pub(super) fn narrowed(text: &str, span: Range<usize>, word: &str) -> Range<usize> {
    let Some(inside) = text.get(span.clone()) else {
        return span;
    };
    let is_name = |c: char| c.is_ascii_alphanumeric() || "-_.".contains(c);
    let mut found = Vec::new();
    let mut from = 0;
    while let Some(at) = inside.get(from..).and_then(|rest| rest.find(word)) {
        let start = from + at;
        let end = start + word.len();
        let before = inside[..start].chars().next_back();
        let after = &inside[end..];
        let whole = !before.is_some_and(is_name) && !after.chars().next().is_some_and(is_name);
        if whole && !after.starts_with("://") {
            found.push((start, before == Some('@')));
        }
        from = end;
    }
    let best = found
        .iter()
        .find(|(_, after_at)| *after_at)
        .or_else(|| found.first());
    best.map_or(span.clone(), |(start, _)| {
        span.start + start..span.start + start + word.len()
    })
}

/// The name written at byte `offset` of `text` (a host a finding points at).
pub(super) fn word_at(text: &str, offset: usize) -> Option<&str> {
    let rest = text.get(offset..)?;
    let len = rest
        .find(|c: char| !(c.is_ascii_alphanumeric() || "-_.".contains(c)))
        .unwrap_or(rest.len());
    (len > 0).then(|| &rest[..len])
}
