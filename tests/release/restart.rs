//! The engine restarted under a deployed stack (a host reboot, a Docker upgrade): the
//! engine brings the containers back by their restart policy, the stack serves again, and
//! the next deploy — while health checks may still be starting — restarts nothing.

use std::time::{Duration, Instant};

use serde_json::Value;

use super::remote::RemoteEngine;
use super::text;
use crate::common;

const ROLES: [&str; 4] = ["db", "web", "worker", "proxy"];

#[test]
fn after_an_engine_restart_the_stack_serves_again_and_a_no_op_deploy_restarts_nothing() {
    let test = "after_an_engine_restart_the_stack_serves_again";
    if !common::docker_available(test) {
        return;
    }
    let Some(mut remote) = RemoteEngine::start(test) else {
        return;
    };
    common::ensure_test_images();
    let (repo, tag) = remote.stack("relrestart");
    let certs = remote.cert_path("client").display().to_string();
    let host = remote.host();
    let deploy = |extra: &[&str]| {
        let env = [
            ("SHOP_DB_PASSWORD", "production-secret"),
            ("DOCKER_TLS_VERIFY", "1"),
            ("DOCKER_CERT_PATH", certs.as_str()),
        ];
        let mut args = vec![
            "deploy",
            "--host",
            host.as_str(),
            "--tag",
            tag.as_str(),
            "--format",
            "json",
        ];
        args.extend_from_slice(extra);
        repo.topo_with(&env, &args)
    };
    let output = deploy(&["--setup"]);
    assert!(output.status.success(), "{}", text(&output.stderr));
    let identities = |remote: &RemoteEngine| -> Vec<(String, String)> {
        ROLES
            .iter()
            .map(|role| {
                let format = "{{.Id}} {{.State.StartedAt}}";
                let name = format!("relrestart-{role}");
                let out = text(&remote.docker(&["inspect", "-f", format, &name]).stdout);
                let (id, started) = out.trim().split_once(' ').expect("id and start");
                (id.to_owned(), started.to_owned())
            })
            .collect()
    };
    let before = identities(&remote);
    let port = text(&remote.docker(&["port", "relrestart-proxy"]).stdout);
    let port = port
        .trim()
        .rsplit(':')
        .next()
        .expect("a published port")
        .to_owned();
    let url = format!("http://127.0.0.1:{port}/health");
    let serves = |remote: &RemoteEngine| {
        let script = format!("import urllib.request; urllib.request.urlopen('{url}', timeout=2)");
        remote.inside(&["python3", "-c", &script]).status.success()
    };
    assert!(serves(&remote), "the stack serves before the restart");

    remote.restart_engine();
    let since = Instant::now();
    while !serves(&remote) {
        assert!(
            since.elapsed() < Duration::from_secs(120),
            "the stack does not serve again after the engine restarted: {}",
            text(&remote.docker(&["ps", "-a"]).stdout)
        );
        std::thread::sleep(Duration::from_millis(250));
    }
    let served_after = since.elapsed();
    let after = identities(&remote);
    for ((role, (id, started)), (id_after, started_after)) in ROLES.iter().zip(&before).zip(&after)
    {
        assert_eq!(
            id, id_after,
            "{role}: the engine brought back the same container"
        );
        assert_ne!(started, started_after, "{role} was restarted by the engine");
    }

    // The next deploy at once: the same version everywhere, so nothing is replaced (a health
    // check still starting is awaited, not mistaken for a failure).
    let output = deploy(&[]);
    assert!(output.status.success(), "{}", text(&output.stderr));
    let summary: Value = serde_json::from_slice(&output.stdout).expect("a JSON summary");
    for service in summary["services"].as_array().expect("services") {
        assert_eq!(service["action"], "unchanged", "{service:#}");
    }
    assert_eq!(
        identities(&remote),
        after,
        "the no-op deploy restarted nothing"
    );
    eprintln!(
        "engine restarted: the stack served again after {:.1} s; the no-op deploy took {} ms and restarted nothing",
        served_after.as_secs_f64(),
        summary["elapsed_ms"]
    );
}
