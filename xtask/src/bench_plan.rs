//! `cargo xtask bench-plan`: `topo-ci plan` against `git diff --name-only --no-renames`
//! plus a glob filter, on a generated repository of 200,000 files and 10,000+ commits.
//!
//! The repository is generated once with `git fast-import` under `target/bench-plan/` and
//! reused while its parameters stay the same. Three pairs of commits are compared:
//! one service changed, every service changed, and 10,000 commits apart. Each command runs
//! several times; the median wall time is reported, with peak memory (`/usr/bin/time`).

use std::fmt::Write as _;
use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{bail, Context};

const SERVICES: usize = 40;
const DIRS: usize = 50;
const FILES_PER_DIR: usize = 100; // 40 × 50 × 100 = 200,000 files
const SPREAD_COMMITS: usize = 10_000;
const RUNS: usize = 7;

/// Builds topo-ci in release mode; its path. `TOPO_CI_BIN` names another build to measure
/// instead (an earlier commit's, built elsewhere), so two versions meet the same repository
/// and the same pairs.
pub(crate) fn build_topo_ci(root: &Path) -> anyhow::Result<PathBuf> {
    if let Some(binary) = std::env::var_os("TOPO_CI_BIN") {
        return Ok(PathBuf::from(binary));
    }
    let status = Command::new("cargo")
        .args(["build", "--release", "--quiet", "-p", "topo-ci"])
        .current_dir(root)
        .status()?;
    if !status.success() {
        bail!("cannot build topo-ci");
    }
    Ok(root.join("target/release/topo-ci"))
}

pub fn run(root: &Path) -> anyhow::Result<()> {
    let topo_ci = build_topo_ci(root)?;
    let repo = generate(&root.join("target/bench-plan"))?;
    let files = 1 + SERVICES * DIRS * FILES_PER_DIR;
    println!(
        "bench-plan: {files} files, {SERVICES} services, {} commits; median of {RUNS} runs",
        SPREAD_COMMITS + 4
    );
    println!(
        "{:<28} {:>8} {:>10} {:>10} {:>7} {:>10} {:>10}",
        "scenario", "changed", "topo-ci", "git+glob", "ratio", "topo MiB", "git MiB"
    );
    for (name, base, head) in [
        ("one service changed", "bench-before-one", "bench-one"),
        ("every service changed", "bench-before-all", "bench-all"),
        ("10,000 commits apart", "bench-base", "bench-before-one"),
    ] {
        let markers = repo.join(format!("../markers-{base}"));
        write_markers(&topo_ci, &repo, &markers, base)?;
        let plan_args = plan_args(head, &markers);
        let mut topo_times = Vec::new();
        let mut plan_output = String::new();
        for _ in 0..RUNS {
            let start = Instant::now();
            let output = Command::new(&topo_ci)
                .args(&plan_args)
                .current_dir(&repo)
                .output()?;
            topo_times.push(start.elapsed());
            if !output.status.success() {
                bail!(
                    "topo-ci plan failed: {}",
                    String::from_utf8_lossy(&output.stderr)
                );
            }
            plan_output = String::from_utf8(output.stdout)?;
        }
        let plan: serde_json::Value = serde_json::from_str(&plan_output)?;
        let topo_changed: u64 = plan["services"]
            .as_array()
            .context("services")?
            .iter()
            .map(|s| s["changed_count"].as_u64().unwrap_or(0))
            .sum();
        let filter = service_globs()?;
        let mut git_times = Vec::new();
        let mut git_changed = 0;
        for _ in 0..RUNS {
            let start = Instant::now();
            let output = Command::new("git")
                .args(["diff", "--name-only", "--no-renames", base, head])
                .current_dir(&repo)
                .output()?;
            let text = String::from_utf8(output.stdout)?;
            // The same question topo answers: changed files per service.
            git_changed = text
                .lines()
                .map(|path| filter.iter().filter(|glob| glob.is_match(path)).count())
                .sum::<usize>();
            git_times.push(start.elapsed());
        }
        if git_changed as u64 != topo_changed {
            bail!("{name}: topo-ci counted {topo_changed} changed files per service, git {git_changed}");
        }
        let topo = median(topo_times);
        let git_time = median(git_times);
        let topo_rss = peak_rss(&repo, topo_ci.to_str().context("path")?, &plan_args)?;
        let git_rss = peak_rss(
            &repo,
            "git",
            &["diff", "--name-only", "--no-renames", base, head].map(str::to_owned),
        )?;
        println!(
            "{:<28} {:>8} {:>8.1}ms {:>8.1}ms {:>7.2} {:>10.1} {:>10.1}",
            name,
            topo_changed,
            ms(topo),
            ms(git_time),
            topo.as_secs_f64() / git_time.as_secs_f64(),
            topo_rss,
            git_rss
        );
    }
    println!(
        "ratio = topo-ci time / (git diff + glob filter) time; below 1 means topo-ci is faster"
    );
    Ok(())
}

pub(crate) fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1e3
}

pub(crate) fn median(mut samples: Vec<Duration>) -> Duration {
    samples.sort_unstable();
    samples[samples.len() / 2]
}

/// Peak resident memory in MiB of one run, as `/usr/bin/time` reports it.
fn peak_rss(dir: &Path, program: &str, args: &[String]) -> anyhow::Result<f64> {
    let output = Command::new("/usr/bin/time")
        .args(["-f", "%M"])
        .arg(program)
        .args(args)
        .current_dir(dir)
        .stdout(Stdio::null())
        .output()
        .context("/usr/bin/time (Debian's `time` package) measures peak memory")?;
    let stderr = String::from_utf8_lossy(&output.stderr);
    let kib: f64 = stderr
        .lines()
        .last()
        .and_then(|line| line.trim().parse().ok())
        .context("no peak memory from /usr/bin/time")?;
    Ok(kib / 1024.0)
}

fn service_globs() -> anyhow::Result<Vec<globset::GlobMatcher>> {
    (0..SERVICES)
        .map(|i| {
            Ok(
                globset::GlobBuilder::new(&format!("{{apps/svc{i:02}/**,package-lock.json}}"))
                    .literal_separator(true)
                    .build()?
                    .compile_matcher(),
            )
        })
        .collect()
}

/// `topo-ci plan` of `head` against the markers in `markers`, as JSON, for a manual run.
pub(crate) fn plan_args(head: &str, markers: &Path) -> Vec<String> {
    let fixed = [
        "plan",
        "--env",
        "production",
        "--event",
        "manual",
        "--format",
        "json",
    ];
    fixed
        .iter()
        .map(|s| (*s).to_owned())
        .chain(["--head".to_owned(), head.to_owned()])
        .chain(["--markers".to_owned(), markers.display().to_string()])
        .collect()
}

/// Markers as CI leaves them: a plan of the base commit with nothing deployed, recorded by
/// `topo-ci mark --from-plan` (commits, fingerprints and images).
pub(crate) fn write_markers(
    topo_ci: &Path,
    repo: &Path,
    dir: &Path,
    base: &str,
) -> anyhow::Result<()> {
    let _ = std::fs::remove_dir_all(dir);
    std::fs::create_dir_all(dir)?;
    let output = Command::new(topo_ci)
        .args(plan_args(base, &dir.join("empty")))
        .current_dir(repo)
        .output()?;
    if !output.status.success() {
        bail!("topo-ci plan: {}", String::from_utf8_lossy(&output.stderr));
    }
    let plan = dir.join("plan.json");
    std::fs::write(&plan, output.stdout)?;
    let status = Command::new(topo_ci)
        .args(["mark", "--markers"])
        .arg(dir)
        .arg("--from-plan")
        .arg(&plan)
        .current_dir(repo)
        .stdout(Stdio::null())
        .status()?;
    if !status.success() {
        bail!("topo-ci mark failed");
    }
    Ok(())
}

fn git(dir: &Path, args: &[&str]) -> anyhow::Result<String> {
    let output = Command::new("git").args(args).current_dir(dir).output()?;
    if !output.status.success() {
        bail!("git {args:?}: {}", String::from_utf8_lossy(&output.stderr));
    }
    Ok(String::from_utf8(output.stdout)?.trim().to_owned())
}

fn topology() -> String {
    let mut text = String::from("project = \"bench\"\n");
    for i in 0..SERVICES {
        write!(
            text,
            "[[services]]\nrole = \"svc{i:02}\"\ncontext = \"apps/svc{i:02}\"\nchanges = {{ exclude = [\"apps/svc{i:02}/docs/**\"] }}\n"
        )
        .expect("writing to a String");
    }
    text.push_str("[ci]\nglobal_files = [\"package-lock.json\"]\n");
    text
}

/// The repository, generated unless an identical one is there already.
fn generate(dir: &Path) -> anyhow::Result<PathBuf> {
    let repo = dir.join("repo");
    let stamp = format!(
        "{SERVICES}x{DIRS}x{FILES_PER_DIR}+{SPREAD_COMMITS}\n{}",
        topology()
    );
    let stamp_file = dir.join("stamp");
    if std::fs::read_to_string(&stamp_file).ok().as_deref() == Some(stamp.as_str()) {
        return Ok(repo);
    }
    eprintln!("generating the benchmark repository (once) …");
    let _ = std::fs::remove_dir_all(dir);
    std::fs::create_dir_all(&repo)?;
    git(&repo, &["init", "-q", "-b", "main"])?;
    let mut child = Command::new("git")
        .args(["fast-import", "--quiet"])
        .current_dir(&repo)
        .stdin(Stdio::piped())
        .spawn()?;
    {
        let mut import = FastImport {
            input: std::io::BufWriter::new(child.stdin.take().context("stdin")?),
            mark: 0,
        };
        write_history(&mut import)?;
        import.input.flush()?;
    }
    if !child.wait()?.success() {
        bail!("git fast-import failed");
    }
    // A clone's packs have deltas; so does this repository.
    git(&repo, &["checkout", "-q", "-f", "main"])?;
    git(&repo, &["gc", "-q"])?;
    std::fs::write(stamp_file, stamp)?;
    Ok(repo)
}

/// The benchmark's history: every file at `bench-base`, a spread of one-file commits up to
/// `bench-before-one`, then three files of one service (`bench-one`), a change the globs
/// exclude (`bench-before-all`) and a file of every service (`bench-all`).
fn write_history(import: &mut FastImport<impl std::io::Write>) -> anyhow::Result<()> {
    let mut initial = vec![
        ("topology.toml".to_owned(), topology()),
        ("package-lock.json".to_owned(), "{}\n".to_owned()),
    ];
    for s in 0..SERVICES {
        for d in 0..DIRS {
            for f in 0..FILES_PER_DIR {
                initial.push((
                    source_file(s, d, f),
                    format!("export const v = \"{s}/{d}/{f}\";\n"),
                ));
            }
        }
    }
    import.commit(&initial, Some("bench-base"))?;
    // 10,000 commits, each changing one file somewhere (a fixed pseudo-random walk).
    let mut seed: u64 = 42;
    for n in 0..SPREAD_COMMITS {
        seed = seed
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        let (s, d, f) = (
            (seed >> 33) as usize % SERVICES,
            (seed >> 20) as usize % DIRS,
            (seed >> 8) as usize % FILES_PER_DIR,
        );
        let tag = (n == SPREAD_COMMITS - 1).then_some("bench-before-one");
        import.commit(
            &[(source_file(s, d, f), format!("export const v = {n};\n"))],
            tag,
        )?;
    }
    import.commit(
        &[
            (source_file(0, 1, 2), "// one\n".to_owned()),
            (source_file(0, 3, 4), "// one\n".to_owned()),
            (source_file(0, 5, 6), "// one\n".to_owned()),
        ],
        Some("bench-one"),
    )?;
    import.commit(
        &[("apps/svc00/docs/notes.md".to_owned(), "docs\n".to_owned())],
        Some("bench-before-all"),
    )?;
    let every: Vec<_> = (0..SERVICES)
        .flat_map(|s| (0..DIRS).map(move |d| (source_file(s, d, 7), "// all\n".to_owned())))
        .collect();
    import.commit(&every, Some("bench-all"))
}

/// The path of source file `f` in directory `d` of service `s`.
fn source_file(s: usize, d: usize, f: usize) -> String {
    format!("apps/svc{s:02}/src/d{d:02}/f{f:03}.ts")
}

/// A `git fast-import` stream of commits on `main`, each on top of the one before.
struct FastImport<W> {
    input: W,
    /// The mark of the last commit written (0 before the first).
    mark: usize,
}

impl<W: std::io::Write> FastImport<W> {
    /// A commit writing `changes` (path, content), tagged `tag` if there is one.
    fn commit(&mut self, changes: &[(String, String)], tag: Option<&str>) -> anyhow::Result<()> {
        self.mark += 1;
        let (input, mark) = (&mut self.input, self.mark);
        writeln!(
            input,
            "commit refs/heads/main\nmark :{mark}\ncommitter Bench <bench@example.com> {} +0000",
            1_700_000_000 + mark
        )?;
        let message = format!("commit {mark}");
        writeln!(input, "data {}\n{message}", message.len())?;
        if mark > 1 {
            writeln!(input, "from :{}", mark - 1)?;
        }
        for (path, content) in changes {
            writeln!(
                input,
                "M 100644 inline {path}\ndata {}\n{content}",
                content.len()
            )?;
        }
        if let Some(tag) = tag {
            writeln!(input, "reset refs/tags/{tag}\nfrom :{mark}\n")?;
        }
        Ok(())
    }
}
