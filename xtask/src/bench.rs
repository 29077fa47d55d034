//! `cargo xtask bench-render`: render every mode of a generated N-service topology.

use std::fmt::Write as _;
use std::process::Command;
use std::time::{Duration, Instant};

use topo_core::{RenderOptions, SourceFile, ValidateOptions};

/// A topology with a database and `services` services: each builds its own context,
/// publishes a port, has generated paths, env (a secret among them) and a health check,
/// and depends on the database and on the service before it.
pub fn topology_with(services: usize) -> String {
    let mut text = String::from("project = \"bench\"\n[database]\nmajor = 17\npassword = { secret = \"DB_PASSWORD\", dev = \"dev\" }\n");
    for i in 0..services {
        let depends = if i == 0 {
            "{ db = \"healthy\" }".to_owned()
        } else {
            format!("{{ db = \"healthy\", svc{} = \"healthy\" }}", i - 1)
        };
        write!(
            text,
            "[[services]]\nrole = \"svc{i}\"\ncontext = \"apps/svc{i}\"\ngenerated = [\"node_modules\", \"dist\"]\ncommand = {{ dev = [\"npm\", \"run\", \"dev\"], prod = [\"node\", \"dist/main.js\"] }}\nports = [{port}]\ndepends_on = {depends}\nhealth = {{ http = \"/health\", port = {port} }}\n[services.env]\nNODE_ENV = {{ dev = \"development\", prod = \"production\" }}\nDB_HOST = \"bench-db\"\nDB_PASSWORD = {{ secret = \"DB_PASSWORD\", dev = \"dev\" }}\n",
            port = 10000 + i
        )
        .expect("writing to a String cannot fail");
    }
    text
}

pub fn median(mut samples: Vec<Duration>) -> Duration {
    samples.sort_unstable();
    samples[samples.len() / 2]
}

pub fn render(services: usize) -> anyhow::Result<()> {
    let text = topology_with(services);
    let source = SourceFile::new("bench.toml", text);
    let options = RenderOptions::default();
    let runs = 20;
    let mut load_times = Vec::new();
    let mut render_times = Vec::new();
    let mut files = Vec::new();
    for _ in 0..runs {
        let start = Instant::now();
        let validated = topo_core::load(&source, &ValidateOptions::default())
            .map_err(|d| anyhow::anyhow!("bench topology invalid: {d:?}"))?;
        load_times.push(start.elapsed());
        let start = Instant::now();
        files = topo_core::render_all(&validated.topology, &options);
        render_times.push(start.elapsed());
    }
    let load = median(load_times);
    let render = median(render_times);
    let bytes: usize = files.iter().map(|f| f.contents.len()).sum();
    println!(
        "bench-render: {services} services, 3 modes, {bytes} bytes of YAML, median of {runs} runs"
    );
    println!("  parse + validate: {:>8.2} ms", load.as_secs_f64() * 1e3);
    println!("  render 3 modes:   {:>8.2} ms", render.as_secs_f64() * 1e3);
    println!(
        "  total:            {:>8.2} ms",
        (load + render).as_secs_f64() * 1e3
    );

    // The same file through `docker compose config`: what Compose itself needs just to load it.
    let directory = tempfile_dir()?;
    let prod_sim = files
        .iter()
        .find(|f| f.mode == topo_core::Mode::ProdSim)
        .expect("prod-sim was rendered");
    let path = directory.join(&prod_sim.file_name);
    std::fs::write(&path, &prod_sim.contents)?;
    let compose = |path: &std::path::Path| {
        Command::new("docker")
            .args(["compose", "-f"])
            .arg(path)
            .args(["config", "-q"])
            .env("DB_PASSWORD", "x")
            .output()
    };
    match compose(&path) {
        Ok(output) if output.status.success() => {
            let samples: Vec<Duration> = (0..5)
                .map(|_| {
                    let start = Instant::now();
                    compose(&path).expect("docker compose ran once already");
                    start.elapsed()
                })
                .collect();
            let compose_time = median(samples);
            println!(
                "  docker compose config -q (prod-sim file only): {:>8.2} ms",
                compose_time.as_secs_f64() * 1e3
            );
            println!(
                "  ratio topo (all 3 modes) / compose (1 file): {:.3}",
                (load + render).as_secs_f64() / compose_time.as_secs_f64()
            );
        }
        Ok(output) => println!(
            "  docker compose config failed, no comparison: {}",
            String::from_utf8_lossy(&output.stderr).trim()
        ),
        Err(error) => println!("  docker compose not available, no comparison: {error}"),
    }
    std::fs::remove_dir_all(&directory)?;
    Ok(())
}

pub fn tempfile_dir() -> anyhow::Result<std::path::PathBuf> {
    let directory = std::env::temp_dir().join(format!("topo-bench-{}", std::process::id()));
    std::fs::create_dir_all(&directory)?;
    Ok(directory)
}
