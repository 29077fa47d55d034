//! A stack's life: up from scratch to all healthy, a second up, an interrupted up, and
//! down leaving nothing behind.

use std::io::{BufRead as _, BufReader};
use std::process::{Command, Stdio};

use assert_cmd::cargo::CommandCargoExt as _;
use serde_json::Value;

use crate::{common, text, Stack};

#[test]
fn healthy_stack_comes_up_from_scratch_and_down_leaves_nothing() {
    let Some(stack) = Stack::new("healthy stack", "simlife", |t| t) else {
        return;
    };
    let verdict = comes_up_healthy_wave_by_wave(&stack);
    the_image_is_the_prod_target_built_in_the_engine(&stack, &verdict);
    everything_is_labelled_as_topos(&stack);
    the_worker_reaches_web_by_its_alias(&stack);
    let secret_volumes = the_password_is_a_file_in_no_environment(&stack);
    status_finds_every_container_current(&stack);
    a_second_up_starts_from_fresh_volumes_unless_kept(&stack);

    let down = stack.sim(&["down", "--volumes"]);
    assert!(down.status.success(), "{}", text(&down.stderr));
    assert_eq!(stack.leftovers(), Vec::<String>::new());
    for volume in secret_volumes {
        let gone = Command::new("docker")
            .args(["volume", "inspect", &volume])
            .output()
            .expect("docker runs");
        assert!(
            !gone.status.success(),
            "the secret volume {volume} outlived its container"
        );
    }
}

/// The database and the worker read the password from `/run/secrets/SHOP_DB_PASSWORD`
/// (mode 0444, in a volume of its own on their read-only root filesystems); no
/// container's environment holds it. The secret volumes' names, to check they go with
/// their containers.
fn the_password_is_a_file_in_no_environment(stack: &Stack) -> Vec<String> {
    let password = "shop-dev-password";
    let mut volumes = Vec::new();
    for role in ["db", "worker"] {
        let name = stack.container(role);
        let file = common::docker(&[
            "exec",
            &name,
            "stat",
            "-c",
            "%a %s",
            "/run/secrets/SHOP_DB_PASSWORD",
        ]);
        assert_eq!(file.trim(), format!("444 {}", password.len()), "{role}");
        let read = common::docker(&["exec", &name, "cat", "/run/secrets/SHOP_DB_PASSWORD"]);
        assert_eq!(read, password, "{role}");
        let c = common::inspect("container", &name);
        assert_eq!(c["HostConfig"]["ReadonlyRootfs"], true, "{role}");
        let env = c["Config"]["Env"].to_string();
        assert!(
            env.contains("_FILE=/run/secrets/SHOP_DB_PASSWORD"),
            "{role}: {env}"
        );
        let mount = c["Mounts"]
            .as_array()
            .expect("mounts")
            .iter()
            .find(|m| m["Destination"] == "/run/secrets")
            .unwrap_or_else(|| panic!("{role}: no volume at /run/secrets"));
        volumes.push(mount["Name"].as_str().expect("a volume name").to_owned());
    }
    for role in ["db", "migrate", "web", "worker"] {
        let c = common::inspect("container", &stack.container(role));
        let env = c["Config"]["Env"].to_string();
        // The web service still asks for a variable (no `file = true`), and the migration
        // runs on its image with its environment: the exceptions.
        assert_eq!(
            env.contains(password),
            ["web", "migrate"].contains(&role),
            "{role}: {env}"
        );
    }
    volumes
}

/// The first up: every service in its wave, the web service smoke-tested; the verdict.
fn comes_up_healthy_wave_by_wave(stack: &Stack) -> Value {
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
    verdict
}

/// The image is the prod target, built in the engine, labelled with the revision.
fn the_image_is_the_prod_target_built_in_the_engine(stack: &Stack, verdict: &Value) {
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
}

/// Everything is labelled as topo's.
fn everything_is_labelled_as_topos(stack: &Stack) {
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
}

/// The worker reaches the web service by its alias on the network.
fn the_worker_reaches_web_by_its_alias(stack: &Stack) {
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
}

/// status: every container current; `topo sim status` says the same.
fn status_finds_every_container_current(stack: &Stack) {
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
}

/// A second up starts from scratch (fresh volumes) and reuses the built image;
/// `--keep-volumes` keeps the data.
fn a_second_up_starts_from_fresh_volumes_unless_kept(stack: &Stack) {
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
}

/// `(role, outcome, wave)` of every service in the verdict.
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

/// How the verdict says `image` was come by (`built`, `reused`, …).
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
