//! `cargo xtask fuzz [--seed N] [--inputs N] [--seconds N] [--target topology|compose|marker|all] [--out DIR]`:
//! seeded havoc mutation of the project's own examples and fixtures, run in-process against
//! topo-core (load, validate, render, lint, import) and topo-ci (marker and plan documents).
//!
//! Oracles: no panic (caught, the input kept), a time bound per input (2 s of the thread's
//! CPU time in release, 20 s in a debug build, so a loaded machine finds nothing slow; an
//! input still running after ten times that on the wall clock is a hang and ends the run), every reported position inside its text with the line and column of its offset,
//! import output `topo check` accepts, an exact round trip for every valid topology
//! (`import(render(t))` renders the bytes `t` renders), and no drift between a topology and
//! its own render. Each finding is written, as soon as it is seen, to
//! `target/fuzz-findings/<oracle>-<hash>/`: the smallest input seen for it and a one-line
//! `description.txt`. Exit 1 when there is any.
//! The same seed replays the same inputs.

mod corpus;
mod mutate;
mod oracles;
mod positions;
mod shown;

use std::collections::BTreeMap;
use std::panic::AssertUnwindSafe;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use anyhow::{bail, Context};

use corpus::{ComposeSeed, Corpus};
use mutate::{havoc, Rng};
use oracles::{Finding, Input, Stats};

/// The command line.
struct Options {
    seed: u64,
    inputs: u64,
    seconds: Option<u64>,
    targets: Vec<Target>,
    /// Where findings go (`target/fuzz-findings`; another for runs side by side).
    out: Option<PathBuf>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Target {
    Topology,
    Compose,
    Marker,
}

impl Options {
    fn parse(args: &[String]) -> anyhow::Result<Options> {
        let value = |flag: &str| -> Option<&str> {
            args.iter()
                .position(|a| a == flag)
                .and_then(|i| args.get(i + 1))
                .map(String::as_str)
        };
        let number = |flag: &str, default: u64| -> anyhow::Result<u64> {
            value(flag).map_or(Ok(default), |v| {
                v.parse().with_context(|| format!("{flag} takes a number"))
            })
        };
        let targets = match value("--target").unwrap_or("all") {
            "topology" => vec![Target::Topology],
            "compose" => vec![Target::Compose],
            "marker" => vec![Target::Marker],
            "all" => vec![Target::Topology, Target::Compose, Target::Marker],
            other => bail!("--target {other}: write topology, compose, marker or all"),
        };
        Ok(Options {
            seed: number("--seed", 1)?,
            inputs: number("--inputs", 10_000)?,
            seconds: value("--seconds")
                .map(|v| v.parse().context("--seconds takes a number"))
                .transpose()?,
            targets,
            out: value("--out").map(PathBuf::from),
        })
    }
}

/// The CPU time this thread has used (`CLOCK_THREAD_CPUTIME_ID`). Hangs are the
/// watchdog's, on the wall clock.
fn thread_cpu_time() -> Duration {
    let mut now = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: `now` is a valid timespec to write into; this clock exists on Linux.
    let status = unsafe { libc::clock_gettime(libc::CLOCK_THREAD_CPUTIME_ID, &mut now) };
    assert_eq!(status, 0, "the thread CPU clock is readable");
    Duration::new(
        u64::try_from(now.tv_sec).unwrap_or(0),
        u32::try_from(now.tv_nsec).unwrap_or(0),
    )
}

/// The longest one input may take (in CPU time) before it is a finding.
fn time_bound() -> Duration {
    if cfg!(debug_assertions) {
        Duration::from_secs(20)
    } else {
        Duration::from_secs(2)
    }
}

/// Each finding once (by oracle and signature): the smallest input that showed it, and its index.
type Found = BTreeMap<(&'static str, String), (Finding, Input, u64)>;

/// The last panic's message and place, as the hook saw it.
static PANIC: Mutex<Option<(String, String)>> = Mutex::new(None);

/// Runs the fuzzer; exit 1 (an error) when anything was found.
pub fn run(root: &Path, args: &[String]) -> anyhow::Result<()> {
    let options = Options::parse(args)?;
    let corpus = Corpus::gather(root)?;
    let out_dir = options
        .out
        .clone()
        .unwrap_or_else(|| root.join("target/fuzz-findings"));
    if out_dir.exists() {
        std::fs::remove_dir_all(&out_dir)
            .with_context(|| format!("cannot clear {}", out_dir.display()))?;
    }
    println!(
        "fuzz: seed {}, up to {} inputs{}, targets {:?}; corpus: {} topologies, {} Compose sets, {} Dockerfiles, {} documents",
        options.seed,
        options.inputs,
        options.seconds.map_or_else(String::new, |s| format!(" or {s} s")),
        options.targets,
        corpus.topologies.len(),
        corpus.compose_sets.len(),
        corpus.dockerfiles.len(),
        corpus.documents.len()
    );
    keep_panics();
    let current: Arc<Mutex<Option<(Instant, u64, Input)>>> = Arc::new(Mutex::new(None));
    watchdog(Arc::clone(&current), out_dir.clone(), options.seed);

    let started = Instant::now();
    let mut rng = Rng::new(options.seed);
    let mut stats = Stats::default();
    let mut found = Found::new();
    let mut done = 0;
    while done < options.inputs
        && options
            .seconds
            .is_none_or(|s| started.elapsed().as_secs() < s)
    {
        let target = *rng.pick(&options.targets);
        let input = make_input(&mut rng, &corpus, target);
        if let Ok(mut slot) = current.lock() {
            *slot = Some((Instant::now(), done, input.clone()));
        }
        let findings = check_one(&input, target, &mut stats);
        for finding in findings {
            let key = (finding.oracle, finding.signature.clone());
            let smaller = found
                .get(&key)
                .is_none_or(|(_, kept, _)| input.len() < kept.len());
            if !found.contains_key(&key) {
                println!(
                    "fuzz: input {done}: {}: {}",
                    finding.oracle, finding.message
                );
            }
            if smaller {
                // Written now, so a long run that is stopped keeps what it found.
                write_finding(&out_dir, &finding, &input, options.seed, done)?;
                found.insert(key, (finding, input.clone(), done));
            }
        }
        done += 1;
        if done % 100_000 == 0 {
            println!(
                "fuzz: {done} inputs, {:.0} s, {} findings",
                started.elapsed().as_secs_f64(),
                found.len()
            );
        }
    }
    let seconds = started.elapsed().as_secs_f64();
    summarise(&options, done, seconds, &stats, &found, &out_dir)
}

/// Keeps the message and place of each panic for the finding (the hook runs before unwinding).
fn keep_panics() {
    std::panic::set_hook(Box::new(|info| {
        let place = info
            .location()
            .map_or_else(String::new, |l| format!("{}:{}", l.file(), l.line()));
        let message = info
            .payload()
            .downcast_ref::<&str>()
            .map(|s| (*s).to_owned())
            .or_else(|| info.payload().downcast_ref::<String>().cloned())
            .unwrap_or_default();
        if let Ok(mut slot) = PANIC.lock() {
            *slot = Some((place, message));
        }
    }));
}

/// Runs the oracles on one input: their findings, and a panic or a slow answer as findings.
fn check_one(input: &Input, target: Target, stats: &mut Stats) -> Vec<Finding> {
    let clock = thread_cpu_time();
    let mut findings = Vec::new();
    let outcome = std::panic::catch_unwind(AssertUnwindSafe(|| {
        oracles::check(input, stats, &mut findings)
    }));
    // CPU time, not wall time: a loaded machine slows the clock, not the code.
    let took = thread_cpu_time().saturating_sub(clock);
    if outcome.is_err() {
        let (place, message) = PANIC
            .lock()
            .ok()
            .and_then(|mut p| p.take())
            .unwrap_or_default();
        findings.push(Finding {
            oracle: "panic",
            signature: place.clone(),
            message: format!(
                "panicked at {place}: {}",
                message.lines().next().unwrap_or_default()
            ),
        });
    }
    if took > time_bound() {
        findings.push(Finding {
            oracle: "slow",
            signature: format!("{target:?}"),
            message: format!(
                "took {:.1} s (bound {} s)",
                took.as_secs_f64(),
                time_bound().as_secs()
            ),
        });
    }
    findings
}

/// Prints the run's figures; an error when anything was found.
fn summarise(
    options: &Options,
    done: u64,
    seconds: f64,
    stats: &Stats,
    found: &Found,
    out_dir: &Path,
) -> anyhow::Result<()> {
    println!(
        "fuzz: seed {}, {done} inputs in {seconds:.1} s ({:.0}/s): {} valid topologies, {} exact round trips, {} imports, {} import refusals, {} lint findings; {} findings",
        options.seed,
        done as f64 / seconds.max(1e-9),
        stats.valid_topologies,
        stats.round_trips,
        stats.imports,
        stats.refusals,
        stats.lint_findings,
        found.len()
    );
    if found.is_empty() {
        Ok(())
    } else {
        for (finding, _, _) in found.values() {
            println!("  {}: {}", finding.oracle, finding.message);
        }
        bail!("{} findings, written to {}", found.len(), out_dir.display())
    }
}

/// A mutant of a seed of `target`'s kind.
fn make_input(rng: &mut Rng, corpus: &Corpus, target: Target) -> Input {
    match target {
        Target::Topology => {
            let donors: Vec<&str> = corpus.topologies.iter().map(String::as_str).collect();
            let seed = donors[rng.below(donors.len())];
            Input::Topology(havoc(rng, seed, &donors))
        }
        Target::Compose => {
            let donors: Vec<&str> = corpus
                .compose_sets
                .iter()
                .flatten()
                .map(|s| s.text.as_str())
                .collect();
            let mut files: Vec<ComposeSeed> = rng.pick(&corpus.compose_sets).clone();
            let victim = rng.below(files.len());
            for (i, file) in files.iter_mut().enumerate() {
                if i == victim || rng.chance(10) {
                    file.text = havoc(rng, &file.text, &donors);
                }
            }
            // `--mode`: the modes of a set's files exchanged.
            if files.len() > 1 && rng.chance(10) {
                let last = files.len() - 1;
                let (a, b) = (rng.below(last + 1), rng.below(last + 1));
                let mode = files[a].mode;
                files[a].mode = files[b].mode;
                files[b].mode = mode;
            }
            let mut options = topo_core::import::ImportOptions::default();
            if rng.chance(20) {
                options.directory =
                    (*rng.pick(&["deploy", "..", "../deploy", "a/b", "./x"])).to_owned();
            }
            if rng.chance(10) {
                options.project =
                    Some((*rng.pick(&["shop", "Shop_2", "", "-", "vendure", "a b"])).to_owned());
            }
            if rng.chance(10) {
                options.compose_project = Some((*rng.pick(&["shop", "x", ""])).to_owned());
            }
            let dockerfiles: Vec<&str> = corpus.dockerfiles.iter().map(String::as_str).collect();
            let dockerfile = if dockerfiles.is_empty() {
                String::new()
            } else {
                let seed = dockerfiles[rng.below(dockerfiles.len())];
                havoc(rng, seed, &dockerfiles)
            };
            Input::Compose {
                files,
                dockerfile,
                options,
            }
        }
        Target::Marker => {
            let (name, text) = rng.pick(&corpus.documents).clone();
            let donors: Vec<&str> = corpus.documents.iter().map(|(_, t)| t.as_str()).collect();
            Input::Document {
                text: havoc(rng, &text, &donors),
                name,
            }
        }
    }
}

/// `target/fuzz-findings/<oracle>-<hash>/`: the input's files and `description.txt`.
fn write_finding(
    out_dir: &Path,
    finding: &Finding,
    input: &Input,
    seed: u64,
    index: u64,
) -> anyhow::Result<PathBuf> {
    let dir = out_dir.join(format!(
        "{}-{:016x}",
        finding.oracle,
        fnv(&format!("{}\n{}", finding.oracle, finding.signature))
    ));
    if dir.exists() {
        // A smaller input for the same finding replaces the last one.
        std::fs::remove_dir_all(&dir).with_context(|| format!("cannot clear {}", dir.display()))?;
    }
    std::fs::create_dir_all(&dir).with_context(|| format!("cannot create {}", dir.display()))?;
    for (name, text) in input.files() {
        std::fs::write(dir.join(&name), text).with_context(|| format!("cannot write {name}"))?;
    }
    let description = format!(
        "{}: {} (seed {seed}, input {index}; replay: {})\n",
        finding.oracle,
        finding.message.replace('\n', " "),
        input.replay()
    );
    std::fs::write(dir.join("description.txt"), description)?;
    Ok(dir)
}

/// FNV-1a: a stable name for a finding's directory.
fn fnv(text: &str) -> u64 {
    text.bytes().fold(0xcbf2_9ce4_8422_2325, |hash, byte| {
        (hash ^ u64::from(byte)).wrapping_mul(0x0100_0000_01b3)
    })
}

/// Ends the run when one input has been running for ten time bounds: a hang, written as
/// a finding (no thread can be stopped, the process can).
fn watchdog(current: Arc<Mutex<Option<(Instant, u64, Input)>>>, out_dir: PathBuf, seed: u64) {
    std::thread::spawn(move || loop {
        std::thread::sleep(Duration::from_millis(500));
        let Ok(slot) = current.lock() else {
            return;
        };
        if let Some((since, index, input)) = slot.as_ref() {
            if since.elapsed() > time_bound() * 10 {
                let finding = Finding {
                    oracle: "hang",
                    signature: String::new(),
                    message: format!("still running after {} s", since.elapsed().as_secs()),
                };
                let written = write_finding(&out_dir, &finding, input, seed, *index);
                eprintln!("fuzz: input {index} hangs; written to {written:?}");
                std::process::exit(1);
            }
        }
    });
}
