//! `--markers registry`: the registry as the marker store. `topo-ci mark` (and `topo deploy`,
//! in the workflow test) point `<repo>:production` (and `:production.<role>` for a service
//! running another's image) at the deployed manifest; `topo-ci plan` reads them back with
//! the image's labels, deciding by fingerprint where the marker commit is not in the clone.
//! Refusals (credentials, an unreachable registry, an image never pushed) name the registry
//! and move no tag.

use std::process::{Command, Output};

use assert_cmd::cargo::CommandCargoExt as _;
use serde_json::Value;

use super::push::{repo_for, Registry};
use super::{text, Repo};
use crate::common;

/// `topo-ci ARGS` in `dir` with `env`.
fn topo_ci(dir: &std::path::Path, env: &[(&str, &str)], args: &[&str]) -> Output {
    Command::cargo_bin("topo-ci")
        .expect("the topo-ci binary is built")
        .current_dir(dir)
        .env("NO_COLOR", "1")
        .env_remove("GITHUB_EVENT_NAME")
        .env_remove("GITHUB_REF_NAME")
        .env_remove("GITHUB_REF_TYPE")
        .envs(env.iter().copied())
        .args(args)
        .output()
        .expect("topo-ci runs")
}

/// The plan (JSON) against the registry's markers, which must succeed.
fn plan(dir: &std::path::Path, env: &[(&str, &str)]) -> Value {
    let output = topo_ci(
        dir,
        env,
        &[
            "plan",
            "--env",
            "production",
            "--markers",
            "registry",
            "--format",
            "json",
        ],
    );
    assert!(output.status.success(), "plan: {}", text(&output.stderr));
    serde_json::from_slice(&output.stdout).expect("a plan document")
}

/// Each service's action and reason.
fn decisions(plan: &Value) -> Vec<(String, String, String)> {
    plan["services"]
        .as_array()
        .expect("services")
        .iter()
        .map(|s| {
            (
                s["name"].as_str().unwrap_or_default().to_owned(),
                s["action"].as_str().unwrap_or_default().to_owned(),
                s["reason"].as_str().unwrap_or_default().to_owned(),
            )
        })
        .collect()
}

/// `plan --registry-user ci` with a wrong password and no stored credentials: exit 1,
/// the credentials refused. Its stderr.
fn refused_with_a_wrong_password(repo: &Repo) -> String {
    let empty = tempfile::tempdir().expect("tempdir");
    let output = topo_ci(
        repo.path(),
        &[
            ("DOCKER_CONFIG", &empty.path().display().to_string()),
            ("REGISTRY_PASSWORD", "wrong"),
        ],
        &[
            "plan",
            "--env",
            "production",
            "--markers",
            "registry",
            "--registry-user",
            "ci",
        ],
    );
    let stderr = text(&output.stderr);
    assert_eq!(output.status.code(), Some(1), "{stderr}");
    assert!(stderr.contains("refused the credentials"), "{stderr}");
    stderr
}

/// The plan in a depth-1 clone of the repository's HEAD.
fn plan_in_shallow_clone(repo: &Repo, env: &[(&str, &str)]) -> Value {
    let clone = tempfile::tempdir().expect("tempdir");
    let cloned = Command::new("git")
        .args(["clone", "-q", "--depth", "1"])
        .arg(format!("file://{}", repo.path().display()))
        .arg(clone.path())
        .output()
        .expect("git runs");
    assert!(cloned.status.success(), "{}", text(&cloned.stderr));
    plan(clone.path(), env)
}

fn all(plan: &Value, action: &str) -> bool {
    decisions(plan).iter().all(|(_, a, _)| a == action)
}

#[test]
fn registry_markers_record_deploys_and_decide_in_a_shallow_clone() {
    let test = "registry_markers_record_deploys_and_decide_in_a_shallow_clone";
    if !common::docker_available(test) {
        return;
    }
    let Some(registry) = Registry::start(test) else {
        return;
    };
    common::ensure_test_images();
    let repo: Repo = repo_for(&registry, "relmarks");
    let config = registry.docker_config().display().to_string();
    let env = [("DOCKER_CONFIG", config.as_str())];
    let report = repo.build_with(&env, &["--push"]);
    let digest = report.images[0].digest.clone().expect("pushed");

    // Nothing marked yet: everything deploys, and the plan says why.
    let first = plan(repo.path(), &env);
    assert!(all(&first, "deploy"), "{:?}", decisions(&first));
    let notes = first["notes"].to_string();
    assert!(notes.contains("has no tag"), "{notes}");
    assert!(notes.contains("relmarks-web:production"), "{notes}");
    let plan_file = repo.path().join("plan.json");
    std::fs::write(&plan_file, first.to_string()).expect("write");

    // The deploy is recorded as tags pointing at the pushed manifest.
    let marked = topo_ci(
        repo.path(),
        &env,
        &["mark", "--markers", "registry", "--from-plan", "plan.json"],
    );
    assert!(marked.status.success(), "mark: {}", text(&marked.stderr));
    for tag in ["production", "production.migrate", "production.worker"] {
        assert!(registry.has("acme/relmarks-web", tag), "{tag}");
    }
    let inspected = Command::new("docker")
        .env("DOCKER_CONFIG", &config)
        .args(["manifest", "inspect", "--insecure", "-v"])
        .arg(format!("{}/acme/relmarks-web:production", registry.host()))
        .output()
        .expect("docker runs");
    assert!(
        text(&inspected.stdout).contains(&digest),
        "the production tag is the pushed manifest {digest}: {}",
        text(&inspected.stdout)
    );

    // Read back: nothing changed since, nothing deploys.
    let second = plan(repo.path(), &env);
    assert!(all(&second, "skip"), "{:?}", decisions(&second));

    // A depth-1 clone of a later commit that touches no service: the marker commit is not
    // in the clone, the labels' fingerprints decide: nothing deploys.
    std::fs::write(repo.path().join("NOTES.md"), "release notes\n").expect("write");
    repo.commit("notes");
    let shallow = plan_in_shallow_clone(&repo, &env);
    assert!(all(&shallow, "skip"), "{:?}", decisions(&shallow));
    assert!(
        decisions(&shallow)
            .iter()
            .all(|(_, _, r)| r == "marker-unknown"),
        "{:?}",
        decisions(&shallow)
    );

    // A change to the web image in a depth-1 clone: its fingerprint differs, and every
    // service running that image deploys.
    std::fs::write(repo.path().join("apps/web/changed.txt"), "x\n").expect("write");
    repo.commit("change web");
    let changed = plan_in_shallow_clone(&repo, &env);
    assert!(all(&changed, "deploy"), "{:?}", decisions(&changed));

    refusals_move_no_tag(&repo, registry, &env);
}

/// Refusals: no credentials, wrong ones, an image never pushed, no registry (it is stopped
/// last). Each names the registry and what to do, and moves no tag.
fn refusals_move_no_tag(repo: &Repo, registry: Registry, env: &[(&str, &str)]) {
    let empty = tempfile::tempdir().expect("tempdir");
    let empty = empty.path().display().to_string();
    let planned = |env: &[(&str, &str)]| {
        let output = topo_ci(
            repo.path(),
            env,
            &["plan", "--env", "production", "--markers", "registry"],
        );
        (output.status.code(), text(&output.stderr))
    };
    let (code, stderr) = planned(&[("DOCKER_CONFIG", empty.as_str())]);
    assert_eq!(code, Some(1), "{stderr}");
    assert!(stderr.contains("no credentials for"), "{stderr}");
    assert!(stderr.contains(&registry.host()), "{stderr}");
    let (code, stderr) = planned(&[
        ("DOCKER_CONFIG", empty.as_str()),
        ("REGISTRY_PASSWORD", "wrong"),
    ]);
    assert_eq!(
        code,
        Some(1),
        "without --registry-user the password is not used: {stderr}"
    );
    assert!(stderr.contains("no credentials for"), "{stderr}");
    refused_with_a_wrong_password(repo);
    let never = topo_ci(
        repo.path(),
        env,
        &[
            "mark",
            "--markers",
            "registry",
            "--env",
            "staging",
            "--service",
            "web",
            "--commit",
            "HEAD",
            "--image",
            &format!("{}/acme/relmarks-web:never-pushed", registry.host()),
        ],
    );
    let stderr = text(&never.stderr);
    assert_eq!(never.status.code(), Some(1), "{stderr}");
    assert!(stderr.contains("push it before marking"), "{stderr}");
    assert!(!registry.has("acme/relmarks-web", "staging"));
    let host = registry.host();
    drop(registry);
    let output = topo_ci(
        repo.path(),
        env,
        &["plan", "--env", "production", "--markers", "registry"],
    );
    let stderr = text(&output.stderr);
    assert_eq!(output.status.code(), Some(1), "{stderr}");
    assert!(stderr.contains(&host), "{stderr}");
    assert!(stderr.contains("reachable"), "{stderr}");
}

/// The token (bearer) flow, as hosted registries speak it: the engine pushes with it, and
/// registry markers are read and written through it (pull, and pull-and-push scopes).
#[test]
fn registry_markers_speak_the_token_flow() {
    let test = "registry_markers_speak_the_token_flow";
    if !common::docker_available(test) {
        return;
    }
    let Some(registry) = Registry::start_token(test) else {
        return;
    };
    common::ensure_test_images();
    let repo: Repo = repo_for(&registry, "reltoken");
    let config = registry.docker_config().display().to_string();
    let env = [("DOCKER_CONFIG", config.as_str())];
    let report = repo.build_with(&env, &["--push"]);
    assert!(report.images[0].pushed, "{report:?}");
    let first = plan(repo.path(), &env);
    assert!(all(&first, "deploy"), "{:?}", decisions(&first));
    std::fs::write(repo.path().join("plan.json"), first.to_string()).expect("write");
    let marked = topo_ci(
        repo.path(),
        &env,
        &["mark", "--markers", "registry", "--from-plan", "plan.json"],
    );
    assert!(marked.status.success(), "mark: {}", text(&marked.stderr));
    let second = plan(repo.path(), &env);
    assert!(all(&second, "skip"), "{:?}", decisions(&second));
    // The token service refuses a wrong password: explained, exit 1.
    let stderr = refused_with_a_wrong_password(&repo);
    assert!(stderr.contains("token service"), "{stderr}");
}
