//! YAML read into a tree that remembers where every key and value was written.
//!
//! The parser is serde-saphyr's; [`Node`] only keeps what its `Spanned` wrapper reports
//! (line, column, byte offset), so every lint finding and import note can point at the text.

use std::fmt;

use serde::de::{self, Deserializer, MapAccess, SeqAccess, Visitor};
use serde::Deserialize;

/// A place in a file: 1-based line and column, and the byte offset when known.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Pos {
    /// 1-based line.
    pub line: u32,
    /// 1-based column (in characters).
    pub column: u32,
    /// Byte offset from the start of the file.
    pub offset: usize,
}

impl Pos {
    fn of(location: &serde_saphyr::Location) -> Pos {
        Pos {
            line: u32::try_from(location.line()).unwrap_or(u32::MAX),
            column: u32::try_from(location.column()).unwrap_or(u32::MAX),
            offset: location
                .span()
                .byte_offset()
                .and_then(|o| usize::try_from(o).ok())
                .unwrap_or(0),
        }
    }
}

/// How many bytes a token takes in the file (0 when the parser did not say).
fn len_of(location: &serde_saphyr::Location) -> usize {
    location
        .span()
        .byte_len()
        .and_then(|l| usize::try_from(l).ok())
        .unwrap_or(0)
}

/// Where a scalar's text is written: where it starts (after an opening quote) and how many of
/// its bytes are written as they are from there — the bytes whose places can be named.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct TextPos {
    /// Where the text's first character is written.
    pub start: Pos,
    /// How many bytes of the text are written as they are from `start`: up to the first
    /// escape (`\"`, `''`), line break or folded line.
    pub verbatim: usize,
}

impl TextPos {
    /// Where byte `at` of `text` (the text this describes) is written: `start` moved right by
    /// the characters before it when those are written as they are; else `start` — a place
    /// after an escape or a folded line is never guessed.
    pub fn at(&self, text: &str, at: usize) -> Pos {
        match text.get(..at) {
            Some(before) if at <= self.verbatim => Pos {
                line: self.start.line,
                column: self
                    .start
                    .column
                    .saturating_add(u32::try_from(before.chars().count()).unwrap_or(u32::MAX)),
                offset: self.start.offset + at,
            },
            _ => self.start,
        }
    }

    /// The same for the text after its first `bytes` bytes (the `VALUE` of a `KEY=VALUE`
    /// item).
    pub fn skip(&self, text: &str, bytes: usize) -> TextPos {
        match text.get(..bytes) {
            Some(_) if bytes <= self.verbatim => TextPos {
                start: self.at(text, bytes),
                verbatim: self.verbatim - bytes,
            },
            _ => TextPos {
                start: self.start,
                verbatim: 0,
            },
        }
    }
}

/// A YAML value and where it starts.
#[derive(Clone, Debug, PartialEq)]
pub struct Node {
    /// The value.
    pub value: Value,
    /// Where it was written (for an alias: where it is used). A quoted scalar starts at its
    /// opening quote, a block scalar (`|`, `>`) at its first line of text.
    pub pos: Pos,
    /// How many bytes its token takes from `pos` (a scalar's: quotes and every line of a
    /// block scalar included; 0 when unknown).
    pub len: usize,
}

/// A YAML value. Scalars keep their type so `"5432"` and `5432` can be told apart.
#[derive(Clone, Debug, PartialEq)]
pub enum Value {
    /// `null`, `~` or nothing.
    Null,
    /// `true` / `false`.
    Bool(bool),
    /// An integer.
    Int(i64),
    /// A float (as YAML wrote a number with a point or exponent).
    Float(f64),
    /// A string.
    Str(String),
    /// A sequence.
    Seq(Vec<Node>),
    /// A mapping, in the order written.
    Map(Vec<(Key, Node)>),
}

/// A mapping key and where it was written.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Key {
    /// The key as text (numbers and booleans as written by YAML's core schema).
    pub text: String,
    /// Where it was written.
    pub pos: Pos,
    /// How many bytes it takes from `pos` (quotes included).
    pub len: usize,
}

impl Node {
    /// The entry under `key`, when this is a mapping that has it.
    pub fn get(&self, key: &str) -> Option<&Node> {
        self.entry(key).map(|(_, v)| v)
    }

    /// The key and value under `key`, when this is a mapping that has it.
    pub fn entry(&self, key: &str) -> Option<(&Key, &Node)> {
        match &self.value {
            Value::Map(entries) => entries
                .iter()
                .find(|(k, _)| k.text == key)
                .map(|(k, v)| (k, v)),
            _ => None,
        }
    }

    /// The entries, when this is a mapping.
    pub fn entries(&self) -> &[(Key, Node)] {
        match &self.value {
            Value::Map(entries) => entries,
            _ => &[],
        }
    }

    /// The items, when this is a sequence.
    pub fn items(&self) -> &[Node] {
        match &self.value {
            Value::Seq(items) => items,
            _ => &[],
        }
    }

    /// The scalar as text (`5432`, `true`, `web`); `None` for null and collections.
    pub fn scalar(&self) -> Option<String> {
        match &self.value {
            Value::Bool(b) => Some(b.to_string()),
            Value::Int(i) => Some(i.to_string()),
            Value::Float(f) => Some(f.to_string()),
            Value::Str(s) => Some(s.clone()),
            Value::Null | Value::Seq(_) | Value::Map(_) => None,
        }
    }

    /// Where this scalar's text is written in `source` (the file's text): after the opening
    /// quote of a quoted scalar, and how much of it is written verbatim from there. For
    /// anything else: `pos`, with nothing verbatim.
    pub fn text_pos(&self, source: &str) -> TextPos {
        let Some(text) = self.scalar() else {
            return TextPos {
                start: self.pos,
                verbatim: 0,
            };
        };
        let token = source
            .get(self.pos.offset..self.pos.offset.saturating_add(self.len))
            .unwrap_or("");
        // A quoted token starts and ends with its quote; a block scalar's starts at its text.
        // A quoted token starts and ends with its quote; a block scalar's starts at its text.
        let quote = ['"', '\'']
            .into_iter()
            .find(|&q| token.len() >= 2 && token.starts_with(q) && token.ends_with(q));
        let (start, written) = match quote {
            Some(_) => (
                Pos {
                    line: self.pos.line,
                    column: self.pos.column.saturating_add(1),
                    offset: self.pos.offset + 1,
                },
                &token[1..],
            ),
            None => (self.pos, token),
        };
        // Written as it is up to the first difference, line break or escape (inside single
        // quotes a quote is always `''` or the end; inside double quotes `\` starts one).
        let escape = |c: char| match quote {
            Some('"') => c == '\\' || c == '"',
            Some(q) => c == q,
            None => false,
        };
        let verbatim = text
            .char_indices()
            .zip(written.chars())
            .find(|&((_, ours), theirs)| ours != theirs || ours == '\n' || escape(theirs))
            .map_or_else(|| text.len().min(written.len()), |((at, _), _)| at);
        TextPos { start, verbatim }
    }

    /// The string, when this is one.
    pub fn as_str(&self) -> Option<&str> {
        match &self.value {
            Value::Str(s) => Some(s),
            _ => None,
        }
    }

    /// The boolean, when this is one.
    pub fn as_bool(&self) -> Option<bool> {
        match &self.value {
            Value::Bool(b) => Some(*b),
            _ => None,
        }
    }

    /// True for a mapping.
    pub fn is_map(&self) -> bool {
        matches!(self.value, Value::Map(_))
    }

    /// The last line this node (with everything under it) starts something on.
    pub fn last_line(&self) -> u32 {
        let inner = match &self.value {
            Value::Seq(items) => items.iter().map(Node::last_line).max(),
            Value::Map(entries) => entries.iter().map(|(_, v)| v.last_line()).max(),
            _ => None,
        };
        inner.unwrap_or(self.pos.line).max(self.pos.line)
    }

    /// A short description of the kind of value, for messages.
    pub fn kind(&self) -> &'static str {
        match self.value {
            Value::Null => "null",
            Value::Bool(_) => "a boolean",
            Value::Int(_) | Value::Float(_) => "a number",
            Value::Str(_) => "a string",
            Value::Seq(_) => "a list",
            Value::Map(_) => "a mapping",
        }
    }
}

/// A YAML file that could not be read: the parser's message and where.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SyntaxError {
    /// What the parser said.
    pub message: String,
    /// Where, when the parser knew.
    pub pos: Option<Pos>,
}

impl fmt::Display for SyntaxError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

/// Parses one YAML document (anchors, aliases and `<<` merges resolved; duplicate keys
/// refused, as Compose refuses them).
pub fn parse(text: &str) -> Result<Node, SyntaxError> {
    if text.trim().is_empty() {
        return Ok(Node {
            value: Value::Null,
            pos: Pos {
                line: 1,
                column: 1,
                offset: 0,
            },
            len: 0,
        });
    }
    // serde-saphyr's default options refuse duplicate keys.
    let spanned: serde_saphyr::Spanned<Raw> =
        serde_saphyr::from_str(text).map_err(|error| SyntaxError {
            message: error.without_snippet().to_string(),
            pos: error.location().map(|l| Pos::of(&l)),
        })?;
    Ok(node(spanned))
}

fn node(spanned: serde_saphyr::Spanned<Raw>) -> Node {
    let pos = Pos::of(&spanned.referenced);
    let len = len_of(&spanned.referenced);
    let value = match spanned.value {
        Raw::Null => Value::Null,
        Raw::Bool(b) => Value::Bool(b),
        Raw::Int(i) => Value::Int(i),
        Raw::Float(f) => Value::Float(f),
        Raw::Str(s) => Value::Str(s),
        Raw::Seq(items) => Value::Seq(items.into_iter().map(node).collect()),
        Raw::Map(entries) => Value::Map(
            entries
                .into_iter()
                .map(|(k, v)| {
                    (
                        Key {
                            pos: Pos::of(&k.referenced),
                            len: len_of(&k.referenced),
                            text: k.value.0,
                        },
                        node(v),
                    )
                })
                .collect(),
        ),
    };
    Node { value, pos, len }
}

/// What serde-saphyr hands over, each child wrapped in its `Spanned`.
enum Raw {
    Null,
    Bool(bool),
    Int(i64),
    Float(f64),
    Str(String),
    Seq(Vec<serde_saphyr::Spanned<Raw>>),
    Map(Vec<(serde_saphyr::Spanned<KeyText>, serde_saphyr::Spanned<Raw>)>),
}

impl<'de> Deserialize<'de> for Raw {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_any(RawVisitor)
    }
}

struct RawVisitor;

impl<'de> Visitor<'de> for RawVisitor {
    type Value = Raw;
    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("any YAML value")
    }
    fn visit_unit<E: de::Error>(self) -> Result<Raw, E> {
        Ok(Raw::Null)
    }
    fn visit_none<E: de::Error>(self) -> Result<Raw, E> {
        Ok(Raw::Null)
    }
    fn visit_some<D: Deserializer<'de>>(self, deserializer: D) -> Result<Raw, D::Error> {
        Raw::deserialize(deserializer)
    }
    fn visit_bool<E: de::Error>(self, v: bool) -> Result<Raw, E> {
        Ok(Raw::Bool(v))
    }
    fn visit_i64<E: de::Error>(self, v: i64) -> Result<Raw, E> {
        Ok(Raw::Int(v))
    }
    fn visit_u64<E: de::Error>(self, v: u64) -> Result<Raw, E> {
        Ok(i64::try_from(v).map_or_else(|_| Raw::Str(v.to_string()), Raw::Int))
    }
    fn visit_f64<E: de::Error>(self, v: f64) -> Result<Raw, E> {
        Ok(Raw::Float(v))
    }
    fn visit_str<E: de::Error>(self, v: &str) -> Result<Raw, E> {
        Ok(Raw::Str(v.to_owned()))
    }
    fn visit_string<E: de::Error>(self, v: String) -> Result<Raw, E> {
        Ok(Raw::Str(v))
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Raw, A::Error> {
        let mut items = Vec::new();
        while let Some(item) = seq.next_element()? {
            items.push(item);
        }
        Ok(Raw::Seq(items))
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Raw, A::Error> {
        let mut entries = Vec::new();
        while let Some(key) = map.next_key()? {
            entries.push((key, map.next_value()?));
        }
        Ok(Raw::Map(entries))
    }
}

/// A mapping key: any scalar, kept as text.
struct KeyText(String);

impl<'de> Deserialize<'de> for KeyText {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct KeyVisitor;
        impl<'de> Visitor<'de> for KeyVisitor {
            type Value = KeyText;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a scalar mapping key")
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<KeyText, E> {
                Ok(KeyText(v.to_owned()))
            }
            fn visit_bool<E: de::Error>(self, v: bool) -> Result<KeyText, E> {
                Ok(KeyText(v.to_string()))
            }
            fn visit_i64<E: de::Error>(self, v: i64) -> Result<KeyText, E> {
                Ok(KeyText(v.to_string()))
            }
            fn visit_u64<E: de::Error>(self, v: u64) -> Result<KeyText, E> {
                Ok(KeyText(v.to_string()))
            }
            fn visit_f64<E: de::Error>(self, v: f64) -> Result<KeyText, E> {
                Ok(KeyText(v.to_string()))
            }
            fn visit_unit<E: de::Error>(self) -> Result<KeyText, E> {
                Ok(KeyText("null".to_owned()))
            }
        }
        deserializer.deserialize_any(KeyVisitor)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(node: &Node) -> (u32, u32) {
        (node.pos.line, node.pos.column)
    }

    #[test]
    fn positions_of_keys_and_values() {
        let text = "services:\n  web:\n    image: nginx:1.27\n    ports: [\"80:80\", 443]\n";
        let root = parse(text).expect("valid");
        let web = root
            .get("services")
            .and_then(|s| s.get("web"))
            .expect("web");
        let (key, image) = web.entry("image").expect("image");
        assert_eq!((key.pos.line, key.pos.column), (3, 5));
        assert_eq!(at(image), (3, 12));
        assert_eq!(image.as_str(), Some("nginx:1.27"));
        assert_eq!(&text[image.pos.offset..image.pos.offset + 5], "nginx");
        let ports = web.get("ports").expect("ports").items();
        assert_eq!(ports[1].value, Value::Int(443));
        assert_eq!(at(&ports[1]), (4, 22));
        assert_eq!(root.last_line(), 4);
    }

    #[test]
    fn places_inside_scalars() {
        let text = "a: \"database\"\nb: 'it''s db'\nc: jürgen@db\nd: \"x\\ty db\"\ne: |\n  db here\nf: multi\n  line db\n";
        let root = parse(text).expect("valid");
        // (line, column, the two characters written at the offset)
        let place = |key: &str, at: usize| {
            let node = root.get(key).expect(key);
            let pos = node.text_pos(text).at(&node.scalar().expect("scalar"), at);
            let written: String = text[pos.offset..].chars().take(2).collect();
            (pos.line, pos.column, written)
        };
        let is = |line: u32, column: u32, written: &str| (line, column, written.to_owned());
        // After the opening quote.
        assert_eq!(place("a", 0), is(1, 5, "da"));
        assert_eq!(place("a", 4), is(1, 9, "ba"));
        // `''` is one character written as two: the place where it starts, then the start.
        assert_eq!(place("b", 2), is(2, 7, "''"));
        assert_eq!(place("b", 5), is(2, 5, "it"));
        // Columns count characters, offsets bytes.
        assert_eq!(place("c", 8), is(3, 11, "db"));
        // After an escape, or a folded line: the start; a block scalar starts at its text.
        assert_eq!(place("d", 4), is(4, 5, "x\\"));
        assert_eq!(place("e", 3), is(6, 6, "he"));
        assert_eq!(place("f", 11), is(7, 4, "mu"));
        assert_eq!(place("f", 2), is(7, 6, "lt"));
        // Past the end, or inside a character: the start.
        assert_eq!(place("c", 99), is(3, 4, "jü"));
        assert_eq!(place("c", 2), is(3, 4, "jü"));
        let value = root.get("b").expect("b");
        let db = value.text_pos(text).skip("it's db", 5);
        assert_eq!((db.start.column, db.verbatim), (5, 0));
    }

    #[test]
    fn merges_and_aliases_are_resolved() {
        let text = "x-env: &env\n  A: 1\nservices:\n  web:\n    environment:\n      <<: *env\n      B: 2\n";
        let root = parse(text).expect("valid");
        let env = root
            .get("services")
            .and_then(|s| s.get("web"))
            .and_then(|w| w.get("environment"))
            .expect("env");
        let mut keys: Vec<_> = env.entries().iter().map(|(k, _)| k.text.as_str()).collect();
        keys.sort_unstable();
        assert_eq!(keys, ["A", "B"]);
    }

    #[test]
    fn syntax_errors_and_duplicates_have_positions() {
        let error = parse("services:\n  web:\n    image: [a\n").expect_err("unclosed");
        assert!(error.pos.is_some_and(|p| p.line >= 3), "{error:?}");
        let error = parse("a: 1\na: 2\n").expect_err("duplicate");
        assert_eq!(error.pos.map(|p| p.line), Some(2), "{error:?}");
        assert!(parse("").expect("empty").value == Value::Null);
    }
}
