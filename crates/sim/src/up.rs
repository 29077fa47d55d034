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
use std::time::Instant;

use bollard::models::ContainerCreateBody;
use futures_util::future::join_all;
use tokio::sync::watch;
use topo_core::model::Condition;
use topo_core::spec::{ContainerSpec, RuntimeSpec};
use topo_core::Mode;

use crate::build::{millis, prepare_images, BuildOptions};
use crate::engine::{Engine, ObjectKind};
use crate::error::{engine_message, explain, SimError};
use crate::lifecycle::{await_ready, check_still_running, create_container, fail, Failure};
use crate::objects::{prepare, survey};
use crate::progress::{Event, Phase, Progress};
use crate::smoke::smoke_check;
use crate::translate::{create_body, Variables};
use crate::verdict::{Outcome, ServiceVerdict, Verdict, VERDICT_VERSION};

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

    progress.event(Event::Phase(Phase::Images));
    let images = prepare_images(engine, spec, root, variables, &options.build, progress).await?;

    progress.event(Event::Phase(Phase::Stack(spec.mode)));
    prepare(engine, spec, &survey, progress).await?;
    create_all(
        engine,
        spec,
        bodies,
        crate::lifecycle::Sources { root, variables },
        progress,
    )
    .await?;

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
            if let Err(failure) = check_still_running(engine, container, &container.name).await {
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
    sources: crate::lifecycle::Sources<'_>,
    progress: &dyn Progress,
) -> Result<(), SimError> {
    let creations = spec
        .containers
        .iter()
        .zip(bodies)
        .map(|(container, body)| async move {
            create_container(engine, container, &container.name, body, Some(sources)).await?;
            progress.event(Event::Created {
                kind: ObjectKind::Container,
                name: container.name.clone(),
            });
            Ok::<(), SimError>(())
        });
    join_all(creations).await.into_iter().collect()
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
    match await_ready(engine, container, &container.name).await {
        Ok(outcome) => {
            me.send_replace(match outcome {
                Outcome::Healthy => Reached::Healthy,
                Outcome::Completed => Reached::Completed,
                _ => Reached::Started,
            });
            let elapsed = start.elapsed();
            progress.event(Event::Ready {
                container: container.name.clone(),
                state: outcome,
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
