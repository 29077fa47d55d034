//! Where the deploys are recorded: a marker file that must be whole, and git refs.

use crate::{check, plan_json, topo_ci, Repo};

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
