//! When the deployed commit is not in the clone (history rewritten, a shallow clone): the
//! plan falls back to the fingerprints recorded with the markers.

use std::process::Command as Process;

use crate::{check, topo_ci, Repo};

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
