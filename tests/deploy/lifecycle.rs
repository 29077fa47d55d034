//! One service's life on a host: set up, an unchanged redeploy, blue-green, a failed
//! version rolled back, `--rollback`, and image retention.
//!
//! One test, in phases that build on each other (each starts where the one before left the
//! host); each phase is a function of its own, named after what it shows.

use std::process::Command;

use crate::{actions, common, markers, pairs, text_of, Target};

#[test]
fn setup_skip_unchanged_blue_green_rollback_and_retention() {
    let Some(target) = Target::new("deploy lifecycle", "dlife", |t| t) else {
        return;
    };
    target.derive("v2", "v1", "RUN echo v2 > /srv/www/version.txt");
    target.derive("bad", "v2", "RUN rm /srv/www/health");
    let markers_dir = target.dir.path().join("markers");
    let markers_arg = markers_dir.to_str().expect("utf-8 path");

    first_deploy_sets_up_the_host(&target, markers_arg);
    the_same_tag_again_restarts_nothing(&target, markers_arg);
    v2_goes_blue_green_behind_the_proxy(&target, markers_arg);
    a_version_never_healthy_is_rolled_back(&target, markers_arg);
    rollback_returns_to_the_version_before(&target);
    only_the_kept_images_stay_on_the_host(&target);
}

/// A host's first deploy sets up the network, volume, database and proxy.
fn first_deploy_sets_up_the_host(target: &Target, markers_arg: &str) {
    let (output, summary) = target.deploy(&[
        "--setup",
        "--tag",
        "v1",
        "--revision",
        "c1",
        "--markers",
        markers_arg,
    ]);
    assert!(
        output.status.success(),
        "{summary:#}\n{}",
        text_of(&output.stderr)
    );
    assert_eq!(
        actions(&summary),
        pairs(&[
            ("migrate", "deployed"),
            ("web", "deployed"),
            ("worker", "deployed")
        ])
    );
    let checks: Vec<&str> = summary["checks"]
        .as_array()
        .expect("checks")
        .iter()
        .map(|c| c["name"].as_str().expect("name"))
        .collect();
    assert!(checks.contains(&"database major"), "{checks:?}");
    assert_eq!(
        target.get("/health").0,
        200,
        "the proxy serves the web service"
    );
    assert_eq!(target.get("/version.txt").0, 404, "v1 has no version file");
    assert_eq!(target.label("web", "topo.image"), target.image("v1"));
}

/// The same tag again: nothing restarts.
fn the_same_tag_again_restarts_nothing(target: &Target, markers_arg: &str) {
    let before = ["web", "worker", "migrate"].map(|r| target.identity(r));
    let (output, summary) =
        target.deploy(&["--tag", "v1", "--revision", "c1", "--markers", markers_arg]);
    assert!(output.status.success(), "{summary:#}");
    assert_eq!(
        actions(&summary),
        pairs(&[
            ("migrate", "unchanged"),
            ("web", "unchanged"),
            ("worker", "unchanged")
        ])
    );
    assert_eq!(
        ["web", "worker", "migrate"].map(|r| target.identity(r)),
        before,
        "same ids and start times"
    );
}

/// v2, blue-green behind the proxy; the worker (recreate) still reaches web by name.
fn v2_goes_blue_green_behind_the_proxy(target: &Target, markers_arg: &str) {
    let (output, summary) =
        target.deploy(&["--tag", "v2", "--revision", "c2", "--markers", markers_arg]);
    assert!(output.status.success(), "{summary:#}");
    let web = &summary["services"][1];
    assert_eq!(web["strategy"], "blue-green");
    let steps: Vec<&str> = web["steps"]
        .as_array()
        .expect("steps")
        .iter()
        .map(|s| s["name"].as_str().expect("step"))
        .collect();
    assert_eq!(steps, ["start", "healthy", "switch", "rename", "drain"]);
    assert_eq!(target.get("/version.txt"), (200, "v2".to_owned()));
    assert_eq!(target.label("web", "topo.history"), "v2,v1");
    let reached = common::docker(&[
        "exec",
        &target.container("worker"),
        "wget",
        "-q",
        "-O",
        "-",
        &format!("http://{}:8080/version.txt", target.container("web")),
    ]);
    assert_eq!(
        reached.trim(),
        "v2",
        "the renamed container answers to the service's name"
    );
    assert_eq!(
        markers(target)["environments"]["production"][target.container("web")]["image"],
        target.image("v2")
    );
}

/// A version that never becomes healthy: removed, v2 keeps serving, the marker stays.
fn a_version_never_healthy_is_rolled_back(target: &Target, markers_arg: &str) {
    let web_before = target.identity("web");
    let (output, summary) = target.deploy(&[
        "--tag",
        "bad",
        "--revision",
        "c3",
        "--markers",
        markers_arg,
        "web",
    ]);
    assert_eq!(output.status.code(), Some(1), "{summary:#}");
    assert_eq!(summary["ok"], false);
    let web = &summary["services"][1];
    assert_eq!(web["action"], "rolled-back");
    assert!(
        web["health_log"][0]
            .as_str()
            .expect("health log")
            .contains("404"),
        "{web:#}"
    );
    assert_eq!(
        target.identity("web"),
        web_before,
        "the old container never stopped"
    );
    assert_eq!(target.get("/version.txt"), (200, "v2".to_owned()));
    let stray = Command::new("docker")
        .args(["inspect", &format!("{}-next", target.container("web"))])
        .output()
        .expect("docker");
    assert!(!stray.status.success(), "the failed candidate is removed");
    let marker = &markers(target)["environments"]["production"][target.container("web")];
    assert_eq!(
        (marker["commit"].as_str(), marker["image"].as_str()),
        (Some("c2"), Some(target.image("v2").as_str()))
    );
}

/// --rollback returns web to the version before.
fn rollback_returns_to_the_version_before(target: &Target) {
    let (output, summary) = target.deploy(&["--rollback", "web"]);
    assert!(output.status.success(), "{summary:#}");
    assert_eq!(summary["rollback"], true);
    assert_eq!(target.label("web", "topo.image"), target.image("v1"));
    assert_eq!(target.get("/version.txt").0, 404, "v1 again");
}

/// keep_images = 2: after v3 and v4 everywhere, v1 and v2 are gone from the host.
fn only_the_kept_images_stay_on_the_host(target: &Target) {
    target.derive("v3", "v2", "RUN echo v3 > /srv/www/version.txt");
    target.derive("v4", "v2", "RUN echo v4 > /srv/www/version.txt");
    for tag in ["v3", "v4"] {
        let (output, summary) = target.deploy(&["--tag", tag]);
        assert!(output.status.success(), "{summary:#}");
    }
    assert_eq!(target.get("/version.txt"), (200, "v4".to_owned()));
    for (tag, kept) in [("v1", false), ("v2", false), ("v3", true), ("v4", true)] {
        let found = Command::new("docker")
            .args(["image", "inspect", &target.image(tag)])
            .output()
            .expect("docker");
        assert_eq!(found.status.success(), kept, "{tag} kept: {kept}");
    }
}
