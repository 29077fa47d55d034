//! `topo lint` on a corpus of hand-written Compose sets: drifted sets with their exact
//! findings (snapshots), a well-kept set and every fixture topology's own renders that must
//! give no false alarm, malformed input, the output formats, suppressions and levels.

mod common;

use std::path::Path;

use assert_cmd::Command;
use serde_json::Value;
use topo_core::{render_all, RenderOptions};

const SET: [&str; 3] = [
    "docker-compose.yml",
    "docker-compose.prod-sim.yml",
    "docker-compose.prod.yml",
];

/// A copy of a fixture set, with the generated directories a dev laptop has.
fn set(name: &str) -> tempfile::TempDir {
    let dir = tempfile::tempdir().expect("tempdir");
    common::copy_dir(
        &common::root().join("tests/fixtures/lint").join(name),
        dir.path(),
    );
    for generated in [
        "apps/server/node_modules",
        "apps/storefront/node_modules",
        "apps/storefront/.next",
    ] {
        if dir
            .path()
            .join(generated)
            .parent()
            .is_some_and(Path::is_dir)
        {
            std::fs::create_dir_all(dir.path().join(generated)).expect("mkdir");
        }
    }
    dir
}

fn topo(dir: &Path, args: &[&str]) -> (i32, String, String) {
    let output = Command::cargo_bin("topo")
        .expect("topo is built")
        .current_dir(dir)
        .args(args)
        .output()
        .expect("topo runs");
    (
        output.status.code().expect("exit code"),
        String::from_utf8(output.stdout).expect("utf-8"),
        String::from_utf8(output.stderr).expect("utf-8"),
    )
}

/// Lints with `--format json`; the exit code and the findings.
fn lint_json(dir: &Path, args: &[&str]) -> (i32, Vec<Value>) {
    let mut all = vec!["lint"];
    all.extend_from_slice(args);
    all.extend_from_slice(&["--format", "json"]);
    let (code, stdout, stderr) = topo(dir, &all);
    let document: Value =
        serde_json::from_str(&stdout).unwrap_or_else(|e| panic!("JSON ({e}):\n{stdout}\n{stderr}"));
    (
        code,
        document["findings"].as_array().expect("findings").clone(),
    )
}

/// One line per finding: `file:line:column severity rule: message` and its related places.
fn lines(findings: &[Value]) -> String {
    findings
        .iter()
        .map(|f| {
            let related: Vec<String> = f["related"]
                .as_array()
                .expect("related")
                .iter()
                .map(|r| {
                    format!(
                        "{}:{}:{}",
                        r["file"].as_str().expect("file"),
                        r["line"],
                        r["column"]
                    )
                })
                .collect();
            let related = if related.is_empty() {
                String::new()
            } else {
                format!("\n    related {}", related.join(", "))
            };
            format!(
                "{}:{}:{} {} {}: {}\n    hint: {}{related}",
                f["file"].as_str().expect("file"),
                f["line"],
                f["column"],
                f["severity"].as_str().expect("severity"),
                f["rule"].as_str().expect("rule"),
                f["message"].as_str().expect("message"),
                f["hint"].as_str().expect("hint"),
            )
        })
        .collect::<Vec<_>>()
        .join("\n")
}

#[test]
fn the_seeds_drift_is_found_with_exact_places() {
    let dir = set("seed-drift");
    let (code, findings) = lint_json(dir.path(), &SET);
    assert_eq!(code, 1, "errors were found");
    let rules: std::collections::BTreeSet<&str> = findings
        .iter()
        .map(|f| f["rule"].as_str().expect("rule"))
        .collect();
    // Every rule that reads Compose files alone fires on this set (topology-drift needs -t).
    for rule in topo_core::lint::RULES
        .iter()
        .map(|r| r.id)
        .filter(|id| *id != "topology-drift")
    {
        assert!(
            rules.contains(rule),
            "no `{rule}` finding in the seed-drift set:\n{}",
            lines(&findings)
        );
    }
    insta::assert_snapshot!("seed_drift", lines(&findings));
}

#[test]
fn a_well_kept_set_gives_no_finding() {
    let dir = set("clean");
    let (code, findings) = lint_json(dir.path(), &SET);
    assert_eq!((code, lines(&findings)), (0, String::new()));
}

#[test]
fn drift_from_the_topology_is_reported_with_field_paths() {
    let dir = set("topology-drift");
    let (code, findings) = lint_json(
        dir.path(),
        &["docker-compose.prod.yml", "-t", "topology.toml"],
    );
    assert_eq!(code, 1);
    insta::assert_snapshot!("topology_drift", lines(&findings));
}

/// No false alarm on topo's own files: every fixture topology's three renders, linted against
/// the topology, give no error and no drift (only the warnings the topology earns).
#[test]
fn every_fixture_topologys_renders_lint_without_errors_or_drift() {
    for (name, text) in common::valid_fixtures() {
        let topology = common::load_valid(&name, &text);
        let dir = tempfile::tempdir().expect("tempdir");
        std::fs::write(dir.path().join("topology.toml"), &text).expect("write");
        let mut files = Vec::new();
        for file in render_all(&topology, &RenderOptions::default()) {
            std::fs::write(dir.path().join(&file.file_name), &file.contents).expect("write");
            files.push(file.file_name);
        }
        let mut args: Vec<&str> = files.iter().map(String::as_str).collect();
        args.extend(["-t", "topology.toml"]);
        let (code, findings) = lint_json(dir.path(), &args);
        let unexpected: Vec<&Value> = findings
            .iter()
            .filter(|f| f["severity"] == "error" || f["rule"] == "topology-drift")
            .collect();
        assert!(
            unexpected.is_empty() && code == 0,
            "{name}: exit {code}\n{}",
            lines(&findings)
        );
        // The warnings left are production services without a health check, and nothing else.
        for finding in &findings {
            assert_eq!(
                finding["rule"],
                "missing-healthcheck",
                "{name}: {}",
                lines(&findings)
            );
        }
    }
}

#[test]
fn suppressions_and_levels() {
    let dir = set("seed-drift");
    // The set's two `allow` comments silence two findings and one suppresses nothing.
    let (code, _, stderr) = topo(
        dir.path(),
        &["lint", SET[0], SET[1], SET[2], "--format", "short"],
    );
    assert_eq!(code, 1);
    assert!(stderr.contains("2 suppressed"), "{stderr}");
    assert!(
        stderr.contains("docker-compose.yml:39:55: warning[unused-suppression]"),
        "{stderr}"
    );

    // `[lint.rules]` turns rules off or down; with only warnings left, the exit code is 0.
    let levels =
        "project = \"vendure\"\n[lint.rules]\ntopology-drift = \"off\"\nunpinned-image = \"off\"\n";
    std::fs::write(dir.path().join("levels.toml"), levels).expect("write");
    let (code, findings) = lint_json(dir.path(), &[SET[2], "-t", "levels.toml"]);
    assert_eq!(code, 1, "other errors remain");
    assert!(findings
        .iter()
        .all(|f| f["rule"] != "unpinned-image" && f["rule"] != "topology-drift"));
    let mut all_warnings = String::from("project = \"vendure\"\n[lint.rules]\n");
    for rule in topo_core::lint::RULES {
        all_warnings += &format!("{} = \"warning\"\n", rule.id);
    }
    std::fs::write(dir.path().join("levels.toml"), all_warnings).expect("write");
    let (code, findings) = lint_json(dir.path(), &[SET[2], "-t", "levels.toml"]);
    assert_eq!(code, 0, "warnings only");
    assert!(!findings.is_empty() && findings.iter().all(|f| f["severity"] == "warning"));
}

#[test]
fn json_has_the_documented_shape_and_sarif_validates() {
    let dir = set("seed-drift");
    let (_, findings) = lint_json(dir.path(), &SET);
    let keys: Vec<&str> = findings[0]
        .as_object()
        .expect("object")
        .keys()
        .map(String::as_str)
        .collect();
    let mut expected = [
        "rule", "severity", "file", "line", "column", "message", "hint", "related",
    ];
    expected.sort_unstable();
    let mut sorted = keys.clone();
    sorted.sort_unstable();
    assert_eq!(sorted, expected);
    let related = findings
        .iter()
        .find(|f| !f["related"].as_array().expect("related").is_empty())
        .expect("a cross-file finding");
    let place = related["related"][0].as_object().expect("object");
    assert_eq!(
        place.keys().map(String::as_str).collect::<Vec<_>>(),
        ["column", "file", "line"]
    );

    let (code, stdout, _) = topo(
        dir.path(),
        &["lint", SET[0], SET[1], SET[2], "--format", "sarif"],
    );
    assert_eq!(code, 1);
    let sarif: Value = serde_json::from_str(&stdout).expect("SARIF is JSON");
    let mut schema: Value = serde_json::from_str(
        &std::fs::read_to_string(common::root().join("tests/reference/sarif-schema-2.1.0.json"))
            .expect("schema"),
    )
    .expect("schema JSON");
    // The OASIS schema's `language` patterns have a stray `]` that a strict regex engine
    // refuses; topo never writes `language`, so those patterns are dropped, not the check.
    for definition in ["run", "toolComponent"] {
        schema["definitions"][definition]["properties"]["language"]
            .as_object_mut()
            .expect("a language property")
            .remove("pattern");
    }
    let validator = jsonschema::validator_for(&schema).expect("the SARIF schema compiles");
    let errors: Vec<String> = validator
        .iter_errors(&sarif)
        .map(|e| format!("{e} at {}", e.instance_path()))
        .collect();
    assert!(errors.is_empty(), "{errors:#?}");
    let run = &sarif["runs"][0];
    let results = run["results"].as_array().expect("results");
    assert_eq!(results.len(), findings.len());
    let rules = run["tool"]["driver"]["rules"].as_array().expect("rules");
    for result in results {
        let index = result["ruleIndex"].as_u64().expect("index") as usize;
        assert_eq!(rules[index]["id"], result["ruleId"]);
        let region = &result["locations"][0]["physicalLocation"]["region"];
        assert!(region["startLine"].as_u64() > Some(0) && region["startColumn"].as_u64() > Some(0));
    }
    assert!(results.iter().any(|r| r["relatedLocations"]
        .as_array()
        .is_some_and(|l| !l.is_empty())));
}

#[test]
fn malformed_and_foreign_yaml_are_refused_with_a_position() {
    let dir = tempfile::tempdir().expect("tempdir");
    let write =
        |name: &str, text: &str| std::fs::write(dir.path().join(name), text).expect("write");
    write(
        "broken.yml",
        "services:\n  web:\n    image: [nginx:1.27\n    ports: []\n",
    );
    write(
        "k8s.yml",
        "apiVersion: v1\nkind: Pod\nmetadata:\n  name: web\n",
    );
    write(
        "duplicate.yml",
        "services:\n  web:\n    image: nginx:1.27\n    image: nginx:1.26\n",
    );
    write("list.yml", "- a\n- b\n");
    write("fine.yml", "services:\n  web:\n    image: nginx\n");
    for (file, expect) in [
        ("broken.yml", "broken.yml:"),
        ("k8s.yml", "k8s.yml:1:1: error: not a Compose file: no `services:`, and `apiVersion` is not a Compose top-level key"),
        ("duplicate.yml", "duplicate.yml:4:"),
        ("list.yml", "list.yml:1:1: error: not a Compose file"),
        ("missing.yml", "missing.yml: error: cannot read"),
    ] {
        let (code, stdout, stderr) = topo(dir.path(), &["lint", file, "fine.yml"]);
        assert_eq!(code, 2, "{file}: {stderr}");
        assert!(stderr.contains(expect), "{file}: {stderr}");
        assert!(stdout.is_empty(), "nothing half-reported: {stdout}");
        assert!(!stderr.contains("panicked"), "{stderr}");
    }
    // A warning alone (an unpinned image in dev) exits 0.
    let (code, findings) = lint_json(dir.path(), &["fine.yml"]);
    assert_eq!(code, 0);
    assert_eq!(findings.len(), 1);
    assert_eq!(
        (
            findings[0]["rule"].as_str(),
            findings[0]["line"].as_u64(),
            findings[0]["column"].as_u64()
        ),
        (Some("unpinned-image"), Some(3), Some(12))
    );
    // Usage: a --mode for a file that is not linted, an unknown mode.
    let (code, _, stderr) = topo(dir.path(), &["lint", "fine.yml", "--mode", "other.yml=dev"]);
    assert_eq!(code, 2, "{stderr}");
    let (code, _, stderr) = topo(
        dir.path(),
        &["lint", "fine.yml", "--mode", "fine.yml=staging"],
    );
    assert_eq!(code, 2, "{stderr}");
    assert!(stderr.contains("unknown mode `staging`"), "{stderr}");
}

#[test]
fn modes_come_from_names_unless_given() {
    let dir = tempfile::tempdir().expect("tempdir");
    let text = "services:\n  web:\n    image: nginx:1.27\n    privileged: true\n    healthcheck:\n      test: [\"CMD\", \"true\"]\n";
    std::fs::write(dir.path().join("compose.yml"), text).expect("write");
    // `compose.yml` is dev by its name: `privileged` is a production rule.
    let (code, findings) = lint_json(dir.path(), &["compose.yml"]);
    assert_eq!((code, findings.len()), (0, 0), "{}", lines(&findings));
    let (code, findings) = lint_json(
        dir.path(),
        &["compose.yml", "--mode", "compose.yml=production"],
    );
    assert_eq!(code, 1);
    let privileged = findings
        .iter()
        .find(|f| f["rule"] == "privileged")
        .expect("a privileged finding");
    assert_eq!(
        (privileged["line"].as_u64(), privileged["column"].as_u64()),
        (Some(4), Some(17))
    );
}
