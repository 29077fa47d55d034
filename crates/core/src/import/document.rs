//! The imported topology as TOML text, comments included.
//!
//! No TOML library keeps comments next to the values it writes, so the layout (tables,
//! `key = value` lines, comment lines) is assembled here; every key and scalar is still
//! spelt by the `toml` crate, so escaping is never hand-made.

use std::fmt;

use super::Note;

/// A TOML value as the topology writes it (inline tables keep the order given).
#[derive(Clone, Debug, PartialEq)]
pub(super) enum Toml {
    /// A string.
    Str(String),
    /// An integer.
    Int(i64),
    /// A number with a fraction.
    Float(f64),
    /// A boolean.
    Bool(bool),
    /// An inline array.
    Array(Vec<Toml>),
    /// An inline table, in the order given.
    Inline(Vec<(String, Toml)>),
}

impl Toml {
    /// A string value.
    pub(super) fn str(text: impl Into<String>) -> Toml {
        Toml::Str(text.into())
    }

    /// An array of strings.
    pub(super) fn strings<S: AsRef<str>>(items: &[S]) -> Toml {
        Toml::Array(items.iter().map(|s| Toml::str(s.as_ref())).collect())
    }
}

impl fmt::Display for Toml {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Toml::Str(text) => write!(f, "{}", toml::Value::String(text.clone())),
            Toml::Int(number) => write!(f, "{number}"),
            Toml::Float(number) => write!(f, "{}", toml::Value::Float(*number)),
            Toml::Bool(flag) => write!(f, "{flag}"),
            Toml::Array(items) => {
                f.write_str("[")?;
                for (i, item) in items.iter().enumerate() {
                    if i > 0 {
                        f.write_str(", ")?;
                    }
                    write!(f, "{item}")?;
                }
                f.write_str("]")
            }
            Toml::Inline(entries) => {
                f.write_str("{ ")?;
                for (i, (key, value)) in entries.iter().enumerate() {
                    if i > 0 {
                        f.write_str(", ")?;
                    }
                    write!(f, "{} = {value}", key_text(key))?;
                }
                f.write_str(" }")
            }
        }
    }
}

/// Comment text TOML accepts: control characters (other than tab) are not allowed in a
/// comment, so each is written as its escape (`\u{8}`), as the value would be spelt.
fn comment_text(line: &str) -> String {
    line.chars()
        .map(|c| {
            if c.is_control() && c != '\t' {
                c.escape_unicode().to_string()
            } else {
                c.to_string()
            }
        })
        .collect()
}

/// A key as TOML writes it: bare when it can be, quoted otherwise.
fn key_text(key: &str) -> String {
    let bare = !key.is_empty()
        && key
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-');
    if bare {
        key.to_owned()
    } else {
        toml::Value::String(key.to_owned()).to_string()
    }
}

/// One table (`[database]`, `[[services]]`) or the top of the file: comment and entry
/// lines in the order they were added.
#[derive(Debug, Default)]
pub(super) struct Table {
    header: Option<String>,
    lines: Vec<String>,
    /// For each entry of `lines`: the Compose text its value was read from, when known.
    origins: Vec<Option<Note>>,
    /// Where the whole table was read from (the Compose service it describes).
    origin: Option<Note>,
}

impl Table {
    /// A table with this header line (`[database]`); `None` is the top of the file.
    pub(super) fn new(header: Option<&str>) -> Table {
        Table {
            header: header.map(str::to_owned),
            lines: Vec::new(),
            origins: Vec::new(),
            origin: None,
        }
    }

    /// The Compose text the table describes (a service's key): where a value of the table
    /// that a topology cannot hold is reported, when the value has no place of its own.
    pub(super) fn read_from(&mut self, origin: Note) {
        self.origin = Some(origin);
    }

    /// `key = value`.
    pub(super) fn set(&mut self, key: &str, value: Toml) {
        self.lines.push(format!("{} = {value}", key_text(key)));
        self.origins.push(None);
    }

    /// `key = value`, read from the Compose text at `origin`.
    pub(super) fn set_from(&mut self, key: &str, value: Toml, origin: Note) {
        self.set(key, value);
        if let Some(last) = self.origins.last_mut() {
            *last = Some(origin);
        }
    }

    /// A comment line (`# text`).
    pub(super) fn comment(&mut self, text: &str) {
        for line in text.lines() {
            self.lines.push(if line.is_empty() {
                "#".to_owned()
            } else {
                format!("# {}", comment_text(line))
            });
            self.origins.push(None);
        }
    }

    /// A check for the user: a `# topo import:` comment here, and the note in `checks`.
    pub(super) fn note(&mut self, checks: &mut Vec<Note>, note: Note) {
        self.comment(&format!(
            "topo import: {} ({})",
            note.message,
            note.location()
        ));
        checks.push(note);
    }

    /// Whether nothing was written into it.
    pub(super) fn is_empty(&self) -> bool {
        self.lines.is_empty()
    }
}

/// The whole file: tables in order, separated by blank lines.
#[derive(Debug, Default)]
pub(super) struct Document {
    tables: Vec<Table>,
}

impl Document {
    /// Appends a table.
    pub(super) fn push(&mut self, table: Table) {
        self.tables.push(table);
    }

    /// The TOML text.
    #[cfg(test)]
    pub(super) fn text(&self) -> String {
        self.text_and_origins().0
    }

    /// The TOML text, and for each of its lines (0-based) the Compose text it was read
    /// from: the value's own place, else its table's.
    pub(super) fn text_and_origins(&self) -> (String, Vec<Option<&Note>>) {
        let mut out = String::new();
        let mut origins: Vec<Option<&Note>> = Vec::new();
        fn push<'a>(
            out: &mut String,
            origins: &mut Vec<Option<&'a Note>>,
            text: &str,
            origin: Option<&'a Note>,
        ) {
            out.push_str(text);
            out.push('\n');
            // A value may span lines (a multi-line string).
            for _ in 0..=text.matches('\n').count() {
                origins.push(origin);
            }
        }
        for table in &self.tables {
            if table.header.is_none() && table.is_empty() {
                continue;
            }
            if !out.is_empty() {
                push(&mut out, &mut origins, "", None);
            }
            if let Some(header) = &table.header {
                push(&mut out, &mut origins, header, table.origin.as_ref());
            }
            for (line, origin) in table.lines.iter().zip(&table.origins) {
                push(
                    &mut out,
                    &mut origins,
                    line,
                    origin.as_ref().or(table.origin.as_ref()),
                );
            }
        }
        (out, origins)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(value: Toml, expect: &str) {
        assert_eq!(value.to_string(), expect);
    }

    #[test]
    fn values_are_spelt_by_toml() {
        check(Toml::str("plain"), r#""plain""#);
        check(Toml::strings(&["npm", "run"]), r#"["npm", "run"]"#);
        check(
            Toml::Inline(vec![
                ("secret".to_owned(), Toml::str("DB_PASSWORD")),
                ("dev".to_owned(), Toml::str("x")),
            ]),
            r#"{ secret = "DB_PASSWORD", dev = "x" }"#,
        );
        check(
            Toml::Inline(vec![("odd key".to_owned(), Toml::Int(1))]),
            r#"{ "odd key" = 1 }"#,
        );
        check(Toml::Bool(true), "true");
    }

    #[test]
    fn awkward_strings_read_back() {
        for text in [
            "say \"hi\"\n",
            "back\\slash",
            "tab\tdel\u{7f}",
            "it's",
            "'''\"\"\"",
        ] {
            let line = format!("x = {}", Toml::str(text));
            let parsed: toml::Table = toml::from_str(&line).expect("valid TOML");
            assert_eq!(parsed["x"].as_str(), Some(text), "{line}");
        }
    }

    #[test]
    fn comments_never_hold_control_characters() {
        let mut table = Table::new(None);
        table.comment("label=\u{8} and \u{7f}, a\ttab");
        table.set("project", Toml::str("x"));
        let mut document = Document::default();
        document.push(table);
        let text = document.text();
        assert!(
            text.starts_with("# label=\\u{8} and \\u{7f}, a\ttab\n"),
            "{text}"
        );
        let parsed: toml::Table = toml::from_str(&text).expect("valid TOML");
        assert_eq!(parsed["project"].as_str(), Some("x"));
    }

    #[test]
    fn tables_are_separated_and_commented() {
        let mut document = Document::default();
        let mut top = Table::new(None);
        top.set("project", Toml::str("shop"));
        document.push(top);
        let mut database = Table::new(Some("[database]"));
        database.comment("guessed");
        database.set("major", Toml::Int(17));
        document.push(database);
        assert_eq!(
            document.text(),
            "project = \"shop\"\n\n[database]\n# guessed\nmajor = 17\n"
        );
    }
}
