//! The engine driver against a real Docker engine: a PostgreSQL 17 server, a one-shot
//! migration, an HTTP service and a worker (tests/fixtures/sim), built offline from the
//! images of tests/images/build.sh. Each test runs its own stack under its own project
//! name and port, so they run side by side. Without an engine the tests say they are
//! skipped; with `CI=true` a missing engine fails them.

mod common;

use std::io::{BufRead as _, BufReader};
use std::path::PathBuf;
use std::process::{Command, Output, Stdio};

use assert_cmd::cargo::CommandCargoExt as _;
use serde_json::{json, Value};

/// One test's copy of the fixture stack.
struct Stack {
    dir: tempfile::TempDir,
    project: String,
    port: u16,
}

impl Stack {
    /// The fixture under `project`, its topology passed through `edit`; `None` when no
    /// engine answers outside CI (the test is skipped).
    fn new(test: &str, project: &str, edit: impl FnOnce(String) -> String) -> Option<Stack> {
        if !common::docker_available(test) {
            return None;
        }
        common::ensure_test_images();
        let dir = tempfile::tempdir().expect("temp dir");
        common::copy_dir(&common::root().join("tests/fixtures/sim"), dir.path());
        let port = common::free_port();
        let path = dir.path().join("topology.toml");
        let text = std::fs::read_to_string(&path)
            .expect("fixture topology")
            .replace("simshop", project)
            .replace("18080", &port.to_string());
        std::fs::write(&path, edit(text)).expect("write topology");
        let stack = Stack {
            dir,
            project: project.to_owned(),
            port,
        };
        stack.remove_everything();
        Some(stack)
    }

    fn topology(&self) -> PathBuf {
        self.dir.path().join("topology.toml")
    }

    fn container(&self, role: &str) -> String {
        format!("{}-{role}", self.project)
    }

    /// `topo-sim ARGS -t topology`, in CI mode (plain progress lines).
    fn sim(&self, args: &[&str]) -> Output {
        let mut command = Command::cargo_bin("topo-sim").expect("the topo-sim binary is built");
        command
            .args(args)
            .arg("-t")
            .arg(self.topology())
            .env("CI", "true")
            .env_remove("SHOP_DB_PASSWORD")
            .output()
            .expect("topo-sim runs")
    }

    /// `topo-sim up --format json ARGS`: the output and the verdict.
    fn up_json(&self, args: &[&str]) -> (Output, Value) {
        let mut all = vec!["up", "--format", "json"];
        all.extend_from_slice(args);
        let output = self.sim(&all);
        let verdict = serde_json::from_slice(&output.stdout).unwrap_or_else(|e| {
            panic!(
                "no JSON verdict ({e}); stdout:\n{}\nstderr:\n{}",
                String::from_utf8_lossy(&output.stdout),
                String::from_utf8_lossy(&output.stderr)
            )
        });
        (output, verdict)
    }

    /// Every container, network and volume labelled with this project.
    fn leftovers(&self) -> Vec<String> {
        let filter = format!("label=topo.project={}", self.project);
        let mut found = Vec::new();
        for (kind, args) in [
            (
                "container",
                vec!["ps", "-a", "--filter", &filter, "--format", "{{.Names}}"],
            ),
            (
                "network",
                vec![
                    "network",
                    "ls",
                    "--filter",
                    &filter,
                    "--format",
                    "{{.Name}}",
                ],
            ),
            (
                "volume",
                vec!["volume", "ls", "--filter", &filter, "--format", "{{.Name}}"],
            ),
        ] {
            found.extend(
                common::docker(&args)
                    .lines()
                    .filter(|l| !l.is_empty())
                    .map(|name| format!("{kind} {name}")),
            );
        }
        found
    }

    fn remove_everything(&self) {
        for object in self.leftovers() {
            let (kind, name) = object.split_once(' ').expect("kind name");
            let args: Vec<&str> = match kind {
                "container" => vec!["rm", "-f", name],
                "network" => vec!["network", "rm", name],
                _ => vec!["volume", "rm", "-f", name],
            };
            let _ = Command::new("docker").args(args).output();
        }
    }
}

impl Drop for Stack {
    fn drop(&mut self) {
        self.remove_everything();
    }
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

fn outcomes(verdict: &Value) -> Vec<(String, String, u64)> {
    verdict["services"]
        .as_array()
        .expect("services")
        .iter()
        .map(|s| {
            (
                s["role"].as_str().expect("role").to_owned(),
                s["outcome"].as_str().expect("outcome").to_owned(),
                s["wave"].as_u64().expect("wave"),
            )
        })
        .collect()
}

fn image_how(verdict: &Value, image: &str) -> String {
    verdict["images"]
        .as_array()
        .expect("images")
        .iter()
        .find(|i| i["image"] == image)
        .and_then(|i| i["how"].as_str())
        .unwrap_or_else(|| panic!("no image {image} in {verdict}"))
        .to_owned()
}

#[test]
fn healthy_stack_comes_up_from_scratch_and_down_leaves_nothing() {
    let Some(stack) = Stack::new("healthy stack", "simlife", |t| t) else {
        return;
    };
    let (output, verdict) = stack.up_json(&["--revision", "0123abcd"]);
    assert!(output.status.success(), "{}", text(&output.stderr));
    assert_eq!(verdict["ok"], true);
    assert_eq!(
        outcomes(&verdict),
        [
            ("db".into(), "healthy".into(), 1),
            ("migrate".into(), "completed".into(), 2),
            ("web".into(), "healthy".into(), 3),
            ("worker".into(), "running".into(), 4),
        ]
    );
    let web = &verdict["services"][2];
    assert_eq!(
        web["smoke"]["url"],
        format!("http://127.0.0.1:{}/health", stack.port)
    );
    assert_eq!(web["smoke"]["status"], 200);

    // The image is the prod target, built in the engine, labelled with the revision.
    let image = common::inspect("image", &format!("{}-web:prod-sim", stack.project));
    let labels = &image["Config"]["Labels"];
    assert_eq!(labels["topo.test.stage"], "prod");
    assert_eq!(labels["org.opencontainers.image.revision"], "0123abcd");
    let content_tag = verdict["images"]
        .as_array()
        .expect("images")
        .iter()
        .find_map(|i| i["tag"].as_str())
        .expect("the built image's content tag");
    assert!(
        content_tag.starts_with(&format!("{}-web:", stack.project)),
        "{content_tag}"
    );
    let by_digest = common::inspect("image", content_tag);
    assert_eq!(by_digest["Id"], image["Id"]);
    let built = common::docker(&["exec", &stack.container("web"), "cat", "/srv/www/built.txt"]);
    assert_eq!(built.trim(), "built in the engine");
    // The ignored notes never reached the image.
    let listing = common::docker(&["exec", &stack.container("web"), "ls", "/srv/www"]);
    assert!(!listing.contains("notes"), "{listing}");

    // Everything is labelled as topo's.
    let container = common::inspect("container", &stack.container("web"));
    let labels = &container["Config"]["Labels"];
    assert_eq!(labels["topo.project"], stack.project.as_str());
    assert_eq!(labels["topo.mode"], "prod-sim");
    assert_eq!(labels["topo.service"], "web");
    assert!(labels["topo.config-hash"].is_string());
    let volume = common::inspect("volume", &format!("{}-db-data", stack.project));
    assert_eq!(volume["Labels"]["topo.mode"], "prod-sim");
    let network = common::inspect("network", &format!("{}-network", stack.project));
    assert_eq!(network["Labels"]["topo.project"], stack.project.as_str());

    // The worker reaches the web service by its alias on the network.
    let mut reached = false;
    for _ in 0..20 {
        let logs = stack.sim(&["logs", "worker", "--tail", "20"]);
        if text(&logs.stdout).contains("reached web") {
            reached = true;
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(500));
    }
    assert!(reached, "the worker never reached the web service");

    // status: every container current; `topo sim status` says the same.
    let status = stack.sim(&["status", "--format", "json"]);
    let found: Value = serde_json::from_slice(&status.stdout).expect("status JSON");
    let found = found.as_array().expect("a list");
    assert_eq!(found.len(), 4);
    assert!(found.iter().all(|c| c["config"] == "current"), "{found:?}");
    let via_topo = Command::cargo_bin("topo")
        .expect("topo")
        .args(["sim", "status", "--format", "json", "-t"])
        .arg(stack.topology())
        .output()
        .expect("topo runs");
    let via_topo: Value = serde_json::from_slice(&via_topo.stdout).expect("status JSON");
    assert_eq!(via_topo.as_array().map(Vec::len), Some(4));

    // A second up starts from scratch (fresh volumes) and reuses the built image.
    let db = stack.container("db");
    common::docker(&["exec", &db, "touch", "/var/lib/postgresql/data/marker"]);
    let (output, verdict) = stack.up_json(&[]);
    assert!(output.status.success(), "{}", text(&output.stderr));
    assert_eq!(
        image_how(&verdict, &format!("{}-web:prod-sim", stack.project)),
        "reused"
    );
    let gone = Command::new("docker")
        .args(["exec", &db, "test", "-e", "/var/lib/postgresql/data/marker"])
        .status()
        .expect("docker runs");
    assert!(!gone.success(), "the data volume was not fresh");
    // --keep-volumes keeps the data.
    common::docker(&["exec", &db, "touch", "/var/lib/postgresql/data/marker"]);
    let (output, _) = stack.up_json(&["--keep-volumes"]);
    assert!(output.status.success(), "{}", text(&output.stderr));
    common::docker(&["exec", &db, "test", "-e", "/var/lib/postgresql/data/marker"]);

    let down = stack.sim(&["down", "--volumes"]);
    assert!(down.status.success(), "{}", text(&down.stderr));
    assert_eq!(stack.leftovers(), Vec::<String>::new());
}

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
    let output = stack.sim(&["up"]);
    assert_eq!(output.status.code(), Some(1));
    let stderr = text(&output.stderr);
    for expected in [
        "error: building simbroken-web:prod-sim failed at Step",
        ": RUN echo compiling the shop && exit 3",
        "compiling the shop",
        "returned a non-zero code: 3",
        "help: fix the Dockerfile",
    ] {
        assert!(
            stderr.contains(expected),
            "missing {expected:?} in\n{stderr}"
        );
    }
    assert_eq!(stack.leftovers(), Vec::<String>::new());
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
fn interrupt_stops_cleanly_and_down_removes_the_rest() {
    let Some(stack) = Stack::new("interrupt", "simctrlc", |t| t) else {
        return;
    };
    let mut child = Command::cargo_bin("topo-sim")
        .expect("topo-sim")
        .args(["up", "-t"])
        .arg(stack.topology())
        .env("CI", "true")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("topo-sim starts");
    let stderr = child.stderr.take().expect("piped stderr");
    let mut seen = Vec::new();
    for line in BufReader::new(stderr).lines() {
        let line = line.expect("a line");
        seen.push(line.clone());
        if line.contains("simctrlc-db: started") {
            let sent = Command::new("kill")
                .args(["-INT", &child.id().to_string()])
                .status()
                .expect("kill runs");
            assert!(sent.success());
        }
    }
    let status = child.wait().expect("topo-sim ends");
    assert_eq!(status.code(), Some(130), "{seen:#?}");
    assert!(
        seen.iter()
            .any(|l| l.contains("`topo-sim down` removes what was created")),
        "{seen:#?}"
    );
    let filter = format!("label=topo.project={}", stack.project);
    let running = common::docker(&["ps", "--filter", &filter, "--format", "{{.Names}}"]);
    assert_eq!(running.trim(), "", "containers still running after Ctrl-C");
    let down = stack.sim(&["down", "--volumes"]);
    assert!(down.status.success(), "{}", text(&down.stderr));
    assert_eq!(stack.leftovers(), Vec::<String>::new());
}

/// What must be identical between a container Compose created from the rendered file and
/// the one topo-sim created from the spec.
fn container_facts(name: &str) -> Value {
    let c = common::inspect("container", name);
    let id = c["Id"].as_str().expect("id");
    let mut env: Vec<Value> = c["Config"]["Env"].as_array().cloned().unwrap_or_default();
    env.sort_by_key(|v| v.to_string());
    let image = common::inspect("image", c["Config"]["Image"].as_str().expect("image"));
    // The container's own labels: not Compose's, not those inherited from its image (topo
    // labels its images with their source digest and revision; the images are compared
    // by their build target and command below).
    let labels: serde_json::Map<String, Value> = c["Config"]["Labels"]
        .as_object()
        .expect("labels")
        .iter()
        .filter(|(k, _)| {
            let topo_own = [
                "topo.project",
                "topo.mode",
                "topo.service",
                "topo.config-hash",
            ];
            let from_image = image["Config"]["Labels"].get(k.as_str()).is_some();
            !k.starts_with("com.docker.compose.") && (topo_own.contains(&k.as_str()) || !from_image)
        })
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect();
    let mut mounts: Vec<Value> = c["Mounts"]
        .as_array()
        .expect("mounts")
        .iter()
        .map(|m| json!([m["Type"], m["Name"], m["Destination"], m["RW"]]))
        .collect();
    mounts.sort_by_key(|v| v.to_string());
    let networks: serde_json::Map<String, Value> = c["NetworkSettings"]["Networks"]
        .as_object()
        .expect("networks")
        .iter()
        .map(|(network, endpoint)| {
            let mut aliases: Vec<String> = endpoint["Aliases"]
                .as_array()
                .into_iter()
                .flatten()
                .filter_map(Value::as_str)
                // The engine adds the short container id on its own.
                .filter(|a| !id.starts_with(a))
                .map(str::to_owned)
                .collect();
            aliases.sort();
            aliases.dedup();
            (network.clone(), json!(aliases))
        })
        .collect();
    json!({
        "name": c["Name"],
        "image": c["Config"]["Image"],
        "image_stage": image["Config"]["Labels"]["topo.test.stage"],
        "image_cmd": image["Config"]["Cmd"],
        "cmd": c["Config"]["Cmd"],
        "entrypoint": c["Config"]["Entrypoint"],
        "env": env,
        "labels": labels,
        "mounts": mounts,
        "networks": networks,
        "healthcheck": c["Config"]["Healthcheck"],
        "restart": c["HostConfig"]["RestartPolicy"],
        "ports": c["HostConfig"]["PortBindings"],
        "exposed": c["Config"]["ExposedPorts"],
        "security_opt": c["HostConfig"]["SecurityOpt"],
        "log_config": c["HostConfig"]["LogConfig"],
    })
}

#[test]
fn parity_with_compose_on_the_rendered_prod_sim_file() {
    let Some(stack) = Stack::new("parity with compose", "simparity", |t| t) else {
        return;
    };
    if !common::compose_v2_available("parity with compose") {
        return;
    }
    let render = Command::cargo_bin("topo")
        .expect("topo")
        .args(["render", "--mode", "prod-sim", "-t"])
        .arg(stack.topology())
        .output()
        .expect("topo runs");
    assert!(render.status.success(), "{}", text(&render.stderr));
    let roles = ["db", "migrate", "web", "worker"];
    let compose = |args: &[&str]| {
        let output = Command::new("docker")
            .args(["compose", "-f", "docker-compose.prod-sim.yml"])
            .args(args)
            .current_dir(stack.dir.path())
            .env_remove("SHOP_DB_PASSWORD")
            .output()
            .expect("docker compose runs");
        assert!(
            output.status.success(),
            "docker compose {args:?}: {}",
            text(&output.stderr)
        );
    };
    compose(&["up", "-d", "--build", "--wait"]);
    let by_compose: Vec<Value> = roles
        .iter()
        .map(|r| container_facts(&stack.container(r)))
        .collect();
    compose(&["down", "-v"]);
    assert_eq!(
        stack.leftovers(),
        Vec::<String>::new(),
        "compose down left objects"
    );

    let output = stack.sim(&["up"]);
    assert!(output.status.success(), "{}", text(&output.stdout));
    let by_topo: Vec<Value> = roles
        .iter()
        .map(|r| container_facts(&stack.container(r)))
        .collect();
    for (compose, topo) in by_compose.iter().zip(&by_topo) {
        assert_eq!(
            compose,
            topo,
            "compose (left) and topo-sim (right) differ:\n{}",
            diff(compose, topo)
        );
    }
}

/// The keys whose values differ, for a readable failure.
fn diff(left: &Value, right: &Value) -> String {
    let (Some(left), Some(right)) = (left.as_object(), right.as_object()) else {
        return String::new();
    };
    left.iter()
        .filter(|(k, v)| right.get(*k) != Some(v))
        .map(|(k, v)| format!("{k}: {v} != {}", right.get(k).unwrap_or(&Value::Null)))
        .collect::<Vec<_>>()
        .join("\n")
}
