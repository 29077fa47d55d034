//! Shared by the integration tests: fixtures, loading, and the Docker/Compose gate.
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::Command;

use serde_json::Value;

use topo_core::{SourceFile, ValidTopology, ValidateOptions};

/// The workspace root.
pub fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("tests/ sits in the workspace")
        .to_path_buf()
}

/// Every valid fixture topology: the built-in example and `tests/fixtures/valid/*.toml`,
/// as (name, source text).
pub fn valid_fixtures() -> Vec<(String, String)> {
    let mut fixtures = vec![("vendure".to_owned(), topo_core::example::VENDURE.to_owned())];
    let mut paths: Vec<PathBuf> = std::fs::read_dir(root().join("tests/fixtures/valid"))
        .expect("tests/fixtures/valid exists")
        .map(|entry| entry.expect("readable directory entry").path())
        .filter(|p| p.extension().is_some_and(|e| e == "toml"))
        .collect();
    paths.sort();
    for path in paths {
        let name = path
            .file_stem()
            .expect("a file name")
            .to_string_lossy()
            .into_owned();
        fixtures.push((
            name,
            std::fs::read_to_string(&path).expect("readable fixture"),
        ));
    }
    fixtures
}

/// The source text of the valid fixture `name`.
pub fn fixture(name: &str) -> String {
    valid_fixtures()
        .into_iter()
        .find(|(n, _)| n == name)
        .map(|(_, text)| text)
        .unwrap_or_else(|| panic!("no fixture {name}"))
}

/// Parses and validates a fixture that must be valid.
pub fn load_valid(name: &str, text: &str) -> ValidTopology {
    let source = SourceFile::new(format!("{name}.toml"), text);
    match topo_core::load(&source, &ValidateOptions::default()) {
        Ok(validated) => validated.topology,
        Err(diagnostics) => panic!("fixture {name} is invalid: {diagnostics:#?}"),
    }
}

/// Is `docker compose` (v2) usable? With `CI=true` it must be: a missing one fails the
/// test. Elsewhere the test prints why it is skipped and returns false.
pub fn compose_v2_available(test: &str) -> bool {
    docker_gate(
        test,
        &["compose", "version", "--short"],
        "Compose v2 is required in CI",
        ".ci/run installs it with shared/tools/debian-newer compose-v2",
        "Compose v2 is not installed",
        "run `../shared/tools/debian-newer compose-v2`",
    )
}

/// Is a Docker engine answering? With `CI=true` it must be: a missing one fails the test.
/// Elsewhere the test prints why it is skipped and returns false.
pub fn docker_available(test: &str) -> bool {
    docker_gate(
        test,
        &["info"],
        "a Docker engine is required in CI",
        ".ci/run starts one",
        "no Docker engine",
        "start one (`dockerd &`) to run it",
    )
}

/// The one gate behind both: `docker PROBE` succeeds, or the test fails in CI, or it
/// prints why it is skipped.
fn docker_gate(
    test: &str,
    probe: &[&str],
    required: &str,
    ci_hint: &str,
    missing: &str,
    local_hint: &str,
) -> bool {
    let problem = match Command::new("docker").args(probe).output() {
        Ok(output) if output.status.success() => return true,
        Ok(output) => format!(
            "`docker {}` failed: {}",
            probe.join(" "),
            String::from_utf8_lossy(&output.stderr).trim()
        ),
        Err(error) => format!("cannot run docker: {error}"),
    };
    if std::env::var("CI").is_ok_and(|v| v == "true") {
        panic!("{test}: {required} ({problem}); {ci_hint}");
    }
    eprintln!("SKIPPED {test}: {missing} ({problem}); {local_hint}");
    false
}

/// Builds the offline test images once per test process (`tests/images/build.sh`, cached
/// by content: a second run only checks their labels).
pub fn ensure_test_images() {
    static BUILT: std::sync::OnceLock<()> = std::sync::OnceLock::new();
    BUILT.get_or_init(|| {
        let output = Command::new("bash")
            .arg(root().join("tests/images/build.sh"))
            .output()
            .expect("bash runs");
        assert!(
            output.status.success(),
            "tests/images/build.sh failed:\n{}\n{}",
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        );
    });
}

/// A port nobody listens on now, on 127.0.0.1, below the kernel's ephemeral range
/// (32768–60999 by default). A port the kernel hands out (`bind(0)`, the source port of
/// any outgoing connection) can be handed out again between a test choosing it and Docker
/// publishing it: CI once failed so, "bind: address already in use" for a proxy's port.
/// Each test process walks the range from its own offset (by pid), taking each port once.
pub fn free_port() -> u16 {
    use std::sync::atomic::{AtomicU32, Ordering};
    const FIRST: u32 = 15_000;
    const COUNT: u32 = 17_000;
    static TAKEN: AtomicU32 = AtomicU32::new(0);
    let offset = std::process::id().wrapping_mul(97) % COUNT;
    for _ in 0..COUNT {
        let n = TAKEN.fetch_add(1, Ordering::Relaxed);
        let port = u16::try_from(FIRST + (offset + n) % COUNT).expect("below 32,000");
        if std::net::TcpListener::bind(("127.0.0.1", port)).is_ok() {
            return port;
        }
    }
    panic!(
        "no free port on 127.0.0.1 between {FIRST} and {}",
        FIRST + COUNT
    )
}

/// Copies a directory tree (a fixture into a test's temporary directory).
pub fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).expect("mkdir");
    for entry in std::fs::read_dir(from).expect("readable fixture") {
        let entry = entry.expect("entry");
        let target = to.join(entry.file_name());
        if entry.file_type().expect("type").is_dir() {
            copy_dir(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), &target).expect("copy");
        }
    }
}

/// `docker ARGS`, which must succeed; its stdout.
pub fn docker(args: &[&str]) -> String {
    let output = Command::new("docker")
        .args(args)
        .output()
        .expect("docker runs");
    assert!(
        output.status.success(),
        "docker {args:?} failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8_lossy(&output.stdout).into_owned()
}

/// `docker KIND inspect NAME`, as JSON.
pub fn inspect(kind: &str, name: &str) -> Value {
    let text = docker(&[kind, "inspect", name]);
    let all: Value = serde_json::from_str(&text).expect("inspect is JSON");
    all[0].clone()
}

/// What keeps `document` from following the JSON Schema at `schema` (a path from the
/// workspace root): one line per error, none when it follows it.
pub fn schema_errors(schema: &str, document: &Value) -> Vec<String> {
    let schema: Value = serde_json::from_str(
        &std::fs::read_to_string(root().join(schema)).expect("the schema is readable"),
    )
    .expect("the schema is JSON");
    let validator = jsonschema::validator_for(&schema).expect("a valid schema");
    validator
        .iter_errors(document)
        .map(|e| e.to_string())
        .collect()
}

/// Removes what an engine holds of `project` (its containers, networks and volumes, by
/// label), quietly: also where no engine answers.
pub fn remove_project(project: &str) {
    let filter = format!("label=topo.project={project}");
    let listed = |args: &[&str]| -> Vec<String> {
        Command::new("docker")
            .args(args)
            .output()
            .map(|o| {
                String::from_utf8_lossy(&o.stdout)
                    .lines()
                    .map(str::to_owned)
                    .collect()
            })
            .unwrap_or_default()
    };
    for id in listed(&["ps", "-aq", "--filter", &filter]) {
        let _ = Command::new("docker").args(["rm", "-f", &id]).output();
    }
    for id in listed(&["network", "ls", "-q", "--filter", &filter]) {
        let _ = Command::new("docker").args(["network", "rm", &id]).output();
    }
    for id in listed(&["volume", "ls", "-q", "--filter", &filter]) {
        let _ = Command::new("docker")
            .args(["volume", "rm", "-f", &id])
            .output();
    }
}

/// An independent client: `threads` loops each calling a fresh clone of a request (true: it
/// succeeded) until stopped; it counts what it sent and what failed. Dropped (a test that
/// panicked), its loops stop.
pub struct Load {
    stop: std::sync::Arc<std::sync::atomic::AtomicBool>,
    sent: std::sync::Arc<std::sync::atomic::AtomicUsize>,
    failed: std::sync::Arc<std::sync::atomic::AtomicUsize>,
    threads: Vec<std::thread::JoinHandle<()>>,
}

impl Load {
    /// `threads` loops calling `request`, pausing `pause` between calls.
    pub fn with(
        threads: usize,
        pause: std::time::Duration,
        request: impl Fn() -> bool + Clone + Send + 'static,
    ) -> Load {
        use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
        use std::sync::Arc;
        let stop = Arc::new(AtomicBool::new(false));
        let (sent, failed) = (Arc::new(AtomicUsize::new(0)), Arc::new(AtomicUsize::new(0)));
        let threads = (0..threads)
            .map(|_| {
                let (stop, sent, failed) = (stop.clone(), sent.clone(), failed.clone());
                let request = request.clone();
                std::thread::spawn(move || {
                    while !stop.load(Ordering::Relaxed) {
                        sent.fetch_add(1, Ordering::Relaxed);
                        if !request() {
                            failed.fetch_add(1, Ordering::Relaxed);
                        }
                        std::thread::sleep(pause);
                    }
                })
            })
            .collect();
        Load {
            stop,
            sent,
            failed,
            threads,
        }
    }

    /// Requests sent and failed so far.
    pub fn counts(&self) -> (usize, usize) {
        use std::sync::atomic::Ordering;
        (
            self.sent.load(Ordering::Relaxed),
            self.failed.load(Ordering::Relaxed),
        )
    }

    /// Stops the client: requests sent and failed.
    pub fn finish(mut self) -> (usize, usize) {
        self.stop.store(true, std::sync::atomic::Ordering::Relaxed);
        for thread in self.threads.drain(..) {
            thread.join().expect("a load thread ends");
        }
        self.counts()
    }
}

impl Drop for Load {
    fn drop(&mut self) {
        self.stop.store(true, std::sync::atomic::Ordering::Relaxed);
    }
}

/// `docker build -t IMAGE -` of a Dockerfile without a context (its `FROM` an image on the
/// engine), which must succeed.
pub fn build_image(image: &str, dockerfile: &str) {
    use std::io::Write as _;
    let mut child = Command::new("docker")
        .args(["build", "-q", "-t", image, "-"])
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
        .expect("the Dockerfile is sent");
    let output = child.wait_with_output().expect("docker build ends");
    assert!(
        output.status.success(),
        "docker build {image}: {}",
        String::from_utf8_lossy(&output.stderr)
    );
}
