//! `cargo xtask bench-lint`: `topo lint` (every rule and topology drift) on the three files a
//! generated N-service topology renders, against `docker compose config -q` on the same files.

use std::process::Command;
use std::time::{Duration, Instant};

use topo_core::compose::{self, ComposeFile};
use topo_core::lint::{self, LintFile, LintOptions};
use topo_core::{RenderOptions, SourceFile, ValidateOptions};

use crate::bench::{median, tempfile_dir, topology_with};

pub fn run(services: usize) -> anyhow::Result<()> {
    let source = SourceFile::new("bench.toml", topology_with(services));
    let validated = topo_core::load(&source, &ValidateOptions::default())
        .map_err(|d| anyhow::anyhow!("bench topology invalid: {d:?}"))?;
    let rendered = topo_core::render_all(&validated.topology, &RenderOptions::default());
    let directory = tempfile_dir()?;
    for file in &rendered {
        std::fs::write(directory.join(&file.file_name), &file.contents)?;
    }
    let bytes: usize = rendered.iter().map(|f| f.contents.len()).sum();
    let runs = 10;
    let (mut read_times, mut lint_times) = (Vec::new(), Vec::new());
    let mut findings = 0;
    for _ in 0..runs {
        let start = Instant::now();
        let files: Vec<LintFile> = rendered
            .iter()
            .map(|f| {
                let text =
                    std::fs::read_to_string(directory.join(&f.file_name)).expect("just written");
                let file =
                    ComposeFile::read(f.file_name.clone(), text).expect("topo's output reads back");
                let mut lint_file = LintFile::new(file, compose::mode_of_file_name(&f.file_name));
                lint_file.dir = Some(directory.clone());
                lint_file
            })
            .collect();
        read_times.push(start.elapsed());
        let start = Instant::now();
        let options = LintOptions {
            topology: Some(&validated.topology),
            ..LintOptions::default()
        };
        findings = lint::lint(&files, &options).findings.len();
        lint_times.push(start.elapsed());
    }
    let (read, lint) = (median(read_times), median(lint_times));
    println!("bench-lint: {services} services, 3 files, {bytes} bytes of YAML, every rule + topology drift, median of {runs} runs");
    println!(
        "  read + parse with positions: {:>8.2} ms",
        read.as_secs_f64() * 1e3
    );
    println!(
        "  lint ({findings} findings):        {:>8.2} ms",
        lint.as_secs_f64() * 1e3
    );
    println!(
        "  total:                       {:>8.2} ms",
        (read + lint).as_secs_f64() * 1e3
    );

    // What a user runs instead to check the files: `docker compose config -q`, once per file.
    let compose_all = || -> std::io::Result<Duration> {
        let start = Instant::now();
        for file in &rendered {
            let output = Command::new("docker")
                .args(["compose", "-f"])
                .arg(directory.join(&file.file_name))
                .args(["config", "-q"])
                .env("DB_PASSWORD", "x")
                .env("TAG", "x")
                .output()?;
            if !output.status.success() {
                return Err(std::io::Error::other(
                    String::from_utf8_lossy(&output.stderr).trim().to_owned(),
                ));
            }
        }
        Ok(start.elapsed())
    };
    match compose_all() {
        Ok(_) => {
            let samples: Vec<Duration> = (0..5)
                .map(|_| compose_all().expect("ran once already"))
                .collect();
            let compose = median(samples);
            println!(
                "  docker compose config -q (3 files): {:>8.2} ms",
                compose.as_secs_f64() * 1e3
            );
            println!(
                "  ratio topo lint / docker compose config: {:.3}",
                (read + lint).as_secs_f64() / compose.as_secs_f64()
            );
        }
        Err(error) => {
            println!("  docker compose config unavailable or failed, no comparison: {error}")
        }
    }
    std::fs::remove_dir_all(&directory)?;
    Ok(())
}
