//! Requests through the proxy during deploys: blue-green drops none, recreate does.

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use crate::{get, Target};

/// Requests through the proxy, one connection each, while `deploys` run; the failures.
fn failures_under_load(target: &Target, strategy: &str, tags: &[&str]) -> (usize, usize) {
    let stop = Arc::new(AtomicBool::new(false));
    let sent = Arc::new(AtomicUsize::new(0));
    let failed = Arc::new(AtomicUsize::new(0));
    let load: Vec<_> = (0..4)
        .map(|_| {
            let (stop, sent, failed, port) =
                (stop.clone(), sent.clone(), failed.clone(), target.port);
            std::thread::spawn(move || {
                while !stop.load(Ordering::Relaxed) {
                    sent.fetch_add(1, Ordering::Relaxed);
                    if get(port, "/health").map(|(status, _)| status) != Some(200) {
                        failed.fetch_add(1, Ordering::Relaxed);
                    }
                    std::thread::sleep(Duration::from_millis(5));
                }
            })
        })
        .collect();
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
    stop.store(true, Ordering::Relaxed);
    for thread in load {
        thread.join().expect("load thread");
    }
    (sent.load(Ordering::Relaxed), failed.load(Ordering::Relaxed))
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

    let (sent, failed) = failures_under_load(&target, "recreate", &tags[5..]);
    eprintln!("recreate: 5 deploys, {sent} requests through the proxy, {failed} failed");
    assert!(
        failed > 0,
        "recreate stops the only container: some requests must fail ({sent} sent)"
    );
}
