//! `cargo xtask bench-sim`: a cold `topo-sim up` to all-healthy against
//! `docker compose -f docker-compose.prod-sim.yml up -d --build --wait` on the same rendered
//! topology, in the same run, and a warm `topo-sim up` (images of the same sources exist).
//!
//! The stack, generated under `target/bench-sim/`: PostgreSQL 17 (the offline test image),
//! three HTTP services with their own build contexts, each built from two independent
//! stages of two seconds each (dependencies installed under a cache mount, assets
//! compiled), and a worker on one of their images. "Cold" means the stack's images are
//! removed and BuildKit's cache pruned first (both builders share the engine's BuildKit);
//! "changed" is the run after a one-line source change in one service. Every run starts on
//! fresh volumes. Medians are reported.

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
    topo_changed: Vec<Duration>,
    compose_cold: Vec<Duration>,
    compose_warm: Vec<Duration>,
    compose_changed: Vec<Duration>,
}

impl Times {
    /// One run: topo-sim cold, warm, changed; Compose cold, warm, changed; each on fresh
    /// volumes.
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
        let source = dir.join("apps/api/www/index.html");
        let original = std::fs::read_to_string(&source)?;
        let change = |source: &Path| std::fs::write(source, format!("{original}<p>changed</p>\n"));
        cold_start()?;
        check(&mut sim(&["down", "--volumes"]), "topo-sim down")?;
        self.topo_cold
            .push(timed(&mut sim(&["up", "--no-smoke"]), "cold topo-sim up")?);
        // Each timed run starts with no stack, as Compose's do after `down -v`: `up`
        // would otherwise also pay for removing the previous stack.
        check(&mut sim(&["down", "--volumes"]), "topo-sim down")?;
        self.topo_warm
            .push(timed(&mut sim(&["up", "--no-smoke"]), "warm topo-sim up")?);
        check(&mut sim(&["down", "--volumes"]), "topo-sim down")?;
        change(&source)?;
        self.topo_changed.push(timed(
            &mut sim(&["up", "--no-smoke"]),
            "changed topo-sim up",
        )?);
        std::fs::write(&source, &original)?;
        check(&mut sim(&["down", "--volumes"]), "topo-sim down")?;
        cold_start()?;
        let up = ["up", "-d", "--build", "--wait"];
        self.compose_cold
            .push(timed(&mut compose(&up), "cold docker compose up")?);
        check(&mut compose(&["down", "-v"]), "docker compose down")?;
        self.compose_warm
            .push(timed(&mut compose(&up), "warm docker compose up")?);
        check(&mut compose(&["down", "-v"]), "docker compose down")?;
        change(&source)?;
        self.compose_changed
            .push(timed(&mut compose(&up), "changed docker compose up")?);
        std::fs::write(&source, &original)?;
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
        let (tx, cx) = (
            median(&mut self.topo_changed),
            median(&mut self.compose_changed),
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
        println!(
            "{:<44} {:>9.2}",
            "topo-sim up, one source line changed",
            secs(tx)
        );
        println!(
            "{:<44} {:>9.2}",
            "docker compose up --build --wait, changed",
            secs(cx)
        );
        println!("ratio cold topo / cold compose: {:.2}", secs(tc) / secs(cc));
        println!(
            "ratio changed topo / changed compose: {:.2}",
            secs(tx) / secs(cx)
        );
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
        let dockerfile = format!(
            "FROM topo-test/busybox:latest AS base\nWORKDIR /srv\n\n\
             FROM base AS dev\nCMD [\"httpd\", \"-f\", \"-p\", \"8080\", \"-h\", \"/srv/www\"]\n\n\
             FROM base AS deps\n\
             RUN --mount=type=cache,target=/cache sh -c 'echo installing the dependencies of {app}; sleep 2; mkdir -p /deps; echo ok > /deps/installed'\n\n\
             FROM base AS assets\nCOPY www /assets-src\n\
             RUN echo compiling the assets of {app} && sleep 2 && mkdir -p /assets && cp -r /assets-src/. /assets/\n\n\
             FROM base AS prod\nCOPY --from=deps /deps /srv/deps\nCOPY --from=assets /assets /srv/www\n\
             CMD [\"httpd\", \"-f\", \"-p\", \"8080\", \"-h\", \"/srv/www\"]\n"
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
/// No image of the stack and an empty BuildKit cache: a cold start for either contender.
fn cold_start() -> anyhow::Result<()> {
    remove_images()?;
    check(
        Command::new("docker").args(["builder", "prune", "-af"]),
        "docker builder prune",
    )
}

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
