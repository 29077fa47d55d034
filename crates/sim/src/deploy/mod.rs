//! `deploy`: apply the production spec to a target engine, service by service, without
//! dropping requests for services behind the proxy.
//!
//! Order of work: resolve what each service should run (a tag, a plan's images, or the
//! previous version for a rollback) and translate every create request (a missing secret
//! stops here); make sure the images are on the engine; take the deploy lock; verify the
//! target (`verify`); then for each service in dependency order (jobs before the services
//! that wait for them): skip it when its container already runs the image and
//! configuration asked for, else replace it by its strategy (`switch`); a failure stops
//! the deploy there. Last: the proxy's routes, the images no longer kept, the lock.

mod accessories;
mod dry_run;
mod history;
pub(crate) use history::{deploy_order, history_of, tag_of};
mod lease;
mod lock;
mod repair;
mod resolve;
mod service;
pub mod summary;
mod switch;
mod verify;

use std::collections::BTreeMap;
use std::path::Path;
use std::time::{Duration, Instant};

use topo_core::model::Strategy;
use topo_core::spec::{ImageRef, RuntimeSpec};
use topo_core::Mode;

pub use lease::DEFAULT_LEASE;
pub use lock::{break_lock, holder, lock_name, Lock, LockHolder};
pub use summary::{DeployAction, DeploySummary, Replacement, ServiceDeploy, SUMMARY_VERSION};

use crate::build::millis;
use crate::engine::Engine;
use crate::error::SimError;
use crate::progress::{Event, Phase, Progress};
use crate::translate::Variables;
use service::Progressed;

/// Called after each service reached its version (or already ran it), with what it runs
/// (image, fingerprint when a plan gave one, digest when a build report did): where markers
/// are written. An error is noted in the summary; it does not undo the deploy.
pub type OnDeployed<'a> =
    dyn FnMut(&ServiceDeploy, &Wanted) -> Result<(), Box<dyn std::error::Error>> + 'a;

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
    /// The registry's digest of that image (`sha256:…`), when a build report gave one: the
    /// container is then created from `<repository>@<digest>`, so a tag pushed again
    /// cannot change what runs.
    pub digest: Option<String>,
}

impl Wanted {
    /// An image by its tag, digest unknown.
    pub fn tagged(image: impl Into<String>, fingerprint: Option<String>) -> Wanted {
        Wanted {
            image: image.into(),
            fingerprint,
            digest: None,
        }
    }

    /// What the container is created from: `<repository>@<digest>` when the digest is
    /// known, else the tagged image.
    pub fn reference(&self) -> String {
        match (&self.digest, ImageRef::parse(&self.image)) {
            (Some(digest), Ok(image)) => format!("{}@{digest}", image.full_name()),
            _ => self.image.clone(),
        }
    }
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
    /// The lease this deploy renews on its lock (a deploy from another host takes over a
    /// lock whose lease ran out).
    pub lock_lease: Duration,
    /// A host's first deploy: create the network, volumes, database and proxy if missing.
    pub setup: bool,
    /// What the lock says this deploy is (`deploy v1.2.0 from ci`).
    pub purpose: String,
    /// Check and decide only: change nothing, not even the lock.
    pub dry_run: bool,
    /// Have the proxy's ACME certificate renewed even if it is not due.
    pub renew_certificate: bool,
    /// Accessories (by role or container name) to replace when their image or
    /// configuration changed; an application deploy never touches the others.
    pub accessories: Vec<String>,
}

impl Default for DeployOptions {
    fn default() -> Self {
        DeployOptions {
            services: Vec::new(),
            strategies: BTreeMap::new(),
            lock_wait: Duration::ZERO,
            lock_lease: DEFAULT_LEASE,
            setup: false,
            dry_run: false,
            renew_certificate: false,
            accessories: Vec::new(),
            purpose: "deploy".to_owned(),
        }
    }
}

/// One deploy's surroundings: the engine deployed to, the production spec, where bind
/// sources are resolved, where variables are read and where events go. Each step of a
/// deploy is a method: release → images → lock → checks → services → proxy → retention.
pub struct Deployment<'a> {
    /// The target engine.
    pub engine: &'a Engine,
    /// The production spec.
    pub spec: &'a RuntimeSpec,
    /// The topology's directory.
    pub root: &'a Path,
    /// The deploying environment's variables (secrets, the tag).
    pub variables: &'a dyn Variables,
    /// Where progress goes.
    pub progress: &'a dyn Progress,
    /// What the target's engine is given to pull from a private registry.
    pub credentials: &'a crate::registry::Credentials,
}

impl Deployment<'_> {
    /// Deploys `release`. `on_deployed` is called after each service that reached its new
    /// version (or already ran it): that is where markers are written. A refused check or
    /// an engine error before any change is an `Err`; a service that fails is in the summary
    /// (`ok: false`) with its health log and log tail.
    pub async fn run(
        &self,
        release: &Release,
        options: &DeployOptions,
        on_deployed: &mut OnDeployed<'_>,
    ) -> Result<DeploySummary, SimError> {
        let start = Instant::now();
        if self.spec.mode != Mode::Production {
            return Err(SimError::Refused {
                problem: format!("deploy applies the production spec, not {}", self.spec.mode),
                help: "use `topo-sim up` for prod-sim".to_owned(),
            });
        }
        if self.spec.swarm {
            return self.run_swarm(release, options, on_deployed).await;
        }
        let mut planned = self.resolve(release, options).await?;
        if options.dry_run {
            return self.dry_run(planned, release, options).await;
        }
        let images = self.images(&mut planned, options.setup).await?;
        self.progress.event(Event::Phase(Phase::Lock));
        let lock = Lock::acquire(
            self.engine,
            &self.spec.project,
            &self.lock_image(&images)?,
            &options.purpose,
            options.lock_wait,
            options.lock_lease,
        )
        .await?;
        crate::fault::boundary("lock:taken");
        let mut done = Progressed::default();
        if let Some(holder) = &lock.taken_over {
            done.notes.push(format!(
                "took over the deploy lock of {holder}: a deploy that died (a cancelled job) cannot release it"
            ));
        }
        let result = self.locked(planned, options, on_deployed, &mut done).await;
        let waited = lock.waited;
        let released = lock.release(self.engine).await;
        result?;
        released?;
        Ok(DeploySummary {
            version: SUMMARY_VERSION,
            project: self.spec.project.clone(),
            target: self.engine.address().to_owned(),
            ok: done.services.iter().all(|s| s.action.is_ok()),
            rollback: matches!(release, Release::Rollback),
            dry_run: false,
            elapsed_ms: millis(start.elapsed()),
            lock_waited_ms: millis(waited),
            checks: done.checks,
            services: done.services,
            notes: done.notes,
            certificate: done.certificate,
        })
    }

    /// The steps under the lock: checks, each service, the proxy, retention.
    async fn locked(
        &self,
        planned: Vec<resolve::Planned<'_>>,
        options: &DeployOptions,
        on_deployed: &mut OnDeployed<'_>,
        done: &mut Progressed,
    ) -> Result<(), SimError> {
        self.progress.event(Event::Phase(Phase::Checks));
        let proxy = self.verify(options.setup, &mut done.checks).await?;
        self.accessories(
            options.setup,
            &options.accessories,
            &mut done.checks,
            &mut done.notes,
        )
        .await?;
        let mut repairs = Vec::new();
        self.repair(proxy.as_ref(), &mut repairs).await?;
        let mut planned = planned;
        if !repairs.is_empty() {
            for service in &mut planned {
                self.refresh(service).await?;
            }
        }
        done.notes.extend(repairs);
        for service in planned {
            self.service(service, options, proxy.as_ref(), on_deployed, done)
                .await?;
        }
        crate::fault::boundary("deploy:services-done");
        self.proxy(proxy.as_ref(), done).await?;
        self.certificate(options, done).await;
        self.retention(done).await
    }
}
