//! The answer of `up`: per service, did it come up, how long it took, and when it did not,
//! everything needed to see why without another command.

use std::fmt::Write as _;

use serde::Serialize;

use crate::build::ImageReport;

/// The document version of [`Verdict`]'s JSON.
pub const VERDICT_VERSION: u32 = 1;

/// The result of one `up`.
#[derive(Clone, Debug, Serialize)]
pub struct Verdict {
    /// [`VERDICT_VERSION`].
    pub version: u32,
    /// The project.
    pub project: String,
    /// The mode run (`prod-sim`).
    pub mode: String,
    /// Every service came up and passed its smoke check.
    pub ok: bool,
    /// From the start of `up` to the verdict.
    pub elapsed_ms: u64,
    /// The images made ready.
    pub images: Vec<ImageReport>,
    /// One entry per container, by wave, then in spec order.
    pub services: Vec<ServiceVerdict>,
}

/// How one container ended up.
#[derive(Clone, Debug, Serialize)]
pub struct ServiceVerdict {
    /// The container name.
    pub name: String,
    /// The role.
    pub role: String,
    /// Its wave: 1 for containers that wait for nothing, then one more than the deepest
    /// dependency.
    pub wave: usize,
    /// What it reached.
    pub outcome: Outcome,
    /// Since the start of `up`, when it reached its goal.
    pub ready_after_ms: Option<u64>,
    /// Why it failed (explained).
    pub reason: Option<String>,
    /// The HTTP smoke check, for services with an HTTP health endpoint.
    pub smoke: Option<Smoke>,
    /// The engine's state when it failed (`running`, `exited (1)`, `restarting`).
    pub state: Option<String>,
    /// The last health check results, when it failed.
    pub health_log: Vec<String>,
    /// The last lines of its log, when it failed.
    pub log_tail: Vec<String>,
}

/// What a container reached.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Outcome {
    /// Its health check passes.
    Healthy,
    /// Running (it has no health check).
    Running,
    /// A one-shot job that exited 0.
    Completed,
    /// Its health check failed, or it stopped.
    Failed,
    /// It never started: a dependency failed.
    NotStarted,
}

impl Outcome {
    /// The kebab-case name (`healthy`, `not-started`).
    pub fn as_str(self) -> &'static str {
        match self {
            Outcome::Healthy => "healthy",
            Outcome::Running => "running",
            Outcome::Completed => "completed",
            Outcome::Failed => "failed",
            Outcome::NotStarted => "not-started",
        }
    }

    /// Whether this outcome is a success.
    pub fn is_ok(self) -> bool {
        matches!(
            self,
            Outcome::Healthy | Outcome::Running | Outcome::Completed
        )
    }
}

impl std::fmt::Display for Outcome {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// An HTTP request to a service's health endpoint from the host, through its published port.
#[derive(Clone, Debug, Serialize)]
pub struct Smoke {
    /// The URL called.
    pub url: String,
    /// The status answered, if any.
    pub status: Option<u16>,
    /// 2xx or 3xx.
    pub ok: bool,
    /// Why no answer came.
    pub error: Option<String>,
}

impl Verdict {
    /// The verdict for a terminal or a CI log: one line per service, details under failures.
    pub fn to_text(&self) -> String {
        let mut out = String::new();
        for image in &self.images {
            let _ = writeln!(
                out,
                "  image {:<40} {:<8} {:>6.1}s",
                image.image,
                image.how,
                image.elapsed_ms as f64 / 1000.0
            );
        }
        for service in &self.services {
            let mark = if service.outcome.is_ok() && service.smoke.as_ref().is_none_or(|s| s.ok) {
                "✔"
            } else {
                "✘"
            };
            let outcome = match service.outcome {
                Outcome::Healthy => "healthy",
                Outcome::Running => "running",
                Outcome::Completed => "completed",
                Outcome::Failed => "FAILED",
                Outcome::NotStarted => "not started",
            };
            let timing = service
                .ready_after_ms
                .map(|ms| format!("in {:.1}s", ms as f64 / 1000.0))
                .unwrap_or_default();
            let smoke = match &service.smoke {
                Some(s) if s.ok => format!(
                    "smoke {} → {}",
                    s.url,
                    s.status.map_or(String::new(), |c| c.to_string())
                ),
                Some(s) => format!(
                    "smoke {} FAILED: {}",
                    s.url,
                    s.error.clone().unwrap_or_else(|| format!(
                        "status {}",
                        s.status.map_or(String::new(), |c| c.to_string())
                    ))
                ),
                None => String::new(),
            };
            let _ = writeln!(
                out,
                "{mark} {:<28} wave {} {:<11} {:<9} {smoke}",
                service.name, service.wave, outcome, timing
            );
            if let Some(reason) = &service.reason {
                for line in reason.lines() {
                    let _ = writeln!(out, "    {line}");
                }
            }
            if let Some(state) = &service.state {
                let _ = writeln!(out, "    state: {state}");
            }
            if !service.health_log.is_empty() {
                let _ = writeln!(out, "    health log:");
                for line in &service.health_log {
                    let _ = writeln!(out, "      {line}");
                }
            }
            if !service.log_tail.is_empty() {
                let _ = writeln!(out, "    last {} log lines:", service.log_tail.len());
                for line in &service.log_tail {
                    let _ = writeln!(out, "      | {line}");
                }
            }
        }
        let failed = self.services.iter().filter(|s| !s.is_ok()).count();
        let _ = writeln!(
            out,
            "{} {} {}: {} in {:.1}s",
            if self.ok { "✔" } else { "✘" },
            self.project,
            self.mode,
            if self.ok {
                format!("{} services up", self.services.len())
            } else {
                format!("{failed} of {} services failed", self.services.len())
            },
            self.elapsed_ms as f64 / 1000.0
        );
        out
    }
}

impl ServiceVerdict {
    /// Up, and its smoke check (if any) passed.
    pub fn is_ok(&self) -> bool {
        self.outcome.is_ok() && self.smoke.as_ref().is_none_or(|s| s.ok)
    }
}
