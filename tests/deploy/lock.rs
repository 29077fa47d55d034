//! The deploy lock: concurrent deploys are serialized or refused; a lock whose holder died
//! on this host is taken over, one held elsewhere is broken only on request.

use crate::{common, text_of, Target};

#[test]
fn two_deploys_never_race_and_a_dead_holder_s_lock_is_taken_over() {
    let Some(target) = Target::new("deploy lock", "dlock", |t| t) else {
        return;
    };
    let (output, _) = target.deploy(&["--setup", "--tag", "v1"]);
    assert!(output.status.success());
    target.derive("v2", "v1", "RUN echo v2 > /srv/www/version.txt");
    target.derive("v3", "v1", "RUN echo v3 > /srv/www/version.txt");

    // Two deploys at once, neither waiting: one deploys, the other is refused by the lock.
    let piped = |args: &[&str]| {
        target
            .sim_command(args)
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .expect("spawn")
    };
    let first = piped(&["deploy", "--tag", "v2"]);
    let second = piped(&["deploy", "--tag", "v3"]);
    let first = first.wait_with_output().expect("first ends");
    let second = second.wait_with_output().expect("second ends");
    let codes = (first.status.code(), second.status.code());
    assert!(
        codes == (Some(0), Some(1)) || codes == (Some(1), Some(0)),
        "{codes:?}"
    );
    let refused = if first.status.success() {
        &second
    } else {
        &first
    };
    assert!(
        text_of(&refused.stderr).contains("another deploy holds the lock dlock-deploy-lock"),
        "{}",
        text_of(&refused.stderr)
    );

    // The same two, both willing to wait: both succeed, one after the other.
    let first = piped(&["deploy", "--tag", "v2", "--lock-wait", "120"]);
    let second = piped(&["deploy", "--tag", "v3", "--lock-wait", "120"]);
    let first = first.wait_with_output().expect("first ends");
    let second = second.wait_with_output().expect("second ends");
    assert!(
        first.status.success() && second.status.success(),
        "{}\n{}\n{}",
        text_of(&first.stdout),
        text_of(&first.stderr),
        text_of(&second.stderr)
    );

    dead_and_distant_locks(&target);
}

/// A lock whose holder died on this host is taken over with a note; one held on another
/// host is refused (it cannot be checked from here) until `lock release`.
fn dead_and_distant_locks(target: &Target) {
    // A lock left by a process that died on this host: taken over, with a note.
    let dead_lock = |host: &str| {
        common::docker(&[
            "create",
            "--name",
            "dlock-deploy-lock",
            "--label",
            "topo.project=dlock",
            "--label",
            "topo.lock.holder=ci@runner",
            "--label",
            "topo.lock.pid=999999",
            "--label",
            &format!("topo.lock.host={host}"),
            "--label",
            "topo.lock.since=2026-01-01T00:00:00Z",
            "--label",
            "topo.lock.purpose=deploy v9",
            "topo-test/busybox:latest",
            "true",
        ]);
    };
    let this_host = std::fs::read_to_string("/proc/sys/kernel/hostname")
        .expect("hostname")
        .trim()
        .to_owned();
    dead_lock(&this_host);
    let (output, summary) = target.deploy(&["--tag", "v2"]);
    assert!(output.status.success(), "{summary:#}");
    let notes = summary["notes"].to_string();
    assert!(
        notes.contains("took over the deploy lock of ci@runner (pid 999999)"),
        "{notes}"
    );

    // One held on another host cannot be checked from here: refused with who holds it,
    // broken by `lock release`.
    dead_lock("another-host");
    let output = target.sim(&["deploy", "--tag", "v3"]);
    assert_eq!(output.status.code(), Some(1));
    let stderr = text_of(&output.stderr);
    assert!(
        stderr.contains("another deploy holds the lock dlock-deploy-lock: ci@runner (pid 999999)")
            && stderr.contains("lock release"),
        "{stderr}"
    );
    let status = target.sim(&["lock", "status"]);
    assert!(text_of(&status.stdout).contains("held by ci@runner"));
    let release = target.sim(&["lock", "release"]);
    assert!(
        text_of(&release.stdout).contains("released"),
        "{}",
        text_of(&release.stderr)
    );
    let (output, summary) = target.deploy(&["--tag", "v3"]);
    assert!(output.status.success(), "{summary:#}");
}
