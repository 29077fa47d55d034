//! What a deploy did, as text for a terminal, Markdown for a CI summary and JSON for tools:
//! the same shapes as `topo-ci plan` (a table of services with action and reason), plus how
//! long each step took.

use serde::Serialize;
use topo_core::model::Strategy;
use topo_core::spec::ContainerKind;

/// The version of the summary document.
pub const SUMMARY_VERSION: u32 = 1;

/// A whole deploy.
#[derive(Clone, Debug, Serialize)]
pub struct DeploySummary {
    /// The document's format version (1).
    pub version: u32,
    /// The project.
    pub project: String,
    /// The engine deployed to.
    pub target: String,
    /// Whether every service reached what was asked.
    pub ok: bool,
    /// Rolled back (`--rollback`) instead of deploying new images.
    pub rollback: bool,
    /// A dry run: nothing was changed (not even the lock).
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub dry_run: bool,
    /// Wall time, first request to last.
    pub elapsed_ms: u64,
    /// How long the deploy waited for the lock.
    pub lock_waited_ms: u64,
    /// The checks made before anything was touched.
    pub checks: Vec<Check>,
    /// One entry per service considered, in deploy order.
    pub services: Vec<ServiceDeploy>,
    /// Anything else worth knowing (images pruned, a proxy left as it was).
    pub notes: Vec<String>,
    /// The proxy's ACME certificate: kept, issued, renewed, or failed (the previous one
    /// still served).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub certificate: Option<crate::acme::CertificateReport>,
}

impl crate::acme::CertificateReport {
    /// One line: `certificate renewed for a, b (until …): why`.
    pub fn line(&self) -> String {
        let action = match self.action {
            crate::acme::CertificateAction::Issued => "issued",
            crate::acme::CertificateAction::Renewed => "renewed",
            crate::acme::CertificateAction::Kept => "kept",
            crate::acme::CertificateAction::Failed => "FAILED",
            crate::acme::CertificateAction::Due => "due",
        };
        let until = self
            .expires
            .as_ref()
            .map(|e| format!(" (until {e})"))
            .unwrap_or_default();
        format!(
            "certificate {action} for {}{until}: {}",
            self.names.join(", "),
            self.detail
        )
    }
}

/// One pre-deploy check that passed.
#[derive(Clone, Debug, Serialize)]
pub struct Check {
    /// What was checked.
    pub name: String,
    /// Whether it held (a failed check stops the deploy with an error instead).
    pub ok: bool,
    /// What was found.
    pub detail: String,
    /// How long it took.
    pub elapsed_ms: u64,
}

/// What happened to one service.
#[derive(Clone, Debug, Serialize)]
pub struct ServiceDeploy {
    /// The role.
    pub name: String,
    /// The container.
    pub container: String,
    /// What was done.
    pub action: DeployAction,
    /// How the container was (or would have been) replaced.
    pub strategy: Replacement,
    /// The image deployed (or found running).
    pub image: String,
    /// The image it replaced, if any.
    pub previous_image: Option<String>,
    /// The decision or the failure, in one sentence.
    pub detail: String,
    /// Each step and its duration.
    pub steps: Vec<Step>,
    /// A failed container's last health results.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub health_log: Vec<String>,
    /// A failed container's last log lines.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub log_tail: Vec<String>,
}

/// How a deploy replaces a service's container.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Replacement {
    /// Stop the old container, start the new one.
    Recreate,
    /// The new container beside the old one, switched at the proxy.
    BlueGreen,
    /// A one-shot job: the previous run replaced, the new one must exit 0.
    Job,
    /// Swarm's rolling update: one task at a time, start-first, health-gated, rolled back
    /// by Swarm on failure.
    Rolling,
}

impl Replacement {
    /// A container of `kind` deployed by `strategy`: a job is always run as a job.
    pub fn of(kind: ContainerKind, strategy: Strategy) -> Replacement {
        match (kind, strategy) {
            (ContainerKind::Job, _) => Replacement::Job,
            (_, Strategy::BlueGreen) => Replacement::BlueGreen,
            (_, Strategy::Recreate) => Replacement::Recreate,
        }
    }

    /// `recreate`, `blue-green` or `job`.
    pub fn as_str(self) -> &'static str {
        match self {
            Replacement::Recreate => "recreate",
            Replacement::BlueGreen => "blue-green",
            Replacement::Job => "job",
            Replacement::Rolling => "rolling",
        }
    }
}

impl std::fmt::Display for Replacement {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.pad(self.as_str())
    }
}

/// What a deploy did to a service.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum DeployAction {
    /// Replaced by the new version, which is up.
    Deployed,
    /// Already running the image and configuration asked for: not restarted.
    Unchanged,
    /// Left out (not in the plan's deploy list, or not among the services named).
    Skipped,
    /// The new version failed; the old one is serving again (or still).
    RolledBack,
    /// The new version failed and there was no old one to keep.
    Failed,
    /// Not attempted: an earlier service failed.
    NotReached,
    /// A dry run: a deploy would replace it.
    WouldDeploy,
}

impl DeployAction {
    /// The kebab-case name.
    pub fn as_str(self) -> &'static str {
        match self {
            DeployAction::Deployed => "deployed",
            DeployAction::Unchanged => "unchanged",
            DeployAction::Skipped => "skipped",
            DeployAction::RolledBack => "rolled-back",
            DeployAction::Failed => "failed",
            DeployAction::NotReached => "not-reached",
            DeployAction::WouldDeploy => "would-deploy",
        }
    }

    /// Whether the service is where the deploy wanted it.
    pub fn is_ok(self) -> bool {
        matches!(
            self,
            DeployAction::Deployed
                | DeployAction::Unchanged
                | DeployAction::Skipped
                | DeployAction::WouldDeploy
        )
    }
}

/// One step of a service's deploy.
#[derive(Clone, Debug, Serialize)]
pub struct Step {
    /// `start`, `healthy`, `switch`, `drain`, …
    pub name: String,
    /// How long it took.
    pub elapsed_ms: u64,
}

impl DeploySummary {
    /// Restarts counted: services whose container was replaced.
    pub fn restarted(&self) -> usize {
        self.services
            .iter()
            .filter(|s| s.action == DeployAction::Deployed)
            .count()
    }

    /// The JSON document.
    pub fn json(&self) -> String {
        serde_json::to_string_pretty(self).expect("a summary always serialises") + "\n"
    }

    /// A Markdown report, for `$GITHUB_STEP_SUMMARY`.
    pub fn markdown(&self) -> String {
        let mut out = format!(
            "## {} {} — {}\n\n",
            if self.dry_run {
                "Dry run of"
            } else if self.rollback {
                "Rollback of"
            } else {
                "Deploy of"
            },
            self.project,
            if self.ok { "succeeded" } else { "FAILED" }
        );
        out += &format!(
            "Target `{}`, {:.1} s ({} restarted, {} unchanged).\n\n",
            self.target,
            self.elapsed_ms as f64 / 1000.0,
            self.restarted(),
            self.count(DeployAction::Unchanged)
        );
        out +=
            "| service | action | strategy | image | steps | detail |\n|---|---|---|---|---|---|\n";
        for s in &self.services {
            out += &format!(
                "| `{}` | {} | {} | `{}` | {} | {} |\n",
                s.container,
                s.action.as_str(),
                s.strategy,
                s.image,
                steps_text(&s.steps),
                s.detail.replace('|', "\\|")
            );
        }
        for s in self.services.iter().filter(|s| !s.log_tail.is_empty()) {
            out += &format!(
                "\n<details><summary>{} — last log lines</summary>\n\n```\n{}\n```\n</details>\n",
                s.container,
                s.log_tail.join("\n")
            );
        }
        if !self.checks.is_empty() {
            out += "\nChecks before deploying: ";
            out += &self
                .checks
                .iter()
                .map(|c| format!("{} ✓", c.name))
                .collect::<Vec<_>>()
                .join(", ");
            out += "\n";
        }
        for note in &self.notes {
            out += &format!("\n> {note}\n");
        }
        if let Some(certificate) = &self.certificate {
            out += &format!("\n> {}\n", certificate.line());
        }
        out
    }

    /// A plain-text report for a terminal.
    pub fn text(&self) -> String {
        let mut out = String::new();
        for c in &self.checks {
            out += &format!("check  {:<17} ok  {}\n", c.name, c.detail);
        }
        let width = self
            .services
            .iter()
            .map(|s| s.container.len())
            .max()
            .unwrap_or(0);
        for s in &self.services {
            out += &format!(
                "{:<width$}  {:<11}  {:<10}  {}  {}\n",
                s.container,
                s.action.as_str(),
                s.strategy,
                s.image,
                steps_text(&s.steps)
            );
            out += &format!("{:<width$}  {}\n", "", s.detail);
            for line in &s.health_log {
                out += &format!("{:<width$}  health: {line}\n", "");
            }
            for line in &s.log_tail {
                out += &format!("{:<width$}  | {line}\n", "");
            }
        }
        for note in &self.notes {
            out += &format!("note: {note}\n");
        }
        if let Some(certificate) = &self.certificate {
            out += &format!("{}\n", certificate.line());
        }
        out += &format!(
            "{} {}: {} in {:.1} s — {} {}, {} unchanged{}\n",
            if self.dry_run {
                "dry run of"
            } else if self.rollback {
                "rollback of"
            } else {
                "deploy of"
            },
            self.project,
            if self.ok { "ok" } else { "FAILED" },
            self.elapsed_ms as f64 / 1000.0,
            if self.dry_run {
                self.count(DeployAction::WouldDeploy)
            } else {
                self.restarted()
            },
            if self.dry_run {
                "would be replaced"
            } else {
                "restarted"
            },
            self.count(DeployAction::Unchanged),
            if self.lock_waited_ms >= 1000 {
                format!(
                    " (waited {:.1} s for the lock)",
                    self.lock_waited_ms as f64 / 1000.0
                )
            } else {
                String::new()
            }
        );
        out
    }

    fn count(&self, action: DeployAction) -> usize {
        self.services.iter().filter(|s| s.action == action).count()
    }
}

fn steps_text(steps: &[Step]) -> String {
    steps
        .iter()
        .map(|s| format!("{} {:.1}s", s.name, s.elapsed_ms as f64 / 1000.0))
        .collect::<Vec<_>>()
        .join(", ")
}
