//! The binary's own smoke test. Besides checking `--version` and `--help`, having an
//! integration test here makes `cargo test --workspace` build `target/*/topo` before any
//! test runs, which the workspace-level tests in `tests/` drive through assert_cmd.

use std::process::Command;

#[test]
fn version_and_help_name_the_commands() {
    let topo = env!("CARGO_BIN_EXE_topo");
    let version = Command::new(topo)
        .arg("--version")
        .output()
        .expect("topo runs");
    assert!(version.status.success());
    assert_eq!(
        String::from_utf8_lossy(&version.stdout).trim(),
        format!("topo {}", env!("CARGO_PKG_VERSION"))
    );
    let help = Command::new(topo)
        .arg("--help")
        .output()
        .expect("topo runs");
    let text = String::from_utf8_lossy(&help.stdout);
    for command in ["check", "render", "schema", "init"] {
        assert!(text.contains(command), "--help lacks {command}: {text}");
    }
}
