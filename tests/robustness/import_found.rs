//! What `cargo xtask fuzz` found in `topo import` after its first reproductions: files a
//! topology can hold that import refused, and reports too long to read.

use assert_cmd::Command;
use topo_core::compose::ComposeFile;
use topo_core::import::{import, ImportOptions};
use topo_core::Mode;

use crate::common;

/// Imports `files` (name, mode, text) and checks the topology validates.
fn imports_cleanly(files: &[(&str, Mode, &str)]) -> String {
    let read: Vec<_> = files
        .iter()
        .map(|(name, mode, text)| (ComposeFile::read(*name, *text).expect("Compose"), *mode))
        .collect();
    let imported =
        import(&read, &ImportOptions::default()).unwrap_or_else(|e| panic!("refused: {e}"));
    common::load_valid("imported", &imported.text);
    imported.text
}

#[test]
fn a_dev_file_named_like_prod_sims_default_leaves_prod_sim_another_name() {
    let text = imports_cleanly(&[(
        "docker-compose.prod-sim.yml",
        Mode::Dev,
        "services:\n  web:\n    build: .\n",
    )]);
    assert!(
        text.contains("dev = \"docker-compose.prod-sim.yml\""),
        "{text}"
    );
    assert!(
        text.contains("prod_sim = \"docker-compose.prod-sim-2.yml\""),
        "{text}"
    );
}

#[test]
fn a_healthy_wait_on_a_service_without_a_production_check_becomes_started() {
    let text = imports_cleanly(&[
        (
            "docker-compose.yml",
            Mode::Dev,
            "services:\n  api:\n    build: .\n    healthcheck:\n      test: [\"CMD\", \"true\"]\n  web:\n    build: .\n    depends_on:\n      api:\n        condition: service_healthy\n",
        ),
        (
            "docker-compose.prod.yml",
            Mode::Production,
            "services:\n  api:\n    image: x-api:${TAG}\n  web:\n    image: x-web:${TAG}\n    depends_on:\n      api:\n        condition: service_healthy\n",
        ),
    ]);
    assert!(
        text.contains("depends_on = { api = \"started\" }"),
        "{text}"
    );
}

#[test]
fn a_service_called_proxy_beside_the_proxy_is_renamed() {
    let text = imports_cleanly(&[(
        "docker-compose.yml",
        Mode::Dev,
        "services:\n  edge:\n    image: nginx:1.27\n  proxy:\n    build: ./p\n",
    )]);
    assert!(text.contains("role = \"proxy-2\""), "{text}");
}

#[test]
fn import_prints_the_first_checks_of_each_file() {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut text = String::from("name: shop\nservices:\n");
    for i in 0..300 {
        text += &format!("  cache{i}:\n    image: redis:7\n");
    }
    std::fs::write(dir.path().join("docker-compose.yml"), text).expect("write");
    let output = Command::cargo_bin("topo")
        .expect("the topo binary is built")
        .current_dir(dir.path())
        .args(["import", "docker-compose.yml", "-o", "t.toml"])
        .output()
        .expect("topo runs");
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "{stderr}");
    let stdout = String::from_utf8_lossy(&output.stdout);
    let checks = stdout.lines().filter(|l| l.contains(": check: ")).count();
    assert_eq!(checks, topo_core::limit::MAX_REPORTED, "{stdout}");
    assert!(
        stdout.contains("wrote t.toml (300 things to check)"),
        "{stdout}"
    );
    assert!(
        stdout.contains("docker-compose.yml: … and 200 more not shown"),
        "{stdout}"
    );
}

/// A long run of suppression comments (found by a long fuzz run: each comment line looked
/// for the next line of YAML by scanning to the end, and each rule's column was counted
/// from its line's start): 100,000 of them are read in linear time, and each is reported.
#[test]
fn a_long_run_of_suppression_comments_is_read_in_linear_time() {
    let dir = tempfile::tempdir().expect("tempdir");
    let text = format!(
        "services:\n  web:\n    build: ./web\n{}",
        "# topo-lint: allow-file no-such-rule\n".repeat(100_000)
    );
    std::fs::write(dir.path().join("docker-compose.yml"), text).expect("write");
    let output = Command::cargo_bin("topo")
        .expect("the topo binary is built")
        .current_dir(dir.path())
        .args(["lint", "docker-compose.yml", "--format", "json"])
        .timeout(std::time::Duration::from_secs(60))
        .output()
        .expect("topo runs");
    let report: serde_json::Value = serde_json::from_slice(&output.stdout)
        .unwrap_or_else(|e| panic!("{e}: {}", String::from_utf8_lossy(&output.stderr)));
    let unknown = report["findings"]
        .as_array()
        .expect("findings")
        .iter()
        .filter(|f| f["rule"] == "unused-suppression")
        .count();
    assert_eq!(unknown, 100_000);
}
