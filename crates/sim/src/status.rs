//! `status` and `logs`: what runs now, compared with what the spec says should.

use std::fmt::Write as _;
use std::io::Write;

use bollard::query_parameters::LogsOptionsBuilder;
use futures_util::StreamExt as _;
use serde::Serialize;
use topo_core::spec::{labels, ContainerSpec, RuntimeSpec};

use crate::engine::{container_name, Engine};
use crate::error::{explain, SimError};

/// One container of the project, as the engine sees it.
#[derive(Clone, Debug, Serialize)]
pub struct ContainerStatus {
    /// The container name.
    pub name: String,
    /// Its `topo.service` label.
    pub role: String,
    /// Its `topo.mode` label.
    pub mode: String,
    /// `running`, `exited`, …
    pub state: String,
    /// `healthy`, `unhealthy`, `starting`, or none.
    pub health: Option<String>,
    /// The image it runs.
    pub image: String,
    /// The engine's status line (`Up 3 minutes (healthy)`).
    pub status: String,
    /// `current` when its config hash equals the spec's, `drifted` when not, `unknown`
    /// when the spec has no such container.
    pub config: &'static str,
}

/// The project's containers in `spec`'s mode, sorted by name.
pub async fn status(engine: &Engine, spec: &RuntimeSpec) -> Result<Vec<ContainerStatus>, SimError> {
    let mut found: Vec<ContainerStatus> = engine
        .project_containers(&spec.project, Some(spec.mode.as_str()))
        .await?
        .into_iter()
        .map(|summary| {
            let name = container_name(&summary);
            let label = |key: &str| {
                summary
                    .labels
                    .as_ref()
                    .and_then(|l| l.get(key))
                    .cloned()
                    .unwrap_or_default()
            };
            let config = match spec.container(&name) {
                Some(wanted)
                    if wanted.labels.get(labels::CONFIG_HASH)
                        == Some(&label(labels::CONFIG_HASH)) =>
                {
                    "current"
                }
                Some(_) => "drifted",
                None => "unknown",
            };
            ContainerStatus {
                role: label(labels::SERVICE),
                mode: label(labels::MODE),
                state: summary
                    .state
                    .map_or("unknown".to_owned(), |s| s.to_string()),
                // The list call's own health field is missing on older engines; the
                // status line (`Up 3 minutes (healthy)`) carries it on all of them.
                health: summary.status.as_deref().and_then(health_in_status),
                image: summary.image.clone().unwrap_or_default(),
                status: summary.status.clone().unwrap_or_default(),
                config,
                name,
            }
        })
        .collect();
    found.sort_by(|a, b| a.name.cmp(&b.name));
    Ok(found)
}

/// The health named in an engine status line: `Up 2s (health: starting)` → `starting`.
fn health_in_status(status: &str) -> Option<String> {
    let inner = status.rsplit_once('(')?.1.strip_suffix(')')?;
    let health = inner.strip_prefix("health: ").unwrap_or(inner);
    matches!(health, "healthy" | "unhealthy" | "starting").then(|| health.to_owned())
}

/// A table of [`status`] for terminals.
pub fn status_text(spec: &RuntimeSpec, found: &[ContainerStatus]) -> String {
    let mut out = String::new();
    if found.is_empty() {
        let _ = writeln!(out, "no {} containers of {}", spec.mode, spec.project);
        return out;
    }
    let _ = writeln!(
        out,
        "{:<28} {:<10} {:<10} {:<9} {:<36} STATUS",
        "CONTAINER", "STATE", "HEALTH", "CONFIG", "IMAGE"
    );
    for c in found {
        let _ = writeln!(
            out,
            "{:<28} {:<10} {:<10} {:<9} {:<36} {}",
            c.name,
            c.state,
            c.health.as_deref().unwrap_or("-"),
            c.config,
            c.image,
            c.status
        );
    }
    out
}

/// The container of `spec` named by role (`server`) or by name (`vendure-server`).
pub fn find<'a>(spec: &'a RuntimeSpec, service: &str) -> Result<&'a ContainerSpec, SimError> {
    spec.containers
        .iter()
        .find(|c| c.role == service || c.name == service)
        .ok_or_else(|| SimError::UnknownService(service.to_owned()))
}

/// Copies a container's log to `out`: the last `tail` lines (all when `None`), then new
/// lines as they come when `follow`.
pub async fn logs(
    engine: &Engine,
    container: &str,
    tail: Option<usize>,
    follow: bool,
    out: &mut dyn Write,
) -> Result<(), SimError> {
    let tail = tail.map_or("all".to_owned(), |n| n.to_string());
    let options = LogsOptionsBuilder::default()
        .stdout(true)
        .stderr(true)
        .follow(follow)
        .tail(&tail)
        .build();
    let mut stream = engine.docker().logs(container, Some(options));
    while let Some(chunk) = stream.next().await {
        let chunk = chunk.map_err(|e| explain(format!("reading the log of {container}"), &e))?;
        out.write_all(&chunk.into_bytes())
            .and_then(|()| out.flush())
            .map_err(|source| SimError::Io {
                path: "<stdout>".into(),
                source,
            })?;
    }
    Ok(())
}
