//! `topo build` and `topo render --images/--plan`: production images of a commit built in a
//! real engine (the prod-sim tests' application on the offline busybox image), tagged by
//! fingerprint and short commit, labelled, reused when present, and pinned into the
//! production Compose file. Each test has its own project (image names).

#[path = "release/actions.rs"]
mod actions;
mod common;
#[path = "release/digest.rs"]
mod digest;
#[path = "release/markers.rs"]
mod markers;
#[path = "release/pull.rs"]
mod pull;
#[path = "release/push.rs"]
mod push;
#[path = "release/remote.rs"]
mod remote;
#[path = "release/restart.rs"]
mod restart;
#[path = "release/ssh.rs"]
mod ssh;
#[path = "release/workflow.rs"]
mod workflow;

use std::path::Path;
use std::process::{Command, Output};

use assert_cmd::cargo::CommandCargoExt as _;
use serde_json::Value;
use topo_core::release::{BuildOutcome, BuildReport};

/// A git repository holding the deploy fixture as `project`, committed.
struct Repo {
    dir: tempfile::TempDir,
    project: String,
}

impl Repo {
    fn new(project: &str) -> Repo {
        let dir = tempfile::tempdir().expect("tempdir");
        common::copy_dir(
            &common::root().join("tests/fixtures/sim/apps"),
            &dir.path().join("apps"),
        );
        let topology =
            std::fs::read_to_string(common::root().join("tests/fixtures/deploy/topology.toml"))
                .expect("fixture")
                .replace("deployshop", project);
        std::fs::write(dir.path().join("topology.toml"), topology).expect("write");
        let repo = Repo {
            dir,
            project: project.to_owned(),
        };
        repo.git(&["init", "-q", "-b", "main"]);
        repo.commit("first");
        repo.remove_images();
        repo
    }

    fn path(&self) -> &Path {
        self.dir.path()
    }

    fn git(&self, args: &[&str]) -> String {
        let output = Command::new("git")
            .current_dir(self.path())
            .args(["-c", "user.name=t", "-c", "user.email=t@example.invalid"])
            .args(args)
            .output()
            .expect("git runs");
        assert!(
            output.status.success(),
            "git {args:?}: {}",
            text(&output.stderr)
        );
        text(&output.stdout).trim().to_owned()
    }

    fn commit(&self, message: &str) {
        self.git(&["add", "-A"]);
        self.git(&["commit", "-q", "-m", message]);
    }

    /// `topo ARGS` in the repository.
    fn topo(&self, args: &[&str]) -> Output {
        self.topo_with(&[], args)
    }

    /// `topo ARGS` in the repository, with `env` set.
    fn topo_with(&self, env: &[(&str, &str)], args: &[&str]) -> Output {
        Command::cargo_bin("topo")
            .expect("the topo binary is built")
            .current_dir(self.path())
            .env("NO_COLOR", "1")
            .env_remove("GITHUB_SERVER_URL")
            .envs(env.iter().copied())
            .args(args)
            .output()
            .expect("topo runs")
    }

    /// `topo build ARGS --format json`, which must succeed.
    fn build(&self, args: &[&str]) -> BuildReport {
        self.build_with(&[], args)
    }

    /// `topo build ARGS --format json` with `env` set, which must succeed.
    fn build_with(&self, env: &[(&str, &str)], args: &[&str]) -> BuildReport {
        let mut all = vec!["build", "--format", "json"];
        all.extend_from_slice(args);
        let output = self.topo_with(env, &all);
        assert!(
            output.status.success(),
            "topo build: {}",
            text(&output.stderr)
        );
        BuildReport::parse(&text(&output.stdout)).expect("a build report")
    }

    /// `topo render --mode production ARGS`, which must succeed: the production file.
    fn production(&self, args: &[&str]) -> String {
        let mut all = vec!["render", "--mode", "production"];
        all.extend_from_slice(args);
        let render = self.topo(&all);
        assert!(render.status.success(), "{}", text(&render.stderr));
        std::fs::read_to_string(self.path().join("docker-compose.prod.yml")).expect("rendered")
    }

    /// Removes this project's images, with or without a registry in their name (quietly:
    /// also where no engine answers).
    fn remove_images(&self) {
        let listed = Command::new("docker")
            .args(["images", "--format", "{{.Repository}}:{{.Tag}}"])
            .output();
        let Ok(listed) = listed else { return };
        let name = format!("{}-web", self.project);
        for image in text(&listed.stdout).lines() {
            let repository = image.rsplit_once(':').map_or(image, |(r, _)| r);
            if repository == name || repository.ends_with(&format!("/{name}")) {
                let _ = Command::new("docker").args(["rmi", "-f", image]).output();
            }
        }
    }
}

impl Drop for Repo {
    fn drop(&mut self) {
        self.remove_images();
    }
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

fn labels_of(image: &str) -> Value {
    common::inspect("image", image)["Config"]["Labels"].clone()
}

#[test]
fn build_tags_labels_and_reuses_the_production_image() {
    if !common::docker_available("build_tags_labels_and_reuses_the_production_image") {
        return;
    }
    common::ensure_test_images();
    let repo = Repo::new("relbuild");
    let head = repo.git(&["rev-parse", "HEAD"]);
    let report = repo.build(&[]);
    assert_eq!(report.revision.as_deref(), Some(head.as_str()));
    assert_eq!(
        report.images.len(),
        1,
        "one image serves web, migrate and worker"
    );
    let image = &report.images[0];
    assert_eq!(
        image.containers,
        ["relbuild-web", "relbuild-migrate", "relbuild-worker"]
    );
    assert_eq!(image.outcome, BuildOutcome::Built);
    assert_eq!(image.image, format!("relbuild-web:{}", image.fingerprint));
    // The fingerprint is the one topo-ci computes for the service (what a plan deploys).
    let fingerprint = Command::cargo_bin("topo-ci")
        .expect("topo-ci")
        .current_dir(repo.path())
        .args(["fingerprint", "--service", "web"])
        .output()
        .expect("runs");
    assert_eq!(text(&fingerprint.stdout).trim(), image.fingerprint);
    // Tagged by fingerprint and short commit, one image id; labelled with where it came from.
    let short = &head[..10];
    assert_eq!(image.tags, [image.fingerprint.as_str(), short]);
    let by_commit = common::inspect("image", &format!("relbuild-web:{short}"));
    assert_eq!(
        Some(by_commit["Id"].as_str().expect("id")),
        image.id.as_deref()
    );
    let labels = labels_of(&image.image);
    assert_eq!(labels["org.opencontainers.image.revision"], head.as_str());
    assert_eq!(labels["topo.fingerprint"], image.fingerprint.as_str());
    assert!(
        labels["org.opencontainers.image.created"]
            .as_str()
            .is_some_and(|c| c.ends_with('Z')),
        "{labels}"
    );
    assert_eq!(labels["topo.test.stage"], "prod", "the production target");
    // The report follows its published schema.
    let document: Value = serde_json::from_str(&report.to_json()).expect("json");
    let errors = common::schema_errors("docs/build.schema.json", &document);
    assert!(errors.is_empty(), "{errors:?}");
    // The same commit again: found by its fingerprint tag, not built.
    let again = repo.build(&[]);
    assert_eq!(again.images[0].outcome, BuildOutcome::Reused);
    assert_eq!(again.images[0].id, image.id);
    // A change outside the context (a README at the root) keeps the fingerprint: reused.
    std::fs::write(repo.path().join("NOTES.md"), "notes\n").expect("write");
    repo.commit("notes");
    let unchanged = repo.build(&[]);
    assert_eq!(unchanged.images[0].outcome, BuildOutcome::Reused);
    assert_eq!(unchanged.images[0].fingerprint, image.fingerprint);
    // A change inside it: a new fingerprint, built.
    std::fs::write(repo.path().join("apps/web/www/new.html"), "new\n").expect("write");
    repo.commit("web");
    let changed = repo.build(&[]);
    assert_eq!(changed.images[0].outcome, BuildOutcome::Built);
    assert_ne!(changed.images[0].fingerprint, image.fingerprint);
    // A failing build names the services, the step and its output.
    let dockerfile = repo.path().join("apps/web/Dockerfile");
    let text_of = std::fs::read_to_string(&dockerfile).expect("Dockerfile");
    std::fs::write(
        &dockerfile,
        text_of.replace("RUN echo", "RUN echo broken >&2 && false && echo"),
    )
    .expect("write");
    repo.commit("broken");
    let output = repo.topo(&["build"]);
    let stderr = text(&output.stderr);
    assert_eq!(output.status.code(), Some(1), "{stderr}");
    assert!(
        stderr.contains("the image of relbuild-web, relbuild-migrate, relbuild-worker")
            && stderr.contains("RUN echo broken")
            && stderr.contains("broken"),
        "{stderr}"
    );
}

#[test]
fn build_follows_a_plan_and_render_pins_what_it_built() {
    if !common::docker_available("build_follows_a_plan_and_render_pins_what_it_built") {
        return;
    }
    common::ensure_test_images();
    let repo = Repo::new("relplan");
    let plan = Command::cargo_bin("topo-ci")
        .expect("topo-ci")
        .current_dir(repo.path())
        .args(["plan", "--env", "production", "--format", "json"])
        .args([
            "--markers",
            &repo.path().join("markers").display().to_string(),
        ])
        .output()
        .expect("runs");
    assert!(plan.status.success(), "{}", text(&plan.stderr));
    std::fs::write(repo.path().join("plan.json"), &plan.stdout).expect("write");
    let document: Value = serde_json::from_slice(&plan.stdout).expect("json");
    let planned = document["services"][0]["image"]
        .as_str()
        .expect("image")
        .to_owned();
    let report_path = repo.path().join("build.json");
    let report = repo.build(&[
        "--plan",
        "plan.json",
        "--report",
        &report_path.display().to_string(),
    ]);
    assert_eq!(report.images.len(), 1);
    assert_eq!(
        report.images[0].image, planned,
        "the plan's image, as planned"
    );
    let written = BuildReport::parse(&std::fs::read_to_string(&report_path).expect("report"))
        .expect("the --report file is the report");
    assert_eq!(written, report);
    // A plan whose services all skip builds nothing.
    let mut skipping = document.clone();
    for service in skipping["services"].as_array_mut().expect("services") {
        service["action"] = "skip".into();
    }
    std::fs::write(repo.path().join("skip.json"), skipping.to_string()).expect("write");
    assert!(repo.build(&["--plan", "skip.json"]).images.is_empty());

    // The production file runs exactly that image: by the plan's tag, by the report's,
    // by digest once the report has one.
    let production = repo.production(&["--plan", "plan.json"]);
    assert_eq!(
        production.matches(&format!("image: {planned}\n")).count(),
        3,
        "{production}"
    );
    let production = repo.production(&["--images", "build.json"]);
    assert_eq!(
        production.matches(&format!("image: {planned}\n")).count(),
        3,
        "{production}"
    );
    assert!(!production.contains("${TAG"), "{production}");
    assert!(
        production.contains(
            "Production, its images pinned: `docker compose -f docker-compose.prod.yml up -d`"
        ),
        "{production}"
    );
    let mut pushed = report.clone();
    pushed.images[0].digest = Some(format!("sha256:{}", "ab".repeat(32)));
    std::fs::write(repo.path().join("pushed.json"), pushed.to_json()).expect("write");
    let production = repo.production(&["--images", "pushed.json"]);
    let by_digest = format!("image: relplan-web@sha256:{}\n", "ab".repeat(32));
    assert_eq!(production.matches(&by_digest).count(), 3, "{production}");
    // Compose reads it with no tag variable set: the images are pinned.
    if common::compose_v2_available("build_follows_a_plan_and_render_pins_what_it_built") {
        let config = Command::new("docker")
            .current_dir(repo.path())
            .env_remove("TAG")
            .env("SHOP_DB_PASSWORD", "x")
            .args([
                "compose",
                "-f",
                "docker-compose.prod.yml",
                "config",
                "--images",
            ])
            .output()
            .expect("docker compose runs");
        assert!(config.status.success(), "{}", text(&config.stderr));
        let digest = format!("relplan-web@sha256:{}", "ab".repeat(32));
        assert!(
            text(&config.stdout).contains(&digest),
            "{}",
            text(&config.stdout)
        );
    }
}

#[test]
fn build_refuses_what_it_cannot_build_without_touching_the_engine() {
    let repo_dir = tempfile::tempdir().expect("tempdir");
    std::fs::write(
        repo_dir.path().join("topology.toml"),
        "project = \"nogit\"\n[[services]]\nrole = \"web\"\ncontext = \".\"\n",
    )
    .expect("write");
    let output = Command::cargo_bin("topo")
        .expect("topo")
        .current_dir(repo_dir.path())
        .args(["build"])
        .output()
        .expect("runs");
    assert_eq!(output.status.code(), Some(1), "{}", text(&output.stderr));
    assert!(
        text(&output.stderr).contains("git"),
        "{}",
        text(&output.stderr)
    );
    // An unknown service is a usage error (exit 2), before any build.
    let repo = Repo {
        dir: repo_dir,
        project: "nogit".to_owned(),
    };
    repo.git(&["init", "-q", "-b", "main"]);
    repo.commit("first");
    let output = repo.topo(&["build", "nosuch"]);
    assert_eq!(output.status.code(), Some(2), "{}", text(&output.stderr));
    assert!(
        text(&output.stderr).contains("`nosuch` is not a service"),
        "{}",
        text(&output.stderr)
    );
    // Not a report: located, exit 1, nothing written.
    std::fs::write(
        repo.path().join("bad.json"),
        "{\"version\": 1,\n \"images\": 3}",
    )
    .expect("write");
    let output = repo.topo(&["render", "--mode", "production", "--images", "bad.json"]);
    assert_eq!(output.status.code(), Some(1));
    assert!(
        text(&output.stderr).contains("bad.json:2:12: error: not a topo build report"),
        "{}",
        text(&output.stderr)
    );
    assert!(!repo.path().join("docker-compose.prod.yml").exists());
}
