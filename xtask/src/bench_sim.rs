//! `cargo xtask bench-sim`: a cold `topo-sim up` to all-healthy against
//! `docker compose -f docker-compose.prod-sim.yml up -d --build --wait` on the same rendered
//! topology, in the same run, and a warm `topo-sim up` (images of the same sources exist).
//!
//! The stack, generated under `target/bench-sim/`: PostgreSQL 17 (the offline test image),
//! three HTTP services with their own build contexts, each with a two-second "compile"
//! step, and a worker on one of their images. "Cold" means the stack's images (and so
//! the classic builder's layers) are removed first, and BuildKit's cache is pruned before
//! Compose's cold run; every run starts on fresh volumes. Medians are reported.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use anyhow::{bail, Context};

const PROJECT: &str = "simbench";
const RUNS: usize = 3;
const APPS: [&str; 3] = ["api", "web", "admin"];

pub fn run(root: &Path) -> anyhow::Result<()> {
    let dir = prepare(root)?;
    let mut times = Times::default();
    for run in 1..=RUNS {
        eprintln!("bench-sim: run {run} of {RUNS}");
        times.measure_once(root, &dir)?;
    }
    remove_images()?;
    times.report();
    Ok(())
}

/// Builds the binaries and the offline test images, writes the bench stack and renders its
/// prod-sim file (what Compose runs); the stack's directory.
fn prepare(root: &Path) -> anyhow::Result<PathBuf> {
    let status = Command::new("cargo")
        .args([
            "build",
            "--release",
            "--quiet",
            "-p",
            "topo-sim",
            "-p",
            "topo-cli",
        ])
        .current_dir(root)
        .status()?;
    if !status.success() {
        bail!("cannot build topo-sim and topo");
    }
    check(
        Command::new("bash").arg(root.join("tests/images/build.sh")),
        "building the offline test images",
    )?;
    let dir = generate(root)?;
    let topo = root.join("target/release/topo");
    check(
        Command::new(&topo)
            .args(["render", "--mode", "prod-sim", "-t"])
            .arg(dir.join("topology.toml")),
        "rendering the prod-sim file",
    )?;
    Ok(dir)
}

/// The wall times to all-healthy of every run, by contender.
#[derive(Default)]
struct Times {
    topo_cold: Vec<Duration>,
    topo_warm: Vec<Duration>,
    compose_cold: Vec<Duration>,
    compose_warm: Vec<Duration>,
}

impl Times {
    /// One run: topo-sim cold then warm, Compose cold then warm, each on fresh volumes.
    fn measure_once(&mut self, root: &Path, dir: &Path) -> anyhow::Result<()> {
        let sim = |args: &[&str]| {
            let mut command = Command::new(root.join("target/release/topo-sim"));
            command
                .args(args)
                .arg("-t")
                .arg(dir.join("topology.toml"))
                .env("CI", "true");
            command
        };
        let compose = |args: &[&str]| {
            let mut command = Command::new("docker");
            command
                .args(["compose", "-f", "docker-compose.prod-sim.yml"])
                .args(args)
                .current_dir(dir);
            command
        };
        remove_images()?;
        check(&mut sim(&["down", "--volumes"]), "topo-sim down")?;
        self.topo_cold
            .push(timed(&mut sim(&["up", "--no-smoke"]), "cold topo-sim up")?);
        self.topo_warm
            .push(timed(&mut sim(&["up", "--no-smoke"]), "warm topo-sim up")?);
        check(&mut sim(&["down", "--volumes"]), "topo-sim down")?;
        remove_images()?;
        // Compose builds with BuildKit, whose cache outlives the images: without a prune its
        // "cold" build would be all cache hits.
        check(
            Command::new("docker").args(["builder", "prune", "-af"]),
            "docker builder prune",
        )?;
        let up = ["up", "-d", "--build", "--wait"];
        self.compose_cold
            .push(timed(&mut compose(&up), "cold docker compose up")?);
        check(&mut compose(&["down", "-v"]), "docker compose down")?;
        self.compose_warm
            .push(timed(&mut compose(&up), "warm docker compose up")?);
        check(&mut compose(&["down", "-v"]), "docker compose down")?;
        Ok(())
    }

    /// Prints the medians and their ratios.
    fn report(mut self) {
        let (tc, tw, cc, cw) = (
            median(&mut self.topo_cold),
            median(&mut self.topo_warm),
            median(&mut self.compose_cold),
            median(&mut self.compose_warm),
        );
        println!(
            "bench-sim: {} (db + {} built services + worker), median of {RUNS} runs",
            PROJECT,
            APPS.len()
        );
        println!("{:<44} {:>9}", "to all healthy", "seconds");
        println!(
            "{:<44} {:>9.2}",
            "topo-sim up, cold (images built)",
            secs(tc)
        );
        println!(
            "{:<44} {:>9.2}",
            "docker compose up --build --wait, cold",
            secs(cc)
        );
        println!(
            "{:<44} {:>9.2}",
            "topo-sim up, warm (images reused)",
            secs(tw)
        );
        println!(
            "{:<44} {:>9.2}",
            "docker compose up --build --wait, warm",
            secs(cw)
        );
        println!("ratio cold topo / cold compose: {:.2}", secs(tc) / secs(cc));
        println!("ratio warm topo / cold topo:    {:.2}", secs(tw) / secs(tc));
        println!("ratio warm topo / warm compose: {:.2}", secs(tw) / secs(cw));
    }
}

/// Writes the bench stack (idempotent): the topology and three app contexts.
fn generate(root: &Path) -> anyhow::Result<PathBuf> {
    let dir = root.join("target/bench-sim");
    let fixture = root.join("tests/fixtures/sim/apps/web");
    let mut topology = format!(
        "project = \"{PROJECT}\"\n\n[database]\nengine = \"postgres\"\nmajor = 17\n\
         image = \"topo-test/postgres:17\"\nuser = \"bench\"\nname = \"bench\"\n\
         password = {{ secret = \"BENCH_DB_PASSWORD\", dev = \"bench\" }}\n\
         health = {{ interval = \"1s\", timeout = \"3s\", retries = 30, start_period = \"2s\" }}\n"
    );
    for (index, app) in APPS.iter().enumerate() {
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
        let port = 18_180 + index;
        let depends = if *app == "api" {
            "{ db = \"healthy\" }"
        } else {
            "{ api = \"healthy\" }"
        };
        topology.push_str(&format!(
            "\n[[services]]\nrole = \"{app}\"\ncontext = \"apps/{app}\"\n\
             command = {{ dev = [\"true\"], prod = [\"httpd\", \"-f\", \"-p\", \"8080\", \"-h\", \"/srv/www\"] }}\n\
             ports = [{{ container = 8080, host = {port} }}]\ndepends_on = {depends}\n\
             health = {{ http = \"/health\", port = 8080, interval = \"1s\", timeout = \"2s\", retries = 10, start_period = \"1s\" }}\n"
        ));
    }
    topology.push_str(
        "\n[[services]]\nrole = \"worker\"\nimage_of = \"api\"\n\
         command = { dev = [\"true\"], prod = [\"sh\", \"-c\", \"while true; do sleep 1; done\"] }\n\
         depends_on = { api = \"healthy\" }\n",
    );
    std::fs::write(dir.join("topology.toml"), topology)?;
    Ok(dir)
}

/// Removes every image of the bench project, so the next build is cold.
fn remove_images() -> anyhow::Result<()> {
    let output = Command::new("docker")
        .args([
            "images",
            "-q",
            "--filter",
            &format!("reference={PROJECT}-*"),
        ])
        .output()?;
    let mut ids: Vec<String> = String::from_utf8_lossy(&output.stdout)
        .split_whitespace()
        .map(str::to_owned)
        .collect();
    ids.sort();
    ids.dedup();
    if !ids.is_empty() {
        let _ = Command::new("docker")
            .arg("rmi")
            .arg("-f")
            .args(&ids)
            .output()?;
    }
    Ok(())
}

fn check(command: &mut Command, what: &str) -> anyhow::Result<()> {
    let output = command.output().with_context(|| what.to_owned())?;
    if !output.status.success() {
        bail!(
            "{what} failed:\n{}\n{}",
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        );
    }
    Ok(())
}

fn timed(command: &mut Command, what: &str) -> anyhow::Result<Duration> {
    let start = Instant::now();
    check(command, what)?;
    Ok(start.elapsed())
}

fn median(times: &mut [Duration]) -> Duration {
    times.sort();
    times[times.len() / 2]
}

fn secs(duration: Duration) -> f64 {
    duration.as_secs_f64()
}
