//! Deploys refused before anything is replaced: a host never set up, a stopped database,
//! a database of another major than the pin, a failing migration.

use std::process::Command;

use crate::{actions, common, markers, pairs, text_of, Target};

#[test]
fn verification_refuses_before_touching_anything() {
    let Some(target) = Target::new("deploy verification", "dverify", |t| t) else {
        return;
    };
    // A host never set up.
    let output = target.sim(&["deploy", "--tag", "v1"]);
    assert_eq!(output.status.code(), Some(1));
    let stderr = text_of(&output.stderr);
    assert!(
        stderr.contains("network dverify-network does not exist") && stderr.contains("--setup"),
        "{stderr}"
    );

    let (output, _) = target.deploy(&["--setup", "--tag", "v1"]);
    assert!(output.status.success());
    target.derive("v2", "v1", "RUN echo v2 > /srv/www/version.txt");

    // The database stopped: refused, nothing replaced.
    let web = target.identity("web");
    common::docker(&["stop", &target.container("db")]);
    let output = target.sim(&["deploy", "--tag", "v2"]);
    assert_eq!(output.status.code(), Some(1));
    let stderr = text_of(&output.stderr);
    assert!(
        stderr.contains("the database dverify-db is not running (exited)")
            && stderr.contains("docker start dverify-db"),
        "{stderr}"
    );
    assert_eq!(target.identity("web"), web);
    assert_eq!(target.label("web", "topo.image"), target.image("v1"));
    let lock = Command::new("docker")
        .args(["inspect", "dverify-deploy-lock"])
        .output()
        .expect("docker");
    assert!(
        !lock.status.success(),
        "the lock is released after a refusal"
    );
}

#[test]
fn a_database_of_another_major_than_the_pin_is_refused() {
    // The host runs PostgreSQL 15 (set up from a topology pinning 15); the topology now
    // pins 17, as if someone bumped the pin without upgrading the data.
    let Some(old) = Target::new("deploy db major", "dmajor", |t| {
        t.replace("major = 17", "major = 15")
            .replace("topo-test/postgres:17", "topo-test/postgres:15")
    }) else {
        return;
    };
    let (output, summary) = old.deploy(&["--setup", "--tag", "v1"]);
    assert!(output.status.success(), "{summary:#}");
    let pinned_17 = std::fs::read_to_string(old.topology())
        .expect("topology")
        .replace("major = 15", "major = 17")
        .replace("topo-test/postgres:15", "topo-test/postgres:17");
    std::fs::write(old.topology(), pinned_17).expect("write");
    let web = old.identity("web");
    let output = old.sim(&["deploy", "--tag", "v1", "--strategy", "recreate"]);
    assert_eq!(output.status.code(), Some(1));
    let stderr = text_of(&output.stderr);
    assert!(
        stderr.contains("runs PostgreSQL major 15 (it reports 15")
            && stderr.contains("pins major 17")
            && stderr.contains("dump and restore"),
        "{stderr}"
    );
    assert_eq!(old.identity("web"), web, "nothing was replaced");
}

#[test]
fn a_failing_migration_aborts_before_the_switch() {
    let Some(target) = Target::new("deploy migration", "dmigrate", |t| t) else {
        return;
    };
    let markers_dir = target.dir.path().join("markers");
    let markers_arg = markers_dir.to_str().expect("utf-8 path");
    let (output, _) = target.deploy(&[
        "--setup",
        "--tag",
        "v1",
        "--revision",
        "c1",
        "--markers",
        markers_arg,
    ]);
    assert!(output.status.success());
    target.derive(
        "v2",
        "v1",
        "RUN echo v2 > /srv/www/version.txt && touch /srv/www/fail-migration",
    );
    let web = target.identity("web");
    let (output, summary) =
        target.deploy(&["--tag", "v2", "--revision", "c2", "--markers", markers_arg]);
    assert_eq!(output.status.code(), Some(1), "{summary:#}");
    assert_eq!(
        actions(&summary),
        pairs(&[
            ("migrate", "failed"),
            ("web", "not-reached"),
            ("worker", "not-reached")
        ])
    );
    let log = summary["services"][0]["log_tail"].to_string();
    assert!(log.contains("migration 0042 failed"), "{log}");
    assert_eq!(target.identity("web"), web, "web was not touched");
    assert_eq!(target.get("/version.txt").0, 404, "v1 still serves");
    let production = &markers(&target)["environments"]["production"];
    assert_eq!(production[target.container("web")]["commit"], "c1");
    assert_eq!(production[target.container("migrate")]["commit"], "c1");
}
