//! The connection to the engine, and the one rule about what topo may touch: an object is
//! topo's when its `topo.project` label names the project. Everything else is foreign and
//! is never stopped, removed or reused.

use std::collections::HashMap;
use std::time::Duration;

use bollard::models::{ContainerInspectResponse, ContainerSummary};
use bollard::query_parameters::{ListContainersOptionsBuilder, LogsOptionsBuilder};
use bollard::Docker;
use futures_util::StreamExt as _;
use topo_core::spec::labels;

use crate::error::{engine_host, explain, is_not_found, SimError};

/// How long the first answer of the engine may take.
const PING_TIMEOUT: Duration = Duration::from_secs(10);
/// Builds and health waits stream for long; no single request is cut short before this.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(3600);

/// A connected engine (`DOCKER_HOST`, or the local socket).
#[derive(Clone, Debug)]
pub struct Engine {
    docker: Docker,
    address: String,
    /// The builder, chosen at the first build.
    builder: std::sync::Arc<tokio::sync::OnceCell<crate::buildkit::Builder>>,
    /// Whether the classic builder's use was said already (it is said once).
    classic_said: std::sync::Arc<std::sync::atomic::AtomicBool>,
}

impl Engine {
    /// Connects to `DOCKER_HOST` (or the local socket) and pings; an engine that does not
    /// answer is [`SimError::EngineUnreachable`].
    pub async fn connect() -> Result<Engine, SimError> {
        Engine::connect_to(None).await
    }

    /// Connects to `host` (`unix://…`, `tcp://…` — with TLS when `DOCKER_TLS_VERIFY` is
    /// set —, `https://…`, `ssh://user@host`), or as [`Engine::connect`] does when none.
    pub async fn connect_to(host: Option<&str>) -> Result<Engine, SimError> {
        let shown = host.map_or_else(engine_host, str::to_owned);
        let unreachable = |detail: String| SimError::EngineUnreachable {
            host: shown.clone(),
            detail,
        };
        let docker = match host {
            Some(host) => Docker::connect_with_host(host),
            None => Docker::connect_with_defaults(),
        }
        .map_err(|e| unreachable(e.to_string()))?;
        match tokio::time::timeout(PING_TIMEOUT, docker.ping()).await {
            Ok(Ok(_)) => Ok(Engine {
                docker: docker.with_timeout(REQUEST_TIMEOUT),
                address: shown,
                builder: Default::default(),
                classic_said: Default::default(),
            }),
            Ok(Err(error)) => Err(unreachable(crate::error::engine_message(&error))),
            Err(_) => Err(unreachable(format!(
                "no answer within {}s",
                PING_TIMEOUT.as_secs()
            ))),
        }
    }

    /// Where the engine was reached (`unix:///var/run/docker.sock`, `ssh://deploy@host`).
    pub fn address(&self) -> &str {
        &self.address
    }

    /// The builder images are built with: BuildKit where the engine offers it (asked once).
    pub async fn builder(&self) -> &crate::buildkit::Builder {
        self.builder
            .get_or_init(|| crate::buildkit::choose(self))
            .await
    }

    /// True the first time it is asked: whether to say that the classic builder builds.
    pub(crate) fn first_classic_build(&self) -> bool {
        !self
            .classic_said
            .swap(true, std::sync::atomic::Ordering::Relaxed)
    }

    /// The bollard client.
    pub fn docker(&self) -> &Docker {
        &self.docker
    }

    /// Every container (running or not) labelled with this project, and this mode when given.
    pub async fn project_containers(
        &self,
        project: &str,
        mode: Option<&str>,
    ) -> Result<Vec<ContainerSummary>, SimError> {
        let options = ListContainersOptionsBuilder::default()
            .all(true)
            .filters(&label_filters(project, mode))
            .build();
        self.docker
            .list_containers(Some(options))
            .await
            .map_err(|e| explain("listing the project's containers", &e))
    }

    /// The container named `name`, if any.
    pub async fn inspect_container(
        &self,
        name: &str,
    ) -> Result<Option<ContainerInspectResponse>, SimError> {
        match self.docker.inspect_container(name, None).await {
            Ok(found) => Ok(Some(found)),
            Err(error) if is_not_found(&error) => Ok(None),
            Err(error) => Err(explain(format!("inspecting container {name}"), &error)),
        }
    }

    /// The id (`sha256:…`) of the image `reference` names on this engine, if it is there.
    pub async fn image_id(&self, reference: &str) -> Result<Option<String>, SimError> {
        match self.docker.inspect_image(reference).await {
            Ok(found) => Ok(found.id),
            Err(error) if is_not_found(&error) => Ok(None),
            Err(error) => Err(explain(format!("inspecting image {reference}"), &error)),
        }
    }

    /// The last `lines` lines a container wrote (stdout and stderr, interleaved).
    pub async fn log_tail(&self, name: &str, lines: usize) -> Vec<String> {
        let options = LogsOptionsBuilder::default()
            .stdout(true)
            .stderr(true)
            .tail(&lines.to_string())
            .build();
        let mut stream = self.docker.logs(name, Some(options));
        let mut text = String::new();
        while let Some(Ok(chunk)) = stream.next().await {
            text.push_str(&chunk.to_string());
        }
        text.lines().map(str::to_owned).collect()
    }
}

/// The kinds of object topo creates.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum ObjectKind {
    /// A container.
    Container,
    /// A network.
    Network,
    /// A volume.
    Volume,
}

impl ObjectKind {
    /// `container`, `network` or `volume`.
    pub fn as_str(self) -> &'static str {
        match self {
            ObjectKind::Container => "container",
            ObjectKind::Network => "network",
            ObjectKind::Volume => "volume",
        }
    }
}

impl std::fmt::Display for ObjectKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Engine filters selecting objects labelled with the project (and mode).
pub fn label_filters(project: &str, mode: Option<&str>) -> HashMap<String, Vec<String>> {
    let mut wanted = vec![format!("{}={project}", labels::PROJECT)];
    if let Some(mode) = mode {
        wanted.push(format!("{}={mode}", labels::MODE));
    }
    HashMap::from([("label".to_owned(), wanted)])
}

/// Whose an object is, read from its labels.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Owner {
    /// This project, in this mode (`None`: no mode label).
    Ours(Option<String>),
    /// Another project, or no topo label at all.
    Foreign(String),
}

impl Owner {
    /// Reads the labels of an object found under a name the project needs.
    pub fn of(labels: Option<&HashMap<String, String>>, project: &str) -> Owner {
        let label = |key: &str| labels.and_then(|l| l.get(key)).cloned();
        match label(labels::PROJECT) {
            Some(p) if p == project => Owner::Ours(label(labels::MODE)),
            Some(other) => Owner::Foreign(format!("labelled {}={other}", labels::PROJECT)),
            None => Owner::Foreign(format!("no {} label", labels::PROJECT)),
        }
    }
}

/// The container name the engine reports (`/vendure-db` → `vendure-db`).
pub fn container_name(summary: &ContainerSummary) -> String {
    summary
        .names
        .as_ref()
        .and_then(|names| names.first())
        .map(|name| name.trim_start_matches('/').to_owned())
        .or_else(|| summary.id.clone())
        .unwrap_or_default()
}
