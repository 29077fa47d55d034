//! Pull-request plans: `--base REF` compares head with the merge-base of REF and head (what a
//! merge would deploy), and GitHub's pull-request variables give the base when no flag does.

use std::path::Path;

use topo_ci::plan::{BaseSource, Plan};

use crate::{check, json_of, topo_ci, Repo};

/// A feature branch changing the web app off `main`; then `main` moves on with a change to
/// the server. Checked out: the branch. Returns (merge-base, main's tip).
fn branched() -> (Repo, String, String) {
    let repo = Repo::new();
    let fork = repo.git(&["rev-parse", "HEAD"]);
    repo.git(&["checkout", "-q", "-b", "feature"]);
    repo.write("apps/web/src/index.js", "// web, on the branch\n");
    repo.commit("web change");
    repo.git(&["checkout", "-q", "main"]);
    repo.write("apps/server/src/lib.js", "// server, on main\n");
    let main = repo.commit("server change on main");
    repo.git(&["checkout", "-q", "feature"]);
    (repo, fork, main)
}

/// `topo-ci plan --env production` with no markers, GitHub's variables as given.
fn run(dir: &Path, args: &[&str], github: &[(&str, &str)]) -> std::process::Output {
    let mut command = topo_ci();
    command.current_dir(dir);
    for key in [
        "GITHUB_EVENT_NAME",
        "GITHUB_BASE_REF",
        "GITHUB_EVENT_PATH",
        "GITHUB_REF_NAME",
        "GITHUB_REF_TYPE",
        "GITHUB_OUTPUT",
        "GITHUB_STEP_SUMMARY",
    ] {
        command.env_remove(key);
    }
    for (key, value) in github {
        command.env(key, value);
    }
    command
        .args(["plan", "--env", "production"])
        .args(args)
        .output()
        .expect("topo-ci runs")
}

fn plan(dir: &Path, args: &[&str], github: &[(&str, &str)]) -> Plan {
    let output = run(dir, &[args, &["--format", "json"]].concat(), github);
    json_of(&output, "plan")
}

#[test]
fn base_deploys_only_what_the_branch_changed() {
    let (repo, fork, main) = branched();
    let plan = plan(repo.path(), &["--base", "main"], &[]);
    // Not the server: main changed it after the branch forked, the merge keeps main's.
    check(
        &plan,
        "shop-server skip unchanged
         shop-worker skip unchanged
         shop-web deploy changed [apps/web/src/index.js]",
    );
    let base = plan.base.as_ref().expect("the plan says its base");
    assert_eq!(base.source, BaseSource::Flag);
    assert_eq!(
        (base.merge_base.as_str(), base.commit.as_str()),
        (fork.as_str(), main.as_str())
    );
    assert!(
        base.why.starts_with("`--base main`: compared with"),
        "{}",
        base.why
    );
    assert!(plan
        .services
        .iter()
        .all(|s| s.base.as_deref() == Some(fork.as_str())));
    // Text and Markdown say it too.
    let text = run(repo.path(), &["--base", "main"], &[]);
    let text = String::from_utf8_lossy(&text.stdout);
    assert!(
        text.contains(&format!(
            "base: `--base main`: compared with {}",
            &fork[..10]
        )),
        "{text}"
    );
    let markdown = run(
        repo.path(),
        &["--base", "main", "--format", "markdown"],
        &[],
    );
    let markdown = String::from_utf8_lossy(&markdown.stdout);
    assert!(markdown.contains("what a merge of `"), "{markdown}");
    assert!(
        markdown.contains("into `main` would deploy to production"),
        "{markdown}"
    );
    // The same plan from main's side: its own server change, nothing of the branch.
    repo.git(&["checkout", "-q", "main"]);
    check(
        &self::plan(repo.path(), &["--base", "feature"], &[]),
        "shop-server deploy changed [apps/server/src/lib.js]
         shop-worker deploy dependency-changed [apps/server/src/lib.js]
         shop-web skip unchanged",
    );
}

#[test]
fn a_pull_request_run_reads_its_base_from_github() {
    let (repo, fork, main) = branched();
    let payload = repo.path().join("../event.json");
    std::fs::write(
        &payload,
        format!(
            r#"{{"pull_request": {{"number": 7, "base": {{"ref": "main", "sha": "{main}"}}}}}}"#
        ),
    )
    .expect("write");
    let payload = payload.display().to_string();
    let github = [
        ("GITHUB_EVENT_NAME", "pull_request"),
        ("GITHUB_BASE_REF", "main"),
        ("GITHUB_EVENT_PATH", payload.as_str()),
    ];
    let plan = plan(repo.path(), &[], &github);
    // A merge is a push to main, which this topology only builds (`deploy_on`).
    check(
        &plan,
        "shop-server skip unchanged
         shop-worker skip unchanged
         shop-web build release-gate [apps/web/src/index.js]",
    );
    assert_eq!(plan.event.describe(), "push main");
    let base = plan.base.as_ref().expect("the plan says its base");
    assert_eq!(base.source, BaseSource::PullRequest);
    assert_eq!(
        (base.merge_base.as_str(), base.pull_request),
        (fork.as_str(), Some(7))
    );
    assert!(
        base.why.contains("pull request #7 into `main`"),
        "{}",
        base.why
    );
    assert!(base.why.contains("event payload"), "{}", base.why);
    // Without the payload, the branch GITHUB_BASE_REF names; --event still wins.
    let plan = self::plan(
        repo.path(),
        &["--event", "manual"],
        &[
            ("GITHUB_EVENT_NAME", "pull_request_target"),
            ("GITHUB_BASE_REF", "main"),
        ],
    );
    check(
        &plan,
        "shop-server skip unchanged
         shop-worker skip unchanged
         shop-web deploy changed [apps/web/src/index.js]",
    );
    assert!(plan
        .base
        .expect("base")
        .why
        .contains("GITHUB_BASE_REF=main"));
    // --markers given in a pull request: the markers, and a note saying so.
    let with_markers = run(
        repo.path(),
        &["--markers", &repo.markers(), "--format", "json"],
        &github,
    );
    let with_markers: Plan = serde_json::from_slice(&with_markers.stdout).expect("a plan");
    assert!(with_markers.base.is_none());
    assert!(with_markers
        .notes
        .iter()
        .any(|n| n.contains("because --markers was given")));
}

#[test]
fn an_unknown_base_or_two_bases_are_explained() {
    let (repo, _, _) = branched();
    let unknown = run(repo.path(), &["--base", "origin/nope"], &[]);
    assert_eq!(unknown.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&unknown.stderr);
    assert!(
        stderr.contains("cannot compare with `origin/nope`"),
        "{stderr}"
    );
    assert!(stderr.contains("git fetch origin nope"), "{stderr}");
    let both = run(
        repo.path(),
        &["--base", "main", "--markers", &repo.markers()],
        &[],
    );
    assert_eq!(both.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&both.stderr).contains("give one"));
    let neither = run(repo.path(), &[], &[]);
    assert_eq!(neither.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&neither.stderr).contains("--base REF"));
    // A pull request whose base this clone lacks: what to fetch.
    let missing = run(
        repo.path(),
        &[],
        &[
            ("GITHUB_EVENT_NAME", "pull_request"),
            ("GITHUB_BASE_REF", "release"),
        ],
    );
    assert_eq!(missing.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&missing.stderr).contains("fetch-depth: 0"));
}
