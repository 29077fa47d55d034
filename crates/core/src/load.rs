//! Reading `topology.toml`: TOML syntax, unknown keys, then typed values.
//!
//! Syntax errors and unknown keys are reported all at once: the first by the
//! TOML parser's recovering mode, the second by walking the parsed document
//! against the topology's own JSON Schema (the model is the one source of the
//! key names). Type errors stop at the first, as serde does.

use serde_json::Value as Json;
use toml::de::{DeTable, DeValue};

use crate::diagnostic::{Diagnostic, SourceFile};
use crate::model::Topology;
use crate::schema::topology_schema;

/// Parses a topology, or says everything wrong with its shape.
///
/// This checks syntax, keys and value types only; [`crate::validate()`] checks meaning.
pub fn parse(source: &SourceFile) -> Result<Topology, Vec<Diagnostic>> {
    match parse_past_unknown_keys(source) {
        (Some(topology), diagnostics) if diagnostics.is_empty() => Ok(topology),
        (_, diagnostics) => Err(diagnostics),
    }
}

/// Parses a topology; with unknown keys, also the topology without them when each is a
/// `key = value` line that can be left out (so its meaning can be checked in the same run).
pub(crate) fn parse_past_unknown_keys(source: &SourceFile) -> (Option<Topology>, Vec<Diagnostic>) {
    match parse_shape(source) {
        Ok(topology) => (Some(topology), Vec::new()),
        Err(Shape::Unknown(unknown)) => {
            let without = without_items(source.text(), &unknown.items);
            let topology = without.and_then(|text| toml::from_str::<Topology>(&text).ok());
            (topology, unknown.diagnostics)
        }
        Err(Shape::Invalid(diagnostics)) => (None, diagnostics),
    }
}

/// Why a text is not a topology: unknown keys (each with its item), or anything else.
enum Shape {
    Unknown(Unknown),
    Invalid(Vec<Diagnostic>),
}

/// Unknown keys: a diagnostic each, and the key and value spans of each.
#[derive(Default)]
struct Unknown {
    diagnostics: Vec<Diagnostic>,
    items: Vec<(std::ops::Range<usize>, std::ops::Range<usize>)>,
}

/// `text` with each `key = value` item blanked (spaces, newlines kept: every other span
/// stays where it was), or `None` when one is not a line of its own (a table header).
fn without_items(
    text: &str,
    items: &[(std::ops::Range<usize>, std::ops::Range<usize>)],
) -> Option<String> {
    let mut bytes = text.as_bytes().to_vec();
    for (key, value) in items {
        let line_start = text[..key.start].rfind('\n').map_or(0, |i| i + 1);
        let own_line = text[line_start..key.start].trim().is_empty();
        if !own_line || value.end <= key.end || value.end > text.len() {
            return None;
        }
        for byte in &mut bytes[key.start..value.end] {
            if *byte != b'\n' {
                *byte = b' ';
            }
        }
    }
    String::from_utf8(bytes).ok()
}

fn parse_shape(source: &SourceFile) -> Result<Topology, Shape> {
    // Every table of the model denies unknown fields, so a text that deserializes has none
    // to report: the schema is generated and walked only to explain a failure (generating
    // it costs more than the parse, on every plan).
    if let Ok(topology) = toml::from_str::<Topology>(source.text()) {
        return Ok(topology);
    }
    let (document, syntax_errors) = DeTable::parse_recoverable(source.text());
    if !syntax_errors.is_empty() {
        return Err(Shape::Invalid(
            syntax_errors
                .iter()
                .map(|error| {
                    Diagnostic::error(
                        "syntax",
                        format!("invalid TOML: {}", first_line(error.message())),
                    )
                    .at(error.span(), "here")
                    .help("fix the TOML syntax; `topo check` reports meaning once the file parses")
                })
                .collect(),
        ));
    }
    let schema = topology_schema();
    let mut unknown = Unknown::default();
    walk_table(document.get_ref(), &schema, &schema, "", &mut unknown);
    if !unknown.diagnostics.is_empty() {
        return Err(Shape::Unknown(unknown));
    }
    toml::from_str::<Topology>(source.text())
        .map_err(|error| Shape::Invalid(vec![value_error(&error)]))
}

fn first_line(message: &str) -> &str {
    message.lines().next().unwrap_or(message).trim()
}

fn value_error(error: &toml::de::Error) -> Diagnostic {
    let message = first_line(error.message());
    if let Some(rest) = message.strip_prefix("missing field ") {
        Diagnostic::error("missing-key", format!("missing key {rest}"))
            .at(error.span(), "in this table")
            .help(format!("add {rest}; `topo schema` lists every key"))
    } else {
        Diagnostic::error("invalid-value", message.to_owned())
            .at(error.span(), "this value")
            .help("see `topo schema` for the accepted forms of each key")
    }
}

/// Resolves `$ref`s and descends `anyOf`/`oneOf`/`allOf` branches until `pick` accepts a
/// schema: an `Option<Table>` is `anyOf [Table, null]`, and a multi-form value has at most
/// one table form and one array form.
fn find_schema<'a>(
    schema: &'a Json,
    root: &'a Json,
    pick: fn(&'a Json) -> Option<&'a Json>,
) -> Option<&'a Json> {
    if let Some(reference) = schema.get("$ref").and_then(Json::as_str) {
        return find_schema(root.pointer(reference.strip_prefix('#')?)?, root, pick);
    }
    pick(schema).or_else(|| {
        ["anyOf", "oneOf", "allOf"]
            .iter()
            .filter_map(|key| schema.get(key).and_then(Json::as_array))
            .flatten()
            .find_map(|branch| find_schema(branch, root, pick))
    })
}

/// The schema of a table.
fn object_schema<'a>(schema: &'a Json, root: &'a Json) -> Option<&'a Json> {
    find_schema(schema, root, |s| {
        (s.get("properties").is_some() || s.get("additionalProperties").is_some()).then_some(s)
    })
}

/// The schema of an array's items.
fn items_schema<'a>(schema: &'a Json, root: &'a Json) -> Option<&'a Json> {
    find_schema(schema, root, |s| s.get("items"))
}

fn walk_value(value: &DeValue<'_>, schema: &Json, root: &Json, path: &str, out: &mut Unknown) {
    match value {
        DeValue::Table(table) => walk_table(table, schema, root, path, out),
        DeValue::Array(items) => {
            if let Some(item_schema) = items_schema(schema, root) {
                for item in items.iter() {
                    walk_value(item.get_ref(), item_schema, root, path, out);
                }
            }
        }
        _ => {}
    }
}

fn walk_table(table: &DeTable<'_>, schema: &Json, root: &Json, path: &str, out: &mut Unknown) {
    let Some(object) = object_schema(schema, root) else {
        return;
    };
    let properties = object.get("properties").and_then(Json::as_object);
    let additional = object.get("additionalProperties");
    for (key, value) in table.iter() {
        let name = key.get_ref().as_ref();
        let child_path = if path.is_empty() {
            name.to_owned()
        } else {
            format!("{path}.{name}")
        };
        if let Some(property) = properties.and_then(|p| p.get(name)) {
            walk_value(value.get_ref(), property, root, &child_path, out);
            continue;
        }
        match additional {
            Some(Json::Bool(false)) => {
                let known: Vec<&str> = properties
                    .map(|p| p.keys().map(String::as_str).collect())
                    .unwrap_or_default();
                out.diagnostics
                    .push(unknown_key(name, &child_path, key.span(), &known));
                out.items.push((key.span(), value.span()));
            }
            Some(value_schema @ Json::Object(_)) => {
                walk_value(value.get_ref(), value_schema, root, &child_path, out)
            }
            _ => {}
        }
    }
}

fn unknown_key(name: &str, path: &str, span: std::ops::Range<usize>, known: &[&str]) -> Diagnostic {
    let diagnostic = Diagnostic::error("unknown-key", format!("unknown key `{path}`"))
        .at(Some(span), "not a topology key here");
    match did_you_mean(name, known) {
        Some(suggestion) => diagnostic.help(format!("did you mean `{suggestion}`?")),
        None => diagnostic.help(format!("the keys allowed here are: {}", known.join(", "))),
    }
}

/// The closest of `candidates` to `name`, when it is close enough to be a likely typo.
pub(crate) fn did_you_mean<'a>(name: &str, candidates: &[&'a str]) -> Option<&'a str> {
    candidates
        .iter()
        .map(|candidate| (strsim::jaro_winkler(name, candidate), *candidate))
        .filter(|(score, _)| *score >= 0.8)
        .max_by(|a, b| a.0.total_cmp(&b.0))
        .map(|(_, candidate)| candidate)
}

/// The repository a topology file describes: the file's directory (`.` for a bare file
/// name). Build contexts, bind mounts and markers are relative to it.
pub fn repository_of(topology: &std::path::Path) -> std::path::PathBuf {
    match topology.parent() {
        Some(parent) if !parent.as_os_str().is_empty() => parent.to_path_buf(),
        _ => std::path::PathBuf::from("."),
    }
}
