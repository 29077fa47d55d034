//! Watching Swarm do the work: a service's tasks converging, a rolling update finishing (or
//! being rolled back by Swarm), a job's task completing, and what a task printed.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use bollard::models::{Service, ServiceUpdateStatusStateEnum, Task, TaskState};
use bollard::query_parameters::{ListTasksOptionsBuilder, LogsOptionsBuilder};
use futures_util::StreamExt as _;

use crate::engine::Engine;
use crate::error::{explain, SimError};

/// How often the cluster is asked again.
const POLL: Duration = Duration::from_millis(500);

/// How a rolling update ended.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum UpdateEnd {
    /// Every task runs the new spec, and no old one runs still.
    Completed,
    /// A new task failed; Swarm rolled the service back to its previous spec: its message.
    RolledBack(String),
    /// The update (or its rollback) paused, or did not end in time: what Swarm said.
    Stuck(String),
}

/// The service `name`, if it exists.
pub async fn service(engine: &Engine, name: &str) -> Result<Option<Service>, SimError> {
    match engine.docker().inspect_service(name, None).await {
        Ok(service) => Ok(Some(service)),
        Err(e) if crate::error::is_not_found(&e) => Ok(None),
        Err(e) => Err(explain(format!("inspecting the service {name}"), &e)),
    }
}

/// The tasks of service `name` (all of them, Swarm keeps a few past ones per slot).
pub async fn tasks(engine: &Engine, name: &str) -> Result<Vec<Task>, SimError> {
    let filters = HashMap::from([("service".to_owned(), vec![name.to_owned()])]);
    engine
        .docker()
        .list_tasks(Some(
            ListTasksOptionsBuilder::new().filters(&filters).build(),
        ))
        .await
        .map_err(|e| explain(format!("listing the tasks of {name}"), &e))
}

/// The ids of the tasks that run `name` now, sorted: what "nothing was replaced" compares.
pub async fn running_task_ids(engine: &Engine, name: &str) -> Result<Vec<String>, SimError> {
    let mut ids: Vec<String> = tasks(engine, name)
        .await?
        .into_iter()
        .filter(is_running)
        .filter_map(|t| t.id)
        .collect();
    ids.sort();
    Ok(ids)
}

fn is_running(task: &Task) -> bool {
    task.status.as_ref().and_then(|s| s.state) == Some(TaskState::RUNNING)
        && task.desired_state == Some(TaskState::RUNNING)
}

/// The last error of the service's failed tasks, for a refusal or a summary.
async fn task_errors(engine: &Engine, name: &str) -> String {
    let tasks = tasks(engine, name).await.unwrap_or_default();
    let mut errors: Vec<String> = tasks
        .iter()
        .filter_map(|t| t.status.as_ref())
        .filter(|s| {
            matches!(
                s.state,
                Some(TaskState::FAILED | TaskState::REJECTED | TaskState::SHUTDOWN)
            )
        })
        .filter_map(|s| s.err.clone().or_else(|| s.message.clone()))
        .collect();
    errors.dedup();
    errors.truncate(3);
    errors.join("; ")
}

/// Waits until `replicas` tasks of `name` run (Swarm reports a task with a health check
/// running once it is healthy), for at most `timeout`.
pub async fn converged(
    engine: &Engine,
    name: &str,
    replicas: usize,
    timeout: Duration,
) -> Result<(), String> {
    let deadline = Instant::now() + timeout;
    loop {
        let running = tasks(engine, name)
            .await
            .map_err(|e| e.to_string())?
            .iter()
            .filter(|t| is_running(t))
            .count();
        if running >= replicas {
            return Ok(());
        }
        if Instant::now() >= deadline {
            let errors = task_errors(engine, name).await;
            return Err(format!(
                "{running} of {replicas} tasks running after {} s{}",
                timeout.as_secs(),
                if errors.is_empty() {
                    String::new()
                } else {
                    format!(": {errors}")
                }
            ));
        }
        tokio::time::sleep(POLL).await;
    }
}

/// When the service's current update started, as Swarm says (none: never updated).
pub fn update_started(service: &Service) -> Option<String> {
    service
        .update_status
        .as_ref()
        .and_then(|s| s.started_at.as_ref())
        .map(|t| format!("{t:?}"))
}

/// Waits for the update Swarm started after `before` (the previous update's start) to end.
pub async fn update_ended(
    engine: &Engine,
    name: &str,
    before: Option<String>,
    timeout: Duration,
) -> Result<UpdateEnd, SimError> {
    use ServiceUpdateStatusStateEnum as S;
    let deadline = Instant::now() + timeout;
    loop {
        let Some(service) = service(engine, name).await? else {
            return Ok(UpdateEnd::Stuck(format!("the service {name} disappeared")));
        };
        let status = service.update_status.as_ref();
        let message = status.and_then(|s| s.message.clone()).unwrap_or_default();
        if update_started(&service) != before {
            match status.and_then(|s| s.state) {
                Some(S::COMPLETED) => {
                    stopped_tasks_gone(engine, name, deadline).await?;
                    return Ok(UpdateEnd::Completed);
                }
                Some(S::ROLLBACK_COMPLETED) => {
                    let errors = task_errors(engine, name).await;
                    return Ok(UpdateEnd::RolledBack(if errors.is_empty() {
                        message
                    } else {
                        format!("{message}; the new tasks: {errors}")
                    }));
                }
                Some(S::PAUSED | S::ROLLBACK_PAUSED) => return Ok(UpdateEnd::Stuck(message)),
                _ => {}
            }
        }
        if Instant::now() >= deadline {
            return Ok(UpdateEnd::Stuck(format!(
                "the update did not end within {} s ({message})",
                timeout.as_secs()
            )));
        }
        tokio::time::sleep(POLL).await;
    }
}

/// Waits, until `deadline` at most, for no task of `name` that Swarm wants shut down to
/// run still. Swarm calls an update complete once each slot's new task runs, while an old
/// task may still be stopping (its grace period) and, until its node takes it out of the
/// routing mesh, answer a request: a deploy is done when only the new version answers.
async fn stopped_tasks_gone(
    engine: &Engine,
    name: &str,
    deadline: Instant,
) -> Result<(), SimError> {
    loop {
        let stopping = tasks(engine, name).await?.iter().any(|task| {
            task.desired_state != Some(TaskState::RUNNING)
                && task.status.as_ref().and_then(|s| s.state) == Some(TaskState::RUNNING)
        });
        if !stopping || Instant::now() >= deadline {
            return Ok(());
        }
        tokio::time::sleep(POLL).await;
    }
}

/// Waits for the single task of job service `name` to end: its exit code (0: complete).
pub async fn job_ended(engine: &Engine, name: &str, timeout: Duration) -> Result<i64, String> {
    let deadline = Instant::now() + timeout;
    loop {
        let tasks = tasks(engine, name).await.map_err(|e| e.to_string())?;
        for task in &tasks {
            let Some(status) = &task.status else { continue };
            let code = status
                .container_status
                .as_ref()
                .and_then(|c| c.exit_code)
                .unwrap_or(-1);
            match status.state {
                Some(TaskState::COMPLETE) => return Ok(0),
                Some(TaskState::FAILED) => return Ok(if code == 0 { 1 } else { code }),
                Some(TaskState::REJECTED) => {
                    return Err(status.err.clone().unwrap_or_else(|| "rejected".to_owned()))
                }
                _ => {}
            }
        }
        if Instant::now() >= deadline {
            return Err(format!("not ended within {} s", timeout.as_secs()));
        }
        tokio::time::sleep(POLL).await;
    }
}

/// What service `name`'s tasks printed (stdout and stderr), at most `lines` last lines.
pub async fn logs(engine: &Engine, name: &str, lines: usize) -> Vec<String> {
    let options = LogsOptionsBuilder::new()
        .stdout(true)
        .stderr(true)
        .tail(&lines.to_string())
        .build();
    let mut stream = engine.docker().service_logs(name, Some(options));
    let mut text = String::new();
    let reading = async {
        while let Some(Ok(output)) = stream.next().await {
            text.push_str(&String::from_utf8_lossy(&output.into_bytes()));
        }
    };
    let _ = tokio::time::timeout(Duration::from_secs(10), reading).await;
    text.lines().map(str::to_owned).collect()
}
