//! What topo-ci hands on: the JSON plan and its schema, GitHub outputs and the step
//! summary, the same plan through `topo plan`, fingerprints, and the documented workflow.

use assert_cmd::Command;

use crate::{common, topo_ci, Repo};

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
    let errors = common::schema_errors("docs/plan.schema.json", &document);
    assert!(errors.is_empty(), "{errors:?}");
    assert_eq!(document["version"], 2);
    assert_eq!(
        document["services"][0]["digests"]["recipe"],
        "topo-fingerprint/5"
    );
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
    let before = repo.fingerprints();
    repo.write("apps/server/CHANGELOG.md", "docs\n");
    repo.commit("docs only");
    assert_eq!(repo.fingerprints(), before);
    repo.write("apps/web/src/index.js", "// change\n");
    repo.commit("web");
    let after = repo.fingerprints();
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
        after["shop-web"]
    );
}

/// The workflow in docs/ci.md is the committed example (tests/release/workflow.rs runs its
/// steps against a registry and a production engine).
#[test]
fn the_documented_github_workflow_is_the_example() {
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
    assert!(workflow["jobs"]["deploy"].is_object(), "{workflow}");
}
