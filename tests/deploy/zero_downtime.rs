//! Requests through the proxy during deploys: blue-green drops none, recreate does.

use std::time::Duration;

use crate::{CpuHog, Load, Target};

/// Requests through the proxy, one connection each, while `deploys` run; the failures.
fn failures_under_load(target: &Target, strategy: &str, tags: &[&str]) -> (usize, usize) {
    let load = Load::start(target.port, 4, Duration::from_millis(5));
    for tag in tags {
        let (output, summary) = target.deploy(&[
            "--tag",
            tag,
            "--strategy",
            &format!("web={strategy}"),
            "web",
        ]);
        assert!(output.status.success(), "{summary:#}");
        assert_eq!(summary["services"][1]["action"], "deployed");
    }
    load.finish()
}

#[test]
fn blue_green_drops_no_request_under_load_and_recreate_does() {
    let Some(target) = Target::new("deploy zero downtime", "dzero", |t| t) else {
        return;
    };
    let (output, summary) = target.deploy(&["--setup", "--tag", "v1"]);
    assert!(output.status.success(), "{summary:#}");
    let tags = ["b1", "b2", "b3", "b4", "b5", "r1", "r2", "r3", "r4", "r5"];
    for tag in tags {
        target.derive(tag, "v1", &format!("RUN echo {tag} > /srv/www/version.txt"));
    }
    let (sent, failed) = failures_under_load(&target, "blue-green", &tags[..5]);
    eprintln!("blue-green: 5 deploys, {sent} requests through the proxy, {failed} failed");
    assert!(sent > 100, "the load ran ({sent} requests)");
    assert_eq!(failed, 0, "blue-green dropped {failed} of {sent} requests");
    assert_eq!(target.get("/version.txt"), (200, "b5".to_owned()));

    // The same five deploys on a busy host: both cores kept busy by a hog the test runs.
    let busy = ["c1", "c2", "c3", "c4", "c5"];
    for tag in busy {
        target.derive(tag, "v1", &format!("RUN echo {tag} > /srv/www/version.txt"));
    }
    let hog = CpuHog::start();
    let (sent, failed) = failures_under_load(&target, "blue-green", &busy);
    drop(hog);
    eprintln!("blue-green, both cores busy: 5 deploys, {sent} requests through the proxy, {failed} failed");
    assert!(sent > 100, "the load ran ({sent} requests)");
    assert_eq!(
        failed, 0,
        "blue-green on a busy host dropped {failed} of {sent} requests"
    );

    let (sent, failed) = failures_under_load(&target, "recreate", &tags[5..]);
    eprintln!("recreate: 5 deploys, {sent} requests through the proxy, {failed} failed");
    assert!(
        failed > 0,
        "recreate stops the only container: some requests must fail ({sent} sent)"
    );
}
