//! Project automation, run as `cargo xtask <task>`.
//!
//! - `gen-compose [--check]`: regenerate `examples/vendure/` (topology, schema, the three
//!   Compose files) from the built-in example, `docs/plan.schema.json` and
//!   `docs/build.schema.json`; `--check` writes nothing and fails when a committed file is
//!   stale. A `#[test]` runs the check, so stale files fail CI.
//! - `bench-render [--services N]`: time rendering every mode of a generated topology and,
//!   when Compose v2 is installed, compare with `docker compose config` on the same file.
//! - `bench-lint [--services N]`: `topo lint` with every rule and topology drift on the three
//!   files of a generated topology, against `docker compose config -q` on the same files.
//! - `tidy [--report]`: the conventions checked (file and function length, no `unwrap()`
//!   outside tests, derived names in `naming.rs` only, topo-core free of Docker, git and
//!   async); a `#[test]` runs it. `--report` prints the figures.
//! - `bench-plan`: `topo-ci plan` against `git diff --name-only --no-renames` plus a glob
//!   filter on a generated 200,000-file repository, as a ratio, with peak memory; with
//!   `--repo PATH [--pairs N] [--topology FILE] [--recent N]`, on a sample of commit pairs
//!   of a real repository (of its newest N first-parent commits), against
//!   `git diff --name-only --no-renames` (the median ratio).
//! - `bench-release`: the example workflow's commands (plan with registry markers, build
//!   and push the plan's images, deploy by digest) for a first release, a one-service change
//!   and a no-op: seconds, images built, bytes pushed, containers restarted.
//! - `fuzz [--seed N] [--inputs N] [--seconds N] [--target topology|compose|marker|all]`:
//!   seeded mutation of the examples and fixtures, run in-process (see `fuzz.rs`); exit 1
//!   with the findings in `target/fuzz-findings/`.

mod bench;
mod bench_lint;
mod bench_plan;
mod bench_plan_repo;
mod bench_release;
mod bench_sim;
mod fuzz;
mod tidy;

use std::path::{Path, PathBuf};

use anyhow::{bail, Context};
use topo_core::{example, schema, RenderOptions, SourceFile, ValidateOptions};

fn main() -> anyhow::Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    match args.first().map(String::as_str) {
        Some("gen-compose") => {
            let check = args.iter().any(|a| a == "--check");
            let stale = gen_compose(&workspace_root(), check)?;
            if check && !stale.is_empty() {
                bail!(
                    "stale generated files (run `cargo xtask gen-compose`): {}",
                    stale.join(", ")
                );
            }
            println!(
                "{}",
                if check {
                    "examples/vendure is up to date"
                } else {
                    "regenerated examples/vendure"
                }
            );
            Ok(())
        }
        Some("bench-render") => bench::render(services_flag(&args)?),
        Some("bench-lint") => bench_lint::run(services_flag(&args)?),
        Some("bench-plan") => match flag(&args, "--repo") {
            None => bench_plan::run(&workspace_root()),
            Some(repo) => {
                let repo = PathBuf::from(repo);
                let topology = flag(&args, "--topology")
                    .map_or_else(|| repo.join("topology.toml"), PathBuf::from);
                let pairs = flag(&args, "--pairs")
                    .map_or(Ok(50), str::parse)
                    .context("--pairs takes a number")?;
                let recent = flag(&args, "--recent")
                    .map(str::parse)
                    .transpose()
                    .context("--recent takes a number")?;
                let bench = bench_plan_repo::RepoBench {
                    repo: &repo,
                    pairs,
                    topology: &topology,
                    recent,
                };
                bench_plan_repo::run(&workspace_root(), &bench)
            }
        },
        Some("bench-sim") => bench_sim::run(&workspace_root()),
        Some("bench-release") => bench_release::run(&workspace_root()),
        Some("tidy") => {
            // `--root DIR` measures another checkout (a figure before a change).
            let root = args
                .iter()
                .position(|a| a == "--root")
                .and_then(|i| args.get(i + 1))
                .map_or_else(workspace_root, PathBuf::from);
            let findings = tidy::check(&root)?;
            if args.iter().any(|a| a == "--report") {
                print!("{}", findings.report());
            }
            let violations = findings.violations();
            if !violations.is_empty() {
                bail!("tidy:\n{}", violations.join("\n"));
            }
            println!("tidy: no violations");
            Ok(())
        }
        Some("fuzz") => fuzz::run(&workspace_root(), &args[1..]),
        _ => bail!(
            "usage: cargo xtask gen-compose [--check] | bench-render [--services N] | bench-lint [--services N] | bench-plan [--repo PATH [--pairs N] [--topology FILE] [--recent N]] | bench-sim | bench-release | tidy [--report] [--root DIR] | fuzz [--seed N] [--inputs N] [--seconds N] [--target topology|compose|marker|all]"
        ),
    }
}

fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("xtask sits in the workspace root")
        .to_path_buf()
}

/// Every generated file of `examples/vendure/`: (path relative to the workspace, bytes).
fn generated_files() -> anyhow::Result<Vec<(String, String)>> {
    let text = example::VENDURE;
    let source = SourceFile::new("examples/vendure/topology.toml", text);
    let validated = topo_core::load(&source, &ValidateOptions::default())
        .map_err(|d| anyhow::anyhow!("the built-in example is invalid: {d:?}"))?;
    let options = RenderOptions::default();
    let mut files = vec![
        ("examples/vendure/topology.toml".to_owned(), text.to_owned()),
        (
            "examples/vendure/topology.schema.json".to_owned(),
            schema::topology_schema_json(),
        ),
    ];
    // The plan document's schema, for CI consumers of `topo-ci plan --format json`.
    files.push((
        "docs/plan.schema.json".to_owned(),
        topo_ci::plan::Plan::schema_json(),
    ));
    // The build report's, for consumers of `topo build --format json`.
    files.push((
        "docs/build.schema.json".to_owned(),
        topo_core::release::BuildReport::schema_json(),
    ));
    for file in topo_core::render_all(&validated.topology, &options) {
        files.push((
            format!("examples/vendure/{}", file.file_name),
            file.contents,
        ));
    }
    Ok(files)
}

/// Writes (or with `check`, compares) the generated files; returns the stale ones.
fn gen_compose(root: &Path, check: bool) -> anyhow::Result<Vec<String>> {
    let mut stale = Vec::new();
    for (path, contents) in generated_files()? {
        let full = root.join(&path);
        let on_disk = std::fs::read_to_string(&full).unwrap_or_default();
        if on_disk == contents {
            continue;
        }
        if check {
            print!(
                "{}",
                topo_core::render::unified_diff(&on_disk, &contents, &path)
            );
        } else {
            std::fs::create_dir_all(full.parent().expect("generated files sit in a directory"))?;
            std::fs::write(&full, &contents)
                .with_context(|| format!("cannot write {}", full.display()))?;
        }
        stale.push(path);
    }
    Ok(stale)
}

/// The value after `name`, if given.
fn flag<'a>(args: &'a [String], name: &str) -> Option<&'a str> {
    args.iter()
        .position(|a| a == name)
        .and_then(|i| args.get(i + 1))
        .map(String::as_str)
}

/// `--services N` of the benches; 200 when not given.
fn services_flag(args: &[String]) -> anyhow::Result<usize> {
    args.iter()
        .position(|a| a == "--services")
        .and_then(|i| args.get(i + 1))
        .map_or(Ok(200), |n| n.parse())
        .context("--services takes a number")
}

#[cfg(test)]
mod tests {
    #[test]
    fn generated_example_files_are_fresh() {
        let stale =
            super::gen_compose(&super::workspace_root(), true).expect("the example renders");
        assert!(
            stale.is_empty(),
            "stale generated files, run `cargo xtask gen-compose`: {stale:?}"
        );
    }
}
