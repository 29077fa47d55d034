//! `topo-ci plan` / `mark` / `fingerprint` on real git repositories made by each test.
//!
//! The tests use the git CLI to build histories (clones, merges, rewrites, submodules);
//! topo-ci itself reads them through gix only.

#[path = "plan/base.rs"]
mod base;
#[path = "plan/cargo.rs"]
mod cargo;
#[path = "plan/cargo_resolution.rs"]
mod cargo_resolution;
#[path = "plan/changes.rs"]
mod changes;
mod common;
#[path = "plan/events.rs"]
mod events;
#[path = "plan/fingerprints.rs"]
mod fingerprints;
#[path = "plan/go.rs"]
mod go;
#[path = "plan/history.rs"]
mod history;
#[path = "plan/markers.rs"]
mod markers;
#[path = "plan/named_package.rs"]
mod named_package;
#[path = "plan/npm_resolution.rs"]
mod npm_resolution;
#[path = "plan/outputs.rs"]
mod outputs;
#[path = "plan/patch_package.rs"]
mod patch_package;
#[path = "plan/workspace_scopes.rs"]
mod workspace_scopes;
#[path = "plan/workspaces.rs"]
mod workspaces;

use std::path::Path;
use std::process::Command as Process;

use assert_cmd::Command;
use topo_ci::plan::Plan;

const TOPOLOGY: &str = r#"project = "shop"

[database]
major = 17
password = { secret = "DB_PASSWORD" }

[[services]]
role = "server"
context = "apps/server"
command = ["node", "server.js"]
depends_on = { db = "healthy" }
health = { http = "/health", port = 3000 }
env = { PORT = 3000 }

[[services]]
role = "worker"
image_of = "server"
command = ["node", "worker.js"]

[[services]]
role = "web"
context = "apps/web"
env = { API = "http://shop-server:3000" }

[ci]
global_files = ["package-lock.json"]
exclude = ["**/*.md"]
deploy_on = ["tag:v*", "manual"]
"#;

/// A repository with the topology above, two service directories and a root lockfile,
/// and a marker directory beside it.
struct Repo {
    dir: tempfile::TempDir,
    markers: tempfile::TempDir,
}

impl Repo {
    fn new() -> Repo {
        let repo = Repo {
            dir: tempfile::tempdir().expect("tempdir"),
            markers: tempfile::tempdir().expect("tempdir"),
        };
        repo.git(&["init", "-q", "-b", "main"]);
        repo.write("topology.toml", TOPOLOGY);
        repo.write("package-lock.json", "{}\n");
        repo.write("README.md", "# shop\n");
        for app in ["server", "web"] {
            repo.write(
                &format!("apps/{app}/Dockerfile"),
                "FROM scratch AS dev\nFROM scratch AS prod\n",
            );
            repo.write(&format!("apps/{app}/src/index.js"), &format!("// {app}\n"));
            repo.write(&format!("apps/{app}/src/lib.js"), "export {}\n");
        }
        repo.commit("initial");
        repo
    }

    fn path(&self) -> &Path {
        self.dir.path()
    }

    fn write(&self, path: &str, text: &str) {
        let file = self.path().join(path);
        std::fs::create_dir_all(file.parent().expect("parent")).expect("mkdir");
        std::fs::write(file, text).expect("write");
    }

    fn git_in(dir: &Path, args: &[&str]) -> String {
        let output = Process::new("git")
            .args([
                "-c",
                "commit.gpgsign=false",
                "-c",
                "protocol.file.allow=always",
            ])
            .args(args)
            .current_dir(dir)
            .env("GIT_AUTHOR_NAME", "Test")
            .env("GIT_AUTHOR_EMAIL", "test@example.com")
            .env("GIT_COMMITTER_NAME", "Test")
            .env("GIT_COMMITTER_EMAIL", "test@example.com")
            .output()
            .expect("git runs");
        assert!(
            output.status.success(),
            "git {args:?}: {}",
            String::from_utf8_lossy(&output.stderr)
        );
        String::from_utf8_lossy(&output.stdout).trim().to_owned()
    }

    fn git(&self, args: &[&str]) -> String {
        Repo::git_in(self.path(), args)
    }

    /// Commits everything; returns the new HEAD.
    fn commit(&self, message: &str) -> String {
        self.git(&["add", "-A"]);
        self.git(&["commit", "-q", "--allow-empty", "-m", message]);
        self.git(&["rev-parse", "HEAD"])
    }

    fn markers(&self) -> String {
        self.markers.path().display().to_string()
    }

    /// `topo-ci plan --format json` with the arguments given after the defaults.
    fn plan(&self, extra: &[&str]) -> Plan {
        self.plan_in(self.path(), extra)
    }

    fn plan_in(&self, dir: &Path, extra: &[&str]) -> Plan {
        plan_json(dir, &self.markers(), extra)
    }

    /// A tag release: the event that deploys.
    fn release(&self) -> Plan {
        self.plan(&["--event", "tag", "--ref-name", "v1.0.0"])
    }

    /// Records the plan's deploys, as CI does after a successful deploy.
    fn mark(&self, plan: &Plan) {
        let file = self.markers.path().join("plan.json");
        std::fs::write(&file, serde_json::to_string(plan).expect("json")).expect("write");
        topo_ci()
            .current_dir(self.path())
            .args(["mark", "--markers", &self.markers(), "--from-plan"])
            .arg(&file)
            .assert()
            .success();
    }

    /// `topo-ci fingerprint --format json` at HEAD: every service's fingerprint, computed
    /// from scratch, by container.
    fn fingerprints(&self) -> std::collections::BTreeMap<String, String> {
        let output = topo_ci()
            .current_dir(self.path())
            .args(["fingerprint", "--format", "json"])
            .output()
            .expect("topo-ci runs");
        json_of(&output, "fingerprint")
    }

    /// Asserts that each fingerprint of `plan` (HEAD's, brought forward from the markers'
    /// digests where they allow) is the one `topo-ci fingerprint` computes from scratch.
    /// Checks each fingerprint of `plan` against `fingerprint`'s from scratch, of every
    /// service and of that service alone (which computes nothing for the others).
    fn check_fingerprints(&self, plan: &Plan, when: &str) {
        let fresh = self.fingerprints();
        for service in &plan.services {
            assert_eq!(
                Some(&service.fingerprint),
                fresh.get(&service.container),
                "{when}: {} ({:?}, {}) differs from its fingerprint from scratch",
                service.container,
                service.reason,
                service.detail
            );
            let output = topo_ci()
                .current_dir(self.path())
                .args(["fingerprint", "--service", &service.container])
                .output()
                .expect("topo-ci runs");
            assert_eq!(
                String::from_utf8_lossy(&output.stdout).trim(),
                service.fingerprint,
                "{when}: {} alone",
                service.container
            );
        }
    }

    /// `topo-ci fingerprint --explain --format json` at HEAD, with `extra` arguments;
    /// `what` names the case in a failure.
    fn explain(&self, extra: &[&str], what: &str) -> topo_ci::plan::Explained {
        let output = topo_ci()
            .current_dir(self.path())
            .args(["fingerprint", "--explain", "--format", "json"])
            .args(extra)
            .output()
            .expect("topo-ci runs");
        json_of(&output, &format!("{what}: fingerprint --explain {extra:?}"))
    }

    /// Deploys everything (first release) and records it.
    fn deployed() -> Repo {
        let repo = Repo::new();
        let plan = repo.release();
        repo.mark(&plan);
        repo
    }
}

/// `topo-ci plan --env production --format json` in `dir` against `markers`.
fn plan_json(dir: &Path, markers: &str, extra: &[&str]) -> Plan {
    let output = topo_ci()
        .current_dir(dir)
        .env_remove("GITHUB_EVENT_NAME")
        .args(["plan", "--env", "production", "--format", "json"])
        .args(["--markers", markers])
        .args(extra)
        .output()
        .expect("topo-ci runs");
    json_of(&output, "plan")
}

/// The JSON document a `topo-ci COMMAND --format json` run printed; the run must succeed.
fn json_of<T: serde::de::DeserializeOwned>(output: &std::process::Output, command: &str) -> T {
    assert!(
        output.status.success(),
        "{command} failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    serde_json::from_slice(&output.stdout)
        .unwrap_or_else(|e| panic!("{command} printed no JSON document: {e}"))
}

fn topo_ci() -> Command {
    Command::cargo_bin("topo-ci").expect("the topo-ci binary is built")
}

/// One line per service: `container action reason [changed files]`.
fn check(plan: &Plan, expect: &str) {
    let got: Vec<String> = plan
        .services
        .iter()
        .map(|s| {
            let mut line = format!(
                "{} {} {}",
                s.container,
                s.action.as_str(),
                s.reason.as_str()
            );
            if !s.changed_files.is_empty() {
                line.push_str(&format!(" [{}]", s.changed_files.join(" ")));
            }
            line
        })
        .collect();
    let expect: Vec<&str> = expect
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .collect();
    assert_eq!(got, expect, "notes: {:?}", plan.notes);
}
