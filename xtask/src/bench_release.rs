//! `cargo xtask bench-release`: the example workflow's commands end to end (plan with
//! registry markers → build and push the plan's images → deploy by digest, moving the
//! registry's tags), for a first release, a release changing one service, and a release
//! changing nothing; each measured in seconds, images built, bytes pushed and containers
//! restarted. The no-op release must build, push and restart nothing; the bench fails if it
//! does.
//!
//! The stack, generated under `target/bench-release/` as a git repository: PostgreSQL 17
//! (the offline test image), three HTTP services with their own build contexts (each with a
//! two-second "compile" step; each stops on SIGTERM, so a replacement waits for no kill
//! timeout), and a worker running one of their images. The registry is
//! Debian's `docker-registry` on a loopback port, the engine the local one: network costs
//! are a loopback's. Each run starts from nothing (no images, an empty registry, no
//! containers or volumes); medians of the runs are reported, the counts of the last.

use std::collections::BTreeMap;
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command};
use std::time::{Duration, Instant};

use anyhow::{bail, Context};
use serde_json::Value;

const PROJECT: &str = "relbench";
const RUNS: usize = 3;
const APPS: [&str; 3] = ["api", "web", "admin"];
const RELEASES: [&str; 3] = ["first release", "one service changed", "no change"];

pub fn run(root: &Path) -> anyhow::Result<()> {
    prepare(root)?;
    let mut measured: Vec<Vec<Release>> = vec![Vec::new(); RELEASES.len()];
    for run in 1..=RUNS {
        eprintln!("bench-release: run {run} of {RUNS}");
        for (index, release) in measure_once(root)?.into_iter().enumerate() {
            measured[index].push(release);
        }
    }
    clean()?;
    report(&mut measured)
}

/// One measurement of the three releases.
#[derive(Clone, Debug, Default)]
struct Release {
    seconds: f64,
    plan: f64,
    build: f64,
    deploy: f64,
    built: usize,
    pushed: usize,
    bytes_pushed: u64,
    restarted: usize,
    created: usize,
}

fn prepare(root: &Path) -> anyhow::Result<()> {
    check(
        Command::new("cargo")
            .args([
                "build",
                "--release",
                "--quiet",
                "-p",
                "topo-cli",
                "-p",
                "topo-ci",
            ])
            .current_dir(root),
        "building topo and topo-ci",
    )?;
    check(
        Command::new("bash").arg(root.join("tests/images/build.sh")),
        "building the offline test images",
    )?;
    check(
        Command::new("docker-registry").arg("--version"),
        "docker-registry (apt-get install docker-registry)",
    )
}

/// A fresh repository, registry and host; the three releases in order.
fn measure_once(root: &Path) -> anyhow::Result<Vec<Release>> {
    clean()?;
    let registry = LocalRegistry::start(root)?;
    let dir = generate(root, &registry.host)?;
    let mut releases = Vec::new();
    for (index, name) in RELEASES.iter().enumerate() {
        match index {
            1 => {
                std::fs::write(dir.join("apps/web/www/index.html"), "web, version 2\n")?;
                git(&dir, &["commit", "-qam", "web: version 2"])?;
            }
            2 => git(&dir, &["commit", "-q", "--allow-empty", "-m", "nothing"])?,
            _ => {}
        }
        let release = release(root, &dir).with_context(|| format!("the release `{name}`"))?;
        releases.push(release);
    }
    let noop = &releases[2];
    if noop.built + noop.pushed + noop.restarted + noop.created != 0 || noop.bytes_pushed != 0 {
        bail!("the no-op release did work: {noop:?}");
    }
    drop(registry);
    Ok(releases)
}

/// The workflow's commands: plan; build and push when the plan has images; deploy when it
/// deploys something.
fn release(root: &Path, dir: &Path) -> anyhow::Result<Release> {
    let bin = |name: &str| root.join("target/release").join(name);
    let before = containers()?;
    let start = Instant::now();
    let plan_output = output(
        Command::new(bin("topo-ci"))
            .args(["plan", "--env", "production", "--markers", "registry"])
            .args(["--event", "manual", "--format", "json"])
            .current_dir(dir),
        "topo-ci plan",
    )?;
    std::fs::write(dir.join("plan.json"), &plan_output)?;
    let plan: Value = serde_json::from_slice(&plan_output)?;
    let mut release = Release {
        plan: start.elapsed().as_secs_f64(),
        ..Release::default()
    };
    let services = plan["services"].as_array().context("a plan")?;
    let building = services.iter().any(|s| s["action"] != "skip");
    let deploying = services.iter().any(|s| s["action"] == "deploy");
    if building {
        let started = Instant::now();
        let report = output(
            Command::new(bin("topo"))
                .args([
                    "build",
                    "--plan",
                    "plan.json",
                    "--push",
                    "--report",
                    "build.json",
                ])
                .args(["--format", "json"])
                .current_dir(dir),
            "topo build",
        )?;
        release.build = started.elapsed().as_secs_f64();
        let report: Value = serde_json::from_slice(&report)?;
        for image in report["images"].as_array().context("a build report")? {
            release.built += usize::from(image["outcome"] == "built");
            release.pushed += usize::from(image["pushed"] == true);
            release.bytes_pushed += image["bytes_pushed"].as_u64().unwrap_or(0);
        }
    }
    if deploying {
        let started = Instant::now();
        output(
            Command::new(bin("topo"))
                .args([
                    "deploy",
                    "--setup",
                    "--plan",
                    "plan.json",
                    "--images",
                    "build.json",
                ])
                .args(["--markers", "registry", "--format", "json"])
                .env("BENCH_DB_PASSWORD", "bench-secret")
                .current_dir(dir),
            "topo deploy",
        )?;
        release.deploy = started.elapsed().as_secs_f64();
    }
    release.seconds = start.elapsed().as_secs_f64();
    let after = containers()?;
    release.restarted = before
        .iter()
        .filter(|(name, state)| after.get(*name).is_some_and(|now| now != *state))
        .count();
    release.created = after
        .keys()
        .filter(|name| !before.contains_key(*name))
        .count();
    Ok(release)
}

fn report(measured: &mut [Vec<Release>]) -> anyhow::Result<()> {
    println!(
        "bench-release: {PROJECT} (db + {} built services + worker), median of {RUNS} runs; \
         plan → build + push → deploy against a loopback registry and the local engine",
        APPS.len()
    );
    println!(
        "{:<22} {:>8} {:>7} {:>8} {:>8} {:>6} {:>7} {:>12} {:>8} {:>10}",
        "release",
        "seconds",
        "plan",
        "build",
        "deploy",
        "built",
        "pushed",
        "bytes pushed",
        "created",
        "restarted"
    );
    for (name, runs) in RELEASES.iter().zip(measured.iter_mut()) {
        let last = runs.last().cloned().context("measured")?;
        let median = |pick: fn(&Release) -> f64| {
            let mut values: Vec<f64> = runs.iter().map(pick).collect();
            values.sort_by(f64::total_cmp);
            values[values.len() / 2]
        };
        println!(
            "{:<22} {:>8.2} {:>7.2} {:>8.2} {:>8.2} {:>6} {:>7} {:>12} {:>8} {:>10}",
            name,
            median(|r| r.seconds),
            median(|r| r.plan),
            median(|r| r.build),
            median(|r| r.deploy),
            last.built,
            last.pushed,
            last.bytes_pushed,
            last.created,
            last.restarted
        );
    }
    let first = measured[0].iter().map(|r| r.seconds).sum::<f64>();
    let one = measured[1].iter().map(|r| r.seconds).sum::<f64>();
    let noop = measured[2].iter().map(|r| r.seconds).sum::<f64>();
    println!(
        "ratio one-service change / first release: {:.2}",
        one / first
    );
    println!(
        "ratio no-op / first release:              {:.2}",
        noop / first
    );
    Ok(())
}

/// `docker-registry serve` on a free loopback port, its data in a temporary directory.
struct LocalRegistry {
    host: String,
    child: Child,
    _data: PathBuf,
}

impl LocalRegistry {
    fn start(root: &Path) -> anyhow::Result<LocalRegistry> {
        let port = TcpListener::bind("127.0.0.1:0")?.local_addr()?.port();
        let data = root.join("target/bench-release-registry");
        let _ = std::fs::remove_dir_all(&data);
        std::fs::create_dir_all(&data)?;
        let config = data.join("config.yml");
        std::fs::write(
            &config,
            format!(
                "version: 0.1\nlog:\n  level: error\nstorage:\n  filesystem:\n    rootdirectory: {}\nhttp:\n  addr: 127.0.0.1:{port}\n  secret: bench\n",
                data.join("data").display()
            ),
        )?;
        let child = Command::new("docker-registry")
            .arg("serve")
            .arg(&config)
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .context("starting docker-registry")?;
        let deadline = Instant::now() + Duration::from_secs(20);
        while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
            if Instant::now() > deadline {
                bail!("the registry did not start");
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        Ok(LocalRegistry {
            host: format!("127.0.0.1:{port}"),
            child,
            _data: data,
        })
    }
}

impl Drop for LocalRegistry {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Writes the bench stack as a fresh git repository publishing to `registry`.
fn generate(root: &Path, registry: &str) -> anyhow::Result<PathBuf> {
    let dir = root.join("target/bench-release");
    let _ = std::fs::remove_dir_all(&dir);
    let fixture = root.join("tests/fixtures/sim/apps/web");
    let mut topology = format!(
        "project = \"{PROJECT}\"\n\n[database]\nengine = \"postgres\"\nmajor = 17\n\
         image = \"topo-test/postgres:17\"\nuser = \"bench\"\nname = \"bench\"\n\
         password = {{ secret = \"BENCH_DB_PASSWORD\", dev = \"bench\" }}\n\
         health = {{ interval = \"1s\", timeout = \"3s\", retries = 30, start_period = \"2s\" }}\n"
    );
    for app in APPS {
        let context = dir.join("apps").join(app);
        std::fs::create_dir_all(context.join("www"))?;
        for file in ["health", "index.html"] {
            std::fs::copy(
                fixture.join("www").join(file),
                context.join("www").join(file),
            )?;
        }
        let dockerfile = std::fs::read_to_string(fixture.join("Dockerfile"))?.replace(
            "COPY www /srv/www",
            &format!("COPY www /srv/www\nRUN echo compiling {app} && sleep 2"),
        );
        std::fs::write(context.join("Dockerfile"), dockerfile)?;
        let depends = if app == "api" {
            "{ db = \"healthy\" }"
        } else {
            "{ api = \"healthy\" }"
        };
        topology.push_str(&format!(
            "\n[[services]]\nrole = \"{app}\"\ncontext = \"apps/{app}\"\n\
             command = {{ dev = [\"true\"], prod = [\"sh\", \"-c\", \"trap 'kill $pid; exit 0' TERM; httpd -f -p 8080 -h /srv/www & pid=$!; wait\"] }}\n\
             depends_on = {depends}\n\
             health = {{ http = \"/health\", port = 8080, interval = \"1s\", timeout = \"2s\", retries = 10, start_period = \"1s\" }}\n"
        ));
    }
    topology.push_str(&format!(
        "\n[[services]]\nrole = \"worker\"\nimage_of = \"api\"\n\
         command = {{ dev = [\"true\"], prod = [\"sh\", \"-c\", \"trap 'exit 0' TERM; while true; do sleep 1; done\"] }}\n\
         depends_on = {{ api = \"healthy\" }}\n\n[production]\nregistry = \"{registry}/bench\"\nhost_ip = \"127.0.0.1\"\n"
    ));
    std::fs::write(dir.join("topology.toml"), topology)?;
    git(&dir, &["init", "-q", "-b", "main"])?;
    git(&dir, &["add", "-A"])?;
    git(&dir, &["commit", "-qm", "first"])?;
    Ok(dir)
}

/// Each of the project's containers: name → id and start time.
fn containers() -> anyhow::Result<BTreeMap<String, String>> {
    let names = output(
        Command::new("docker").args([
            "ps",
            "-a",
            "--filter",
            &format!("label=topo.project={PROJECT}"),
            "--format",
            "{{.Names}}",
        ]),
        "docker ps",
    )?;
    let mut states = BTreeMap::new();
    for name in String::from_utf8_lossy(&names).lines() {
        let state = output(
            Command::new("docker").args(["inspect", "-f", "{{.Id}} {{.State.StartedAt}}", name]),
            "docker inspect",
        )?;
        states.insert(
            name.to_owned(),
            String::from_utf8_lossy(&state).trim().to_owned(),
        );
    }
    Ok(states)
}

/// Removes the project's containers, network, volumes and images.
fn clean() -> anyhow::Result<()> {
    let filter = format!("label=topo.project={PROJECT}");
    let ids = output(
        Command::new("docker").args(["ps", "-aq", "--filter", &filter]),
        "docker ps",
    )?;
    let ids: Vec<String> = String::from_utf8_lossy(&ids)
        .split_whitespace()
        .map(str::to_owned)
        .collect();
    if !ids.is_empty() {
        let _ = Command::new("docker")
            .args(["rm", "-f"])
            .args(&ids)
            .output()?;
    }
    for kind in ["volume", "network"] {
        let listed = output(
            Command::new("docker").args([kind, "ls", "-q", "--filter", &filter]),
            "docker ls",
        )?;
        for id in String::from_utf8_lossy(&listed).split_whitespace() {
            let _ = Command::new("docker")
                .args([kind, "rm", "-f", id])
                .output()?;
        }
    }
    let images = output(
        Command::new("docker").args(["images", "--format", "{{.Repository}}:{{.Tag}}"]),
        "docker images",
    )?;
    for image in String::from_utf8_lossy(&images).lines() {
        if image.contains(&format!("/bench/{PROJECT}-"))
            || image.contains("<none>") && image.contains(PROJECT)
        {
            let _ = Command::new("docker").args(["rmi", "-f", image]).output()?;
        }
    }
    Ok(())
}

fn git(dir: &Path, args: &[&str]) -> anyhow::Result<()> {
    output(
        Command::new("git")
            .args([
                "-c",
                "user.name=bench",
                "-c",
                "user.email=bench@example.invalid",
            ])
            .args(args)
            .current_dir(dir),
        "git",
    )
    .map(drop)
}

fn output(command: &mut Command, what: &str) -> anyhow::Result<Vec<u8>> {
    let output = command.output().with_context(|| what.to_owned())?;
    if !output.status.success() {
        bail!(
            "{what} failed:\n{}\n{}",
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        );
    }
    Ok(output.stdout)
}

fn check(command: &mut Command, what: &str) -> anyhow::Result<()> {
    output(command, what).map(drop)
}
