//! Under the lock, after the checks: each service replaced by its strategy (or left as it
//! is), then the proxy's routes, then the images no service keeps.

use std::collections::BTreeSet;
use std::time::Instant;

use bollard::models::{ContainerStateStatusEnum, HealthStatusEnum};
use topo_core::spec::{labels, ContainerKind, ContainerSpec};

use super::history::{kept_images, tag_of};
use super::resolve::Planned;
use super::summary::{Check, DeployAction, Replacement, ServiceDeploy};
use super::switch::{self, Proxy, Replaced, Steps};
use super::{DeployOptions, Deployment, OnDeployed, Wanted};
use crate::error::SimError;
use crate::progress::{Event, Phase};
use crate::translate::create_body;

/// What the deploy has done so far.
#[derive(Default)]
pub(super) struct Progressed {
    pub checks: Vec<Check>,
    pub services: Vec<ServiceDeploy>,
    pub notes: Vec<String>,
    /// Images no version history keeps any more.
    pub dropped: BTreeSet<String>,
    /// A service failed: the ones after it are not attempted.
    pub failed: bool,
    /// The proxy's ACME certificate, when it has one.
    pub certificate: Option<crate::acme::CertificateReport>,
}

impl Deployment<'_> {
    /// Step 5, one service: left out, already running what was asked, or replaced.
    pub(super) async fn service(
        &self,
        mut planned: Planned<'_>,
        options: &DeployOptions,
        proxy: Option<&Proxy<'_>>,
        on_deployed: &mut OnDeployed<'_>,
        done: &mut Progressed,
    ) -> Result<(), SimError> {
        let container = planned.container;
        let mut entry = entry_of(&planned, options);
        let Some((wanted, body)) = planned.wanted.clone() else {
            entry.detail = "not part of this deploy".to_owned();
            done.services.push(entry);
            return Ok(());
        };
        entry.image = wanted.image.clone();
        if done.failed {
            entry.action = DeployAction::NotReached;
            entry.detail = "not attempted: an earlier service failed".to_owned();
            done.services.push(entry);
            return Ok(());
        }
        self.progress.event(Event::Phase(Phase::Replacing {
            container: container.name.clone(),
            replacement: entry.strategy,
        }));
        let mut waited = String::new();
        if is_starting(&planned) && same_version(&planned, &wanted) {
            // The right version, (re)started moments ago (an engine restart, a repair): its
            // health check decides before anything is replaced.
            let since = std::time::Instant::now();
            let _ = crate::lifecycle::await_ready(self.engine, container, &container.name).await;
            self.refresh(&mut planned).await?;
            waited = format!(
                " (it was starting: waited {:.1} s for its health check)",
                since.elapsed().as_secs_f64()
            );
        }
        if runs_already(&planned, &wanted) {
            entry.action = DeployAction::Unchanged;
            entry.detail =
                format!("already runs this image and configuration: not restarted{waited}");
            record(on_deployed, &entry, &wanted, done);
            done.services.push(entry);
            return Ok(());
        }
        let body = self.labelled(&planned, &wanted, body, done);
        let mut steps = Steps::default();
        let replaced = self
            .replace(&planned, entry.strategy, body, proxy, &mut steps)
            .await?;
        entry.steps = steps.steps;
        done.notes.extend(steps.notes);
        match replaced {
            Replaced::Up => {
                entry.action = DeployAction::Deployed;
                entry.detail = match &entry.previous_image {
                    Some(previous) if *previous != wanted.image => format!("replaced {previous}"),
                    Some(_) => "configuration changed: replaced".to_owned(),
                    None => "first deploy".to_owned(),
                };
                record(on_deployed, &entry, &wanted, done);
            }
            Replaced::Failed {
                failure,
                health_log,
                log_tail,
                old_serving,
            } => {
                done.failed = true;
                entry.action = if old_serving {
                    DeployAction::RolledBack
                } else {
                    DeployAction::Failed
                };
                let serving = match (&entry.previous_image, old_serving) {
                    (Some(previous), true) => {
                        format!("; the previous version ({previous}) is serving")
                    }
                    (None, true) => "; the previous version is serving".to_owned(),
                    (_, false) => String::new(),
                };
                entry.detail = format!(
                    "{} ({}){serving}",
                    failure.reason,
                    failure.state.unwrap_or_default()
                );
                entry.health_log = health_log;
                entry.log_tail = log_tail;
            }
        }
        done.services.push(entry);
        Ok(())
    }

    /// The create request with the version labels: this image, its fingerprint, and the
    /// history the new container carries (this version first, at most `keep_images`); the
    /// versions that fall off are dropped.
    fn labelled(
        &self,
        planned: &Planned<'_>,
        wanted: &Wanted,
        mut body: bollard::models::ContainerCreateBody,
        done: &mut Progressed,
    ) -> bollard::models::ContainerCreateBody {
        let tag = tag_of(&wanted.image);
        let mut history = vec![tag.clone()];
        history.extend(planned.history.iter().filter(|t| **t != tag).cloned());
        let keep = self.spec.keep_images.max(1) as usize;
        done.dropped.extend(
            history
                .split_off(keep.min(history.len()))
                .into_iter()
                .map(|t| planned.container.image.with_tag(&t).to_string()),
        );
        let labels = body.labels.get_or_insert_with(Default::default);
        labels.insert(labels::IMAGE.to_owned(), wanted.image.clone());
        labels.insert(labels::HISTORY.to_owned(), history.join(","));
        if let Some(fingerprint) = &wanted.fingerprint {
            labels.insert(labels::FINGERPRINT.to_owned(), fingerprint.clone());
        }
        if let Some(digest) = &wanted.digest {
            labels.insert(labels::DIGEST.to_owned(), digest.clone());
        }
        body
    }

    /// Replaces the container by `replacement`: a job runs again, blue-green needs the
    /// running proxy and a running old container, anything else is recreated.
    async fn replace(
        &self,
        planned: &Planned<'_>,
        replacement: Replacement,
        body: bollard::models::ContainerCreateBody,
        proxy: Option<&Proxy<'_>>,
        steps: &mut Steps,
    ) -> Result<Replaced, SimError> {
        let container = planned.container;
        let engine = self.engine;
        let running = is_running(planned);
        let routed = self
            .spec
            .proxy
            .as_ref()
            .is_some_and(|p| p.routes.iter().any(|r| r.container == container.name));
        let proxy = proxy.filter(|_| routed);
        let sources = self.sources();
        match (replacement, proxy) {
            (Replacement::Job, _) => switch::job(engine, container, body, sources, steps).await,
            (Replacement::BlueGreen, Some(proxy)) if running => {
                switch::blue_green(engine, container, body, sources, proxy, steps).await
            }
            _ => {
                if planned.current.is_some() && !running {
                    // A stopped leftover (or one a crash left behind): replaced like any other.
                    switch::remove(engine, &container.name).await?;
                }
                switch::recreate(engine, container, body, sources, running, proxy, steps).await
            }
        }
    }

    /// Step 6½, the proxy's ACME certificate: issued on the first deploy, renewed when due
    /// (so a scheduled no-op deploy keeps it fresh), reported either way; a failure leaves
    /// the served one in place and stops nothing.
    pub(super) async fn certificate(&self, options: &DeployOptions, done: &mut Progressed) {
        let Some((proxy, tls, acme)) = self.acme_proxy().await else {
            return;
        };
        self.progress
            .event(Event::Phase(crate::progress::Phase::Certificate));
        let report = crate::acme::certify(
            self.engine,
            &proxy.container,
            tls,
            acme,
            self.root,
            options.renew_certificate,
        )
        .await;
        done.certificate = Some(report);
    }

    /// `--dry-run`: whether a deploy would order a certificate, and why.
    pub(super) async fn certificate_preview(
        &self,
        options: &DeployOptions,
    ) -> Option<crate::acme::CertificateReport> {
        let (proxy, tls, acme) = self.acme_proxy().await?;
        Some(
            crate::acme::preview(
                self.engine,
                &proxy.container,
                tls,
                acme,
                options.renew_certificate,
            )
            .await,
        )
    }

    /// The proxy, its TLS and ACME settings, when it gets its certificate from an ACME
    /// server and its container exists.
    async fn acme_proxy(
        &self,
    ) -> Option<(
        &topo_core::spec::ProxySpec,
        &topo_core::spec::TlsSpec,
        &topo_core::valid::Acme,
    )> {
        let proxy = self.spec.proxy.as_ref()?;
        let tls = proxy.tls.as_ref()?;
        let acme = tls.acme.as_ref()?;
        let exists = self.engine.inspect_container(&proxy.container).await;
        exists.ok().flatten().map(|_| (proxy, tls, acme))
    }

    /// Step 6, the proxy: created on a host's first deploy; otherwise its routes rewritten
    /// (a changed topology may route other paths) and its certificate and key written again
    /// (a renewed one reaches it).
    pub(super) async fn proxy(
        &self,
        running: Option<&Proxy<'_>>,
        done: &mut Progressed,
    ) -> Result<(), SimError> {
        let Some(proxy) = &self.spec.proxy else {
            return Ok(());
        };
        if let Some(running) = running {
            return running.refresh(self.engine).await;
        }
        if done.failed {
            return Ok(());
        }
        let Some(container) = self.spec.container(&proxy.container) else {
            return Ok(());
        };
        let since = Instant::now();
        let body = create_body(
            container,
            &self.spec.network.name,
            self.root,
            self.variables,
        )?;
        if self
            .engine
            .inspect_container(&proxy.container)
            .await?
            .is_some()
        {
            switch::remove(self.engine, &proxy.container).await?;
        }
        crate::lifecycle::create_container(
            self.engine,
            container,
            &proxy.container,
            body,
            Some(self.sources()),
        )
        .await?;
        switch::start(self.engine, &proxy.container).await?;
        if let Err(failure) =
            crate::lifecycle::await_ready(self.engine, container, &proxy.container).await
        {
            return Err(SimError::Engine {
                context: format!("starting the proxy {}", proxy.container),
                detail: format!(
                    "{} ({}); see `docker logs {}`",
                    failure.reason,
                    failure.state.unwrap_or_default(),
                    proxy.container
                ),
            });
        }
        done.notes.push(format!(
            "started the proxy {} in {:.1} s",
            proxy.container,
            since.elapsed().as_secs_f64()
        ));
        Ok(())
    }

    /// Where the spec's files are read from: this deploy's repository and environment.
    pub(super) fn sources(&self) -> crate::lifecycle::Sources<'_> {
        crate::lifecycle::Sources {
            root: self.root,
            variables: self.variables,
        }
    }

    /// The running proxy, with its files besides the routes (certificate, key) read.
    pub(super) fn proxy_of<'s>(
        &self,
        spec: &'s topo_core::spec::ProxySpec,
    ) -> Result<Proxy<'s>, SimError> {
        let files = match self.spec.container(&spec.container) {
            Some(container) => {
                let others: Vec<_> = container
                    .files
                    .iter()
                    .filter(|f| f.target != spec.config_path)
                    .cloned()
                    .collect();
                crate::lifecycle::uploads(container, &others, Some(self.sources()))?
            }
            None => Vec::new(),
        };
        Ok(Proxy { spec, files })
    }

    /// Step 7, retention: images no service keeps any more are removed, unless a container
    /// still names them.
    pub(super) async fn retention(&self, done: &mut Progressed) -> Result<(), SimError> {
        if done.dropped.is_empty() {
            return Ok(());
        }
        let kept = kept_images(self.engine, &self.spec.project).await?;
        for image in done.dropped.difference(&kept) {
            let options = bollard::query_parameters::RemoveImageOptionsBuilder::default().build();
            let removed = self
                .engine
                .docker()
                .remove_image(image, Some(options), None)
                .await;
            if removed.is_ok() {
                done.notes.push(format!(
                    "removed {image}, older than the last {} versions kept",
                    self.spec.keep_images
                ));
            }
        }
        Ok(())
    }
}

/// Tells the caller a service reached its version (where markers are written); a failure
/// is a note, it undoes nothing.
fn record(
    on_deployed: &mut OnDeployed<'_>,
    entry: &ServiceDeploy,
    wanted: &Wanted,
    done: &mut Progressed,
) {
    if let Err(error) = on_deployed(entry, wanted) {
        done.notes
            .push(format!("marker of {}: {error}", entry.container));
    }
}

fn is_running(planned: &Planned<'_>) -> bool {
    planned
        .current
        .as_ref()
        .and_then(|i| i.state.as_ref())
        .is_some_and(|s| s.running == Some(true))
}

/// A service's summary entry before anything is done: skipped, at the image it runs, with
/// the strategy the options or its topology choose.
pub(super) fn entry_of(planned: &Planned<'_>, options: &DeployOptions) -> ServiceDeploy {
    let container = planned.container;
    let strategy = options
        .strategies
        .get(&container.role)
        .or_else(|| options.strategies.get(&container.name))
        .or_else(|| options.strategies.get("*"))
        .copied()
        .unwrap_or(container.deploy.strategy);
    let previous_image = planned.current_labels.get(labels::IMAGE).cloned();
    ServiceDeploy {
        name: container.role.clone(),
        container: container.name.clone(),
        action: DeployAction::Skipped,
        strategy: Replacement::of(container.kind, strategy),
        image: previous_image.clone().unwrap_or_default(),
        previous_image,
        detail: String::new(),
        steps: Vec::new(),
        health_log: Vec::new(),
        log_tail: Vec::new(),
    }
}

/// Whether the container runs with its health check still starting.
fn is_starting(planned: &Planned<'_>) -> bool {
    planned
        .current
        .as_ref()
        .and_then(|i| i.state.as_ref())
        .and_then(|s| s.health.as_ref())
        .and_then(|h| h.status)
        == Some(HealthStatusEnum::STARTING)
}

/// Whether the container is of the image and configuration wanted.
fn same_version(planned: &Planned<'_>, wanted: &Wanted) -> bool {
    // The image by its id (what a digest or a tag resolved to on the target), not by the
    // tag string: a tag pushed again is another image.
    let running_image = planned.current.as_ref().and_then(|c| c.image.as_ref());
    let same_image = match (&planned.wanted_id, running_image) {
        (Some(wanted_id), Some(running)) => wanted_id == running,
        _ => planned.current_labels.get(labels::IMAGE) == Some(&wanted.image),
    };
    same_image
        && planned.current_labels.get(labels::CONFIG_HASH)
            == planned.container.labels.get(labels::CONFIG_HASH)
}

/// Whether the container already runs the image and configuration wanted, and is where it
/// should be: a job exited 0, anything else running (and healthy when it has a check).
pub(super) fn runs_already(planned: &Planned<'_>, wanted: &Wanted) -> bool {
    let container: &ContainerSpec = planned.container;
    let same = same_version(planned, wanted);
    let state = planned
        .current
        .as_ref()
        .and_then(|i| i.state.clone())
        .unwrap_or_default();
    let up = if container.kind == ContainerKind::Job {
        state.exit_code == Some(0) && state.status == Some(ContainerStateStatusEnum::EXITED)
    } else {
        state.running == Some(true)
            && (container.health.is_none()
                || state.health.as_ref().and_then(|h| h.status) == Some(HealthStatusEnum::HEALTHY))
    };
    same && up
}
