//! A lint report as JSON (topo's own shape) and as SARIF 2.1.0 (what GitHub code scanning
//! and other viewers take).

use serde_json::{json, Value};

use super::{rules::RULES, Finding, Place, Report};
use crate::model::Level;

/// `{"findings":[{"rule","severity","file","line","column","message","hint","related":[…]}]}`.
pub fn to_json(report: &Report) -> String {
    let document = json!({ "findings": report.findings });
    serde_json::to_string_pretty(&document).expect("findings are plain data") + "\n"
}

/// A SARIF 2.1.0 log with one run: every rule in the driver, one result per finding, the
/// related places as `relatedLocations`.
pub fn to_sarif(report: &Report) -> String {
    let rules: Vec<Value> = RULES
        .iter()
        .map(|rule| {
            json!({
                "id": rule.id,
                "name": pascal_case(rule.id),
                "shortDescription": { "text": rule.summary },
                "fullDescription": { "text": rule.summary },
                "help": { "text": rule.hint },
                "defaultConfiguration": { "level": sarif_level(rule.level) },
                "properties": { "tags": ["compose", "parity"] },
            })
        })
        .collect();
    let results: Vec<Value> = report.findings.iter().map(result).collect();
    let document = json!({
        "$schema": "https://json.schemastore.org/sarif-2.1.0.json",
        "version": "2.1.0",
        "runs": [{
            "tool": {
                "driver": {
                    "name": "topo lint",
                    "informationUri": "https://example.invalid/topo",
                    "version": env!("CARGO_PKG_VERSION"),
                    "rules": rules,
                }
            },
            "columnKind": "unicodeCodePoints",
            "results": results,
        }]
    });
    serde_json::to_string_pretty(&document).expect("a SARIF log is plain data") + "\n"
}

fn result(finding: &Finding) -> Value {
    let index = RULES
        .iter()
        .position(|r| r.id == finding.rule)
        .expect("findings come from catalogued rules");
    let related: Vec<Value> = finding
        .related
        .iter()
        .enumerate()
        .map(|(i, place)| {
            let mut location = location(place);
            location["id"] = json!(i + 1);
            location["message"] = json!({ "text": format!("related: {place}") });
            location
        })
        .collect();
    let mut value = json!({
        "ruleId": finding.rule,
        "ruleIndex": index,
        "level": sarif_level(finding.severity),
        "message": { "text": format!("{}. {}", finding.message, capitalised(&finding.hint)) },
        "locations": [location(&finding.place)],
    });
    if !related.is_empty() {
        value["relatedLocations"] = json!(related);
    }
    value
}

fn location(place: &Place) -> Value {
    json!({
        "physicalLocation": {
            "artifactLocation": { "uri": uri(&place.file) },
            "region": { "startLine": place.line.max(1), "startColumn": place.column.max(1) },
        }
    })
}

/// A file name as a URI reference: relative paths stay relative (GitHub resolves them against
/// the repository), with `/` separators and spaces escaped.
fn uri(file: &str) -> String {
    let path = file.replace('\\', "/");
    let path = path.strip_prefix("./").unwrap_or(&path);
    let escaped: String = path
        .chars()
        .map(|c| match c {
            ' ' => "%20".to_owned(),
            '#' => "%23".to_owned(),
            '?' => "%3F".to_owned(),
            '%' => "%25".to_owned(),
            c => c.to_string(),
        })
        .collect();
    if escaped.starts_with('/') {
        format!("file://{escaped}")
    } else {
        escaped
    }
}

fn sarif_level(level: Level) -> &'static str {
    match level {
        Level::Error => "error",
        Level::Warning => "warning",
        Level::Note => "note",
        Level::Off => "none",
    }
}

fn pascal_case(id: &str) -> String {
    id.split('-').map(capitalised).collect()
}

fn capitalised(text: &str) -> String {
    let mut chars = text.chars();
    chars.next().map_or_else(String::new, |first| {
        first.to_uppercase().chain(chars).collect()
    })
}
