//! What the event decides (a push builds, a release tag deploys) and what forcing adds.

use crate::{check, topo_ci, Repo};

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
