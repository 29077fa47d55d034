//! `cargo xtask bench-plan --repo PATH [--pairs N] [--topology FILE]`: `topo-ci plan`
//! against `git diff --name-only --no-renames` on a real repository, over a sample of
//! commit pairs.
//!
//! The repository's history has no topology: `FILE` (default `PATH/topology.toml`;
//! `xtask/bench-plan-vendure.toml` is the one for Vendure's monorepo) is grafted onto each
//! sampled commit — a commit whose tree is the original's plus the topology, made with
//! `git mktree` and `git commit-tree` — so both commands compare the same trees but for
//! that one file. Pairs are sampled deterministically from the first-parent history: a
//! head, and a base 1 to 1,023 commits older (roughly log-uniform: many small ranges,
//! some long ones). For each pair, markers are recorded at the base as CI would (`plan` with no markers, `mark --from-plan`), then
//! both commands run several times; the per-pair ratio is the ratio of the medians, and
//! the figure is the median of those ratios. Where a lockfile changed, `git cat-file blob`
//! of it at head is timed too: deciding by what the lockfile resolves cannot cost less
//! than reading it, so `git diff` plus that read is the floor those pairs are held to.

use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{bail, Context};

use crate::bench_plan::{median, ms, plan_args, write_markers};

const RUNS: usize = 5;

/// What to measure.
pub struct RepoBench<'a> {
    /// A clone with a work tree.
    pub repo: &'a Path,
    /// How many pairs of commits.
    pub pairs: usize,
    /// The topology file grafted onto every sampled commit.
    pub topology: &'a Path,
    /// Sample only the newest this many first-parent commits (a topology naming what older
    /// commits lack: a plan there is an error).
    pub recent: Option<usize>,
}

/// One measured pair.
struct Measured {
    distance: usize,
    changed: usize,
    deploys: usize,
    topo: Duration,
    git: Duration,
    /// Whether a lockfile (`package-lock.json`, `pnpm-lock.yaml`, `yarn.lock`, `bun.lock`) changed: the
    /// plan then reads head's to compare closures (and base's to name what changed).
    lockfile: bool,
    /// `git cat-file blob` of each changed lockfile at head, when one changed: what reading
    /// it alone costs git, a floor for any plan that compares what it resolves.
    read: Option<Duration>,
}

pub fn run(root: &Path, bench: &RepoBench<'_>) -> anyhow::Result<()> {
    let topo_ci = crate::bench_plan::build_topo_ci(root)?;
    let repo = std::fs::canonicalize(bench.repo)?;
    let topology = std::fs::read_to_string(bench.topology)
        .with_context(|| format!("cannot read {}", bench.topology.display()))?;
    if !repo.join("topology.toml").exists() {
        std::fs::write(repo.join("topology.toml"), &topology)?;
    }
    let blob = git_stdin(&repo, &["hash-object", "-w", "--stdin"], &topology)?;
    let mut history: Vec<String> = git(&repo, &["rev-list", "--first-parent", "HEAD"])?
        .lines()
        .map(str::to_owned)
        .collect();
    if let Some(recent) = bench.recent {
        history.truncate(recent);
    }
    if history.len() < 2 {
        bail!("{} has fewer than two commits", repo.display());
    }
    let work = root.join("target/bench-plan-repo");
    let _ = std::fs::remove_dir_all(&work);
    std::fs::create_dir_all(&work)?;
    println!(
        "bench-plan --repo {}: {} first-parent commits, {} pairs, median of {RUNS} runs each",
        repo.display(),
        history.len(),
        bench.pairs
    );
    let mut measured = Vec::new();
    for (n, (head, base)) in sample(history.len(), bench.pairs).into_iter().enumerate() {
        let (head_commit, base_commit) = (&history[head], &history[base]);
        let head_graft = graft(&repo, head_commit, &blob)?;
        let base_graft = graft(&repo, base_commit, &blob)?;
        let markers = work.join(format!("markers-{n}"));
        write_markers(&topo_ci, &repo, &markers, &base_graft)?;
        let args = plan_args(&head_graft, &markers);
        let mut topo_times = Vec::new();
        let mut plan = String::new();
        for _ in 0..RUNS {
            let start = Instant::now();
            let output = Command::new(&topo_ci)
                .args(&args)
                .current_dir(&repo)
                .output()?;
            topo_times.push(start.elapsed());
            if !output.status.success() {
                bail!(
                    "topo-ci plan {head_graft} (of {head_commit}): {}",
                    String::from_utf8_lossy(&output.stderr)
                );
            }
            plan = String::from_utf8(output.stdout)?;
        }
        let (git, changed, lockfiles) = time_diff(&repo, base_commit, head_commit)?;
        let read = read_time(&repo, head_commit, &lockfiles)?;
        let plan: serde_json::Value = serde_json::from_str(&plan)?;
        let deploys = plan["services"]
            .as_array()
            .context("services")?
            .iter()
            .filter(|s| s["action"] == "deploy")
            .count();
        measured.push(Measured {
            distance: base - head,
            changed,
            deploys,
            topo: median(topo_times),
            git,
            lockfile: !lockfiles.is_empty(),
            read,
        });
    }
    report(&measured);
    Ok(())
}

/// `git diff --name-only --no-renames base head`, timed (median of the runs): the time, how
/// many paths changed, and which of them are lockfiles.
fn time_diff(
    repo: &Path,
    base: &str,
    head: &str,
) -> anyhow::Result<(Duration, usize, Vec<String>)> {
    let diff = ["diff", "--name-only", "--no-renames", base, head];
    let mut git_times = Vec::new();
    let mut changed = 0;
    let mut lockfiles = Vec::new();
    for _ in 0..RUNS {
        let start = Instant::now();
        let output = Command::new("git")
            .args(diff)
            .current_dir(repo)
            .stderr(Stdio::null())
            .output()?;
        git_times.push(start.elapsed());
        changed = output.stdout.split(|b| *b == b'\n').count() - 1;
        lockfiles = String::from_utf8_lossy(&output.stdout)
            .lines()
            .filter(|path| {
                path.ends_with("package-lock.json")
                    || path.ends_with("pnpm-lock.yaml")
                    || path.ends_with("yarn.lock")
                    || path.ends_with("bun.lock")
            })
            .map(str::to_owned)
            .collect();
    }
    Ok((median(git_times), changed, lockfiles))
}

/// The median time of `git cat-file blob` reading each of `lockfiles` that exists at
/// `head`, one after the other; `None` when none does.
fn read_time(repo: &Path, head: &str, lockfiles: &[String]) -> anyhow::Result<Option<Duration>> {
    let specs: Vec<String> = lockfiles
        .iter()
        .map(|path| format!("{head}:{path}"))
        .filter(|spec| {
            Command::new("git")
                .args(["cat-file", "-e", spec])
                .current_dir(repo)
                .status()
                .is_ok_and(|status| status.success())
        })
        .collect();
    if specs.is_empty() {
        return Ok(None);
    }
    let mut times = Vec::new();
    for _ in 0..RUNS {
        let start = Instant::now();
        for spec in &specs {
            let output = Command::new("git")
                .args(["cat-file", "blob", spec])
                .current_dir(repo)
                .output()?;
            if !output.status.success() {
                bail!("git cat-file blob {spec} failed");
            }
        }
        times.push(start.elapsed());
    }
    Ok(Some(median(times)))
}

/// Prints the pairs and the medians.
fn report(measured: &[Measured]) {
    println!(
        "{:>8} {:>8} {:>8} {:>10} {:>10} {:>7} {:>9}",
        "commits", "changed", "deploys", "topo-ci", "git diff", "ratio", "lockfile"
    );
    let ratio = |m: &Measured| m.topo.as_secs_f64() / m.git.as_secs_f64();
    for m in measured {
        println!(
            "{:>8} {:>8} {:>8} {:>8.1}ms {:>8.1}ms {:>7.2} {:>9}",
            m.distance,
            m.changed,
            m.deploys,
            ms(m.topo),
            ms(m.git),
            ratio(m),
            if m.lockfile { "changed" } else { "-" }
        );
    }
    let median_of = |values: Vec<f64>| -> f64 {
        let mut values = values;
        values.sort_by(f64::total_cmp);
        values.get(values.len() / 2).copied().unwrap_or(f64::NAN)
    };
    let small: Vec<f64> = measured
        .iter()
        .filter(|m| m.distance <= 8)
        .map(ratio)
        .collect();
    println!(
        "median: topo-ci {:.1} ms, git diff {:.1} ms, ratio {:.2} (pairs at most 8 commits apart: {:.2} over {})",
        median_of(measured.iter().map(|m| ms(m.topo)).collect()),
        median_of(measured.iter().map(|m| ms(m.git)).collect()),
        median_of(measured.iter().map(ratio).collect()),
        median_of(small.clone()),
        small.len()
    );
    for (what, lockfile) in [("lockfile unchanged", false), ("lockfile changed", true)] {
        let group: Vec<&Measured> = measured.iter().filter(|m| m.lockfile == lockfile).collect();
        println!(
            "{what}: {} pairs, topo-ci {:.1} ms, git diff {:.1} ms, ratio {:.2}",
            group.len(),
            median_of(group.iter().map(|m| ms(m.topo)).collect()),
            median_of(group.iter().map(|m| ms(m.git)).collect()),
            median_of(group.iter().map(|m| ratio(m)).collect()),
        );
    }
    let read: Vec<(&Measured, Duration)> =
        measured.iter().filter_map(|m| Some((m, m.read?))).collect();
    println!(
        "lockfile at head read alone (git cat-file blob): {} pairs, {:.1} ms; (git diff + git cat-file) / git diff {:.2}; topo-ci / (git diff + git cat-file) {:.2}",
        read.len(),
        median_of(read.iter().map(|(_, r)| ms(*r)).collect()),
        median_of(read.iter().map(|(m, r)| (m.git + *r).as_secs_f64() / m.git.as_secs_f64()).collect()),
        median_of(read.iter().map(|(m, r)| m.topo.as_secs_f64() / (m.git + *r).as_secs_f64()).collect()),
    );
    println!("ratio = topo-ci plan time / git diff --name-only --no-renames time, per pair");
}

/// `pairs` (head, base) indexes into the first-parent history (0 is the newest): the
/// base 1 to 1,023 commits older than the head (roughly log-uniform), from a fixed seed.
fn sample(len: usize, pairs: usize) -> Vec<(usize, usize)> {
    let mut seed: u64 = 19;
    let mut next = move || {
        seed = seed
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        (seed >> 33) as usize
    };
    (0..pairs)
        .map(|_| {
            let distance = (1usize << (next() % 10)).min(len - 1);
            let distance = (distance + next() % distance).clamp(1, len - 1);
            let head = next() % (len - distance);
            (head, head + distance)
        })
        .collect()
}

/// A commit whose tree is `commit`'s plus `topology.toml` (the blob), child of `commit`.
fn graft(repo: &Path, commit: &str, blob: &str) -> anyhow::Result<String> {
    let listing = git(repo, &["ls-tree", commit])?;
    let mut entries: String = listing
        .lines()
        .filter(|line| !line.ends_with("\ttopology.toml"))
        .map(|line| format!("{line}\n"))
        .collect();
    entries.push_str(&format!("100644 blob {blob}\ttopology.toml\n"));
    let tree = git_stdin(repo, &["mktree"], &entries)?;
    git(
        repo,
        &["commit-tree", &tree, "-p", commit, "-m", "bench-plan graft"],
    )
}

fn git(dir: &Path, args: &[&str]) -> anyhow::Result<String> {
    git_stdin(dir, args, "")
}

fn git_stdin(dir: &Path, args: &[&str], input: &str) -> anyhow::Result<String> {
    use std::io::Write as _;
    let mut child = Command::new("git")
        .args(args)
        .env("GIT_AUTHOR_NAME", "bench")
        .env("GIT_AUTHOR_EMAIL", "bench@example.com")
        .env("GIT_COMMITTER_NAME", "bench")
        .env("GIT_COMMITTER_EMAIL", "bench@example.com")
        .current_dir(dir)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()?;
    child
        .stdin
        .take()
        .context("stdin")?
        .write_all(input.as_bytes())?;
    let output = child.wait_with_output()?;
    if !output.status.success() {
        bail!("git {args:?}: {}", String::from_utf8_lossy(&output.stderr));
    }
    Ok(String::from_utf8(output.stdout)?.trim().to_owned())
}
