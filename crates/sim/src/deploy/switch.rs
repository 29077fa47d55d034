//! Replacing one running container with a new version.
//!
//! - **blue-green**: the candidate `<name>-next` starts beside the old container and must
//!   become healthy; the proxy's routes file is rewritten to send the service's paths to the
//!   candidate, checked (`nginx -t`) and reloaded gracefully (SIGHUP: old workers finish the
//!   requests they hold, new workers use the new route); the containers are renamed (old →
//!   `<name>-old`, candidate → `<name>`), the routes file is written back to name `<name>`
//!   and reloaded again (same address, no change in traffic); after the drain the old
//!   container is stopped and removed. A candidate that never becomes healthy is removed
//!   and the old container never stopped serving.
//! - **recreate**: the old container is stopped and set aside as `<name>-old`; the new one
//!   starts under `<name>`; when it fails, it is removed and the old one renamed back and
//!   started again.
//! - **job** (a one-shot migration): the previous run is removed, the new one must exit 0.

use std::time::{Duration, Instant};

use bollard::models::ContainerCreateBody;
use bollard::query_parameters::{
    KillContainerOptionsBuilder, RemoveContainerOptionsBuilder, RenameContainerOptionsBuilder,
    StopContainerOptionsBuilder,
};
use topo_core::naming;
use topo_core::spec::{ContainerSpec, ProxySpec};

use super::summary::Step;
use crate::build::millis;
use crate::engine::Engine;
use crate::error::{explain, is_not_found, SimError};
use crate::fault;
use crate::lifecycle::Sources;
use crate::lifecycle::{
    await_ready, create_container, diagnose, exec, write_files, Failure, Upload,
};

/// How a replacement went.
pub(super) enum Replaced {
    /// The new container is up under the service's name.
    Up,
    /// The new container failed; the old one (if there was one) is serving.
    Failed {
        /// Why.
        failure: Failure,
        /// Its last health results.
        health_log: Vec<String>,
        /// Its last log lines.
        log_tail: Vec<String>,
        /// Whether an old container is serving again (or never stopped).
        old_serving: bool,
    },
}

/// Records each step's duration, and what the summary should say about them.
#[derive(Default)]
pub(super) struct Steps {
    pub(super) steps: Vec<Step>,
    pub(super) notes: Vec<String>,
}

impl Steps {
    fn record(&mut self, name: &str, since: Instant) {
        self.steps.push(Step {
            name: name.to_owned(),
            elapsed_ms: millis(since.elapsed()),
        });
    }
}

/// The running proxy, when there is one to switch.
pub(super) struct Proxy<'a> {
    pub(super) spec: &'a ProxySpec,
    /// Its other files (the certificate and key), read when the deploy starts (a missing
    /// key stops it before any change) and written by [`Proxy::refresh`].
    pub(super) files: Vec<Upload>,
}

impl Proxy<'_> {
    /// Writes the routes file with `container` reached at `upstream`, checks it, and reloads
    /// nginx gracefully.
    pub(super) async fn route(
        &self,
        engine: &Engine,
        container: &str,
        upstream: &str,
    ) -> Result<(), SimError> {
        let config = self.spec.config(|name| {
            if name == container {
                upstream.to_owned()
            } else {
                name.to_owned()
            }
        });
        self.apply(engine, config, &[]).await
    }

    /// Writes the routes file as every rendered file has it (each container by its name),
    /// checks it and reloads.
    pub(super) async fn canonical(&self, engine: &Engine) -> Result<(), SimError> {
        self.apply(engine, self.spec.config(str::to_owned), &[])
            .await
    }

    /// [`Proxy::canonical`], with the certificate and key written again: the deploy's last
    /// word to the proxy, so a renewed certificate reaches it.
    pub(super) async fn refresh(&self, engine: &Engine) -> Result<(), SimError> {
        self.apply(engine, self.spec.config(str::to_owned), &self.files)
            .await
    }

    async fn apply(
        &self,
        engine: &Engine,
        config: String,
        files: &[Upload],
    ) -> Result<(), SimError> {
        let name = &self.spec.container;
        write_files(engine, name, files).await?;
        let file = Upload::text(&self.spec.config_path, config);
        write_files(engine, name, std::slice::from_ref(&file)).await?;
        let (code, output) = exec(engine, name, &["nginx".to_owned(), "-t".to_owned()]).await?;
        if code != 0 {
            return Err(SimError::Engine {
                context: format!("checking the proxy's new routes in {name} (`nginx -t`)"),
                detail: output.trim().to_owned(),
            });
        }
        let options = KillContainerOptionsBuilder::default().signal("HUP").build();
        engine
            .docker()
            .kill_container(name, Some(options))
            .await
            .map_err(|e| explain(format!("reloading the proxy {name}"), &e))
    }
}

/// Blue-green: the candidate beside the old container, a switch at the proxy, a drain.
pub(super) async fn blue_green(
    engine: &Engine,
    container: &ContainerSpec,
    mut body: ContainerCreateBody,
    sources: Sources<'_>,
    proxy: &Proxy<'_>,
    steps: &mut Steps,
) -> Result<Replaced, SimError> {
    let name = container.name.as_str();
    let next = naming::next_container_name(name);
    let old = naming::old_container_name(name);
    // The candidate answers to its own name only until it takes over: nothing but the
    // proxy's switch sends it traffic.
    if let Some(networking) = body.networking_config.as_mut() {
        for endpoint in networking
            .endpoints_config
            .iter_mut()
            .flat_map(|e| e.values_mut())
        {
            endpoint.aliases = Some(vec![next.clone()]);
        }
    }
    let since = Instant::now();
    create_container(engine, container, &next, body, Some(sources)).await?;
    fault::boundary("blue-green:created");
    start(engine, &next).await?;
    fault::boundary("blue-green:started");
    steps.record("start", since);
    let since = Instant::now();
    if let Err(failure) = await_ready(engine, container, &next).await {
        let (health_log, log_tail) = diagnose(engine, &next).await;
        remove(engine, &next).await?;
        return Ok(Replaced::Failed {
            failure,
            health_log,
            log_tail,
            old_serving: true,
        });
    }
    steps.record("healthy", since);
    fault::boundary("blue-green:healthy");

    let since = Instant::now();
    proxy.route(engine, name, &next).await?;
    steps.record("switch", since);
    fault::boundary("blue-green:switched");
    let since = Instant::now();
    rename(engine, name, &old).await?;
    fault::boundary("blue-green:set-aside");
    rename(engine, &next, name).await?;
    fault::boundary("blue-green:renamed");
    proxy.canonical(engine).await?;
    steps.record("rename", since);
    fault::boundary("blue-green:routed");

    let since = Instant::now();
    tokio::time::sleep(container.deploy.drain).await;
    steps
        .notes
        .extend(stop(engine, &old, container.effective_stop_timeout()).await?);
    fault::boundary("blue-green:stopped-old");
    remove(engine, &old).await?;
    steps.record("drain", since);
    Ok(Replaced::Up)
}

/// Recreate: stop the old container, start the new one, put the old one back on failure.
pub(super) async fn recreate(
    engine: &Engine,
    container: &ContainerSpec,
    body: ContainerCreateBody,
    sources: Sources<'_>,
    has_old: bool,
    proxy: Option<&Proxy<'_>>,
    steps: &mut Steps,
) -> Result<Replaced, SimError> {
    let name = container.name.as_str();
    let old = naming::old_container_name(name);
    let since = Instant::now();
    if has_old {
        steps
            .notes
            .extend(stop(engine, name, container.effective_stop_timeout()).await?);
        fault::boundary("recreate:stopped");
        rename(engine, name, &old).await?;
        fault::boundary("recreate:set-aside");
        steps.record("stop", since);
    }
    let since = Instant::now();
    create_container(engine, container, name, body, Some(sources)).await?;
    fault::boundary("recreate:created");
    start(engine, name).await?;
    fault::boundary("recreate:started");
    steps.record("start", since);
    let since = Instant::now();
    match await_ready(engine, container, name).await {
        Ok(_) => {
            steps.record("ready", since);
            fault::boundary("recreate:ready");
            if has_old {
                remove(engine, &old).await?;
                fault::boundary("recreate:removed-old");
            }
            if let Some(proxy) = proxy {
                // nginx resolved the old container's address; the new one may have another.
                let since = Instant::now();
                proxy.canonical(engine).await?;
                steps.record("reload", since);
            }
            Ok(Replaced::Up)
        }
        Err(failure) => {
            let (health_log, log_tail) = diagnose(engine, name).await;
            remove(engine, name).await?;
            if has_old {
                rename(engine, &old, name).await?;
                start(engine, name).await?;
                if let Some(proxy) = proxy {
                    proxy.canonical(engine).await?;
                }
            }
            Ok(Replaced::Failed {
                failure,
                health_log,
                log_tail,
                old_serving: has_old,
            })
        }
    }
}

/// A one-shot job: replace the previous run, and wait for exit code 0.
pub(super) async fn job(
    engine: &Engine,
    container: &ContainerSpec,
    body: ContainerCreateBody,
    sources: Sources<'_>,
    steps: &mut Steps,
) -> Result<Replaced, SimError> {
    let name = container.name.as_str();
    remove(engine, name).await?;
    fault::boundary("job:removed");
    let since = Instant::now();
    create_container(engine, container, name, body, Some(sources)).await?;
    fault::boundary("job:created");
    start(engine, name).await?;
    fault::boundary("job:started");
    match await_ready(engine, container, name).await {
        Ok(_) => {
            steps.record("run", since);
            Ok(Replaced::Up)
        }
        Err(failure) => {
            // The failed run stays, exited, for `docker logs`; the next deploy replaces it.
            let (health_log, log_tail) = diagnose(engine, name).await;
            Ok(Replaced::Failed {
                failure,
                health_log,
                log_tail,
                old_serving: false,
            })
        }
    }
}

pub(super) async fn start(engine: &Engine, name: &str) -> Result<(), SimError> {
    engine
        .docker()
        .start_container(name, None)
        .await
        .map_err(|e| explain(format!("starting {name}"), &e))
}

/// Stops a container: SIGTERM, and SIGKILL after `timeout`. When it had to be killed, a
/// note for the summary says so and what to change (a container that ignores SIGTERM turns
/// every stop into the whole timeout, silently).
pub(super) async fn stop(
    engine: &Engine,
    name: &str,
    timeout: Duration,
) -> Result<Option<String>, SimError> {
    let seconds = i32::try_from(timeout.as_secs()).unwrap_or(i32::MAX);
    let options = StopContainerOptionsBuilder::default().t(seconds).build();
    let since = Instant::now();
    match engine.docker().stop_container(name, Some(options)).await {
        Ok(()) => {}
        Err(error) if is_not_found(&error) => return Ok(None),
        // 304: already stopped.
        Err(bollard::errors::Error::DockerResponseServerError {
            status_code: 304, ..
        }) => return Ok(None),
        Err(error) => return Err(explain(format!("stopping {name}"), &error)),
    }
    let took = since.elapsed();
    let exit_code = engine
        .inspect_container(name)
        .await?
        .and_then(|info| info.state)
        .and_then(|state| state.exit_code);
    // 137 = 128 + SIGKILL: the engine's kill at the timeout (a process that exits on
    // SIGTERM ends 143 or by its own code, sooner).
    let killed = exit_code == Some(137) && took + Duration::from_millis(500) >= timeout;
    Ok(killed.then(|| {
        format!(
            "{name} ignored SIGTERM and was killed after its stop timeout ({} s, stopping took {:.1} s): its main process does not exit on SIGTERM. Use the exec form of the command (`[\"node\", \"server.js\"]`, not a shell string), handle SIGTERM in the application, or run it under an init (tini); raise `stop_timeout` only if it needs longer to finish its work",
            timeout.as_secs(),
            took.as_secs_f64()
        )
    }))
}

pub(super) async fn remove(engine: &Engine, name: &str) -> Result<(), SimError> {
    let options = RemoveContainerOptionsBuilder::default()
        .force(true)
        // Its anonymous volumes too (its secret files).
        .v(true)
        .build();
    match engine.docker().remove_container(name, Some(options)).await {
        Ok(()) => Ok(()),
        Err(error) if is_not_found(&error) => Ok(()),
        Err(error) => Err(explain(format!("removing {name}"), &error)),
    }
}

pub(super) async fn rename(engine: &Engine, from: &str, to: &str) -> Result<(), SimError> {
    let options = RenameContainerOptionsBuilder::default().name(to).build();
    engine
        .docker()
        .rename_container(from, options)
        .await
        .map_err(|e| explain(format!("renaming {from} to {to}"), &e))
}
