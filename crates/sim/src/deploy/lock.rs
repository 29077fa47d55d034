//! The deploy lock: one deploy at a time per project on a target engine.
//!
//! The lock is a container named `<project>-deploy-lock` that is created and never started.
//! The engine refuses a second container of the same name, so taking the lock is atomic on
//! the target itself, whichever machine the deploys run from; its labels say who holds it.
//! A deploy releases it whatever happens. A deploy that died (killed CI runner, lost host)
//! leaves it behind: the next deploy takes it over when its holder is provably gone — a
//! process no longer running on this host, or, from another host, a lease not renewed in
//! time (`lease.rs`) — and says so; `topo-sim lock release` breaks any lock explicitly.

use std::collections::HashMap;
use std::time::{Duration, Instant, SystemTime};

use bollard::models::ContainerCreateBody;
use bollard::query_parameters::{CreateContainerOptionsBuilder, RemoveContainerOptionsBuilder};
use serde::Serialize;
use topo_core::spec::labels;

use super::lease::{self, EngineClock, Renewal};
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
/// Label: the holder's lease, in seconds.
const LEASE: &str = "topo.lock.lease";

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
    /// The lease it renews, in seconds (none: a topo without leases took it).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub lease_s: Option<u64>,
    /// Seconds since it last renewed its lease (engine clock).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub renewed_s_ago: Option<u64>,
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
            lease_s: labels.get(LEASE).and_then(|l| l.parse().ok()),
            renewed_s_ago: None,
        }
    }

    /// Whether the holder is known dead: it ran on this host and its process is gone, or it
    /// ran elsewhere and its lease ran out.
    pub fn is_dead(&self) -> bool {
        if self.host == host_name() {
            !std::path::Path::new(&format!("/proc/{}", self.pid)).exists()
        } else {
            self.lease_expired()
        }
    }

    /// Whether its lease ran out (not renewed for longer than the lease).
    fn lease_expired(&self) -> bool {
        matches!((self.lease_s, self.renewed_s_ago), (Some(lease), Some(ago)) if ago > lease)
    }

    /// One line: who, since when, doing what, and why it is known dead (or not).
    pub fn describe(&self) -> String {
        let mut text = format!(
            "{} (pid {}) since {}, {}",
            self.holder, self.pid, self.since, self.purpose
        );
        if self.host == host_name() {
            if self.is_dead() {
                text.push_str("; that process is no longer running on this host");
            }
        } else if let (Some(lease), Some(ago)) = (self.lease_s, self.renewed_s_ago) {
            if self.lease_expired() {
                text.push_str(&format!(
                    "; its {lease} s lease ran out (last renewed {ago} s ago)"
                ));
            } else {
                text.push_str(&format!("; it renewed its {lease} s lease {ago} s ago"));
            }
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
    /// The holder whose lock was taken over: its process is gone (same host) or its lease
    /// ran out (another host).
    pub taken_over: Option<String>,
    /// Renews the lease while the lock is held.
    renewal: Option<Renewal>,
}

impl Lock {
    /// Takes the project's lock, waiting up to `wait` for another deploy to release it, and
    /// renews a `lease` on it until released. `image` is any image present on the engine
    /// (the lock container is never started).
    pub async fn acquire(
        engine: &Engine,
        project: &str,
        image: &str,
        purpose: &str,
        wait: Duration,
        lease: Duration,
    ) -> Result<Lock, SimError> {
        let name = lock_name(project);
        let start = Instant::now();
        let clock = EngineClock::read(engine).await;
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
            (LEASE.to_owned(), lease.as_secs().max(1).to_string()),
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
                    lease::renew(engine, &name, clock).await?;
                    let renewal = Renewal::start(engine.clone(), name.clone(), lease, clock);
                    return Ok(Lock {
                        name,
                        waited: start.elapsed(),
                        taken_over,
                        renewal: Some(renewal),
                    });
                }
                Err(bollard::errors::Error::DockerResponseServerError {
                    status_code: 409, ..
                }) => {
                    // A holder known dead (its process gone from this host, or its lease
                    // run out) can release nothing: its lock is taken over, by its container
                    // id, so a lock another deploy took meanwhile is never removed.
                    if taken_over.is_none() {
                        if let Some((id, holder)) = held(engine, &name, clock).await? {
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
    pub async fn release(mut self, engine: &Engine) -> Result<(), SimError> {
        drop(self.renewal.take());
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

/// The lock container's id and holder (with its lease read), if the lock is held.
async fn held(
    engine: &Engine,
    name: &str,
    clock: EngineClock,
) -> Result<Option<(String, LockHolder)>, SimError> {
    let info = match engine.docker().inspect_container(name, None).await {
        Ok(info) => info,
        Err(error) if is_not_found(&error) => return Ok(None),
        Err(error) => return Err(explain(format!("reading the deploy lock {name}"), &error)),
    };
    let id = info.id.unwrap_or_else(|| name.to_owned());
    let mut holder = LockHolder::of(&info.config.and_then(|c| c.labels).unwrap_or_default());
    if holder.lease_s.is_some() {
        holder.renewed_s_ago = lease::since_renewal(engine, &id, clock)
            .await?
            .map(|ago| ago.as_secs());
    }
    Ok(Some((id, holder)))
}

/// Who holds the project's lock, if anyone.
pub async fn holder(engine: &Engine, project: &str) -> Result<Option<LockHolder>, SimError> {
    let clock = EngineClock::read(engine).await;
    Ok(held(engine, &lock_name(project), clock)
        .await?
        .map(|(_, holder)| holder))
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
