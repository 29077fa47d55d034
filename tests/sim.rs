//! The engine driver against a real Docker engine: a PostgreSQL 17 server, a one-shot
//! migration, an HTTP service and a worker (tests/fixtures/sim), built offline from the
//! images of tests/images/build.sh. Each test runs its own stack under its own project
//! name and port, so they run side by side. Without an engine the tests say they are
//! skipped; with `CI=true` a missing engine fails them.

#[path = "sim/accessories.rs"]
mod accessories;
#[path = "sim/buildkit.rs"]
mod buildkit;
mod common;
#[path = "sim/dockerignore.rs"]
mod dockerignore;
#[path = "sim/failures.rs"]
mod failures;
#[path = "sim/lifecycle.rs"]
mod lifecycle;
#[path = "sim/mariadb.rs"]
mod mariadb;
#[path = "sim/parity.rs"]
mod parity;

use std::path::PathBuf;
use std::process::{Command, Output};

use assert_cmd::cargo::CommandCargoExt as _;
use serde_json::Value;

/// One test's copy of the fixture stack.
struct Stack {
    dir: tempfile::TempDir,
    project: String,
    port: u16,
}

impl Stack {
    /// The fixture under `project`, its topology passed through `edit`; `None` when no
    /// engine answers outside CI (the test is skipped).
    fn new(test: &str, project: &str, edit: impl FnOnce(String) -> String) -> Option<Stack> {
        if !common::docker_available(test) {
            return None;
        }
        common::ensure_test_images();
        let dir = tempfile::tempdir().expect("temp dir");
        common::copy_dir(&common::root().join("tests/fixtures/sim"), dir.path());
        let port = common::free_port();
        let path = dir.path().join("topology.toml");
        let text = std::fs::read_to_string(&path)
            .expect("fixture topology")
            .replace("simshop", project)
            .replace("18080", &port.to_string());
        std::fs::write(&path, edit(text)).expect("write topology");
        let stack = Stack {
            dir,
            project: project.to_owned(),
            port,
        };
        stack.remove_everything();
        Some(stack)
    }

    fn topology(&self) -> PathBuf {
        self.dir.path().join("topology.toml")
    }

    fn container(&self, role: &str) -> String {
        format!("{}-{role}", self.project)
    }

    /// `topo-sim ARGS -t topology`, in CI mode (plain progress lines).
    fn sim(&self, args: &[&str]) -> Output {
        self.sim_with(&[], args)
    }

    /// `topo-sim ARGS -t TOPOLOGY` in CI mode with `env` set.
    fn sim_with(&self, env: &[(&str, &str)], args: &[&str]) -> Output {
        let mut command = Command::cargo_bin("topo-sim").expect("the topo-sim binary is built");
        command
            .envs(env.iter().copied())
            .args(args)
            .arg("-t")
            .arg(self.topology())
            .env("CI", "true")
            .env_remove("SHOP_DB_PASSWORD")
            .output()
            .expect("topo-sim runs")
    }

    /// `topo-sim up --format json ARGS`: the output and the verdict.
    fn up_json(&self, args: &[&str]) -> (Output, Value) {
        let mut all = vec!["up", "--format", "json"];
        all.extend_from_slice(args);
        let output = self.sim(&all);
        let verdict = serde_json::from_slice(&output.stdout).unwrap_or_else(|e| {
            panic!(
                "no JSON verdict ({e}); stdout:\n{}\nstderr:\n{}",
                String::from_utf8_lossy(&output.stdout),
                String::from_utf8_lossy(&output.stderr)
            )
        });
        (output, verdict)
    }

    /// Every container, network and volume labelled with this project.
    fn leftovers(&self) -> Vec<String> {
        let filter = format!("label=topo.project={}", self.project);
        let mut found = Vec::new();
        for (kind, args) in [
            (
                "container",
                vec!["ps", "-a", "--filter", &filter, "--format", "{{.Names}}"],
            ),
            (
                "network",
                vec![
                    "network",
                    "ls",
                    "--filter",
                    &filter,
                    "--format",
                    "{{.Name}}",
                ],
            ),
            (
                "volume",
                vec!["volume", "ls", "--filter", &filter, "--format", "{{.Name}}"],
            ),
        ] {
            found.extend(
                common::docker(&args)
                    .lines()
                    .filter(|l| !l.is_empty())
                    .map(|name| format!("{kind} {name}")),
            );
        }
        found
    }

    fn remove_everything(&self) {
        for object in self.leftovers() {
            let (kind, name) = object.split_once(' ').expect("kind name");
            let args: Vec<&str> = match kind {
                "container" => vec!["rm", "-f", name],
                "network" => vec!["network", "rm", name],
                _ => vec!["volume", "rm", "-f", name],
            };
            let _ = Command::new("docker").args(args).output();
        }
    }
}

impl Drop for Stack {
    fn drop(&mut self) {
        self.remove_everything();
    }
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}
