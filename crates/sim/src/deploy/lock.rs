//! The deploy lock: one deploy at a time per project on a target engine.
//!
//! The lock is a container named `<project>-deploy-lock` that is created and never started.
//! The engine refuses a second container of the same name, so taking the lock is atomic on
//! the target itself, whichever machine the deploys run from; its labels say who holds it.
//! A deploy releases it whatever happens; a deploy that died (killed CI runner, lost host)
//! leaves it behind, and `topo-sim lock release` breaks it explicitly.

use std::collections::HashMap;
use std::time::{Duration, Instant, SystemTime};

use bollard::models::ContainerCreateBody;
use bollard::query_parameters::{CreateContainerOptionsBuilder, RemoveContainerOptionsBuilder};
use serde::Serialize;
use topo_core::spec::labels;

use crate::engine::Engine;
use crate::error::{engine_message, explain, is_not_found, SimError};

/// Label: who holds the lock (`user@host`).
const HOLDER: &str = "topo.lock.holder";
/// Label: the holder's process id.
const PID: &str = "topo.lock.pid";
/// Label: the holder's host name.
const HOST: &str = "topo.lock.host";
/// Label: when it was taken (RFC 3339).
const SINCE: &str = "topo.lock.since";
/// Label: what the holder is doing.
const PURPOSE: &str = "topo.lock.purpose";

/// How often a waiting deploy tries again.
const RETRY: Duration = Duration::from_millis(500);

pub use topo_core::naming::lock_name;

/// Who holds a lock, as its labels say.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct LockHolder {
    /// `user@host`.
    pub holder: String,
    /// The holder's process id.
    pub pid: u32,
    /// The holder's host name.
    pub host: String,
    /// When it was taken (RFC 3339, UTC).
    pub since: String,
    /// What it is doing (`deploy v1.4.2`).
    pub purpose: String,
}

impl LockHolder {
    fn of(labels: &HashMap<String, String>) -> LockHolder {
        let get = |key: &str| labels.get(key).cloned().unwrap_or_default();
        LockHolder {
            holder: get(HOLDER),
            pid: get(PID).parse().unwrap_or(0),
            host: get(HOST),
            since: get(SINCE),
            purpose: get(PURPOSE),
        }
    }

    /// Whether the holder is known dead: it ran on this host and its process is gone.
    /// (A holder on another host cannot be checked from here.)
    pub fn is_dead(&self) -> bool {
        self.host == host_name() && !std::path::Path::new(&format!("/proc/{}", self.pid)).exists()
    }

    /// One line: who, since when, doing what.
    pub fn describe(&self) -> String {
        let mut text = format!(
            "{} (pid {}) since {}, {}",
            self.holder, self.pid, self.since, self.purpose
        );
        if self.is_dead() {
            text.push_str("; that process is no longer running on this host");
        }
        text
    }
}

/// A held lock. Release it with [`Lock::release`]; dropping it does not (that needs the
/// engine, asynchronously).
#[derive(Debug)]
pub struct Lock {
    name: String,
    /// How long taking it waited.
    pub waited: Duration,
    /// The holder whose lock was taken over because its process is gone (same host).
    pub taken_over: Option<String>,
}

impl Lock {
    /// Takes the project's lock, waiting up to `wait` for another deploy to release it.
    /// `image` is any image present on the engine (the lock container is never started).
    pub async fn acquire(
        engine: &Engine,
        project: &str,
        image: &str,
        purpose: &str,
        wait: Duration,
    ) -> Result<Lock, SimError> {
        let name = lock_name(project);
        let start = Instant::now();
        let labels = HashMap::from([
            (labels::PROJECT.to_owned(), project.to_owned()),
            (
                HOLDER.to_owned(),
                format!("{}@{}", user_name(), host_name()),
            ),
            (PID.to_owned(), std::process::id().to_string()),
            (HOST.to_owned(), host_name()),
            (
                SINCE.to_owned(),
                humantime::format_rfc3339_seconds(SystemTime::now()).to_string(),
            ),
            (PURPOSE.to_owned(), purpose.to_owned()),
        ]);
        let mut taken_over = None;
        loop {
            let body = ContainerCreateBody {
                image: Some(image.to_owned()),
                cmd: Some(vec!["topo-deploy-lock".to_owned()]),
                labels: Some(labels.clone()),
                ..Default::default()
            };
            let options = CreateContainerOptionsBuilder::default().name(&name).build();
            match engine.docker().create_container(Some(options), body).await {
                Ok(_) => {
                    return Ok(Lock {
                        name,
                        waited: start.elapsed(),
                        taken_over,
                    })
                }
                Err(bollard::errors::Error::DockerResponseServerError {
                    status_code: 409, ..
                }) => {
                    // A holder that ran on this host and whose process is gone can release
                    // nothing: its lock is taken over, by its container id, so a lock another
                    // deploy took meanwhile is never removed.
                    if taken_over.is_none() {
                        if let Some((id, holder)) = held(engine, &name).await? {
                            if holder.is_dead() {
                                remove(engine, &id).await?;
                                taken_over = Some(holder.describe());
                                continue;
                            }
                        }
                    }
                }
                Err(error) => {
                    return Err(explain(format!("taking the deploy lock {name}"), &error))
                }
            }
            if start.elapsed() >= wait {
                let holder = holder(engine, project).await?;
                let (holder, dead) = match holder {
                    Some(holder) => (holder.describe(), holder.is_dead()),
                    None => ("(released while we looked)".to_owned(), false),
                };
                let help = if dead {
                    format!("that deploy died without releasing it: break it with `topo-sim lock release -t <topology>` (or `docker rm {name}`), then deploy again")
                } else {
                    "wait for it (`--lock-wait SECS`), or if it is dead, break it with `topo-sim lock release -t <topology>`".to_owned()
                };
                return Err(SimError::Locked {
                    lock: name,
                    holder,
                    help,
                });
            }
            tokio::time::sleep(RETRY).await;
        }
    }

    /// Releases the lock — only if it is still this process's: a lock someone broke and
    /// another deploy took meanwhile is left to that deploy.
    pub async fn release(self, engine: &Engine) -> Result<(), SimError> {
        let info = match engine.docker().inspect_container(&self.name, None).await {
            Ok(info) => info,
            Err(error) if is_not_found(&error) => return Ok(()),
            Err(error) => {
                return Err(explain(
                    format!("reading the deploy lock {}", self.name),
                    &error,
                ))
            }
        };
        let holder = LockHolder::of(&info.config.and_then(|c| c.labels).unwrap_or_default());
        if holder.pid == std::process::id() && holder.host == host_name() {
            remove(engine, &self.name).await?;
        }
        Ok(())
    }
}

/// The lock container's id and holder, if the lock is held.
async fn held(engine: &Engine, name: &str) -> Result<Option<(String, LockHolder)>, SimError> {
    match engine.docker().inspect_container(name, None).await {
        Ok(info) => Ok(Some((
            info.id.unwrap_or_else(|| name.to_owned()),
            LockHolder::of(&info.config.and_then(|c| c.labels).unwrap_or_default()),
        ))),
        Err(error) if is_not_found(&error) => Ok(None),
        Err(error) => Err(explain(format!("reading the deploy lock {name}"), &error)),
    }
}

/// Who holds the project's lock, if anyone.
pub async fn holder(engine: &Engine, project: &str) -> Result<Option<LockHolder>, SimError> {
    let name = lock_name(project);
    match engine.docker().inspect_container(&name, None).await {
        Ok(info) => Ok(Some(LockHolder::of(
            &info.config.and_then(|c| c.labels).unwrap_or_default(),
        ))),
        Err(error) if is_not_found(&error) => Ok(None),
        Err(error) => Err(explain(format!("reading the deploy lock {name}"), &error)),
    }
}

/// Breaks the project's lock, whoever holds it. Returns who held it.
pub async fn break_lock(engine: &Engine, project: &str) -> Result<Option<LockHolder>, SimError> {
    let found = holder(engine, project).await?;
    if found.is_some() {
        remove(engine, &lock_name(project)).await?;
    }
    Ok(found)
}

async fn remove(engine: &Engine, name: &str) -> Result<(), SimError> {
    let options = RemoveContainerOptionsBuilder::default().force(true).build();
    match engine.docker().remove_container(name, Some(options)).await {
        Ok(()) => Ok(()),
        Err(error) if is_not_found(&error) => Ok(()),
        Err(error) => Err(SimError::Engine {
            context: format!("releasing the deploy lock {name}"),
            detail: engine_message(&error),
        }),
    }
}

fn host_name() -> String {
    std::fs::read_to_string("/proc/sys/kernel/hostname")
        .map(|h| h.trim().to_owned())
        .or_else(|_| std::env::var("HOSTNAME"))
        .unwrap_or_else(|_| "unknown-host".to_owned())
}

fn user_name() -> String {
    std::env::var("USER")
        .or_else(|_| std::env::var("GITHUB_ACTOR"))
        .unwrap_or_else(|_| "unknown".to_owned())
}
