//! An up that cannot succeed says why, and where it can, leaves nothing: a failing health
//! check, a failing build, a taken port, objects that are not the project's, a missing image.

use std::process::Command;

use crate::{common, text, Stack};

#[test]
fn failing_health_check_gives_a_verdict_with_health_log_and_log_tail() {
    let Some(stack) = Stack::new("failing health check", "simsick", |t| {
        t.replace(
            r#"health = { http = "/health", port = 8080, interval = "1s", timeout = "2s", retries = 10, start_period = "2s" }"#,
            r#"health = { command = ["sh", "-c", "echo probe says no; exit 1"], interval = "1s", timeout = "2s", retries = 2, start_period = "1s" }"#,
        )
    }) else {
        return;
    };
    let output = stack.sim(&["up"]);
    assert_eq!(output.status.code(), Some(1), "{}", text(&output.stderr));
    let stdout = text(&output.stdout);
    let web = format!("✘ {}", stack.container("web"));
    assert!(stdout.contains(&web), "{stdout}");
    for expected in [
        "its health check failed",
        "state: running, health unhealthy",
        "health log:",
        "exit 1: probe says no",
        "log lines:",
        "| web starting",
        "not started: simsick-web did not become healthy",
        "2 of 4 services failed",
    ] {
        assert!(
            stdout.contains(expected),
            "missing {expected:?} in\n{stdout}"
        );
    }
}

#[test]
fn build_failure_names_the_failing_step_and_touches_nothing() {
    let Some(stack) = Stack::new("build failure", "simbroken", |t| t) else {
        return;
    };
    let dockerfile = stack.dir.path().join("apps/web/Dockerfile");
    let text_before = std::fs::read_to_string(&dockerfile).expect("Dockerfile");
    std::fs::write(
        &dockerfile,
        text_before.replace(
            "COPY www /srv/www",
            "COPY www /srv/www\nRUN echo compiling the shop && exit 3",
        ),
    )
    .expect("write");
    // BuildKit names the step by its stage; the classic builder (DOCKER_BUILDKIT=0, said
    // once) by its number.
    let buildkit = stack.sim(&["up"]);
    let classic = stack.sim_with(&[("DOCKER_BUILDKIT", "0")], &["up"]);
    for (output, expected) in [
        (
            buildkit,
            [
                "error: building simbroken-web:prod-sim failed at [prod 2/3] RUN echo compiling the shop && exit 3",
                "exit code: 3",
            ],
        ),
        (
            classic,
            [
                "error: building simbroken-web:prod-sim failed at Step 8/10 : RUN echo compiling the shop && exit 3",
                "returned a non-zero code: 3",
            ],
        ),
    ] {
        assert_eq!(output.status.code(), Some(1));
        let stderr = text(&output.stderr);
        for expected in expected.iter().chain(&["compiling the shop", "help: fix the Dockerfile"]) {
            assert!(
                stderr.contains(expected),
                "missing {expected:?} in\n{stderr}"
            );
        }
        assert_eq!(stack.leftovers(), Vec::<String>::new());
    }
}

#[test]
fn taken_port_is_explained() {
    let Some(stack) = Stack::new("port conflict", "simport", |t| t) else {
        return;
    };
    let _holder = std::net::TcpListener::bind(("127.0.0.1", stack.port)).expect("the port is free");
    let output = stack.sim(&["up"]);
    assert_eq!(output.status.code(), Some(1));
    let stdout = text(&output.stdout);
    let port = format!("(127.0.0.1:{}) is already in use", stack.port);
    assert!(stdout.contains(&port), "{stdout}");
    assert!(
        stdout.contains("help: stop what holds the port"),
        "{stdout}"
    );
    assert!(
        stdout.contains("not started: simport-web did not become healthy"),
        "{stdout}"
    );
}

#[test]
fn foreign_objects_are_never_touched() {
    let Some(stack) = Stack::new("foreign objects", "simforeign", |t| t) else {
        return;
    };
    // A container of someone else's under a name the stack needs.
    let name = stack.container("web");
    common::docker(&[
        "create",
        "--name",
        &name,
        "topo-test/busybox:latest",
        "true",
    ]);
    let output = stack.sim(&["up"]);
    let _ = Command::new("docker").args(["rm", "-f", &name]).output();
    assert_eq!(output.status.code(), Some(1));
    let stderr = text(&output.stderr);
    assert!(
        stderr.contains("container simforeign-web exists and does not belong to project simforeign (no topo.project label)"),
        "{stderr}"
    );
    assert_eq!(
        stack.leftovers(),
        Vec::<String>::new(),
        "nothing was created"
    );

    // A volume holding dev data is not deleted to start from scratch.
    let volume = format!("{}-db-data", stack.project);
    let project_label = format!("topo.project={}", stack.project);
    common::docker(&[
        "volume",
        "create",
        "--label",
        &project_label,
        "--label",
        "topo.mode=dev",
        &volume,
    ]);
    let output = stack.sim(&["up"]);
    assert_eq!(output.status.code(), Some(1));
    let stderr = text(&output.stderr);
    assert!(stderr.contains("it holds dev data"), "{stderr}");
    assert!(stderr.contains("--keep-volumes"), "{stderr}");
    common::docker(&["volume", "inspect", &volume]);
}

#[test]
fn missing_image_is_explained() {
    let Some(stack) = Stack::new("missing image", "simnoimage", |t| {
        t.replace("topo-test/postgres:17", "topo-test/never-built:17")
    }) else {
        return;
    };
    let output = stack.sim(&["up"]);
    assert_eq!(output.status.code(), Some(1));
    let stderr = text(&output.stderr);
    assert!(
        stderr.contains(
            "image topo-test/never-built:17 is not in the engine and could not be pulled"
        ),
        "{stderr}"
    );
    assert!(stderr.contains("help: load it"), "{stderr}");
}

#[test]
fn a_probe_the_image_lacks_is_said_at_once() {
    // busybox has wget but no curl: waiting out a minute of failed checks would teach nothing.
    let Some(stack) = Stack::new("missing probe", "simprobe", |t| {
        t.replace(
            r#"health = { http = "/health", port = 8080, interval = "1s", timeout = "2s", retries = 10, start_period = "2s" }"#,
            r#"health = { http = "/health", port = 8080, probe = "curl", interval = "5s", timeout = "2s", retries = 10, start_period = "30s" }"#,
        )
    }) else {
        return;
    };
    let started = std::time::Instant::now();
    let output = stack.sim(&["up"]);
    let took = started.elapsed();
    assert_eq!(output.status.code(), Some(1), "{}", text(&output.stderr));
    let stdout = text(&output.stdout);
    assert!(
        stdout.contains("its health check runs `curl`, which the image does not have"),
        "{stdout}"
    );
    // The check's own deadline is 30 s + 10 × 7 s; the verdict came long before.
    assert!(took.as_secs() < 60, "took {took:?}");
}
