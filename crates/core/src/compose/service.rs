//! One service of a Compose file, seen through every syntax Compose accepts for a field
//! (a list or a mapping of environment, short or long volumes and ports, …), each item
//! keeping where it was written.

use super::yaml::{Key, Node, Pos, TextPos, Value};

/// One service of a Compose file.
#[derive(Clone, Copy, Debug)]
pub struct ServiceView<'a> {
    /// The service's key.
    pub key: &'a Key,
    /// Its definition.
    pub node: &'a Node,
    /// The file's text (positions inside quoted scalars need it).
    pub text: &'a str,
}

/// An environment variable as written: `KEY=VALUE`, `KEY: VALUE` or a bare `KEY`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct EnvEntry {
    /// The variable.
    pub name: String,
    /// Its value; `None` when taken from the shell (`- KEY` or `KEY:` with no value).
    pub value: Option<String>,
    /// Where the variable is written.
    pub pos: Pos,
    /// Where the value's text starts (after an opening quote; for `KEY=VALUE` items, after
    /// the `=`); the variable's place when there is no value.
    pub value_pos: Pos,
    /// How many bytes of the value are written as they are from `value_pos` (see
    /// [`TextPos`]): how far [`EnvEntry::pos_in_value`] can point.
    pub value_verbatim: usize,
}

impl EnvEntry {
    /// Where byte `at` of the value is written (a host inside a URL): counted in characters
    /// from `value_pos`, or `value_pos` itself past an escape or a folded line.
    pub fn pos_in_value(&self, at: usize) -> Pos {
        let written = TextPos {
            start: self.value_pos,
            verbatim: self.value_verbatim,
        };
        written.at(self.value.as_deref().unwrap_or(""), at)
    }
}

/// What a volume entry mounts.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum MountKind {
    /// A host path.
    Bind,
    /// A named volume.
    Volume,
    /// An anonymous volume (`- /app/node_modules`).
    Anonymous,
    /// tmpfs, npipe, image, cluster: nothing from the host.
    Other,
}

/// One `volumes:` entry of a service.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Mount {
    /// Bind, volume, anonymous or other.
    pub kind: MountKind,
    /// The host path or volume name.
    pub source: Option<String>,
    /// The path in the container.
    pub target: String,
    /// Read-only.
    pub read_only: bool,
    /// Where the entry is written.
    pub pos: Pos,
}

/// One `ports:` entry.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PortEntry {
    /// The host IP, when given.
    pub host_ip: Option<String>,
    /// The host port (or range), when published on a chosen port.
    pub published: Option<String>,
    /// The container port (or range).
    pub target: String,
    /// `tcp` unless written otherwise.
    pub protocol: String,
    /// Where the entry is written.
    pub pos: Pos,
}

/// One `depends_on` entry.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Dependency {
    /// The service waited for.
    pub service: String,
    /// `service_started`, `service_healthy` or `service_completed_successfully`.
    pub condition: String,
    /// Where it is written.
    pub pos: Pos,
}

/// A network a service joins, with its aliases.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Attachment {
    /// The network key (`default` when the service lists none).
    pub network: String,
    /// Extra names the service answers to on it.
    pub aliases: Vec<String>,
    /// Where it is written (the service key for the implicit default).
    pub pos: Pos,
}

/// A build section: `build: ./dir` or the long form.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BuildView {
    /// The context (`.` when not written).
    pub context: String,
    /// The Dockerfile, when written.
    pub dockerfile: Option<String>,
    /// The target stage, when written.
    pub target: Option<String>,
    /// Where the target is written (else the build key).
    pub target_pos: Pos,
    /// Where `build` is written.
    pub pos: Pos,
    /// `build.args`, as written.
    pub args: Vec<EnvEntry>,
    /// The secrets the build reads (`build.secrets`: names, or long syntax's `source`).
    pub secrets: Vec<String>,
}

/// A command or entrypoint as words, and how it was written.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Words {
    /// The words (a string is split as a shell would).
    pub words: Vec<String>,
    /// Where it is written.
    pub pos: Pos,
}

impl<'a> ServiceView<'a> {
    /// The service name.
    pub fn name(&self) -> &'a str {
        &self.key.text
    }

    /// A field of the service.
    pub fn get(&self, key: &str) -> Option<&'a Node> {
        self.node.get(key)
    }

    /// A scalar field as text.
    pub fn text(&self, key: &str) -> Option<String> {
        self.get(key).and_then(Node::scalar)
    }

    /// `image:`.
    pub fn image(&self) -> Option<(String, Pos)> {
        self.get("image").and_then(|n| Some((n.scalar()?, n.pos)))
    }

    /// `container_name:`.
    pub fn container_name(&self) -> Option<(String, Pos)> {
        self.get("container_name")
            .and_then(|n| Some((n.scalar()?, n.pos)))
    }

    /// `build:` in either form.
    pub fn build(&self) -> Option<BuildView> {
        let node = self.get("build")?;
        let pos = self.node.entry("build").map_or(node.pos, |(k, _)| k.pos);
        if let Some(context) = node.scalar() {
            return Some(BuildView {
                context,
                dockerfile: None,
                target: None,
                target_pos: pos,
                pos,
                args: Vec::new(),
                secrets: Vec::new(),
            });
        }
        let target = node.get("target");
        Some(BuildView {
            context: node
                .get("context")
                .and_then(Node::scalar)
                .unwrap_or_else(|| ".".to_owned()),
            dockerfile: node.get("dockerfile").and_then(Node::scalar),
            target: target.and_then(Node::scalar),
            target_pos: target.map_or(pos, |t| t.pos),
            pos,
            args: node
                .get("args")
                .map_or_else(Vec::new, |args| self.entries(args)),
            secrets: node
                .get("secrets")
                .map(|secrets| {
                    secrets
                        .items()
                        .iter()
                        .filter_map(|item| {
                            item.scalar()
                                .or_else(|| item.get("source").and_then(Node::scalar))
                        })
                        .collect()
                })
                .unwrap_or_default(),
        })
    }

    /// `command:` as words.
    pub fn command(&self) -> Option<Words> {
        words(self.get("command")?)
    }

    /// `entrypoint:` as words.
    pub fn entrypoint(&self) -> Option<Words> {
        words(self.get("entrypoint")?)
    }

    /// `environment:` in list or mapping form.
    pub fn environment(&self) -> Vec<EnvEntry> {
        self.get("environment")
            .map_or_else(Vec::new, |node| self.entries(node))
    }

    /// `KEY: value` entries of a mapping, or `KEY=value` items of a list (`environment:`,
    /// `build.args:`).
    fn entries(&self, node: &Node) -> Vec<EnvEntry> {
        match &node.value {
            Value::Map(entries) => entries
                .iter()
                .map(|(k, v)| {
                    let written = match v.value {
                        Value::Null => TextPos {
                            start: k.pos,
                            verbatim: 0,
                        },
                        _ => v.text_pos(self.text),
                    };
                    EnvEntry {
                        name: k.text.clone(),
                        value: v.scalar(),
                        pos: k.pos,
                        value_pos: written.start,
                        value_verbatim: written.verbatim,
                    }
                })
                .collect(),
            Value::Seq(items) => items
                .iter()
                .filter_map(|item| {
                    let text = item.scalar()?;
                    Some(match text.split_once('=') {
                        Some((name, value)) => {
                            let written = item.text_pos(self.text).skip(&text, name.len() + 1);
                            EnvEntry {
                                name: name.to_owned(),
                                value: Some(value.to_owned()),
                                pos: item.pos,
                                value_pos: written.start,
                                value_verbatim: written.verbatim,
                            }
                        }
                        None => EnvEntry {
                            name: text,
                            value: None,
                            pos: item.pos,
                            value_pos: item.pos,
                            value_verbatim: 0,
                        },
                    })
                })
                .collect(),
            _ => Vec::new(),
        }
    }

    /// `volumes:` in short or long form.
    pub fn mounts(&self) -> Vec<Mount> {
        self.get("volumes")
            .map(|v| v.items().iter().filter_map(mount).collect())
            .unwrap_or_default()
    }

    /// `ports:` in short or long form.
    pub fn ports(&self) -> Vec<PortEntry> {
        self.get("ports")
            .map(|v| v.items().iter().filter_map(port).collect())
            .unwrap_or_default()
    }

    /// `depends_on:` in list or mapping form.
    pub fn depends_on(&self) -> Vec<Dependency> {
        let Some(node) = self.get("depends_on") else {
            return Vec::new();
        };
        match &node.value {
            Value::Seq(items) => items
                .iter()
                .filter_map(|i| {
                    Some(Dependency {
                        service: i.scalar()?,
                        condition: "service_started".to_owned(),
                        pos: i.pos,
                    })
                })
                .collect(),
            Value::Map(entries) => entries
                .iter()
                .map(|(k, v)| Dependency {
                    service: k.text.clone(),
                    condition: v
                        .get("condition")
                        .and_then(Node::scalar)
                        .unwrap_or_else(|| "service_started".to_owned()),
                    pos: k.pos,
                })
                .collect(),
            _ => Vec::new(),
        }
    }

    /// The networks the service joins; the implicit `default` when it lists none (and
    /// has no `network_mode`).
    pub fn networks(&self) -> Vec<Attachment> {
        let Some(node) = self.get("networks") else {
            if self.get("network_mode").is_some() {
                return Vec::new();
            }
            return vec![Attachment {
                network: "default".to_owned(),
                aliases: Vec::new(),
                pos: self.key.pos,
            }];
        };
        match &node.value {
            Value::Seq(items) => items
                .iter()
                .filter_map(|i| {
                    Some(Attachment {
                        network: i.scalar()?,
                        aliases: Vec::new(),
                        pos: i.pos,
                    })
                })
                .collect(),
            Value::Map(entries) => entries
                .iter()
                .map(|(k, v)| Attachment {
                    network: k.text.clone(),
                    aliases: v
                        .get("aliases")
                        .map(|a| a.items().iter().filter_map(Node::scalar).collect())
                        .unwrap_or_default(),
                    pos: k.pos,
                })
                .collect(),
            _ => Vec::new(),
        }
    }

    /// Whether the service has a health check that is not disabled.
    pub fn has_healthcheck(&self) -> bool {
        self.get("healthcheck").is_some_and(|h| {
            h.get("disable").and_then(Node::as_bool) != Some(true)
                && h.get("test")
                    .and_then(|t| t.items().first().and_then(Node::scalar))
                    .as_deref()
                    != Some("NONE")
        })
    }

    /// `labels:` in list or mapping form.
    pub fn labels(&self) -> Vec<(String, Option<String>)> {
        let Some(node) = self.get("labels") else {
            return Vec::new();
        };
        match &node.value {
            Value::Map(entries) => entries
                .iter()
                .map(|(k, v)| (k.text.clone(), v.scalar()))
                .collect(),
            Value::Seq(items) => items
                .iter()
                .filter_map(Node::scalar)
                .map(|i| match i.split_once('=') {
                    Some((k, v)) => (k.to_owned(), Some(v.to_owned())),
                    None => (i, None),
                })
                .collect(),
            _ => Vec::new(),
        }
    }
}

fn words(node: &Node) -> Option<Words> {
    match &node.value {
        Value::Str(text) => Some(Words {
            words: shlex::split(text)
                .unwrap_or_else(|| text.split_whitespace().map(str::to_owned).collect()),
            pos: node.pos,
        }),
        Value::Seq(items) => Some(Words {
            words: items.iter().filter_map(Node::scalar).collect(),
            pos: node.pos,
        }),
        _ => None,
    }
}

/// A short-syntax volume source is a host path when it looks like one.
fn is_host_path(source: &str) -> bool {
    source.starts_with('.')
        || source.starts_with('/')
        || source.starts_with('~')
        || source.contains('/')
}

fn mount(item: &Node) -> Option<Mount> {
    if let Some(text) = item.as_str() {
        let parts: Vec<&str> = text.split(':').collect();
        let (source, target, mode) = match parts.as_slice() {
            [target] => (None, *target, ""),
            [source, target] => (Some(*source), *target, ""),
            [source, target, mode, ..] => (Some(*source), *target, *mode),
            [] => return None,
        };
        let kind = match source {
            None => MountKind::Anonymous,
            Some(s) if is_host_path(s) => MountKind::Bind,
            Some(_) => MountKind::Volume,
        };
        return Some(Mount {
            kind,
            source: source.map(str::to_owned),
            target: target.to_owned(),
            read_only: mode.split(',').any(|m| m == "ro"),
            pos: item.pos,
        });
    }
    let kind = match item.get("type").and_then(Node::scalar).as_deref() {
        Some("bind") => MountKind::Bind,
        Some("volume") if item.get("source").is_some() => MountKind::Volume,
        Some("volume") => MountKind::Anonymous,
        _ => MountKind::Other,
    };
    Some(Mount {
        kind,
        source: item.get("source").and_then(Node::scalar),
        target: item.get("target").and_then(Node::scalar)?,
        read_only: item.get("read_only").and_then(Node::as_bool) == Some(true),
        pos: item.pos,
    })
}

fn port(item: &Node) -> Option<PortEntry> {
    if item.is_map() {
        return Some(PortEntry {
            host_ip: item.get("host_ip").and_then(Node::scalar),
            published: item.get("published").and_then(Node::scalar),
            target: item.get("target").and_then(Node::scalar)?,
            protocol: item
                .get("protocol")
                .and_then(Node::scalar)
                .unwrap_or_else(|| "tcp".to_owned()),
            pos: item.pos,
        });
    }
    let text = item.scalar()?;
    let (spec, protocol) = match text.split_once('/') {
        Some((spec, protocol)) => (spec.to_owned(), protocol.to_owned()),
        None => (text.clone(), "tcp".to_owned()),
    };
    // An IPv6 host IP is bracketed: `[::1]:5432:5432`.
    let (host_ip, rest) = match spec.strip_prefix('[').and_then(|s| s.split_once("]:")) {
        Some((ip, rest)) => (Some(ip.to_owned()), rest.to_owned()),
        None => (None, spec),
    };
    let parts: Vec<&str> = rest.split(':').collect();
    let (host_ip, published, target) = match parts.as_slice() {
        [target] => (host_ip, None, *target),
        [published, target] => (host_ip, Some(*published), *target),
        [ip, published, target] => (Some((*ip).to_owned()), Some(*published), *target),
        _ => return None,
    };
    Some(PortEntry {
        host_ip,
        published: published.filter(|p| !p.is_empty()).map(str::to_owned),
        target: target.to_owned(),
        protocol,
        pos: item.pos,
    })
}
