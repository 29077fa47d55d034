//! `topo-ci plan` / `mark` / `fingerprint` on real git repositories made by each test.
//!
//! The tests use the git CLI to build histories (clones, merges, rewrites, submodules);
//! topo-ci itself reads them through gix only.

mod common;

use std::path::{Path, PathBuf};
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
    assert!(
        output.status.success(),
        "plan failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    serde_json::from_slice(&output.stdout).expect("a plan document")
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

#[test]
fn first_deploy_deploys_everything() {
    let repo = Repo::new();
    let plan = repo.release();
    check(
        &plan,
        "shop-server deploy no-previous-deploy
         shop-worker deploy no-previous-deploy
         shop-web deploy no-previous-deploy",
    );
    assert_eq!(plan.head, repo.git(&["rev-parse", "HEAD"]));
    assert!(plan.deploys);
    // The worker runs the server's image, under the server's fingerprint.
    let server = &plan.services[0];
    let worker = &plan.services[1];
    assert_eq!(server.image, format!("shop-server:{}", server.fingerprint));
    assert_eq!(worker.image, server.image);
    assert_ne!(worker.fingerprint, server.fingerprint);
}

#[test]
fn nothing_changed_skips_everything() {
    let repo = Repo::deployed();
    repo.write("elsewhere/notes.txt", "outside every scope\n");
    repo.commit("outside");
    let plan = repo.release();
    check(
        &plan,
        "shop-server skip unchanged
         shop-worker skip unchanged
         shop-web skip unchanged",
    );
    // Unchanged services keep the recorded fingerprints and images without recomputing
    // them; they are what a fresh computation gives.
    let output = topo_ci()
        .current_dir(repo.path())
        .args(["fingerprint", "--format", "json"])
        .output()
        .expect("runs");
    let fresh: serde_json::Value = serde_json::from_slice(&output.stdout).expect("json");
    for service in &plan.services {
        assert_eq!(fresh[&service.container], service.fingerprint.as_str());
    }
    assert_eq!(plan.services[1].image, plan.services[0].image);
}

#[test]
fn a_change_in_a_service_directory_deploys_it_and_the_services_on_its_image() {
    let repo = Repo::deployed();
    repo.write("apps/server/src/index.js", "// changed\n");
    repo.commit("server change");
    check(
        &repo.release(),
        "shop-server deploy changed [apps/server/src/index.js]
         shop-worker deploy dependency-changed [apps/server/src/index.js]
         shop-web skip unchanged",
    );
}

#[test]
fn a_change_only_in_an_excluded_file_deploys_nothing() {
    let repo = Repo::deployed();
    repo.write("apps/server/NOTES.md", "notes\n");
    repo.write("README.md", "# shop, documented\n");
    repo.commit("docs");
    let plan = repo.release();
    check(
        &plan,
        "shop-server skip unchanged
         shop-worker skip unchanged
         shop-web skip unchanged",
    );
    assert_eq!(plan.services[0].excluded_count, 1);
    assert!(plan.services[0].detail.contains("all excluded"));
}

#[test]
fn a_move_between_services_deploys_both_sides() {
    let repo = Repo::deployed();
    repo.git(&["mv", "apps/server/src/lib.js", "apps/web/src/shared.js"]);
    repo.commit("move lib to web");
    check(
        &repo.release(),
        "shop-server deploy changed [apps/server/src/lib.js]
         shop-worker deploy dependency-changed [apps/server/src/lib.js]
         shop-web deploy changed [apps/web/src/shared.js]",
    );
}

#[test]
fn a_deletion_counts() {
    let repo = Repo::deployed();
    std::fs::remove_dir_all(repo.path().join("apps/web/src")).expect("rm");
    repo.commit("delete web sources");
    check(
        &repo.release(),
        "shop-server skip unchanged
         shop-worker skip unchanged
         shop-web deploy changed [apps/web/src/index.js apps/web/src/lib.js]",
    );
}

#[test]
fn a_merge_commit_brings_both_sides() {
    let repo = Repo::deployed();
    repo.git(&["checkout", "-q", "-b", "feature"]);
    repo.write("apps/web/src/index.js", "// feature\n");
    repo.commit("web feature");
    repo.git(&["checkout", "-q", "main"]);
    repo.write("apps/server/src/lib.js", "// fix\n");
    repo.commit("server fix");
    repo.git(&["merge", "-q", "--no-ff", "feature", "-m", "merge feature"]);
    check(
        &repo.release(),
        "shop-server deploy changed [apps/server/src/lib.js]
         shop-worker deploy dependency-changed [apps/server/src/lib.js]
         shop-web deploy changed [apps/web/src/index.js]",
    );
}

/// Deploys, then rewrites the deployed commit away (amend + expire + gc): the marker
/// commit no longer exists anywhere in the repository.
fn rewritten(change_web: bool, fingerprints: bool) -> Repo {
    let repo = Repo::new();
    repo.write("apps/server/src/index.js", "// to be rewritten\n");
    let deployed = repo.commit("will be amended");
    let plan = repo.release();
    if fingerprints {
        repo.mark(&plan);
    } else {
        for service in ["server", "worker", "web"] {
            topo_ci()
                .current_dir(repo.path())
                .args(["mark", "--env", "production", "--markers", &repo.markers()])
                .args(["--service", service, "--commit", &deployed])
                .assert()
                .success();
        }
    }
    repo.git(&["commit", "-q", "--amend", "-m", "amended, same tree"]);
    if change_web {
        repo.write("apps/web/src/index.js", "// after the rewrite\n");
        repo.commit("web change");
    }
    repo.git(&["reflog", "expire", "--expire=now", "--all"]);
    repo.git(&["gc", "-q", "--prune=now"]);
    let missing = Process::new("git")
        .args(["cat-file", "-e", &deployed])
        .current_dir(repo.path())
        .status()
        .expect("git");
    assert!(!missing.success(), "the deployed commit must be gone");
    repo
}

#[test]
fn rewritten_history_falls_back_to_recorded_fingerprints() {
    let repo = rewritten(true, true);
    let plan = repo.release();
    check(
        &plan,
        "shop-server skip marker-unknown
         shop-worker skip marker-unknown
         shop-web deploy marker-unknown",
    );
    assert!(
        plan.notes
            .iter()
            .any(|n| n.contains("not in this clone") && n.contains("fetch-depth: 0")),
        "{:?}",
        plan.notes
    );
}

#[test]
fn rewritten_history_without_fingerprints_deploys() {
    let repo = rewritten(false, false);
    let plan = repo.release();
    check(
        &plan,
        "shop-server deploy marker-unknown
         shop-worker deploy marker-unknown
         shop-web deploy marker-unknown",
    );
    assert!(plan.services[0]
        .detail
        .contains("no fingerprint was recorded"));
}

#[test]
fn a_depth_1_clone_decides_by_fingerprint() {
    let repo = Repo::deployed();
    repo.write("apps/web/src/index.js", "// web change\n");
    repo.commit("web change");
    let clone = tempfile::tempdir().expect("tempdir");
    let url = format!("file://{}", repo.path().display());
    Repo::git_in(
        clone.path(),
        &["clone", "-q", "--depth", "1", &url, "shallow"],
    );
    let shallow = clone.path().join("shallow");
    assert_eq!(
        Repo::git_in(&shallow, &["rev-parse", "--is-shallow-repository"]),
        "true"
    );
    let plan = repo.plan_in(&shallow, &["--event", "tag", "--ref-name", "v2"]);
    check(
        &plan,
        "shop-server skip marker-unknown
         shop-worker skip marker-unknown
         shop-web deploy marker-unknown",
    );
    // The same fingerprints as the full clone computes: stable across clones.
    let full = repo.release();
    for (a, b) in plan.services.iter().zip(&full.services) {
        assert_eq!(a.fingerprint, b.fingerprint, "{}", a.container);
    }
}

#[test]
fn a_push_to_main_only_builds_and_a_tag_deploys() {
    let repo = Repo::deployed();
    repo.write("apps/web/src/index.js", "// web change\n");
    repo.commit("web change");
    let push = repo.plan(&["--event", "push", "--ref-name", "main"]);
    check(
        &push,
        "shop-server skip unchanged
         shop-worker skip unchanged
         shop-web build release-gate [apps/web/src/index.js]",
    );
    assert!(!push.deploys);
    assert_eq!(push.services[2].cause.map(|c| c.as_str()), Some("changed"));
    let tag = repo.plan(&["--event", "tag", "--ref-name", "v1.1.0"]);
    check(
        &tag,
        "shop-server skip unchanged
         shop-worker skip unchanged
         shop-web deploy changed [apps/web/src/index.js]",
    );
    // A tag that does not match `v*` does not release.
    let other = repo.plan(&["--event", "tag", "--ref-name", "nightly"]);
    assert_eq!(other.services[2].action.as_str(), "build");
}

#[test]
fn a_root_lockfile_change_deploys_every_service() {
    let repo = Repo::deployed();
    repo.write("package-lock.json", "{\"lockfileVersion\": 3}\n");
    repo.commit("bump deps");
    check(
        &repo.release(),
        "shop-server deploy changed [package-lock.json]
         shop-worker deploy dependency-changed [package-lock.json]
         shop-web deploy changed [package-lock.json]",
    );
}

#[test]
fn editing_one_services_topology_entry_redeploys_it_alone() {
    let repo = Repo::deployed();
    repo.write(
        "topology.toml",
        &TOPOLOGY.replace(
            "env = { API = \"http://shop-server:3000\" }",
            "env = { API = \"http://shop-server:3000\", FEATURE = \"on\" }",
        ),
    );
    repo.commit("web: feature flag");
    let plan = repo.release();
    check(
        &plan,
        "shop-server skip unchanged
         shop-worker skip unchanged
         shop-web deploy config-changed",
    );
    assert!(plan.services[2]
        .detail
        .contains("production configuration changed"));
}

#[test]
fn a_corrupt_marker_file_is_an_error_naming_the_file() {
    let repo = Repo::deployed();
    let file = repo.markers.path().join("topo-markers.json");
    let text = std::fs::read_to_string(&file).expect("read");
    std::fs::write(&file, &text[..text.len() / 2]).expect("truncate");
    let output = topo_ci()
        .current_dir(repo.path())
        .args(["plan", "--env", "production", "--markers", &repo.markers()])
        .output()
        .expect("runs");
    assert_eq!(output.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains(&format!("{}:", file.display())) && stderr.contains("corrupt"),
        "{stderr}"
    );
    assert!(output.stdout.is_empty(), "no plan on a corrupt marker");
}

#[test]
fn a_submodule_bump_counts_for_the_directory_holding_it() {
    let upstream = Repo::new();
    let repo = Repo::new();
    let url = format!("file://{}", upstream.path().display());
    repo.git(&["submodule", "add", "-q", &url, "apps/server/vendor/lib"]);
    repo.commit("add submodule");
    let plan = repo.release();
    repo.mark(&plan);
    upstream.write("apps/server/src/index.js", "// upstream change\n");
    upstream.commit("upstream change");
    Repo::git_in(
        &repo.path().join("apps/server/vendor/lib"),
        &["pull", "-q", "origin", "main"],
    );
    repo.commit("bump submodule");
    check(
        &repo.release(),
        "shop-server deploy changed [apps/server/vendor/lib]
         shop-worker deploy dependency-changed [apps/server/vendor/lib]
         shop-web skip unchanged",
    );
}

#[test]
fn forcing_by_flag_or_commit_message() {
    let repo = Repo::deployed();
    repo.commit("nothing");
    check(
        &repo.plan(&["--event", "tag", "--ref-name", "v1", "--force", "web"]),
        "shop-server skip unchanged
         shop-worker skip unchanged
         shop-web deploy forced",
    );
    repo.commit("redeploy please [topo force: server]");
    let plan = repo.plan(&["--event", "push", "--ref-name", "main"]);
    check(
        &plan,
        "shop-server deploy forced
         shop-worker skip unchanged
         shop-web skip unchanged",
    );
    assert!(plan.notes.iter().any(|n| n.contains("commit message")));
    topo_ci()
        .current_dir(repo.path())
        .args(["plan", "--env", "production", "--markers", &repo.markers()])
        .args(["--force", "nope"])
        .assert()
        .code(1)
        .stderr(predicates::str::contains("cannot force `nope`"));
}

#[test]
fn git_ref_markers_round_trip_and_move_atomically() {
    let repo = Repo::new();
    let plan = repo.release();
    let file = repo.markers.path().join("plan.json");
    std::fs::write(&file, serde_json::to_string(&plan).expect("json")).expect("write");
    for _ in 0..2 {
        topo_ci()
            .current_dir(repo.path())
            .args(["mark", "--markers", "git:refs/topo/deployed", "--from-plan"])
            .arg(&file)
            .assert()
            .success();
    }
    // Two records: two commits on the ref, the second on top of the first.
    let log = repo.git(&["log", "--format=%s", "refs/topo/deployed"]);
    assert_eq!(log.lines().count(), 2, "{log}");
    let document = repo.git(&["show", "refs/topo/deployed:topo-markers.json"]);
    assert!(document.contains("\"shop-server\""), "{document}");
    repo.commit("nothing");
    let plan = plan_json(
        repo.path(),
        "git:refs/topo/deployed",
        &["--event", "manual"],
    );
    check(
        &plan,
        "shop-server skip unchanged
         shop-worker skip unchanged
         shop-web skip unchanged",
    );
}

#[test]
fn the_json_plan_follows_its_published_schema() {
    let repo = Repo::new();
    let output = topo_ci()
        .current_dir(repo.path())
        .args([
            "plan",
            "--env",
            "production",
            "--format",
            "json",
            "--markers",
            &repo.markers(),
        ])
        .output()
        .expect("runs");
    let document: serde_json::Value = serde_json::from_slice(&output.stdout).expect("json");
    let schema: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(common::root().join("docs/plan.schema.json")).expect("schema"),
    )
    .expect("schema json");
    let validator = jsonschema::validator_for(&schema).expect("a valid schema");
    let errors: Vec<String> = validator
        .iter_errors(&document)
        .map(|e| e.to_string())
        .collect();
    assert!(errors.is_empty(), "{errors:?}");
    assert_eq!(document["version"], 1);
}

#[test]
fn github_outputs_and_step_summary() {
    let repo = Repo::deployed();
    repo.write("apps/web/src/index.js", "// change | with a pipe\n");
    repo.commit("web");
    let outputs = repo.markers.path().join("github_output");
    let summary = repo.markers.path().join("step_summary");
    topo_ci()
        .current_dir(repo.path())
        .env("GITHUB_OUTPUT", &outputs)
        .env("GITHUB_STEP_SUMMARY", &summary)
        .env("GITHUB_EVENT_NAME", "push")
        .env("GITHUB_REF_TYPE", "tag")
        .env("GITHUB_REF_NAME", "v3.0.0")
        .args([
            "plan",
            "--env",
            "production",
            "--format",
            "github",
            "--markers",
            &repo.markers(),
        ])
        .assert()
        .success();
    let outputs = std::fs::read_to_string(outputs).expect("outputs");
    let lines: Vec<&str> = outputs.lines().collect();
    assert_eq!(lines[0], r#"deploy=["shop-web"]"#);
    assert!(
        lines[1].starts_with(r#"images=["shop-web:"#),
        "{}",
        lines[1]
    );
    assert_eq!(
        &lines[2..6],
        [
            "any=true",
            "shop-server=skip",
            "shop-worker=skip",
            "shop-web=deploy"
        ]
    );
    assert!(lines[6].starts_with("plan={"));
    let summary = std::fs::read_to_string(summary).expect("summary");
    assert!(
        summary.contains("| `shop-web` | **deploy** | changed |"),
        "{summary}"
    );
    assert!(summary.contains("Event `tag v3.0.0`"), "{summary}");
}

#[test]
fn topo_plan_is_the_same_plan() {
    let repo = Repo::deployed();
    repo.write("apps/server/src/lib.js", "// x\n");
    repo.commit("server");
    let args = [
        "plan",
        "--env",
        "production",
        "--event",
        "manual",
        "--format",
        "markdown",
    ];
    let run = |mut command: Command| {
        let output = command
            .current_dir(repo.path())
            .args(args)
            .args(["--markers", &repo.markers()])
            .output()
            .expect("runs");
        assert!(output.status.success());
        String::from_utf8(output.stdout).expect("utf-8")
    };
    let via_topo = run(Command::cargo_bin("topo").expect("topo"));
    let via_ci = run(topo_ci());
    assert_eq!(via_topo, via_ci);
    assert!(via_ci.contains("| `shop-server` | **deploy** | changed |"));
}

#[test]
fn fingerprints_ignore_excluded_files_and_history() {
    let repo = Repo::new();
    let fingerprint = |repo: &Repo| {
        let output = topo_ci()
            .current_dir(repo.path())
            .args(["fingerprint", "--format", "json"])
            .output()
            .expect("runs");
        assert!(output.status.success());
        serde_json::from_slice::<serde_json::Value>(&output.stdout).expect("json")
    };
    let before = fingerprint(&repo);
    repo.write("apps/server/CHANGELOG.md", "docs\n");
    repo.commit("docs only");
    assert_eq!(fingerprint(&repo), before);
    repo.write("apps/web/src/index.js", "// change\n");
    repo.commit("web");
    let after = fingerprint(&repo);
    assert_eq!(after["shop-server"], before["shop-server"]);
    assert_ne!(after["shop-web"], before["shop-web"]);
    // `--service` prints the fingerprint alone: usable as an image tag.
    let output = topo_ci()
        .current_dir(repo.path())
        .args(["fingerprint", "--service", "web"])
        .output()
        .expect("runs");
    assert_eq!(
        String::from_utf8_lossy(&output.stdout).trim(),
        after["shop-web"].as_str().expect("string")
    );
}

#[test]
fn a_topology_in_a_subdirectory_plans_relative_to_it() {
    let repo = Repo::new();
    // Move everything under deploy/: the repository root is one level up.
    let nested = tempfile::tempdir().expect("tempdir");
    Repo::git_in(nested.path(), &["init", "-q", "-b", "main"]);
    let from: PathBuf = repo.path().to_owned();
    let to = nested.path().join("deploy");
    std::fs::create_dir_all(&to).expect("mkdir");
    for entry in ["topology.toml", "package-lock.json", "apps"] {
        std::fs::rename(from.join(entry), to.join(entry)).expect("move");
    }
    Repo::git_in(nested.path(), &["add", "-A"]);
    Repo::git_in(nested.path(), &["commit", "-q", "-m", "nested"]);
    let topology = ["-t", "deploy/topology.toml"];
    let plan = plan_json(nested.path(), &repo.markers(), &topology);
    assert_eq!(plan.topology, "deploy/topology.toml");
    repo.mark(&plan);
    std::fs::write(to.join("apps/web/src/index.js"), "// nested change\n").expect("write");
    Repo::git_in(nested.path(), &["commit", "-q", "-am", "web"]);
    let plan = plan_json(
        nested.path(),
        &repo.markers(),
        &["-t", "deploy/topology.toml", "--event", "manual"],
    );
    check(
        &plan,
        "shop-server skip unchanged
         shop-worker skip unchanged
         shop-web deploy changed [deploy/apps/web/src/index.js]",
    );
}

/// The workflow in docs/ci.md is the committed example, and its `topo-ci` steps work: the
/// plan job's script, then the deploy job's `mark`, run by bash in a real repository.
#[test]
fn the_documented_github_workflow_runs() {
    let root = common::root();
    let example =
        std::fs::read_to_string(root.join("examples/github-actions/deploy.yml")).expect("example");
    let docs = std::fs::read_to_string(root.join("docs/ci.md")).expect("docs");
    let body: String = example
        .lines()
        .skip_while(|line| line.starts_with('#'))
        .map(|line| format!("{line}\n"))
        .collect();
    assert!(
        docs.contains(&body),
        "docs/ci.md and examples/github-actions/deploy.yml differ"
    );

    let workflow: serde_json::Value = serde_saphyr::from_str(&example).expect("valid YAML");
    let scripts: Vec<String> = ["plan", "deploy"]
        .iter()
        .flat_map(|job| {
            workflow["jobs"][job]["steps"]
                .as_array()
                .expect("steps")
                .iter()
                .filter_map(|step| step["run"].as_str())
                .filter(|run| run.contains("topo-ci"))
                .map(str::to_owned)
                .collect::<Vec<_>>()
        })
        .collect();
    assert_eq!(scripts.len(), 2, "{scripts:?}");
    let repo = Repo::new();
    let bin = assert_cmd::cargo::cargo_bin("topo-ci");
    let path = format!(
        "{}:{}",
        bin.parent().expect("bin dir").display(),
        std::env::var("PATH").unwrap_or_default()
    );
    let outputs = repo.markers.path().join("github_output");
    for script in &scripts {
        let status = Process::new("bash")
            .args(["-e", "-c", script])
            .current_dir(repo.path())
            .env("PATH", &path)
            .env("GITHUB_OUTPUT", &outputs)
            .env("GITHUB_EVENT_NAME", "push")
            .env("GITHUB_REF_TYPE", "tag")
            .env("GITHUB_REF_NAME", "v1.0.0")
            .env_remove("GITHUB_STEP_SUMMARY")
            .status()
            .expect("bash runs");
        assert!(status.success(), "{script}");
    }
    let outputs = std::fs::read_to_string(outputs).expect("outputs");
    assert!(
        outputs.contains(r#"deploy=["shop-server","shop-worker","shop-web"]"#),
        "{outputs}"
    );
    let markers = std::fs::read_to_string(repo.path().join(".topo-markers/topo-markers.json"))
        .expect("the deploy job recorded markers");
    for container in ["shop-server", "shop-worker", "shop-web"] {
        assert!(markers.contains(container), "{markers}");
    }
}
