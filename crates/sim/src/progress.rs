//! What the driver is doing, as it happens: events, and the two ways of showing them.
//!
//! The driver only emits [`Event`]s. On a terminal [`Bars`] draws one line per image and
//! container (indicatif); in CI (`CI=true`) or when stderr is not a terminal [`Lines`]
//! prints one plain, timestamped line per event, which reads well in a CI log.

use std::collections::BTreeMap;
use std::fmt;
use std::io::IsTerminal as _;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use indicatif::{MultiProgress, ProgressBar, ProgressDrawTarget, ProgressStyle};
use topo_core::Mode;

use crate::deploy::summary::Replacement;
use crate::engine::ObjectKind;
use crate::verdict::Outcome;

/// One thing that happened.
#[derive(Clone, Debug)]
pub enum Event {
    /// A phase begins.
    Phase(Phase),
    /// An object was removed.
    Removed {
        /// What it is.
        kind: ObjectKind,
        /// Its name.
        name: String,
    },
    /// An object was created.
    Created {
        /// What it is.
        kind: ObjectKind,
        /// Its name.
        name: String,
    },
    /// An image build began.
    BuildStarted {
        /// The image.
        image: String,
    },
    /// A line of build output.
    BuildOutput {
        /// The image.
        image: String,
        /// The line.
        line: String,
    },
    /// An image is ready.
    BuildFinished {
        /// The image.
        image: String,
        /// Reused an image of the same sources instead of building.
        cached: bool,
        /// How long it took.
        elapsed: Duration,
    },
    /// A container waits for its dependencies.
    Waiting {
        /// The container.
        container: String,
        /// What it waits for (`vendure-db healthy`).
        on: String,
    },
    /// A container was started.
    Started {
        /// The container.
        container: String,
    },
    /// A container reached its goal (healthy, running, completed).
    Ready {
        /// The container.
        container: String,
        /// What it reached.
        state: Outcome,
        /// Since `up` began.
        elapsed: Duration,
    },
    /// A container failed.
    Failed {
        /// The container.
        container: String,
        /// Why.
        reason: String,
    },
}

/// The phases of `up`, `down` and `deploy`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Phase {
    /// Images are built or pulled.
    Images,
    /// The stack of a mode is started.
    Stack(Mode),
    /// A deploy takes the target's lock.
    Lock,
    /// A deploy checks the target.
    Checks,
    /// A deploy replaces one container.
    Replacing {
        /// The container.
        container: String,
        /// How.
        replacement: Replacement,
    },
    /// A deploy checks the proxy's ACME certificate (and has it issued or renewed).
    Certificate,
    /// A container of the project was stopped (after an interruption).
    Stopped(String),
    /// The command was interrupted; what it does about it.
    Interrupted(Interruption),
}

/// What an interrupted command does before it exits.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Interruption {
    /// `up`: stops what it started.
    StoppingWhatStarted,
    /// A deploy: releases its lock.
    ReleasingTheLock,
}

impl fmt::Display for Phase {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Phase::Images => f.write_str("images"),
            Phase::Stack(mode) => write!(f, "{mode} stack"),
            Phase::Lock => f.write_str("deploy lock"),
            Phase::Checks => f.write_str("checks"),
            Phase::Replacing {
                container,
                replacement,
            } => write!(f, "{container} ({})", replacement.as_str()),
            Phase::Certificate => f.write_str("proxy certificate (ACME)"),
            Phase::Stopped(name) => write!(f, "stopped {name}"),
            Phase::Interrupted(Interruption::StoppingWhatStarted) => {
                f.write_str("interrupted: stopping what was started")
            }
            Phase::Interrupted(Interruption::ReleasingTheLock) => {
                f.write_str("interrupted: releasing the deploy lock")
            }
        }
    }
}

/// Receives events; shared by concurrent tasks.
pub trait Progress: Send + Sync {
    /// Called for each event, from any task.
    fn event(&self, event: Event);

    /// Called once the command's work is over, before its result is printed.
    fn finish(&self) {}
}

/// Shows nothing (JSON on stdout with a quiet stderr, tests).
pub struct Silent;

impl Progress for Silent {
    fn event(&self, _: Event) {}
}

/// The reporter for this process: bars on a terminal, lines in CI or a pipe.
pub fn for_terminal() -> Box<dyn Progress> {
    let in_ci = std::env::var("CI").is_ok_and(|v| !v.is_empty() && v != "false");
    if in_ci || !std::io::stderr().is_terminal() {
        Box::new(Lines::new())
    } else {
        Box::new(Bars::new())
    }
}

/// One plain line per event on stderr, with the time since the start.
pub struct Lines {
    start: Instant,
}

impl Lines {
    /// Starts the clock.
    pub fn new() -> Lines {
        Lines {
            start: Instant::now(),
        }
    }
}

impl Default for Lines {
    fn default() -> Self {
        Lines::new()
    }
}

impl Progress for Lines {
    fn event(&self, event: Event) {
        let at = self.start.elapsed().as_secs_f64();
        let text = match event {
            Event::Phase(phase) => format!("== {phase}"),
            Event::Removed { kind, name } => format!("removed {kind} {name}"),
            Event::Created { kind, name } => format!("created {kind} {name}"),
            Event::BuildStarted { image } => format!("build {image}: started"),
            Event::BuildOutput { image, line } => format!("build {image}: {line}"),
            Event::BuildFinished {
                image,
                cached,
                elapsed,
            } => format!(
                "build {image}: {} in {:.1}s",
                if cached { "reused" } else { "built" },
                elapsed.as_secs_f64()
            ),
            Event::Waiting { container, on } => format!("{container}: waiting for {on}"),
            Event::Started { container } => format!("{container}: started"),
            Event::Ready {
                container,
                state,
                elapsed,
            } => format!("{container}: {state} at {:.1}s", elapsed.as_secs_f64()),
            Event::Failed { container, reason } => format!("{container}: FAILED: {reason}"),
        };
        eprintln!("[{at:6.1}s] {text}");
    }
}

/// One spinner per image and container on a terminal.
pub struct Bars {
    multi: MultiProgress,
    bars: Mutex<BTreeMap<String, ProgressBar>>,
}

impl Bars {
    /// Draws on stderr.
    pub fn new() -> Bars {
        Bars {
            multi: MultiProgress::with_draw_target(ProgressDrawTarget::stderr()),
            bars: Mutex::new(BTreeMap::new()),
        }
    }

    fn bar(&self, key: &str) -> ProgressBar {
        let mut bars = self
            .bars
            .lock()
            .expect("no task panics while holding the bar map");
        bars.entry(key.to_owned())
            .or_insert_with(|| {
                let bar = self.multi.add(ProgressBar::new_spinner());
                bar.set_style(
                    ProgressStyle::with_template(
                        "{spinner} {prefix:.bold} {wide_msg} {elapsed:>4}",
                    )
                    .expect("a valid template"),
                );
                bar.set_prefix(key.to_owned());
                bar.enable_steady_tick(Duration::from_millis(120));
                bar
            })
            .clone()
    }
}

impl Default for Bars {
    fn default() -> Self {
        Bars::new()
    }
}

impl Progress for Bars {
    /// The bars go: the verdict that follows repeats what they showed, on lines of its own.
    fn finish(&self) {
        let _ = self.multi.clear();
    }

    fn event(&self, event: Event) {
        match event {
            Event::Phase(phase) => {
                // Phases are history, not state: printed above the bars.
                let _ = self.multi.println(format!("== {phase}"));
            }
            Event::Removed { kind, name } => {
                let _ = self.multi.println(format!("   removed {kind} {name}"));
            }
            Event::Created { kind, name } if kind != ObjectKind::Container => {
                let _ = self.multi.println(format!("   created {kind} {name}"));
            }
            Event::Created { name, .. } => self.bar(&name).set_message("created"),
            Event::BuildStarted { image } => self.bar(&image).set_message("building"),
            Event::BuildOutput { image, line } => self.bar(&image).set_message(line),
            Event::BuildFinished {
                image,
                cached,
                elapsed,
            } => self.bar(&image).finish_with_message(format!(
                "✔ {} in {:.1}s",
                if cached { "reused" } else { "built" },
                elapsed.as_secs_f64()
            )),
            Event::Waiting { container, on } => self
                .bar(&container)
                .set_message(format!("waiting for {on}")),
            Event::Started { container } => self.bar(&container).set_message("started"),
            Event::Ready {
                container,
                state,
                elapsed,
            } => self
                .bar(&container)
                .finish_with_message(format!("✔ {state} at {:.1}s", elapsed.as_secs_f64())),
            Event::Failed { container, reason } => self
                .bar(&container)
                .abandon_with_message(format!("✘ {reason}")),
        }
    }
}
