//! The binary's own tests. Having an integration test here also makes `cargo test
//! --workspace` build `target/*/topo-sim` before the workspace-level tests in `tests/`
//! drive it through assert_cmd. Neither test needs an engine.

use std::process::Command;

#[test]
fn help_names_every_command() {
    let output = Command::new(env!("CARGO_BIN_EXE_topo-sim"))
        .arg("--help")
        .output()
        .expect("topo-sim runs");
    assert!(output.status.success());
    let text = String::from_utf8_lossy(&output.stdout);
    for command in ["up", "build", "down", "status", "logs"] {
        assert!(text.contains(command), "--help lacks {command}: {text}");
    }
}

#[test]
fn unreachable_engine_is_explained() {
    let dir = tempfile::tempdir().expect("temp dir");
    let topology = dir.path().join("topology.toml");
    std::fs::write(
        &topology,
        "project = \"shop\"\n[[services]]\nrole = \"web\"\ncontext = \".\"\n",
    )
    .expect("write");
    std::fs::write(dir.path().join("Dockerfile"), "FROM scratch\n").expect("write");
    let socket = dir.path().join("no-engine.sock");
    let output = Command::new(env!("CARGO_BIN_EXE_topo-sim"))
        .args(["status", "-t"])
        .arg(&topology)
        .env("DOCKER_HOST", format!("unix://{}", socket.display()))
        .output()
        .expect("topo-sim runs");
    assert_eq!(output.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("no Docker engine answers at unix://")
            && stderr.contains("no-engine.sock")
            && stderr.contains("help: start one"),
        "{stderr}"
    );
    assert!(output.stdout.is_empty());
}
