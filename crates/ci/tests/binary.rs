//! The binary's own smoke test. Having an integration test here also makes
//! `cargo test --workspace` build `target/*/topo-ci` for the workspace tests in `tests/`.

use std::process::Command;

#[test]
fn schema_prints_the_published_plan_schema() {
    let output = Command::new(env!("CARGO_BIN_EXE_topo-ci"))
        .arg("schema")
        .output()
        .expect("topo-ci runs");
    assert!(output.status.success());
    let published = std::fs::read_to_string(
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../docs/plan.schema.json"),
    )
    .expect("docs/plan.schema.json exists");
    assert_eq!(String::from_utf8_lossy(&output.stdout), published);
}

#[test]
fn usage_errors_exit_2() {
    let output = Command::new(env!("CARGO_BIN_EXE_topo-ci"))
        .args(["plan", "--env"])
        .output()
        .expect("topo-ci runs");
    assert_eq!(output.status.code(), Some(2));
}
