//! `up`: images, then a fresh stack, then a verdict.
//!
//! Order of work: translate every container (a missing variable stops before anything is
//! touched), survey the names (a foreign object stops before anything is touched), make the
//! images ready, remove the previous stack, create the network, volumes and every container,
//! then start them as their dependencies allow: each container starts the moment the
//! conditions it waits for (`started`, `healthy`, `completed`) hold, so independent
//! containers of one wave start together. Last, HTTP smoke checks from the host and a final
//! look at every container.

use std::collections::HashMap;
use std::path::Path;
use std::time::{Duration, Instant};

use bollard::models::{ContainerCreateBody, ContainerStateStatusEnum, HealthStatusEnum};
use bollard::query_parameters::CreateContainerOptionsBuilder;
use futures_util::future::join_all;
use tokio::sync::watch;
use topo_core::model::Condition;
use topo_core::spec::{ContainerSpec, RestartPolicy, RuntimeSpec};
use topo_core::Mode;

use crate::build::{millis, prepare_images, BuildOptions};
use crate::engine::Engine;
use crate::error::{engine_message, explain, SimError};
use crate::objects::{prepare, survey};
use crate::progress::{Event, Progress};
use crate::smoke::smoke_check;
use crate::translate::{create_body, Variables};
use crate::verdict::{Outcome, ServiceVerdict, Verdict, VERDICT_VERSION};

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

/// Options of `up` (the inputs being the spec, its directory and the variables).
#[derive(Clone, Debug)]
pub struct UpOptions {
    /// Reuse existing volumes instead of starting from fresh ones.
    pub keep_volumes: bool,
    /// How images are built.
    pub build: BuildOptions,
    /// Call each published HTTP health endpoint from the host once the stack is up.
    pub smoke: bool,
}

impl Default for UpOptions {
    fn default() -> Self {
        UpOptions {
            keep_volumes: false,
            build: BuildOptions::default(),
            smoke: true,
        }
    }
}

/// What a container has reached, as its dependents see it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Reached {
    Pending,
    Started,
    Healthy,
    Completed,
    Failed,
}

impl Reached {
    fn satisfies(self, condition: Condition) -> bool {
        match condition {
            Condition::Started => matches!(
                self,
                Reached::Started | Reached::Healthy | Reached::Completed
            ),
            Condition::Healthy => self == Reached::Healthy,
            Condition::Completed => self == Reached::Completed,
        }
    }
}

/// Brings `spec` up from scratch on `engine` and judges it. `root` is the directory build
/// contexts and bind mounts are relative to (the topology's directory).
pub async fn up(
    engine: &Engine,
    spec: &RuntimeSpec,
    root: &Path,
    variables: &dyn Variables,
    options: &UpOptions,
    progress: &dyn Progress,
) -> Result<Verdict, SimError> {
    let start = Instant::now();
    if spec.mode == Mode::Dev {
        return Err(SimError::DevMode);
    }
    let network = spec.network.name.as_str();
    let bodies = spec
        .containers
        .iter()
        .map(|c| create_body(c, network, root, variables))
        .collect::<Result<Vec<_>, _>>()?;
    let survey = survey(engine, spec, options.keep_volumes).await?;

    progress.event(Event::Phase("images".to_owned()));
    let images = prepare_images(engine, spec, root, variables, &options.build, progress).await?;

    progress.event(Event::Phase(format!("{} stack", spec.mode)));
    prepare(engine, spec, &survey, progress).await?;
    create_all(engine, spec, bodies, progress).await?;

    let waves = waves(spec);
    let reached: HashMap<&str, watch::Sender<Reached>> = spec
        .containers
        .iter()
        .map(|c| (c.name.as_str(), watch::Sender::new(Reached::Pending)))
        .collect();
    let mut services = join_all(
        spec.containers
            .iter()
            .map(|c| run_container(engine, c, waves[&c.name], &reached, start, progress)),
    )
    .await;

    if options.smoke {
        let checks = services
            .iter()
            .zip(&spec.containers)
            .map(|(verdict, container)| {
                let up = verdict.outcome.is_ok();
                async move {
                    if up {
                        smoke_check(container).await
                    } else {
                        None
                    }
                }
            });
        let results = join_all(checks).await;
        for (verdict, smoke) in services.iter_mut().zip(results) {
            verdict.smoke = smoke;
        }
    }
    // A container without a health check counted as up once running; one that crashed
    // since then is caught here.
    for (verdict, container) in services.iter_mut().zip(&spec.containers) {
        if verdict.outcome == Outcome::Running {
            if let Err(failure) = check_still_running(engine, container).await {
                fail(engine, verdict, failure).await;
            }
        }
    }
    // Read in the order things happened: by wave, then in spec order.
    services.sort_by_key(|s| s.wave);
    let ok = services.iter().all(ServiceVerdict::is_ok);
    Ok(Verdict {
        version: VERDICT_VERSION,
        project: spec.project.clone(),
        mode: spec.mode.to_string(),
        ok,
        elapsed_ms: millis(start.elapsed()),
        images,
        services,
    })
}

/// Each container's wave: 1 when it waits for nothing, else one more than its deepest
/// dependency. (The topology was validated acyclic.)
fn waves(spec: &RuntimeSpec) -> HashMap<String, usize> {
    fn wave_of(spec: &RuntimeSpec, name: &str, memo: &mut HashMap<String, usize>) -> usize {
        if let Some(&wave) = memo.get(name) {
            return wave;
        }
        let wave = spec.container(name).map_or(1, |c| {
            1 + c
                .depends_on
                .keys()
                .map(|dep| wave_of(spec, dep, memo))
                .max()
                .unwrap_or(0)
        });
        memo.insert(name.to_owned(), wave);
        wave
    }
    let mut memo = HashMap::new();
    for container in &spec.containers {
        wave_of(spec, &container.name, &mut memo);
    }
    memo
}

async fn create_all(
    engine: &Engine,
    spec: &RuntimeSpec,
    bodies: Vec<ContainerCreateBody>,
    progress: &dyn Progress,
) -> Result<(), SimError> {
    let creations = spec
        .containers
        .iter()
        .zip(bodies)
        .map(|(container, body)| async move {
            let options = CreateContainerOptionsBuilder::default()
                .name(&container.name)
                .build();
            engine
                .docker()
                .create_container(Some(options), body)
                .await
                .map_err(|e| explain(format!("creating container {}", container.name), &e))?;
            progress.event(Event::Created {
                kind: "container",
                name: container.name.clone(),
            });
            Ok::<(), SimError>(())
        });
    join_all(creations).await.into_iter().collect()
}

/// Why a container is not up: the explanation and the engine's state.
struct Failure {
    reason: String,
    state: Option<String>,
}

async fn run_container(
    engine: &Engine,
    container: &ContainerSpec,
    wave: usize,
    reached: &HashMap<&str, watch::Sender<Reached>>,
    start: Instant,
    progress: &dyn Progress,
) -> ServiceVerdict {
    let me = &reached[container.name.as_str()];
    let mut verdict = ServiceVerdict {
        name: container.name.clone(),
        role: container.role.clone(),
        wave,
        outcome: Outcome::NotStarted,
        ready_after_ms: None,
        reason: None,
        smoke: None,
        state: None,
        health_log: Vec::new(),
        log_tail: Vec::new(),
    };
    for (dependency, condition) in &container.depends_on {
        let wanted = condition_name(*condition);
        progress.event(Event::Waiting {
            container: container.name.clone(),
            on: format!("{dependency} {wanted}"),
        });
        let mut watcher = reached[dependency.as_str()].subscribe();
        let got = watcher
            .wait_for(|r| *r == Reached::Failed || r.satisfies(*condition))
            .await
            .map_or(Reached::Failed, |r| *r);
        if got == Reached::Failed {
            me.send_replace(Reached::Failed);
            let reason = format!("not started: {dependency} did not become {wanted}");
            progress.event(Event::Failed {
                container: container.name.clone(),
                reason: reason.clone(),
            });
            verdict.reason = Some(reason);
            return verdict;
        }
    }
    if let Err(error) = engine.docker().start_container(&container.name, None).await {
        me.send_replace(Reached::Failed);
        let failure = Failure {
            reason: explain_start(container, &error),
            state: Some("created".to_owned()),
        };
        fail(engine, &mut verdict, failure).await;
        progress.event(Event::Failed {
            container: container.name.clone(),
            reason: verdict.reason.clone().unwrap_or_default(),
        });
        return verdict;
    }
    progress.event(Event::Started {
        container: container.name.clone(),
    });
    me.send_replace(Reached::Started);
    match await_ready(engine, container).await {
        Ok(outcome) => {
            me.send_replace(match outcome {
                Outcome::Healthy => Reached::Healthy,
                Outcome::Completed => Reached::Completed,
                _ => Reached::Started,
            });
            let elapsed = start.elapsed();
            progress.event(Event::Ready {
                container: container.name.clone(),
                state: format!("{outcome:?}").to_lowercase(),
                elapsed,
            });
            verdict.outcome = outcome;
            verdict.ready_after_ms = Some(millis(elapsed));
        }
        Err(failure) => {
            me.send_replace(Reached::Failed);
            progress.event(Event::Failed {
                container: container.name.clone(),
                reason: failure.reason.clone(),
            });
            fail(engine, &mut verdict, failure).await;
        }
    }
    verdict
}

fn condition_name(condition: Condition) -> &'static str {
    match condition {
        Condition::Started => "started",
        Condition::Healthy => "healthy",
        Condition::Completed => "completed",
    }
}

/// A start refused by the engine, explained: taken ports above all.
fn explain_start(container: &ContainerSpec, error: &bollard::errors::Error) -> String {
    let detail = engine_message(error);
    if detail.contains("port is already allocated") || detail.contains("address already in use") {
        let ports: Vec<String> = container
            .ports
            .iter()
            .map(|p| format!("{}:{}", p.host_ip, p.host))
            .collect();
        return format!(
            "a port it publishes ({}) is already in use, by another container or a program on the host\n\
             engine: {detail}\n\
             help: stop what holds the port (`docker ps`, `ss -ltnp`), or change the port in the topology",
            ports.join(", ")
        );
    }
    explain(format!("starting {}", container.name), error).to_string()
}

/// Fills in a failed verdict: the reason, the state, health log and log tail.
async fn fail(engine: &Engine, verdict: &mut ServiceVerdict, failure: Failure) {
    verdict.outcome = Outcome::Failed;
    verdict.reason = Some(failure.reason);
    verdict.state = failure.state;
    if let Ok(Some(info)) = engine.inspect_container(&verdict.name).await {
        let results = info
            .state
            .and_then(|s| s.health)
            .and_then(|h| h.log)
            .unwrap_or_default();
        let skip = results.len().saturating_sub(HEALTH_LOG);
        verdict.health_log = results
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
    verdict.log_tail = engine.log_tail(&verdict.name, LOG_TAIL).await;
}

/// Polls the container until it reaches its goal: healthy when it has a health check,
/// exited 0 when it is a one-shot job, running otherwise.
async fn await_ready(engine: &Engine, container: &ContainerSpec) -> Result<Outcome, Failure> {
    let job = container.restart == RestartPolicy::No;
    let limit = match (&container.health, job) {
        (Some(health), _) => health.deadline() + HEALTH_SLACK,
        (None, true) => JOB_DEADLINE,
        (None, false) => Duration::ZERO,
    };
    let deadline = Instant::now() + limit;
    loop {
        let (status, health, exit_code) = state_of(engine, &container.name).await?;
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
        tokio::time::sleep(POLL).await;
    }
}

async fn check_still_running(engine: &Engine, container: &ContainerSpec) -> Result<(), Failure> {
    let (status, health, exit_code) = state_of(engine, &container.name).await?;
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
