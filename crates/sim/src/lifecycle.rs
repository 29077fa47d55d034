//! One container's life, as `up` and `deploy` both drive it: created with its files in
//! place, started, awaited until healthy (or completed, for a one-shot job), and, when it
//! fails, described by its health log and the tail of its output.

use std::time::{Duration, Instant};

use bollard::models::{ContainerCreateBody, ContainerStateStatusEnum, HealthStatusEnum};
use bollard::query_parameters::{CreateContainerOptionsBuilder, UploadToContainerOptionsBuilder};
use topo_core::spec::{ContainerKind, ContainerSpec, FileContent, FileSpec};

use crate::engine::Engine;
use crate::error::{explain, SimError};
use crate::verdict::{Outcome, ServiceVerdict};

/// How often container state is polled while waiting.
const POLL: Duration = Duration::from_millis(250);
/// Added to a health check's own deadline for the engine's scheduling.
const HEALTH_SLACK: Duration = Duration::from_secs(5);
/// How long a one-shot job (a migration) may run.
const JOB_DEADLINE: Duration = Duration::from_secs(600);
/// Lines of a failing container's log shown in the verdict.
const LOG_TAIL: usize = 30;
/// Health results shown in the verdict.
const HEALTH_LOG: usize = 5;

/// Where a spec's files that are not written inline are read: the repository (a
/// certificate) and the deploying environment (a private key).
#[derive(Clone, Copy)]
pub(crate) struct Sources<'a> {
    pub(crate) root: &'a std::path::Path,
    pub(crate) variables: &'a dyn crate::translate::Variables,
}

/// A file's bytes, ready to upload.
pub(crate) struct Upload {
    target: String,
    bytes: Vec<u8>,
    /// 0644, or a secret's own (0400 or 0444).
    mode: u32,
}

impl Upload {
    /// A file of `bytes` with permission bits `mode`.
    pub(crate) fn new(target: impl Into<String>, bytes: Vec<u8>, mode: u32) -> Upload {
        Upload {
            target: target.into(),
            bytes,
            mode,
        }
    }

    /// A text file topo writes.
    pub(crate) fn text(target: &str, content: String) -> Upload {
        Upload {
            target: target.to_owned(),
            bytes: content.into_bytes(),
            mode: 0o644,
        }
    }
}

/// The bytes of `files` (of `container`): inline text as is, a repository file read from
/// `sources.root`, a secret from `sources.variables` (readable by its owner only).
pub(crate) fn uploads(
    container: &ContainerSpec,
    files: &[FileSpec],
    sources: Option<Sources<'_>>,
) -> Result<Vec<Upload>, SimError> {
    files
        .iter()
        // A placeholder is written only where nothing is yet: see `placeholders`.
        .filter(|file| !matches!(file.content, FileContent::SelfSigned { .. }))
        .map(|file| {
            let (bytes, mode) = match (&file.content, sources) {
                (FileContent::Text(text), _) => (text.clone().into_bytes(), 0o644),
                (FileContent::Repository(path), Some(sources)) => {
                    let path = sources.root.join(path);
                    let bytes = std::fs::read(&path).map_err(|source| SimError::Io { path, source })?;
                    (bytes, 0o644)
                }
                (FileContent::Secret { variable, default, mode }, Some(sources)) => {
                    let value = sources.variables.get(variable).filter(|v| !v.is_empty());
                    let value = value.or_else(|| default.clone()).ok_or_else(|| {
                        SimError::MissingVariable {
                            container: container.name.clone(),
                            variable: variable.clone(),
                        }
                    })?;
                    (value.into_bytes(), *mode)
                }
                (FileContent::SelfSigned { .. }, _) => unreachable!("filtered out above"),
                (_, None) => {
                    return Err(SimError::Engine {
                        context: format!("writing {} into {}", file.target, container.name),
                        detail: "its contents are read from the repository or the environment, which this step does not have".to_owned(),
                    })
                }
            };
            Ok(Upload {
                target: file.target.clone(),
                bytes,
                mode,
            })
        })
        .collect()
}

/// Creates the container `name` (the spec's own name, or a blue-green candidate's) from
/// `body`, then writes the spec's files into it, so it starts with them in place (`sources`
/// for files read from the repository or the environment: the proxy's certificate and key).
pub(crate) async fn create_container(
    engine: &Engine,
    container: &ContainerSpec,
    name: &str,
    body: ContainerCreateBody,
    sources: Option<Sources<'_>>,
) -> Result<(), SimError> {
    let files = uploads(container, &container.files, sources)?;
    let options = CreateContainerOptionsBuilder::default().name(name).build();
    engine
        .docker()
        .create_container(Some(options), body)
        .await
        .map_err(|e| explain(format!("creating container {name}"), &e))?;
    write_files(engine, name, &files).await?;
    placeholders(engine, container, name).await
}

/// Writes each self-signed placeholder certificate (and its key) the spec asks for where no
/// certificate is yet (a fresh ACME volume), so nginx starts before the first issuance; an
/// issued certificate in the volume is never touched.
async fn placeholders(
    engine: &Engine,
    container: &ContainerSpec,
    name: &str,
) -> Result<(), SimError> {
    for file in &container.files {
        let FileContent::SelfSigned { key, names } = &file.content else {
            continue;
        };
        if read_file(engine, name, &file.target).await?.is_some() {
            continue;
        }
        let (certificate, private_key) = crate::acme::placeholder(names)?;
        write_files(
            engine,
            name,
            &[
                Upload::new(key.clone(), private_key.into_bytes(), 0o400),
                Upload::new(file.target.clone(), certificate.into_bytes(), 0o644),
            ],
        )
        .await?;
    }
    Ok(())
}

/// The contents of the file at `path` in the container `name` (created or running), through
/// the archive endpoint; `None` when there is none.
pub(crate) async fn read_file(
    engine: &Engine,
    name: &str,
    path: &str,
) -> Result<Option<Vec<u8>>, SimError> {
    use futures_util::TryStreamExt as _;
    let options = bollard::query_parameters::DownloadFromContainerOptionsBuilder::default()
        .path(path)
        .build();
    let bytes: Vec<u8> = match engine
        .docker()
        .download_from_container(name, Some(options))
        .try_fold(Vec::new(), |mut all, chunk| async move {
            all.extend_from_slice(&chunk);
            Ok(all)
        })
        .await
    {
        Ok(bytes) => bytes,
        Err(error) if crate::error::is_not_found(&error) => return Ok(None),
        Err(error) => return Err(explain(format!("reading {path} in {name}"), &error)),
    };
    let mut archive = tar::Archive::new(bytes.as_slice());
    let mut entries = archive.entries().map_err(|source| SimError::Io {
        path: path.into(),
        source,
    })?;
    match entries.next() {
        Some(Ok(mut entry)) => {
            let mut contents = Vec::new();
            std::io::Read::read_to_end(&mut entry, &mut contents).map_err(|source| {
                SimError::Io {
                    path: path.into(),
                    source,
                }
            })?;
            Ok(Some(contents))
        }
        _ => Ok(None),
    }
}

/// Writes files into a container (created or running) through the engine's archive
/// endpoint: it works on a remote engine, where a bind mount of a local file could not.
/// Each directory's files are uploaded *to that directory*: on a read-only root filesystem
/// the engine accepts an upload only into a volume, and it judges by the destination.
pub(crate) async fn write_files(
    engine: &Engine,
    name: &str,
    files: &[Upload],
) -> Result<(), SimError> {
    let mut by_directory: std::collections::BTreeMap<&str, Vec<(&str, &Upload)>> =
        std::collections::BTreeMap::new();
    for file in files {
        let (directory, file_name) = file.target.rsplit_once('/').unwrap_or(("", &file.target));
        let directory = if directory.is_empty() { "/" } else { directory };
        by_directory
            .entry(directory)
            .or_default()
            .push((file_name, file));
    }
    for (directory, files) in by_directory {
        let mut archive = tar::Builder::new(Vec::new());
        for (file_name, file) in files {
            let mut header = tar::Header::new_gnu();
            header.set_size(file.bytes.len() as u64);
            header.set_mode(file.mode);
            header.set_mtime(0);
            header.set_cksum();
            archive
                .append_data(&mut header, file_name, file.bytes.as_slice())
                .map_err(|e| SimError::Io {
                    path: file.target.clone().into(),
                    source: e,
                })?;
        }
        let bytes = archive.into_inner().map_err(|e| SimError::Io {
            path: name.into(),
            source: e,
        })?;
        let options = UploadToContainerOptionsBuilder::default()
            .path(directory)
            .build();
        engine
            .docker()
            .upload_to_container(name, Some(options), bollard::body_full(bytes.into()))
            .await
            .map_err(|e| explain(format!("writing files into {name}:{directory}"), &e))?;
    }
    Ok(())
}

/// Why a container is not up: the explanation and the engine's state.
pub(crate) struct Failure {
    pub(crate) reason: String,
    pub(crate) state: Option<String>,
}

/// Fills in a failed verdict: the reason, the state, health log and log tail.
pub(crate) async fn fail(engine: &Engine, verdict: &mut ServiceVerdict, failure: Failure) {
    verdict.outcome = Outcome::Failed;
    verdict.reason = Some(failure.reason);
    verdict.state = failure.state;
    (verdict.health_log, verdict.log_tail) = diagnose(engine, &verdict.name).await;
}

/// A failed container's last health results and last log lines.
pub(crate) async fn diagnose(engine: &Engine, name: &str) -> (Vec<String>, Vec<String>) {
    let mut health_log = Vec::new();
    if let Ok(Some(info)) = engine.inspect_container(name).await {
        let results = info
            .state
            .and_then(|s| s.health)
            .and_then(|h| h.log)
            .unwrap_or_default();
        let skip = results.len().saturating_sub(HEALTH_LOG);
        health_log = results
            .into_iter()
            .skip(skip)
            .map(|r| {
                format!(
                    "exit {}: {}",
                    r.exit_code.unwrap_or(-1),
                    r.output.unwrap_or_default().trim()
                )
            })
            .collect();
    }
    (health_log, engine.log_tail(name, LOG_TAIL).await)
}

/// Watches the container until it reaches its goal: healthy when it has a health check,
/// exited 0 when it is a one-shot job, running otherwise. Its state is read again on each
/// of its engine events (a health status, an exit) and at least every `POLL`, so a
/// dependent starts the moment the engine says so.
pub(crate) async fn await_ready(
    engine: &Engine,
    container: &ContainerSpec,
    name: &str,
) -> Result<Outcome, Failure> {
    if let Some(reason) = missing_probe(engine, container, name).await {
        return Err(Failure {
            reason,
            state: None,
        });
    }
    let job = container.kind == ContainerKind::Job;
    let limit = match (&container.health, job) {
        (Some(health), _) => health.deadline() + HEALTH_SLACK,
        (None, true) => JOB_DEADLINE,
        (None, false) => Duration::ZERO,
    };
    let deadline = Instant::now() + limit;
    let filters = std::collections::HashMap::from([
        ("container", vec![name]),
        ("event", vec!["health_status", "die", "start"]),
    ]);
    let mut events = engine.docker().events(Some(
        bollard::query_parameters::EventsOptionsBuilder::default()
            .filters(&filters)
            .build(),
    ));
    let mut listening = true;
    loop {
        let (status, health, exit_code) = state_of(engine, name).await?;
        let state = describe(status, health, exit_code);
        match status {
            Some(ContainerStateStatusEnum::RUNNING) => match health {
                Some(HealthStatusEnum::HEALTHY) => return Ok(Outcome::Healthy),
                Some(HealthStatusEnum::UNHEALTHY) => {
                    return Err(Failure {
                        reason: "its health check failed".to_owned(),
                        state: Some(state),
                    })
                }
                _ if container.health.is_none() && !job => return Ok(Outcome::Running),
                _ => {}
            },
            Some(ContainerStateStatusEnum::EXITED | ContainerStateStatusEnum::DEAD) => {
                if job && exit_code == Some(0) {
                    return Ok(Outcome::Completed);
                }
                return Err(Failure {
                    reason: format!("it stopped with exit code {}", exit_code.unwrap_or(-1)),
                    state: Some(state),
                });
            }
            Some(ContainerStateStatusEnum::RESTARTING) => {
                return Err(Failure {
                    reason: format!(
                        "it keeps stopping (exit code {}) and the engine restarts it",
                        exit_code.unwrap_or(-1)
                    ),
                    state: Some(state),
                })
            }
            _ => {}
        }
        if Instant::now() >= deadline {
            return Err(Failure {
                reason: format!(
                    "not {} within {}s (start_period + retries × (interval + timeout), plus {}s)",
                    if job { "completed" } else { "healthy" },
                    limit.as_secs(),
                    HEALTH_SLACK.as_secs()
                ),
                state: Some(state),
            });
        }
        // An event, or the poll: events make it prompt, the poll keeps it correct (a broken
        // event stream is left alone, never spun on).
        tokio::select! {
            _ = tokio::time::sleep(POLL) => {}
            event = futures_util::StreamExt::next(&mut events), if listening => {
                listening = matches!(event, Some(Ok(_)));
            }
        }
    }
}

pub(crate) async fn check_still_running(
    engine: &Engine,
    _container: &ContainerSpec,
    name: &str,
) -> Result<(), Failure> {
    let (status, health, exit_code) = state_of(engine, name).await?;
    if status == Some(ContainerStateStatusEnum::RUNNING) {
        return Ok(());
    }
    Err(Failure {
        reason: "it stopped after starting".to_owned(),
        state: Some(describe(status, health, exit_code)),
    })
}

type State = (
    Option<ContainerStateStatusEnum>,
    Option<HealthStatusEnum>,
    Option<i64>,
);

async fn state_of(engine: &Engine, name: &str) -> Result<State, Failure> {
    let info = engine
        .inspect_container(name)
        .await
        .map_err(|error| Failure {
            reason: error.to_string(),
            state: None,
        })?
        .ok_or_else(|| Failure {
            reason: "the container was removed while starting".to_owned(),
            state: None,
        })?;
    let state = info.state.unwrap_or_default();
    Ok((
        state.status,
        state.health.and_then(|h| h.status),
        state.exit_code,
    ))
}

fn describe(
    status: Option<ContainerStateStatusEnum>,
    health: Option<HealthStatusEnum>,
    exit_code: Option<i64>,
) -> String {
    let status = status.map_or("unknown".to_owned(), |s| s.to_string());
    let mut text = status.clone();
    if let Some(health) = health.filter(|h| *h != HealthStatusEnum::NONE) {
        text.push_str(&format!(", health {health}"));
    }
    if status == "exited" || status == "restarting" {
        text.push_str(&format!(", exit code {}", exit_code.unwrap_or(-1)));
    }
    text
}

/// When the health check's program is not in the container (a `wget` probe in an image
/// without wget), why: said at once, instead of after the check's whole deadline. Asked with
/// the image's `sh` (`command -v`); an image without a shell is not asked.
async fn missing_probe(engine: &Engine, container: &ContainerSpec, name: &str) -> Option<String> {
    let program = container.health.as_ref()?.command.first()?.clone();
    if program.starts_with('/') || program == "sh" {
        return None;
    }
    let ask = [
        "sh".to_owned(),
        "-c".to_owned(),
        format!("command -v {program} >/dev/null || exit 3"),
    ];
    match exec(engine, name, &ask).await {
        Ok((3, _)) => Some(format!(
            "its health check runs `{program}`, which the image does not have: choose a `probe` it has (`wget`, `curl`, `node`, `python`) or a `command`"
        )),
        _ => None,
    }
}

/// Runs `command` inside the running container `name`; its exit code and its output
/// (stdout and stderr, interleaved).
pub(crate) async fn exec(
    engine: &Engine,
    name: &str,
    command: &[String],
) -> Result<(i64, String), SimError> {
    use bollard::exec::{CreateExecOptions, StartExecResults};
    use futures_util::StreamExt as _;
    let docker = engine.docker();
    let context = || format!("running `{}` in {name}", command.join(" "));
    let created = docker
        .create_exec(
            name,
            CreateExecOptions {
                cmd: Some(command.to_vec()),
                attach_stdout: Some(true),
                attach_stderr: Some(true),
                ..Default::default()
            },
        )
        .await
        .map_err(|e| explain(context(), &e))?;
    let mut text = String::new();
    if let StartExecResults::Attached { mut output, .. } = docker
        .start_exec(&created.id, None)
        .await
        .map_err(|e| explain(context(), &e))?
    {
        while let Some(chunk) = output.next().await {
            let chunk = chunk.map_err(|e| explain(context(), &e))?;
            text.push_str(&String::from_utf8_lossy(&chunk.into_bytes()));
        }
    }
    let inspected = docker
        .inspect_exec(&created.id)
        .await
        .map_err(|e| explain(context(), &e))?;
    Ok((inspected.exit_code.unwrap_or(-1), text))
}
