//! Production deploys against a real Docker engine (tests/fixtures/deploy): PostgreSQL 17,
//! a one-shot migration, an HTTP service behind the nginx proxy (blue-green) and a worker
//! (recreate), on the offline images of tests/images/build.sh. Versions are image tags
//! derived from the prod build (`v2` adds a file, `bad` loses its health endpoint, …). Each
//! test runs its own project and proxy port. Without an engine the tests say they are
//! skipped; with `CI=true` a missing engine fails them.

#[path = "deploy/accessories.rs"]
mod accessories;
#[path = "deploy/acme.rs"]
mod acme;
mod common;
use common::Load;
#[path = "deploy/dry_run.rs"]
mod dry_run;
#[path = "deploy/faults.rs"]
mod faults;
#[path = "deploy/https.rs"]
mod https;
#[path = "deploy/lifecycle.rs"]
mod lifecycle;
#[path = "deploy/lock.rs"]
mod lock;
#[path = "deploy/mariadb.rs"]
mod mariadb;
#[path = "deploy/recovery.rs"]
mod recovery;
#[path = "deploy/refusals.rs"]
mod refusals;
#[path = "deploy/stopping.rs"]
mod stopping;
#[path = "deploy/zero_downtime.rs"]
mod zero_downtime;

use std::io::{Read as _, Write as _};
use std::net::TcpStream;
use std::path::PathBuf;
use std::process::{Command, Output};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::thread::JoinHandle;
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
        common::build_image(&self.image(tag), &dockerfile);
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

    /// `topo-sim deploy --format json ARGS`, which must succeed: its summary.
    fn deploy_ok(&self, args: &[&str]) -> Value {
        let (output, summary) = self.deploy(args);
        assert!(
            output.status.success(),
            "{}\n{}",
            text_of(&output.stdout),
            text_of(&output.stderr)
        );
        summary
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
        common::remove_project(&self.project);
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

/// One HTTP/1.1 request on a new connection: the whole response as text.
fn raw_get(port: u16, path: &str) -> String {
    let Ok(mut stream) = TcpStream::connect(("127.0.0.1", port)) else {
        return String::new();
    };
    let _ = stream.set_read_timeout(Some(Duration::from_secs(5)));
    let _ = write!(
        stream,
        "GET {path} HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n"
    );
    let mut response = String::new();
    let _ = stream.read_to_string(&mut response);
    response
}

/// One HTTP/1.0 request on a new connection: the status and the body.
fn get(port: u16, path: &str) -> Option<(u16, String)> {
    get_detailed(port, path).ok()
}

/// The deploy tests' client: `GET /health` through the proxy, one connection per request.
/// A failure is printed with what came back and when (the test's output shows it when the
/// test fails).
impl Load {
    fn start(port: u16, threads: usize, pause: Duration) -> Load {
        let began = std::time::Instant::now();
        Load::with(threads, pause, move || {
            let sent = began.elapsed();
            let answer = get_detailed(port, "/health");
            let ok = matches!(&answer, Ok((200, _)));
            if !ok {
                eprintln!(
                    "load: GET /health at {:.3} s, {:.3} s long: {answer:?}",
                    sent.as_secs_f64(),
                    (began.elapsed() - sent).as_secs_f64()
                );
            }
            ok
        })
    }
}

/// As [`get`], with what went wrong: the connection, the read, or the response.
fn get_detailed(port: u16, path: &str) -> Result<(u16, String), String> {
    let mut stream =
        TcpStream::connect(("127.0.0.1", port)).map_err(|e| format!("connect: {e}"))?;
    stream
        .set_read_timeout(Some(Duration::from_secs(5)))
        .map_err(|e| e.to_string())?;
    write!(stream, "GET {path} HTTP/1.0\r\nHost: localhost\r\n\r\n")
        .map_err(|e| format!("write: {e}"))?;
    let mut response = String::new();
    stream
        .read_to_string(&mut response)
        .map_err(|e| format!("read: {e} after {} bytes", response.len()))?;
    let status = response
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .ok_or_else(|| format!("no status in {response:?}"))?;
    let body = response.split_once("\r\n\r\n").map_or("", |(_, b)| b);
    Ok((status, body.trim().to_owned()))
}

/// Both cores kept busy (a busy loop per core, at normal priority) until dropped: a deploy
/// on a loaded host.
struct CpuHog {
    stop: Arc<AtomicBool>,
    threads: Vec<JoinHandle<u64>>,
}

impl CpuHog {
    fn start() -> CpuHog {
        let stop = Arc::new(AtomicBool::new(false));
        let cores = std::thread::available_parallelism().map_or(2, |n| n.get());
        let threads = (0..cores)
            .map(|_| {
                let stop = stop.clone();
                std::thread::spawn(move || {
                    let mut spins = 0u64;
                    while !stop.load(Ordering::Relaxed) {
                        spins = std::hint::black_box(spins.wrapping_add(1));
                    }
                    spins
                })
            })
            .collect();
        CpuHog { stop, threads }
    }
}

impl Drop for CpuHog {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        for thread in self.threads.drain(..) {
            let spins = thread.join().expect("a hog thread ends");
            assert!(spins > 0, "the hog ran");
        }
    }
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
