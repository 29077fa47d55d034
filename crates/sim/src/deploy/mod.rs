//! `deploy`: apply the production spec to a target engine, service by service, without
//! dropping requests for services behind the proxy.
//!
//! Order of work: resolve what each service should run (a tag, a plan's images, or the
//! previous version for a rollback) and translate every create request (a missing secret
//! stops here); make sure the images are on the engine; take the deploy lock; verify the
//! target ([`verify`]); then for each service in dependency order (jobs before the services
//! that wait for them): skip it when its container already runs the image and
//! configuration asked for, else replace it by its strategy ([`switch`]); a failure stops
//! the deploy there. Last: the proxy's routes, the images no longer kept, the lock.

mod history;
mod lock;
pub mod summary;
mod switch;
mod verify;

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;
use std::time::{Duration, Instant};

use topo_core::model::Strategy;
use topo_core::spec::{labels, ContainerKind, ContainerSpec, ImageRef, RuntimeSpec};
use topo_core::Mode;

pub use lock::{break_lock, holder, lock_name, Lock, LockHolder};
pub use summary::{DeployAction, DeploySummary, ServiceDeploy, SUMMARY_VERSION};

use crate::build::{ensure_present, millis};
use crate::engine::Engine;
use crate::error::SimError;
use crate::progress::{Event, Progress};
use crate::translate::{create_body, Variables};
use history::{deploy_order, history_of, kept_images, tag_of};
use summary::Check;
use switch::{Proxy, Replaced, Steps};

/// Called after each service reached its version (or already ran it), with the version's
/// fingerprint when a plan gave one: where markers are written. An error is noted in the
/// summary; it does not undo the deploy.
pub type OnDeployed<'a> = dyn FnMut(&ServiceDeploy, Option<&str>) -> Result<(), String> + 'a;

/// What each service should run.
#[derive(Clone, Debug)]
pub enum Release {
    /// Every service at this tag: `<registry>/<project>-<role>:<tag>`.
    Tag(String),
    /// These images, by container name (a plan's deploy list); other services are skipped.
    Images(BTreeMap<String, Wanted>),
    /// Each service's previous version, from the history its container carries.
    Rollback,
}

/// The image one service should run.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Wanted {
    /// The full image reference.
    pub image: String,
    /// The fingerprint of that version, when a plan computed one.
    pub fingerprint: Option<String>,
}

/// Options of a deploy (the inputs being the spec, the release and the variables).
#[derive(Clone, Debug)]
pub struct DeployOptions {
    /// Only these services (roles or container names); empty means all.
    pub services: Vec<String>,
    /// Strategy overrides by role or container name; `*` applies to every service.
    pub strategies: BTreeMap<String, Strategy>,
    /// How long to wait for another deploy's lock.
    pub lock_wait: Duration,
    /// A host's first deploy: create the network, volumes, database and proxy if missing.
    pub setup: bool,
    /// What the lock says this deploy is (`deploy v1.2.0 from ci`).
    pub purpose: String,
    /// The target, as shown in the summary.
    pub target: String,
}

impl Default for DeployOptions {
    fn default() -> Self {
        DeployOptions {
            services: Vec::new(),
            strategies: BTreeMap::new(),
            lock_wait: Duration::ZERO,
            setup: false,
            purpose: "deploy".to_owned(),
            target: crate::error::engine_host(),
        }
    }
}

/// Deploys `release` of the production `spec` to `engine`. `deployed` is called after each
/// service that reached its new version (or already ran it): that is where markers are
/// written. A refused check or an engine error before any change is an `Err`; a service
/// that fails is in the summary (`ok: false`) with its health log and log tail.
#[allow(clippy::too_many_arguments)]
pub async fn deploy(
    engine: &Engine,
    spec: &RuntimeSpec,
    root: &Path,
    variables: &dyn Variables,
    release: &Release,
    options: &DeployOptions,
    progress: &dyn Progress,
    deployed: &mut OnDeployed<'_>,
) -> Result<DeploySummary, SimError> {
    let start = Instant::now();
    if spec.mode != Mode::Production {
        return Err(SimError::Refused {
            problem: format!("deploy applies the production spec, not {}", spec.mode),
            help: "use `topo-sim up` for prod-sim".to_owned(),
        });
    }
    let order = deploy_order(spec);
    for wanted in &options.services {
        if !order.iter().any(|c| c.role == *wanted || c.name == *wanted) {
            return Err(SimError::UnknownService(wanted.clone()));
        }
    }
    let selected = |c: &ContainerSpec| {
        options.services.is_empty()
            || options
                .services
                .iter()
                .any(|s| *s == c.role || *s == c.name)
    };

    // What each service should run, before anything is touched.
    let mut plans: Vec<Planned<'_>> = Vec::new();
    for container in order.iter().copied() {
        let current = engine.inspect_container(&container.name).await?;
        let current_labels = current
            .as_ref()
            .and_then(|i| i.config.as_ref())
            .and_then(|c| c.labels.clone())
            .unwrap_or_default();
        let history = history_of(&current_labels);
        let wanted = if !selected(container) {
            None
        } else {
            match release {
                Release::Tag(tag) => Some(Wanted {
                    image: container.image.with_tag(tag).to_string(),
                    fingerprint: None,
                }),
                Release::Images(images) => images.get(&container.name).cloned(),
                Release::Rollback => match history.get(1) {
                    Some(previous) => Some(Wanted {
                        image: container.image.with_tag(previous).to_string(),
                        fingerprint: None,
                    }),
                    None => return Err(SimError::Refused {
                        problem: format!(
                            "{} has no previous version to roll back to{}",
                            container.name,
                            if current.is_none() {
                                " (it is not deployed)"
                            } else {
                                ""
                            }
                        ),
                        help:
                            "name the services to roll back (`--rollback SERVICE`), or deploy a tag"
                                .to_owned(),
                    }),
                },
            }
        };
        let body = match &wanted {
            Some(wanted) => {
                let mut pinned = container.clone();
                pinned.image =
                    ImageRef::parse(&wanted.image).map_err(|error| SimError::Refused {
                        problem: format!("`{}` is not an image reference: {error}", wanted.image),
                        help: "give a plan made by `topo-ci plan`, or a tag".to_owned(),
                    })?;
                Some(create_body(&pinned, &spec.network.name, root, variables)?)
            }
            None => None,
        };
        plans.push(Planned {
            container,
            current,
            current_labels,
            history,
            wanted,
            body,
        });
    }

    // Images: a production deploy builds nothing; what is not on the engine is pulled.
    progress.event(Event::Phase("images".to_owned()));
    let mut images: BTreeSet<String> = plans
        .iter()
        .filter_map(|p| p.wanted.as_ref().map(|w| w.image.clone()))
        .collect();
    if options.setup {
        for container in &spec.containers {
            if container.image.tag_variable().is_none() {
                images.insert(container.image.to_string());
            }
        }
    }
    for image in &images {
        ensure_present(engine, image.clone()).await?;
    }
    let lock_image = match images.iter().next() {
        Some(image) => image.clone(),
        None => match spec.containers.first() {
            Some(c) if c.image.tag_variable().is_none() => c.image.to_string(),
            Some(_) => {
                return Err(SimError::Refused {
                    problem: "nothing to deploy".to_owned(),
                    help: "name a tag, a plan with services to deploy, or services".to_owned(),
                })
            }
            None => {
                return Err(SimError::Refused {
                    problem: "the topology has no containers".to_owned(),
                    help: "add services to the topology".to_owned(),
                })
            }
        },
    };

    progress.event(Event::Phase("deploy lock".to_owned()));
    let lock = Lock::acquire(
        engine,
        &spec.project,
        &lock_image,
        &options.purpose,
        options.lock_wait,
    )
    .await?;
    let result = locked(
        engine, spec, root, variables, options, progress, deployed, plans, start,
    )
    .await;
    let waited = lock.waited;
    let release_result = lock.release(engine).await;
    let mut summary = result?;
    release_result?;
    summary.lock_waited_ms = millis(waited);
    summary.rollback = matches!(release, Release::Rollback);
    Ok(summary)
}

/// One service as resolved before the lock: what runs now, and what should run.
struct Planned<'a> {
    container: &'a ContainerSpec,
    /// Its container on the target, if any.
    current: Option<bollard::models::ContainerInspectResponse>,
    /// That container's labels.
    current_labels: std::collections::HashMap<String, String>,
    /// The versions it ran, newest first.
    history: Vec<String>,
    /// The image it should run; `None` leaves it out of this deploy.
    wanted: Option<Wanted>,
    /// Its create request at that image.
    body: Option<bollard::models::ContainerCreateBody>,
}

#[allow(clippy::too_many_arguments)]
async fn locked(
    engine: &Engine,
    spec: &RuntimeSpec,
    root: &Path,
    variables: &dyn Variables,
    options: &DeployOptions,
    progress: &dyn Progress,
    deployed: &mut OnDeployed<'_>,
    plans: Vec<Planned<'_>>,
    start: Instant,
) -> Result<DeploySummary, SimError> {
    progress.event(Event::Phase("checks".to_owned()));
    let mut checks: Vec<Check> = Vec::new();
    verify::verify(engine, spec, root, variables, options.setup, &mut checks).await?;
    let proxy_running = match &spec.proxy {
        Some(proxy) => {
            let info = engine.inspect_container(&proxy.container).await?;
            match info.and_then(|i| i.state).and_then(|s| s.running) {
                Some(true) => true,
                Some(false) if !options.setup => {
                    return Err(SimError::Refused {
                        problem: format!("the proxy {} is not running", proxy.container),
                        help: format!(
                            "start it (`docker start {}`) and deploy again",
                            proxy.container
                        ),
                    })
                }
                None if !options.setup => return Err(SimError::Refused {
                    problem: format!("the proxy {} does not exist on the target", proxy.container),
                    help:
                        "if this engine was never deployed to, run the first deploy with `--setup`"
                            .to_owned(),
                }),
                _ => false,
            }
        }
        None => false,
    };
    if let Some(proxy) = &spec.proxy {
        if proxy_running {
            checks.push(Check {
                name: "proxy".to_owned(),
                ok: true,
                detail: format!("{} is running", proxy.container),
                elapsed_ms: 0,
            });
        }
    }
    let proxy = spec
        .proxy
        .as_ref()
        .filter(|_| proxy_running)
        .map(|spec| Proxy { spec });

    let mut services = Vec::new();
    let mut dropped: BTreeSet<String> = BTreeSet::new();
    let mut failed = false;
    let mut notes = Vec::new();
    for Planned {
        container,
        current,
        current_labels,
        history,
        wanted,
        body,
    } in plans
    {
        let strategy = options
            .strategies
            .get(&container.role)
            .or_else(|| options.strategies.get(&container.name))
            .or_else(|| options.strategies.get("*"))
            .copied()
            .unwrap_or(container.deploy.strategy);
        let is_job = container.kind == ContainerKind::Job;
        let previous_image = current_labels.get(labels::IMAGE).cloned();
        let mut entry = ServiceDeploy {
            name: container.role.clone(),
            container: container.name.clone(),
            action: DeployAction::Skipped,
            strategy: if is_job {
                "job".to_owned()
            } else {
                strategy.as_str().to_owned()
            },
            image: previous_image.clone().unwrap_or_default(),
            previous_image: previous_image.clone(),
            detail: String::new(),
            steps: Vec::new(),
            health_log: Vec::new(),
            log_tail: Vec::new(),
        };
        let (Some(wanted), Some(mut body)) = (wanted, body) else {
            entry.detail = "not part of this deploy".to_owned();
            services.push(entry);
            continue;
        };
        entry.image = wanted.image.clone();
        if failed {
            entry.action = DeployAction::NotReached;
            entry.detail = "not attempted: an earlier service failed".to_owned();
            services.push(entry);
            continue;
        }
        progress.event(Event::Phase(format!(
            "{} ({})",
            container.name, entry.strategy
        )));
        let state = current
            .as_ref()
            .and_then(|i| i.state.clone())
            .unwrap_or_default();
        let config_hash = container.labels.get(labels::CONFIG_HASH);
        let same = previous_image.as_deref() == Some(wanted.image.as_str())
            && current_labels.get(labels::CONFIG_HASH) == config_hash;
        let up = if is_job {
            state.exit_code == Some(0) && state.running != Some(true)
        } else {
            state.running == Some(true)
                && (container.health.is_none()
                    || state.health.as_ref().and_then(|h| h.status)
                        == Some(bollard::models::HealthStatusEnum::HEALTHY))
        };
        if same && up {
            entry.action = DeployAction::Unchanged;
            entry.detail = "already runs this image and configuration: not restarted".to_owned();
            if let Err(error) = deployed(&entry, wanted.fingerprint.as_deref()) {
                notes.push(format!("marker of {}: {error}", container.name));
            }
            services.push(entry);
            continue;
        }

        // The history the new container carries: this version first, then those before it.
        let tag = tag_of(&wanted.image);
        let mut new_history = vec![tag.clone()];
        new_history.extend(history.iter().filter(|t| **t != tag).cloned());
        let keep = spec.keep_images.max(1) as usize;
        dropped.extend(
            new_history
                .split_off(keep.min(new_history.len()))
                .into_iter()
                .map(|t| container.image.with_tag(&t).to_string()),
        );
        let labels_of_body = body.labels.get_or_insert_with(Default::default);
        labels_of_body.insert(labels::IMAGE.to_owned(), wanted.image.clone());
        labels_of_body.insert(labels::HISTORY.to_owned(), new_history.join(","));
        if let Some(fingerprint) = &wanted.fingerprint {
            labels_of_body.insert(labels::FINGERPRINT.to_owned(), fingerprint.clone());
        }

        let mut steps = Steps(Vec::new());
        let routed = spec
            .proxy
            .as_ref()
            .is_some_and(|p| p.routes.iter().any(|r| r.container == container.name));
        let running = state.running == Some(true);
        let replaced = if is_job {
            switch::job(engine, container, body, &mut steps).await?
        } else if strategy == Strategy::BlueGreen && running && routed && proxy.is_some() {
            let proxy = proxy.as_ref().expect("checked: the proxy runs");
            switch::blue_green(engine, container, body, proxy, &mut steps).await?
        } else {
            if current.is_some() && !running {
                // A stopped leftover (or one a crash left behind): replaced like any other.
                switch::remove(engine, &container.name).await?;
            }
            let proxy = proxy.as_ref().filter(|_| routed);
            switch::recreate(engine, container, body, running, proxy, &mut steps).await?
        };
        entry.steps = steps.0;
        match replaced {
            Replaced::Up => {
                entry.action = DeployAction::Deployed;
                entry.detail = match &previous_image {
                    Some(previous) if *previous != wanted.image => format!("replaced {previous}"),
                    Some(_) => "configuration changed: replaced".to_owned(),
                    None => "first deploy".to_owned(),
                };
                if let Err(error) = deployed(&entry, wanted.fingerprint.as_deref()) {
                    notes.push(format!("marker of {}: {error}", container.name));
                }
            }
            Replaced::Failed {
                failure,
                health_log,
                log_tail,
                old_serving,
            } => {
                failed = true;
                entry.action = if old_serving {
                    DeployAction::RolledBack
                } else {
                    DeployAction::Failed
                };
                entry.detail = format!(
                    "{} ({}){}",
                    failure.reason,
                    failure.state.unwrap_or_default(),
                    if old_serving {
                        format!(
                            "; the previous version ({}) is serving",
                            previous_image.clone().unwrap_or_default()
                        )
                    } else {
                        String::new()
                    }
                );
                entry.health_log = health_log;
                entry.log_tail = log_tail;
            }
        }
        services.push(entry);
    }

    // The proxy: created on a host's first deploy, its routes rewritten otherwise (a changed
    // topology may route other paths).
    if let Some(proxy_spec) = &spec.proxy {
        let proxy_container = spec
            .container(&proxy_spec.container)
            .expect("the proxy's container is in the spec");
        if proxy_running {
            Proxy { spec: proxy_spec }.canonical(engine).await?;
        } else if !failed {
            let since = Instant::now();
            let body = create_body(proxy_container, &spec.network.name, root, variables)?;
            if engine
                .inspect_container(&proxy_spec.container)
                .await?
                .is_some()
            {
                switch::remove(engine, &proxy_spec.container).await?;
            }
            crate::lifecycle::create_container(
                engine,
                proxy_container,
                &proxy_spec.container,
                body,
            )
            .await?;
            switch::start(engine, &proxy_spec.container).await?;
            let ready =
                crate::lifecycle::await_ready(engine, proxy_container, &proxy_spec.container).await;
            if let Err(failure) = ready {
                return Err(SimError::Engine {
                    context: format!("starting the proxy {}", proxy_spec.container),
                    detail: format!(
                        "{} ({}); see `docker logs {}`",
                        failure.reason,
                        failure.state.unwrap_or_default(),
                        proxy_spec.container
                    ),
                });
            }
            notes.push(format!(
                "started the proxy {} in {:.1} s",
                proxy_spec.container,
                since.elapsed().as_secs_f64()
            ));
        }
    }

    // Images no service keeps any more: removed, unless a container still names them.
    if !dropped.is_empty() {
        let kept = kept_images(engine, &spec.project).await?;
        for image in dropped.difference(&kept) {
            let options = bollard::query_parameters::RemoveImageOptionsBuilder::default().build();
            if engine
                .docker()
                .remove_image(image, Some(options), None)
                .await
                .is_ok()
            {
                notes.push(format!(
                    "removed {image}, older than the last {} versions kept",
                    spec.keep_images
                ));
            }
        }
    }

    let ok = services.iter().all(|s| s.action.is_ok());
    Ok(DeploySummary {
        version: SUMMARY_VERSION,
        project: spec.project.clone(),
        target: options.target.clone(),
        ok,
        rollback: false,
        elapsed_ms: millis(start.elapsed()),
        lock_waited_ms: 0,
        checks,
        services,
        notes,
    })
}
