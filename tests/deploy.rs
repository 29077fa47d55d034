//! Production deploys against a real Docker engine (tests/fixtures/deploy): PostgreSQL 17,
//! a one-shot migration, an HTTP service behind the nginx proxy (blue-green) and a worker
//! (recreate), on the offline images of tests/images/build.sh. Versions are image tags
//! derived from the prod build (`v2` adds a file, `bad` loses its health endpoint, …). Each
//! test runs its own project and proxy port. Without an engine the tests say they are
//! skipped; with `CI=true` a missing engine fails them.

mod common;

use std::io::{Read as _, Write as _};
use std::net::TcpStream;
use std::path::PathBuf;
use std::process::{Command, Output};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use assert_cmd::cargo::CommandCargoExt as _;
use serde_json::Value;

/// One test's deployment target: the fixture under its own project and proxy port.
struct Target {
    dir: tempfile::TempDir,
    project: String,
    port: u16,
}

impl Target {
    /// The fixture as `project`, its topology passed through `edit`, with the prod image
    /// built and tagged `v1`; `None` when no engine answers outside CI.
    fn new(test: &str, project: &str, edit: impl FnOnce(String) -> String) -> Option<Target> {
        if !common::docker_available(test) {
            return None;
        }
        common::ensure_test_images();
        let dir = tempfile::tempdir().expect("temp dir");
        // The application is the prod-sim tests' own; only the topology differs.
        common::copy_dir(
            &common::root().join("tests/fixtures/sim/apps"),
            &dir.path().join("apps"),
        );
        std::fs::copy(
            common::root().join("tests/fixtures/deploy/topology.toml"),
            dir.path().join("topology.toml"),
        )
        .expect("copy the topology");
        let port = common::free_port();
        let path = dir.path().join("topology.toml");
        let text = std::fs::read_to_string(&path)
            .expect("fixture topology")
            .replace("deployshop", project)
            .replace("18090", &port.to_string());
        std::fs::write(&path, edit(text)).expect("write topology");
        let target = Target {
            dir,
            project: project.to_owned(),
            port,
        };
        target.remove_everything();
        let build = target.sim(&["build"]);
        assert!(build.status.success(), "build: {}", text_of(&build.stderr));
        common::docker(&["tag", &target.image("prod-sim"), &target.image("v1")]);
        Some(target)
    }

    fn topology(&self) -> PathBuf {
        self.dir.path().join("topology.toml")
    }

    fn container(&self, role: &str) -> String {
        format!("{}-{role}", self.project)
    }

    fn image(&self, tag: &str) -> String {
        format!("{}-web:{tag}", self.project)
    }

    /// Tags a new version: the image `from` plus the Dockerfile lines `lines`.
    fn derive(&self, tag: &str, from: &str, lines: &str) {
        let dockerfile = format!("FROM {}\n{lines}\n", self.image(from));
        let mut child = Command::new("docker")
            .args(["build", "-q", "-t", &self.image(tag), "-"])
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .expect("docker build runs");
        child
            .stdin
            .take()
            .expect("stdin")
            .write_all(dockerfile.as_bytes())
            .expect("dockerfile written");
        let output = child.wait_with_output().expect("docker build ends");
        assert!(
            output.status.success(),
            "derive {tag}: {}",
            text_of(&output.stderr)
        );
    }

    /// `topo-sim ARGS -t topology` in CI mode, with the production secret set.
    fn sim(&self, args: &[&str]) -> Output {
        self.sim_command(args).output().expect("topo-sim runs")
    }

    fn sim_command(&self, args: &[&str]) -> Command {
        let mut command = Command::cargo_bin("topo-sim").expect("the topo-sim binary is built");
        command
            .args(args)
            .arg("-t")
            .arg(self.topology())
            .env("CI", "true")
            .env("SHOP_DB_PASSWORD", "production-secret")
            .env_remove("TAG")
            .env_remove("GITHUB_STEP_SUMMARY");
        command
    }

    /// `topo-sim deploy --format json ARGS`: the output and the summary.
    fn deploy(&self, args: &[&str]) -> (Output, Value) {
        let mut all = vec!["deploy", "--format", "json"];
        all.extend_from_slice(args);
        let output = self.sim(&all);
        let summary = serde_json::from_slice(&output.stdout).unwrap_or_else(|e| {
            panic!(
                "no JSON summary ({e}); stdout:\n{}\nstderr:\n{}",
                text_of(&output.stdout),
                text_of(&output.stderr)
            )
        });
        (output, summary)
    }

    /// What the proxy serves at `path`: status and body.
    fn get(&self, path: &str) -> (u16, String) {
        get(self.port, path).unwrap_or((0, String::new()))
    }

    /// The container's id and start time: a restart changes one of them.
    fn identity(&self, role: &str) -> (String, String) {
        let info = common::inspect("container", &self.container(role));
        (
            info["Id"].as_str().expect("id").to_owned(),
            info["State"]["StartedAt"]
                .as_str()
                .expect("started")
                .to_owned(),
        )
    }

    fn label(&self, role: &str, label: &str) -> String {
        common::inspect("container", &self.container(role))["Config"]["Labels"][label]
            .as_str()
            .unwrap_or_default()
            .to_owned()
    }

    fn remove_everything(&self) {
        let filter = format!("label=topo.project={}", self.project);
        let listed = |args: &[&str]| -> Vec<String> {
            Command::new("docker")
                .args(args)
                .output()
                .map(|o| text_of(&o.stdout).lines().map(str::to_owned).collect())
                .unwrap_or_default()
        };
        for name in listed(&["ps", "-aq", "--filter", &filter]) {
            let _ = Command::new("docker").args(["rm", "-f", &name]).output();
        }
        for name in listed(&["network", "ls", "-q", "--filter", &filter]) {
            let _ = Command::new("docker")
                .args(["network", "rm", &name])
                .output();
        }
        for name in listed(&["volume", "ls", "-q", "--filter", &filter]) {
            let _ = Command::new("docker")
                .args(["volume", "rm", "-f", &name])
                .output();
        }
    }
}

impl Drop for Target {
    fn drop(&mut self) {
        self.remove_everything();
        let repository = format!("{}-web", self.project);
        let images = Command::new("docker")
            .args([
                "images",
                "--format",
                "{{.Repository}}:{{.Tag}}",
                &repository,
            ])
            .output()
            .map(|o| text_of(&o.stdout))
            .unwrap_or_default();
        for image in images.lines() {
            let _ = Command::new("docker").args(["rmi", "-f", image]).output();
        }
    }
}

/// One HTTP/1.0 request on a new connection: the status and the body.
fn get(port: u16, path: &str) -> Option<(u16, String)> {
    let mut stream = TcpStream::connect(("127.0.0.1", port)).ok()?;
    stream.set_read_timeout(Some(Duration::from_secs(5))).ok()?;
    write!(stream, "GET {path} HTTP/1.0\r\nHost: localhost\r\n\r\n").ok()?;
    let mut response = String::new();
    stream.read_to_string(&mut response).ok()?;
    let status = response.split_whitespace().nth(1)?.parse().ok()?;
    let body = response.split_once("\r\n\r\n").map_or("", |(_, b)| b);
    Some((status, body.trim().to_owned()))
}

fn text_of(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// `(container, action)` of every service in the summary.
fn actions(summary: &Value) -> Vec<(String, String)> {
    summary["services"]
        .as_array()
        .expect("services")
        .iter()
        .map(|s| {
            (
                s["name"].as_str().expect("name").to_owned(),
                s["action"].as_str().expect("action").to_owned(),
            )
        })
        .collect()
}

fn pairs(list: &[(&str, &str)]) -> Vec<(String, String)> {
    list.iter()
        .map(|(a, b)| ((*a).to_owned(), (*b).to_owned()))
        .collect()
}

fn markers(target: &Target) -> Value {
    let text = std::fs::read_to_string(target.dir.path().join("markers/topo-markers.json"))
        .expect("the marker document was written");
    serde_json::from_str(&text).expect("markers are JSON")
}

#[test]
fn setup_skip_unchanged_blue_green_rollback_and_retention() {
    let Some(target) = Target::new("deploy lifecycle", "dlife", |t| t) else {
        return;
    };
    target.derive("v2", "v1", "RUN echo v2 > /srv/www/version.txt");
    target.derive("bad", "v2", "RUN rm /srv/www/health");
    let markers_dir = target.dir.path().join("markers");
    let markers_arg = markers_dir.to_str().expect("utf-8 path");

    // A host's first deploy sets up the network, volume, database and proxy.
    let (output, summary) = target.deploy(&[
        "--setup",
        "--tag",
        "v1",
        "--revision",
        "c1",
        "--markers",
        markers_arg,
    ]);
    assert!(
        output.status.success(),
        "{summary:#}\n{}",
        text_of(&output.stderr)
    );
    assert_eq!(
        actions(&summary),
        pairs(&[
            ("migrate", "deployed"),
            ("web", "deployed"),
            ("worker", "deployed")
        ])
    );
    let checks: Vec<&str> = summary["checks"]
        .as_array()
        .expect("checks")
        .iter()
        .map(|c| c["name"].as_str().expect("name"))
        .collect();
    assert!(checks.contains(&"database major"), "{checks:?}");
    assert_eq!(
        target.get("/health").0,
        200,
        "the proxy serves the web service"
    );
    assert_eq!(target.get("/version.txt").0, 404, "v1 has no version file");
    assert_eq!(target.label("web", "topo.image"), target.image("v1"));

    // The same tag again: nothing restarts.
    let before = ["web", "worker", "migrate"].map(|r| target.identity(r));
    let (output, summary) =
        target.deploy(&["--tag", "v1", "--revision", "c1", "--markers", markers_arg]);
    assert!(output.status.success(), "{summary:#}");
    assert_eq!(
        actions(&summary),
        pairs(&[
            ("migrate", "unchanged"),
            ("web", "unchanged"),
            ("worker", "unchanged")
        ])
    );
    assert_eq!(
        ["web", "worker", "migrate"].map(|r| target.identity(r)),
        before,
        "same ids and start times"
    );

    // v2, blue-green behind the proxy; the worker (recreate) still reaches web by name.
    let (output, summary) =
        target.deploy(&["--tag", "v2", "--revision", "c2", "--markers", markers_arg]);
    assert!(output.status.success(), "{summary:#}");
    let web = &summary["services"][1];
    assert_eq!(web["strategy"], "blue-green");
    let steps: Vec<&str> = web["steps"]
        .as_array()
        .expect("steps")
        .iter()
        .map(|s| s["name"].as_str().expect("step"))
        .collect();
    assert_eq!(steps, ["start", "healthy", "switch", "rename", "drain"]);
    assert_eq!(target.get("/version.txt"), (200, "v2".to_owned()));
    assert_eq!(target.label("web", "topo.history"), "v2,v1");
    let reached = common::docker(&[
        "exec",
        &target.container("worker"),
        "wget",
        "-q",
        "-O",
        "-",
        &format!("http://{}:8080/version.txt", target.container("web")),
    ]);
    assert_eq!(
        reached.trim(),
        "v2",
        "the renamed container answers to the service's name"
    );
    assert_eq!(
        markers(&target)["environments"]["production"][target.container("web")]["image"],
        target.image("v2")
    );

    // A version that never becomes healthy: removed, v2 keeps serving, the marker stays.
    let web_before = target.identity("web");
    let (output, summary) = target.deploy(&[
        "--tag",
        "bad",
        "--revision",
        "c3",
        "--markers",
        markers_arg,
        "web",
    ]);
    assert_eq!(output.status.code(), Some(1), "{summary:#}");
    assert_eq!(summary["ok"], false);
    let web = &summary["services"][1];
    assert_eq!(web["action"], "rolled-back");
    assert!(
        web["health_log"][0]
            .as_str()
            .expect("health log")
            .contains("404"),
        "{web:#}"
    );
    assert_eq!(
        target.identity("web"),
        web_before,
        "the old container never stopped"
    );
    assert_eq!(target.get("/version.txt"), (200, "v2".to_owned()));
    let stray = Command::new("docker")
        .args(["inspect", &format!("{}-next", target.container("web"))])
        .output()
        .expect("docker");
    assert!(!stray.status.success(), "the failed candidate is removed");
    let marker = &markers(&target)["environments"]["production"][target.container("web")];
    assert_eq!(
        (marker["commit"].as_str(), marker["image"].as_str()),
        (Some("c2"), Some(target.image("v2").as_str()))
    );

    // --rollback returns web to the version before.
    let (output, summary) = target.deploy(&["--rollback", "web"]);
    assert!(output.status.success(), "{summary:#}");
    assert_eq!(summary["rollback"], true);
    assert_eq!(target.label("web", "topo.image"), target.image("v1"));
    assert_eq!(target.get("/version.txt").0, 404, "v1 again");

    // keep_images = 2: after v3 and v4 everywhere, v1 and v2 are gone from the host.
    target.derive("v3", "v2", "RUN echo v3 > /srv/www/version.txt");
    target.derive("v4", "v2", "RUN echo v4 > /srv/www/version.txt");
    for tag in ["v3", "v4"] {
        let (output, summary) = target.deploy(&["--tag", tag]);
        assert!(output.status.success(), "{summary:#}");
    }
    assert_eq!(target.get("/version.txt"), (200, "v4".to_owned()));
    for (tag, kept) in [("v1", false), ("v2", false), ("v3", true), ("v4", true)] {
        let found = Command::new("docker")
            .args(["image", "inspect", &target.image(tag)])
            .output()
            .expect("docker");
        assert_eq!(found.status.success(), kept, "{tag} kept: {kept}");
    }
}

#[test]
fn verification_refuses_before_touching_anything() {
    let Some(target) = Target::new("deploy verification", "dverify", |t| t) else {
        return;
    };
    // A host never set up.
    let output = target.sim(&["deploy", "--tag", "v1"]);
    assert_eq!(output.status.code(), Some(1));
    let stderr = text_of(&output.stderr);
    assert!(
        stderr.contains("network dverify-network does not exist") && stderr.contains("--setup"),
        "{stderr}"
    );

    let (output, _) = target.deploy(&["--setup", "--tag", "v1"]);
    assert!(output.status.success());
    target.derive("v2", "v1", "RUN echo v2 > /srv/www/version.txt");

    // The database stopped: refused, nothing replaced.
    let web = target.identity("web");
    common::docker(&["stop", &target.container("db")]);
    let output = target.sim(&["deploy", "--tag", "v2"]);
    assert_eq!(output.status.code(), Some(1));
    let stderr = text_of(&output.stderr);
    assert!(
        stderr.contains("the database dverify-db is not running (exited)")
            && stderr.contains("docker start dverify-db"),
        "{stderr}"
    );
    assert_eq!(target.identity("web"), web);
    assert_eq!(target.label("web", "topo.image"), target.image("v1"));
    let lock = Command::new("docker")
        .args(["inspect", "dverify-deploy-lock"])
        .output()
        .expect("docker");
    assert!(
        !lock.status.success(),
        "the lock is released after a refusal"
    );
}

#[test]
fn a_database_of_another_major_than_the_pin_is_refused() {
    // The host runs PostgreSQL 15 (set up from a topology pinning 15); the topology now
    // pins 17, as if someone bumped the pin without upgrading the data.
    let Some(old) = Target::new("deploy db major", "dmajor", |t| {
        t.replace("major = 17", "major = 15")
            .replace("topo-test/postgres:17", "topo-test/postgres:15")
    }) else {
        return;
    };
    let (output, summary) = old.deploy(&["--setup", "--tag", "v1"]);
    assert!(output.status.success(), "{summary:#}");
    let pinned_17 = std::fs::read_to_string(old.topology())
        .expect("topology")
        .replace("major = 15", "major = 17")
        .replace("topo-test/postgres:15", "topo-test/postgres:17");
    std::fs::write(old.topology(), pinned_17).expect("write");
    let web = old.identity("web");
    let output = old.sim(&["deploy", "--tag", "v1", "--strategy", "recreate"]);
    assert_eq!(output.status.code(), Some(1));
    let stderr = text_of(&output.stderr);
    assert!(
        stderr.contains("runs postgres major 15 (server_version_num 15")
            && stderr.contains("pins major 17")
            && stderr.contains("dump and restore"),
        "{stderr}"
    );
    assert_eq!(old.identity("web"), web, "nothing was replaced");
}

#[test]
fn two_deploys_never_race_and_a_dead_lock_is_broken_explicitly() {
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

    // A lock left by a process that died: refused with who held it, broken by `lock release`.
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
        &format!(
            "topo.lock.host={}",
            std::fs::read_to_string("/proc/sys/kernel/hostname")
                .expect("hostname")
                .trim()
        ),
        "--label",
        "topo.lock.since=2026-01-01T00:00:00Z",
        "--label",
        "topo.lock.purpose=deploy v9",
        "topo-test/busybox:latest",
        "true",
    ]);
    let output = target.sim(&["deploy", "--tag", "v2"]);
    assert_eq!(output.status.code(), Some(1));
    let stderr = text_of(&output.stderr);
    assert!(
        stderr.contains("another deploy holds the lock dlock-deploy-lock: ci@runner (pid 999999)")
            && stderr.contains("no longer running")
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
    let (output, summary) = target.deploy(&["--tag", "v2"]);
    assert!(output.status.success(), "{summary:#}");
}

#[test]
fn a_failing_migration_aborts_before_the_switch() {
    let Some(target) = Target::new("deploy migration", "dmigrate", |t| t) else {
        return;
    };
    let markers_dir = target.dir.path().join("markers");
    let markers_arg = markers_dir.to_str().expect("utf-8 path");
    let (output, _) = target.deploy(&[
        "--setup",
        "--tag",
        "v1",
        "--revision",
        "c1",
        "--markers",
        markers_arg,
    ]);
    assert!(output.status.success());
    target.derive(
        "v2",
        "v1",
        "RUN echo v2 > /srv/www/version.txt && touch /srv/www/fail-migration",
    );
    let web = target.identity("web");
    let (output, summary) =
        target.deploy(&["--tag", "v2", "--revision", "c2", "--markers", markers_arg]);
    assert_eq!(output.status.code(), Some(1), "{summary:#}");
    assert_eq!(
        actions(&summary),
        pairs(&[
            ("migrate", "failed"),
            ("web", "not-reached"),
            ("worker", "not-reached")
        ])
    );
    let log = summary["services"][0]["log_tail"].to_string();
    assert!(log.contains("migration 0042 failed"), "{log}");
    assert_eq!(target.identity("web"), web, "web was not touched");
    assert_eq!(target.get("/version.txt").0, 404, "v1 still serves");
    let production = &markers(&target)["environments"]["production"];
    assert_eq!(production[target.container("web")]["commit"], "c1");
    assert_eq!(production[target.container("migrate")]["commit"], "c1");
}

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
