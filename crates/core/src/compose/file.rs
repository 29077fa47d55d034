//! One Compose file and its services, seen through every syntax Compose accepts for a
//! field (a list or a mapping of environment, short or long volumes and ports, …), each
//! item keeping where it was written.

use super::yaml::{self, Key, Node, Pos, Value};
use crate::text::LineIndex;

/// A Compose file: its name (as the user gave it), text and parsed tree.
#[derive(Clone, Debug)]
pub struct ComposeFile {
    /// The name to show for it (usually the path as given).
    pub name: String,
    /// The text, for snippets and suppression comments.
    pub text: String,
    /// The parsed document.
    pub root: Node,
    /// Where its lines start (positions and quoted lines without rescanning the text).
    lines: LineIndex,
}

/// Why a file could not be read as Compose.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ReadError {
    /// What is wrong and what to do.
    pub message: String,
    /// Where, when known.
    pub pos: Option<Pos>,
}

/// Top-level keys a Compose file may have; anything else at the top is not Compose.
const TOP_LEVEL: [&str; 8] = [
    "version", "name", "services", "networks", "volumes", "configs", "secrets", "include",
];

impl ComposeFile {
    /// Parses `text` and checks it looks like a Compose file (a mapping with `services`).
    pub fn read(name: impl Into<String>, text: impl Into<String>) -> Result<Self, ReadError> {
        let text = text.into();
        let lines = LineIndex::new(&text);
        // Every position of an error has the line and column of its offset.
        let at = |offset: usize| {
            let (line, column) = lines.line_col(&text, offset);
            Pos {
                line: u32::try_from(line).unwrap_or(u32::MAX),
                column: u32::try_from(column).unwrap_or(u32::MAX),
                offset: LineIndex::clamp(&text, offset),
            }
        };
        let root = yaml::parse(&text).map_err(|e| ReadError {
            message: format!("invalid YAML: {}", e.message),
            // The parser's errors know the line and column, not always the offset.
            pos: e
                .pos
                .map(|p| at(lines.offset_of(&text, p.line as usize, p.column as usize))),
        })?;
        if !root.is_map() {
            return Err(ReadError {
                message: format!(
                    "not a Compose file: the document is {}, not a mapping with `services:`",
                    root.kind()
                ),
                pos: Some(at(root.pos.offset)),
            });
        }
        match root.entry("services") {
            None => {
                let stray = root.entries().iter().find(|(k, _)| {
                    !TOP_LEVEL.contains(&k.text.as_str()) && !k.text.starts_with("x-")
                });
                return Err(ReadError {
                    message: match stray {
                        Some((key, _)) => format!(
                            "not a Compose file: no `services:`, and `{}` is not a Compose top-level key",
                            key.text
                        ),
                        None => "not a Compose file: no `services:`".to_owned(),
                    },
                    pos: Some(at(stray.map_or(root.pos, |(k, _)| k.pos).offset)),
                });
            }
            Some((key, services)) if !services.is_map() && services.value != Value::Null => {
                return Err(ReadError {
                    message: format!(
                        "`services` is {}; Compose wants a mapping of service names",
                        services.kind()
                    ),
                    pos: Some(at(key.pos.offset)),
                });
            }
            Some(_) => {}
        }
        Ok(ComposeFile {
            name: name.into(),
            lines,
            text,
            root,
        })
    }

    /// The project name (`name:`), when written.
    pub fn project(&self) -> Option<&Node> {
        self.root.get("name")
    }

    /// The services, in the order written.
    pub fn services(&self) -> Vec<ServiceView<'_>> {
        self.root
            .get("services")
            .map(|s| {
                s.entries()
                    .iter()
                    .map(|(key, node)| ServiceView {
                        key,
                        node,
                        text: &self.text,
                    })
                    .collect()
            })
            .unwrap_or_default()
    }

    /// The service named `name`.
    pub fn service(&self, name: &str) -> Option<ServiceView<'_>> {
        self.services().into_iter().find(|s| s.name() == name)
    }

    /// The top-level networks: key, and the `name:` it sets if any.
    pub fn networks(&self) -> Vec<(&Key, &Node)> {
        top_level(&self.root, "networks")
    }

    /// The top-level named volumes.
    pub fn volumes(&self) -> Vec<(&Key, &Node)> {
        top_level(&self.root, "volumes")
    }

    /// The name a top-level network gets on the engine: its `name:`, else the key (Compose
    /// prefixes keys with the project; topo compares the keys people write).
    pub fn network_name(&self, key: &str) -> String {
        self.root
            .get("networks")
            .and_then(|n| n.get(key))
            .and_then(|n| n.get("name"))
            .and_then(Node::scalar)
            .unwrap_or_else(|| key.to_owned())
    }

    /// The 1-based line's text (empty past the end).
    pub fn line(&self, line: u32) -> &str {
        self.lines.line(&self.text, line as usize)
    }

    /// The position of a byte offset: clamped into the text (onto a character boundary),
    /// with the line and column of that offset. Every position reported about the file goes
    /// through here, so line, column and offset always agree.
    pub fn pos_at(&self, offset: usize) -> Pos {
        let offset = LineIndex::clamp(&self.text, offset);
        let (line, column) = self.lines.line_col(&self.text, offset);
        Pos {
            line: u32::try_from(line).unwrap_or(u32::MAX),
            column: u32::try_from(column).unwrap_or(u32::MAX),
            offset,
        }
    }
}

fn top_level<'a>(root: &'a Node, key: &str) -> Vec<(&'a Key, &'a Node)> {
    root.get(key)
        .map(|n| n.entries().iter().map(|(k, v)| (k, v)).collect())
        .unwrap_or_default()
}

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
    /// Where the value starts (for `KEY=VALUE` items: after the `=`).
    pub value_pos: Pos,
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
        let Some(node) = self.get("environment") else {
            return Vec::new();
        };
        match &node.value {
            Value::Map(entries) => entries
                .iter()
                .map(|(k, v)| EnvEntry {
                    name: k.text.clone(),
                    value: v.scalar(),
                    pos: k.pos,
                    value_pos: if v.value == Value::Null { k.pos } else { v.pos },
                })
                .collect(),
            Value::Seq(items) => items
                .iter()
                .filter_map(|item| {
                    let text = item.scalar()?;
                    Some(match text.split_once('=') {
                        Some((name, value)) => EnvEntry {
                            name: name.to_owned(),
                            value: Some(value.to_owned()),
                            pos: item.pos,
                            value_pos: pos_in_scalar(self.text, item.pos, &text, name.len() + 1),
                        },
                        None => EnvEntry {
                            name: text,
                            value: None,
                            pos: item.pos,
                            value_pos: item.pos,
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

/// The position `offset` bytes into a scalar whose value is `value`, written at `at` in
/// `text`: moved there when the file writes the value literally up to that point (plain or
/// quoted, on one line), else `at` itself (an alias, a block scalar, an escape sequence).
pub fn pos_in_scalar(text: &str, at: Pos, value: &str, offset: usize) -> Pos {
    let Some(raw) = text.get(at.offset..) else {
        return at;
    };
    // A quoted scalar's position is its opening quote, one column before its text.
    let quote = usize::from(raw.starts_with(['"', '\'']));
    let Some(prefix) = value.get(..offset) else {
        return at;
    };
    if prefix.contains(['\n', '\r']) || !raw[quote..].starts_with(prefix) {
        return at;
    }
    Pos {
        line: at.line,
        column: at
            .column
            .saturating_add(u32::try_from(quote + prefix.chars().count()).unwrap_or(u32::MAX)),
        offset: at.offset + quote + offset,
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

#[cfg(test)]
mod tests {
    use super::*;

    fn service(yaml: &str) -> ComposeFile {
        ComposeFile::read("compose.yml", format!("services:\n  web:\n{yaml}")).expect("compose")
    }

    #[test]
    fn short_and_long_forms_read_alike() {
        let file = service(
            "    environment: [\"A=1\", B]\n    volumes:\n      - .:/app\n      - /app/node_modules\n      - data:/data:ro\n      - type: bind\n        source: ./x\n        target: /x\n    ports: [\"127.0.0.1:5432:5432\", \"3000\", \"8080:80/udp\"]\n    depends_on: [db]\n",
        );
        let web = file.service("web").expect("web");
        let env = web.environment();
        assert_eq!(env[0].value.as_deref(), Some("1"));
        assert_eq!(env[1].value, None);
        let mounts = web.mounts();
        let kinds: Vec<_> = mounts.iter().map(|m| m.kind).collect();
        assert_eq!(
            kinds,
            [
                MountKind::Bind,
                MountKind::Anonymous,
                MountKind::Volume,
                MountKind::Bind
            ]
        );
        assert!(mounts[2].read_only);
        let ports = web.ports();
        assert_eq!(ports[0].host_ip.as_deref(), Some("127.0.0.1"));
        assert_eq!(ports[0].published.as_deref(), Some("5432"));
        assert_eq!(ports[1].published, None);
        assert_eq!(
            (ports[2].target.as_str(), ports[2].protocol.as_str()),
            ("80", "udp")
        );
        assert_eq!(web.depends_on()[0].condition, "service_started");
        assert_eq!(web.networks()[0].network, "default");
    }

    /// Every node's line and column are those of its offset (what `pos_at` computes), for
    /// texts with a BOM, CRLF endings, tabs and multi-byte characters.
    #[test]
    fn parser_positions_agree_with_the_line_index() {
        fn walk(file: &ComposeFile, node: &Node, seen: &mut usize) {
            assert_eq!(file.pos_at(node.pos.offset), node.pos, "{:?}", node.value);
            *seen += 1;
            for (key, value) in node.entries() {
                assert_eq!(file.pos_at(key.pos.offset), key.pos, "{}", key.text);
                walk(file, value, seen);
            }
            for item in node.items() {
                walk(file, item, seen);
            }
        }
        for text in [
            "services:\n  web:\n    image: \"é:1\"\n    environment: [A=ü, B=2]\n",
            "\u{feff}services:\r\n  web:\r\n    image: x\r\n",
            "services:\n  wéb:\n    command: ['日本', \"a\\tb\"]\n    labels: {a: b}\n",
            "services:\r  web:\r    image: x\r    ports: [80]\r",
        ] {
            let file = ComposeFile::read("c.yml", text).expect("compose");
            let mut seen = 0;
            walk(&file, &file.root, &mut seen);
            assert!(seen > 3, "{text:?}");
        }
    }

    #[test]
    fn positions_inside_a_scalar_only_where_it_is_written() {
        let text = "x-app: &app\n  environment:\n    URL: redis://cache:6379\nservices:\n  web: *app\n  api:\n    environment: [\"URL=redis://cache:6379\"]\n";
        let file = ComposeFile::read("c.yml", text).expect("compose");
        let web = file.service("web").expect("web").environment();
        // Reached through the alias: the value is not written at the alias, so no shift.
        let at = pos_in_scalar(text, web[0].value_pos, "redis://cache:6379", 8);
        assert_eq!(at, web[0].value_pos);
        assert_eq!(file.pos_at(at.offset), at);
        let api = file.service("api").expect("api").environment();
        let at = pos_in_scalar(text, api[0].value_pos, "redis://cache:6379", 8);
        assert_eq!(&text[at.offset..at.offset + 5], "cache");
        assert_eq!(file.pos_at(at.offset), at);
    }

    #[test]
    fn not_compose_is_refused_with_a_position() {
        let error = ComposeFile::read("k8s.yml", "apiVersion: v1\nkind: Pod\n").expect_err("k8s");
        assert!(
            error
                .message
                .contains("`apiVersion` is not a Compose top-level key"),
            "{error:?}"
        );
        assert_eq!(error.pos.map(|p| p.line), Some(1));
        let error = ComposeFile::read("list.yml", "- a\n- b\n").expect_err("list");
        assert!(error.message.contains("a list"), "{error:?}");
    }
}
