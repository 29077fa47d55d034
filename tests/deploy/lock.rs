//! The deploy lock: concurrent deploys are serialized or refused; a lock whose holder died
//! on this host is taken over, one held elsewhere is taken over once its lease ran out (and
//! one without a lease is broken only on request); a running deploy renews its lease.

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
    leases(&target);
}

/// Writes the lease file a holder renews into the lock container: renewed `ago` seconds ago.
fn renewed(ago: u64) {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .expect("after 1970")
        .as_secs();
    let file = tempfile::NamedTempFile::new().expect("temp file");
    std::fs::write(file.path(), format!("{}\n", now - ago)).expect("lease written");
    common::docker(&[
        "cp",
        &file.path().display().to_string(),
        "dlock-deploy-lock:/topo-lease",
    ]);
}

/// The lease file of the lock, when it can be read (seconds since 1970).
fn lease_file() -> Option<u64> {
    let output = std::process::Command::new("docker")
        .args(["cp", "dlock-deploy-lock:/topo-lease", "-"])
        .output()
        .ok()?;
    // A tar stream: the file's text follows its 512-byte header.
    let text = String::from_utf8_lossy(output.stdout.get(512..)?).into_owned();
    text.trim_matches(char::from(0)).trim().parse().ok()
}

/// Another host's lock: kept while its lease is renewed, taken over once it ran out; a
/// running deploy renews its own.
fn leases(target: &Target) {
    distant_lock(Some(30));
    renewed(5);
    let output = target.sim(&["deploy", "--tag", "v2"]);
    assert_eq!(output.status.code(), Some(1));
    let stderr = text_of(&output.stderr);
    assert!(stderr.contains("it renewed its 30 s lease"), "{stderr}");

    common::docker(&["rm", "dlock-deploy-lock"]);
    distant_lock(Some(30));
    renewed(100);
    let (output, summary) = target.deploy(&["--tag", "v2"]);
    assert!(output.status.success(), "{summary:#}");
    let notes = summary["notes"].to_string();
    assert!(
        notes.contains("took over the deploy lock of ci@runner (pid 999999)")
            && notes.contains("its 30 s lease ran out (last renewed 10"),
        "{notes}"
    );

    // A deploy with a 1 s lease renews it every third of a second while it works.
    let deploy = target
        .sim_command(&["deploy", "--tag", "v3", "--lock-lease", "1"])
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .expect("deploy starts");
    let mut seen = std::collections::BTreeSet::new();
    let since = std::time::Instant::now();
    while since.elapsed() < std::time::Duration::from_secs(60) {
        match lease_file() {
            Some(renewed) => {
                seen.insert(renewed);
            }
            None if !seen.is_empty() => break,
            None => {}
        }
        std::thread::sleep(std::time::Duration::from_millis(200));
    }
    let status = deploy.wait_with_output().expect("deploy ends").status;
    assert!(status.success());
    let (first, last) = (seen.first().copied(), seen.last().copied());
    assert!(
        seen.len() >= 3 && last.zip(first).is_some_and(|(l, f)| l >= f + 2),
        "the lease was renewed while the deploy ran: {seen:?}"
    );
}

/// A lock held from another host (pid 999999 there), with a lease of `lease` seconds.
fn distant_lock(lease: Option<u64>) {
    let mut args = vec![
        "create".to_owned(),
        "--name".to_owned(),
        "dlock-deploy-lock".to_owned(),
    ];
    for label in [
        "topo.project=dlock".to_owned(),
        "topo.lock.holder=ci@runner".to_owned(),
        "topo.lock.pid=999999".to_owned(),
        "topo.lock.host=another-host".to_owned(),
        "topo.lock.since=2026-01-01T00:00:00Z".to_owned(),
        "topo.lock.purpose=deploy v9".to_owned(),
    ]
    .into_iter()
    .chain(lease.map(|l| format!("topo.lock.lease={l}")))
    {
        args.extend(["--label".to_owned(), label]);
    }
    args.extend(["topo-test/busybox:latest".to_owned(), "true".to_owned()]);
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    common::docker(&args);
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

    // One held on another host by a topo without leases cannot be checked from here:
    // refused with who holds it, broken by `lock release`.
    distant_lock(None);
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
