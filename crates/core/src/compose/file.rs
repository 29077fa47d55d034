//! One Compose file: its text, its tree, and where things are in it. Its services are seen
//! through [`super::service`].

use super::service::ServiceView;
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
        let mut root = yaml::parse(&text).map_err(|e| ReadError {
            message: format!("invalid YAML: {}", e.message),
            // The parser's errors know the line and column, not always the offset.
            pos: e
                .pos
                .map(|p| at(lines.offset_of(&text, p.line as usize, p.column as usize))),
        })?;
        // Every node's line and column are those of its offset, as the line index counts
        // them, wherever the parser counts otherwise (a byte-order mark inside the file).
        reposition(&mut root, &at);
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

/// Sets every node's and key's line and column from its offset.
fn reposition(node: &mut Node, at: &dyn Fn(usize) -> Pos) {
    node.pos = at(node.pos.offset);
    match &mut node.value {
        Value::Seq(items) => items.iter_mut().for_each(|item| reposition(item, at)),
        Value::Map(entries) => {
            for (key, value) in entries {
                key.pos = at(key.pos.offset);
                reposition(value, at);
            }
        }
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::compose::MountKind;

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
            // A byte-order mark inside the file is a character (found by cargo xtask fuzz).
            "\n\u{feff}5432:\nservices:\n  db:",
        ] {
            let file = ComposeFile::read("c.yml", text).expect("compose");
            let mut seen = 0;
            walk(&file, &file.root, &mut seen);
            assert!(seen > 3, "{text:?}");
        }
    }

    #[test]
    fn positions_inside_a_scalar_reached_through_an_alias_stay_on_their_line() {
        let text = "x-app: &app\n  environment:\n    URL: redis://cache:6379\nservices:\n  web: *app\n  api:\n    environment: [\"URL=redis://cache:6379\"]\n";
        let file = ComposeFile::read("c.yml", text).expect("compose");
        for service in ["web", "api"] {
            let entry = &file.service(service).expect("service").environment()[0];
            let at = entry.pos_in_value(8);
            // Wherever the value is placed, line and column are those of the offset.
            assert_eq!(file.pos_at(at.offset), at, "{service}");
        }
        let api = &file.service("api").expect("api").environment()[0];
        let at = api.pos_in_value(8);
        assert_eq!(&text[at.offset..at.offset + 5], "cache");
    }

    #[test]
    fn environment_values_are_placed_at_their_text() {
        let file = service(
            "    environment:\n      A: \"db\"\n      B:\n      C: 'x''y'\n  api:\n    environment: [\"Ä=db:1\", 'C=x''y']\n",
        );
        // (line, column, the two characters written at the offset)
        let at = |service: &str, index: usize, byte: usize| {
            let entry = &file.service(service).expect("service").environment()[index];
            let pos = entry.pos_in_value(byte);
            let written: String = file.text[pos.offset..].chars().take(2).collect();
            (pos.line, pos.column, written)
        };
        let is = |line: u32, column: u32, written: &str| (line, column, written.to_owned());
        assert_eq!(at("web", 0, 0), is(4, 11, "db"));
        // No value: the variable's place; after an escape: the value's start.
        assert_eq!(at("web", 1, 0), is(5, 7, "B:"));
        assert_eq!(at("web", 2, 1), is(6, 12, "''"));
        assert_eq!(at("web", 2, 2), is(6, 11, "x'"));
        // `KEY=VALUE` items: after the `=` (a key of two bytes is one column).
        assert_eq!(at("api", 0, 3), is(8, 25, "1\""));
        assert_eq!(at("api", 1, 0), is(8, 32, "x'"));
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
