//! Stopping: a per-service `stop_timeout` reaches the engine, and a container that ignores
//! SIGTERM (busybox httpd as PID 1 has no handler) is killed at it — the summary says so,
//! with what to change — while one that handles SIGTERM stops at once, without a note.

use crate::{common, Target};

#[test]
fn a_container_killed_at_its_stop_timeout_is_reported_with_a_hint() {
    let Some(target) = Target::new("stop timeout", "dstop", |t| {
        t.replace(
            r#"prod = ["sh", "-c", "trap 'kill $pid; exit 0' TERM; httpd -f -p 8080 -h /srv/www & pid=$!; wait"]"#,
            r#"prod = ["httpd", "-f", "-p", "8080", "-h", "/srv/www"]"#,
        )
        .replace(
            "deploy = { drain = \"1s\" }",
            "deploy = { drain = \"1s\" }\nstop_timeout = \"2s\"",
        )
    }) else {
        return;
    };
    let (output, summary) = target.deploy(&["--setup", "--tag", "v1"]);
    assert!(output.status.success(), "{summary:#}");
    let web = common::inspect("container", "dstop-web");
    assert_eq!(web["Config"]["StopTimeout"], 2, "{:#}", web["Config"]);

    target.derive("v2", "v1", "RUN echo v2 > /srv/www/version.txt");
    let (output, summary) = target.deploy(&["--tag", "v2"]);
    assert!(output.status.success(), "{summary:#}");
    let notes: Vec<&str> = summary["notes"]
        .as_array()
        .expect("notes")
        .iter()
        .filter_map(|n| n.as_str())
        .collect();
    let killed: Vec<&&str> = notes
        .iter()
        .filter(|n| n.contains("ignored SIGTERM"))
        .collect();
    assert_eq!(killed.len(), 1, "one container was killed: {notes:#?}");
    assert!(
        killed[0].starts_with(
            "dstop-web-old ignored SIGTERM and was killed after its stop timeout (2 s"
        ) && killed[0].contains("exec form")
            && killed[0].contains("init"),
        "{}",
        killed[0]
    );
    // The web's drain step is the drain (1 s) plus the 2 s timeout, not the engine's 10 s.
    let web = &summary["services"]
        .as_array()
        .expect("services")
        .iter()
        .find(|s| s["name"] == "web")
        .expect("web in the summary");
    let drain = web["steps"]
        .as_array()
        .expect("steps")
        .iter()
        .find(|s| s["name"] == "drain")
        .expect("a drain step")["elapsed_ms"]
        .as_u64()
        .expect("elapsed");
    assert!((2900..6000).contains(&drain), "drain took {drain} ms");
    assert_eq!(target.get("/version.txt").1, "v2");
}
