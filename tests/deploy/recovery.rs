//! A deploy killed midway (a cancelled CI job) leaves leftovers; the next plain deploy
//! repairs them by itself and says so, while the proxy keeps serving.

use crate::{common, Load, Target};

#[test]
fn the_next_deploy_repairs_what_a_killed_one_left() {
    let Some(target) = Target::new("recovery", "drecover", |t| t) else {
        return;
    };
    let (output, summary) = target.deploy(&["--setup", "--tag", "v1"]);
    assert!(output.status.success(), "{summary:#}");
    target.derive("v2", "v1", "RUN echo v2 > /srv/www/version.txt");

    // What a blue-green deploy killed after starting its candidate leaves (the candidate, and
    // its lock: a process gone on this host), and what a recreate killed after setting the
    // old worker aside leaves (the worker stopped, renamed `-old`, no new one).
    let web = target.container("web");
    let worker = target.container("worker");
    common::docker(&[
        "create",
        "--name",
        &format!("{web}-next"),
        "--label",
        "topo.project=drecover",
        &target.image("v2"),
    ]);
    common::docker(&["stop", "-t", "1", &worker]);
    common::docker(&["rename", &worker, &format!("{worker}-old")]);
    let host = std::fs::read_to_string("/proc/sys/kernel/hostname").expect("hostname");
    common::docker(&[
        "create",
        "--name",
        "drecover-deploy-lock",
        "--label",
        "topo.project=drecover",
        "--label",
        "topo.lock.holder=ci@runner",
        "--label",
        "topo.lock.pid=999999",
        "--label",
        &format!("topo.lock.host={}", host.trim()),
        "topo-test/busybox:latest",
        "true",
    ]);

    // A client through the proxy the whole time.
    let load = Load::start(target.port, 1, std::time::Duration::from_millis(20));
    let (output, summary) = target.deploy(&["--tag", "v2"]);
    let (sent, failed) = load.finish();
    assert!(output.status.success(), "{summary:#}");
    let notes = summary["notes"].to_string();
    for expected in [
        "took over the deploy lock of ci@runner (pid 999999)",
        &format!("removed {web}-next, a candidate a cancelled deploy left"),
        &format!("a cancelled deploy had set it aside ({worker}-old); the previous one is back"),
    ] {
        assert!(notes.contains(expected), "missing {expected:?} in {notes}");
    }
    let leftovers = common::docker(&[
        "ps",
        "-a",
        "--filter",
        "label=topo.project=drecover",
        "--format",
        "{{.Names}}",
    ]);
    assert!(
        !leftovers.contains("-next") && !leftovers.contains("-old") && !leftovers.contains("lock"),
        "{leftovers}"
    );
    assert_eq!(target.get("/version.txt").1.trim(), "v2");
    assert_eq!(failed, 0, "failed requests through the proxy (of {sent})");
    assert!(sent > 10);
}
