//! The plan: per service, deploy, build or skip, and why.
//!
//! For each service: a forced service deploys; one with no marker deploys; one whose marker
//! commit is not in this clone falls back to the recorded fingerprint; otherwise the files
//! of its scope are diffed (two-dot, tree to tree, renames off; the workspace packages it
//! depends on included) between the marker commit and HEAD, then what its lockfile resolves
//! its dependencies to (`deps.rs`), then its production configuration (`config.rs`), then
//! the image it runs. Last, the release gate turns a deploy into a build when the event
//! does not deploy.

use std::collections::{BTreeMap, HashMap};
use std::rc::Rc;

use topo_core::valid::Service;
use topo_core::ValidTopology;

use crate::fingerprint::{fingerprint, Digests};
use crate::markers::Markers;
use crate::release::{deploying_rule, Event, Force};
use crate::repo::{short, ChangedPath, GitError, PathEntry, Repo};
use crate::scope::{Scope, ScopeError};

mod config;
mod deps;
mod diff;
mod digests;
mod document;
mod ignore;
mod inputs;
mod package;
mod patches;

use config::Configs;

pub use document::{
    Action, BaseSource, ImageBuild, Plan, PlanBase, PlanParseError, Reason, ServicePlan,
    PLAN_VERSION,
};
pub use inputs::{explain, ExplainOptions, Explained, InputFile, Inputs, LockfileInputs};

/// What a plan is made from.
pub struct PlanRequest<'a> {
    /// The topology as committed at `head`.
    pub topology: &'a ValidTopology,
    /// The topology file, relative to the repository root (`topology.toml`).
    pub topology_path: &'a str,
    /// Its text, to say where it names what the repository lacks (a `changes.package`).
    pub source: Option<&'a topo_core::SourceFile>,
    /// The environment.
    pub env: &'a str,
    /// The markers of every environment.
    pub markers: &'a Markers,
    /// The commit to plan for.
    pub head: gix::ObjectId,
    /// The event.
    pub event: Event,
    /// Services forced to deploy (flags and commit-message token together).
    pub force: Force,
    /// What forced them, for the plan's notes.
    pub forced_by: ForcedBy,
}

/// What forced services to deploy.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ForcedBy {
    /// `--force` on the command line.
    Flags,
    /// `[topo force …]` in the commit message.
    CommitMessage,
}

/// How a plan is made.
#[derive(Clone, Copy, Debug)]
pub struct PlanOptions {
    /// At most this many changed files are listed per service (all are counted).
    pub max_listed_files: usize,
}

impl Default for PlanOptions {
    fn default() -> Self {
        PlanOptions {
            max_listed_files: 100,
        }
    }
}

/// Why no plan could be made.
#[derive(Debug, thiserror::Error)]
pub enum PlanError {
    /// Git could not answer.
    #[error(transparent)]
    Git(#[from] GitError),
    /// A scope glob does not compile.
    #[error(transparent)]
    Scope(#[from] ScopeError),
    /// `--force` names a service the topology does not have.
    #[error("cannot force `{name}`: the topology has no such service (use a role like `server`, a container name like `vendure-server`, or `all`)")]
    UnknownService {
        /// The name given.
        name: String,
    },
    /// `changes.package` names no package of the service's build context.
    #[error("{at}`{role}` names the package `{package}`, but its build context {context} holds no workspace package, crate or Go module of that name or directory{known}: name one of those by its name or its directory")]
    UnknownPackage {
        /// Where the topology names it (`topology.toml:7:11: `), when known.
        at: String,
        /// The service.
        role: String,
        /// The name given.
        package: String,
        /// The build context, from the repository root.
        context: String,
        /// The packages the context holds (` (it holds …)`).
        known: String,
    },
}

/// The fingerprints at the commit `committed` was read at (container → fingerprint, in
/// topology order) of every service, or only of the one whose container is `only`: as a
/// plan computes them, and only what they need (one service's fingerprint reads no other
/// image's scope or closure).
pub fn fingerprints(
    committed: &crate::load::Committed,
    only: Option<&str>,
) -> Result<Vec<(String, String)>, PlanError> {
    let (fingerprints, _) = each_service(committed, only, |planner, service, container| {
        Ok((container, planner.fingerprint(service)?))
    })?;
    Ok(fingerprints)
}

/// What `each` makes of each service (or of the one whose container is `only`), in
/// topology order, by a planner of a first release at `committed` (no markers), and the
/// notes the planner made on the way.
fn each_service<T>(
    committed: &crate::load::Committed,
    only: Option<&str>,
    mut each: impl FnMut(&mut Planner<'_>, &Service, String) -> Result<T, PlanError>,
) -> Result<(Vec<T>, Vec<String>), PlanError> {
    let markers = Markers::default();
    let request = first_release(committed, &markers);
    let options = PlanOptions::default();
    let mut planner = Planner::new(&committed.repo, &request, &options)?;
    let project = &committed.topology.project;
    let mut made = Vec::new();
    for service in &committed.topology.services {
        let container = topo_core::naming::container_name(project, &service.role);
        if only.is_none_or(|only| only == container) {
            made.push(each(&mut planner, service, container)?);
        }
    }
    let mut notes = planner.notes;
    notes.extend(planner.deps.hidden_manifests_note());
    Ok((made, notes))
}

/// The plan of a first release at the commit `committed` was read at: every service
/// deploys, with its fingerprint, image and build (what `topo build` makes without a plan).
pub fn everything(committed: &crate::load::Committed) -> Result<Plan, PlanError> {
    // A plan against no markers decides nothing from history.
    let markers = Markers::default();
    plan(
        &committed.repo,
        &first_release(committed, &markers),
        &PlanOptions::default(),
    )
}

/// The request of a plan of a first release at the commit `committed` was read at.
fn first_release<'a>(
    committed: &'a crate::load::Committed,
    markers: &'a Markers,
) -> PlanRequest<'a> {
    PlanRequest {
        topology: &committed.topology,
        topology_path: &committed.path_in_repo,
        source: Some(&committed.source),
        env: "fingerprint",
        markers,
        head: committed.head,
        event: Event {
            kind: crate::release::EventName::Manual,
            ref_name: None,
        },
        force: Force::None,
        forced_by: ForcedBy::Flags,
    }
}

/// Makes the plan.
pub fn plan(
    repo: &Repo,
    request: &PlanRequest<'_>,
    options: &PlanOptions,
) -> Result<Plan, PlanError> {
    let topology = request.topology;
    if let Some(name) = request.force.unknown(topology).first() {
        return Err(PlanError::UnknownService {
            name: (*name).to_owned(),
        });
    }
    let gate = deploying_rule(topology, &request.event);
    let mut planner = Planner::new(repo, request, options)?;
    let mut services = Vec::new();
    for service in &topology.services {
        services.push(planner.service(service)?);
    }
    let mut notes = planner.notes;
    notes.extend(planner.deps.hidden_manifests_note());
    let mut plan = Plan {
        version: PLAN_VERSION,
        head: request.head.to_string(),
        env: request.env.to_owned(),
        event: request.event.clone(),
        deploys: gate.is_some(),
        topology: request.topology_path.to_owned(),
        services,
        notes,
        base: None,
    };
    if gate.is_none() {
        let gated = plan
            .services
            .iter()
            .any(|s| s.action == Action::Deploy && s.reason != Reason::Forced);
        if gated {
            plan.notes.push(format!(
                "`{}` only builds: this topology deploys on {}.",
                request.event.describe(),
                topology
                    .ci
                    .deploy_on
                    .iter()
                    .map(|rule| format!("`{rule}`"))
                    .collect::<Vec<_>>()
                    .join(", ")
            ));
        }
        for service in &mut plan.services {
            if service.action == Action::Deploy && service.reason != Reason::Forced {
                service.cause = Some(service.reason);
                service.detail = format!(
                    "{} — `{}` only builds",
                    service.detail,
                    request.event.describe()
                );
                service.action = Action::Build;
                service.reason = Reason::ReleaseGate;
            }
        }
    }
    let forced: Vec<&str> = plan
        .services
        .iter()
        .filter(|s| s.reason == Reason::Forced)
        .map(|s| s.container.as_str())
        .collect();
    if !forced.is_empty() {
        let by = match request.forced_by {
            ForcedBy::Flags => "--force",
            ForcedBy::CommitMessage => "the commit message",
        };
        plan.notes
            .push(format!("forced by {by}: {}", forced.join(", ")));
    }
    Ok(plan)
}

/// A diff is cached by the root and what it holds on both sides: services sharing a root
/// and a base (global files, an image owner and its users) diff it once.
type DiffKey = (String, Option<PathEntry>, Option<PathEntry>);

/// What a root holds at the base and at head, and the files that differ under it.
type RootDiff = (Option<PathEntry>, Option<PathEntry>, Rc<Vec<ChangedPath>>);

struct Planner<'a> {
    repo: &'a Repo,
    request: &'a PlanRequest<'a>,
    options: &'a PlanOptions,
    prefix: &'a str,
    head_tree: gix::ObjectId,
    head: Configs<'a>,
    same_topology: HashMap<gix::ObjectId, bool>,
    diffs: HashMap<DiffKey, Rc<Vec<ChangedPath>>>,
    base_topologies: HashMap<gix::ObjectId, Result<ValidTopology, String>>,
    fingerprints: BTreeMap<String, String>,
    digests: HashMap<String, Digests>,
    scopes: HashMap<String, Rc<Scope>>,
    image_scopes: HashMap<String, Rc<Scope>>,
    deps: deps::Deps,
    notes: Vec<String>,
}

/// What the diff of a scope found.
#[derive(Default)]
struct Found {
    files: Vec<String>,
    /// The files of workspace dependencies among them, with their package.
    workspace: Vec<(String, String)>,
    excluded: usize,
}

impl<'a> Planner<'a> {
    fn new(
        repo: &'a Repo,
        request: &'a PlanRequest<'a>,
        options: &'a PlanOptions,
    ) -> Result<Planner<'a>, PlanError> {
        let prefix = (request.topology_path.rsplit_once('/')).map_or("", |(dir, _)| dir);
        Ok(Planner {
            repo,
            request,
            options,
            prefix,
            head_tree: repo.tree_of(request.head)?,
            head: Configs::new(request.topology),
            same_topology: HashMap::new(),
            diffs: HashMap::new(),
            base_topologies: HashMap::new(),
            fingerprints: BTreeMap::new(),
            digests: HashMap::new(),
            scopes: HashMap::new(),
            image_scopes: HashMap::new(),
            deps: deps::Deps::default(),
            notes: Vec::new(),
        })
    }
}

impl Planner<'_> {
    /// The decision, then the fingerprint and image. An unchanged service whose marker
    /// recorded both keeps them when the topology file is the same blob as at the marker
    /// commit: nothing that goes into a fingerprint can differ then, and a plan's cost stays
    /// proportional to what changed.
    fn service(&mut self, service: &Service) -> Result<ServicePlan, PlanError> {
        let (mut plan, base) = self.decide(service)?;
        let marker = self.request.markers.get(self.request.env, &plan.container);
        let recorded = marker.and_then(|m| Some((m.fingerprint.clone()?, m.image.clone()?)));
        let reusable = match base {
            Some(base) if plan.reason == Reason::Unchanged => {
                let owner = self.request.topology.image_owner(service);
                self.same_topology(base) && self.same_workspace(base, owner)?
            }
            _ => false,
        };
        // A fingerprint of another recipe is recomputed (once, after an upgrade); the
        // deployed image keeps its tag. A service on another's image records no digests,
        // so nothing says which recipe made its fingerprint: it is recomputed from its
        // owner's (cheap: the owner's digests are carried forward).
        let same_recipe = !service.runs_another_image() && self.recorded(&plan.container).is_some();
        match recorded {
            Some((fingerprint, image)) if reusable => {
                plan.image = image;
                if same_recipe {
                    plan.fingerprint = fingerprint;
                    plan.digests = self.recorded(&plan.container).map(|(_, d)| d.clone());
                } else {
                    plan.fingerprint = self.fingerprint(service)?;
                    plan.digests = self.digests.get(&plan.container).cloned();
                }
            }
            _ => {
                let owner = self.request.topology.image_owner(service);
                plan.fingerprint = self.fingerprint(service)?;
                plan.digests = self.digests.get(&plan.container).cloned();
                plan.image = format!(
                    "{}:{}",
                    self.production_image_repository(owner),
                    self.fingerprint(owner)?
                );
            }
        }
        Ok(plan)
    }

    /// The decision, with the marker commit when it is in this clone.
    fn decide(
        &mut self,
        service: &Service,
    ) -> Result<(ServicePlan, Option<gix::ObjectId>), PlanError> {
        let topology = self.request.topology;
        let project = topology.project.as_str();
        let container = topo_core::naming::container_name(project, &service.role);
        let owner = topology.image_owner(service);
        let runs_other_image = service.runs_another_image();
        let scope = self.scope(owner)?;
        let marker = self.request.markers.get(self.request.env, &container);
        let mut plan = ServicePlan {
            name: service.role.to_string(),
            container: container.clone(),
            action: Action::Deploy,
            reason: Reason::NoPreviousDeploy,
            cause: None,
            detail: String::new(),
            base: marker.map(|m| m.commit.clone()),
            fingerprint: String::new(),
            image: String::new(),
            build: self.image_build(service),
            changed_files: Vec::new(),
            changed_count: 0,
            excluded_count: 0,
            changed_dependencies: Vec::new(),
            digests: None,
        };
        if self.request.force.covers(&service.role, &container) {
            plan.reason = Reason::Forced;
            plan.detail = "forced".to_owned();
            return Ok((plan, None));
        }
        let Some(marker) = marker else {
            plan.detail = format!("never deployed to {}", self.request.env);
            return Ok((plan, None));
        };
        let Some(base) = self.repo.has_commit(&marker.commit) else {
            self.marker_unknown(service, marker, &mut plan)?;
            return Ok((plan, None));
        };
        let found = self.diff(base, owner)?;
        plan.excluded_count = found.excluded;
        plan.changed_count = found.files.len();
        plan.changed_files = found
            .files
            .iter()
            .take(self.options.max_listed_files)
            .cloned()
            .collect();
        let range = format!(
            "{}..{}",
            short(&marker.commit),
            short(&self.request.head.to_string())
        );
        if !found.files.is_empty() {
            let files = plural(found.files.len(), "file");
            self.note_global_lockfile(&scope, &found)?;
            if runs_other_image {
                plan.reason = Reason::DependencyChanged;
                plan.detail = format!(
                    "runs the image of {}, which changed ({files}, {range})",
                    topo_core::naming::container_name(project, &owner.role)
                );
            } else if found.workspace.len() == found.files.len() {
                let deps = self.image_deps(owner)?;
                deps::workspace_changed(&mut plan, &found, &deps, &range);
            } else {
                plan.reason = Reason::Changed;
                plan.detail = format!("{files} changed ({range})");
            }
            return Ok((plan, Some(base)));
        }
        let lockfile = self.lockfile_change(base, owner)?;
        let owner_container =
            runs_other_image.then(|| topo_core::naming::container_name(project, &owner.role));
        if deps::lockfile_changed(&mut plan, &lockfile, owner_container.as_deref(), &range) {
            return Ok((plan, Some(base)));
        }
        match self.config_changed(base, &container) {
            Some(why) => {
                plan.reason = Reason::ConfigChanged;
                plan.detail = why;
            }
            None => {
                plan.action = Action::Skip;
                plan.reason = Reason::Unchanged;
                plan.detail = unchanged(&marker.commit, &found, &lockfile);
            }
        }
        Ok((plan, Some(base)))
    }

    /// The marker commit is not in this clone: the recorded fingerprint decides, if any.
    fn marker_unknown(
        &mut self,
        service: &Service,
        marker: &crate::markers::Marker,
        plan: &mut ServicePlan,
    ) -> Result<(), PlanError> {
        plan.reason = Reason::MarkerUnknown;
        let short = short(&marker.commit);
        let fingerprint = self.fingerprint(service)?;
        match &marker.fingerprint {
            Some(recorded) if *recorded == fingerprint => {
                plan.action = Action::Skip;
                plan.detail = format!("marker commit {short} is not in this clone; the recorded fingerprint equals HEAD's: unchanged");
            }
            Some(_) => {
                plan.detail = format!("marker commit {short} is not in this clone; the recorded fingerprint differs from HEAD's");
            }
            None => {
                plan.detail = format!(
                    "marker commit {short} is not in this clone and no fingerprint was recorded"
                );
            }
        }
        self.notes.push(format!(
            "{}: the marker commit {short} is not in this clone (a shallow clone, or history rewritten since the deploy). \
             Fetch it to diff (`git fetch origin {}` or `actions/checkout` with `fetch-depth: 0`); {}.",
            plan.container,
            marker.commit,
            if marker.fingerprint.is_some() { "the recorded fingerprint decided meanwhile" } else { "without a recorded fingerprint the service deploys" }
        ));
        Ok(())
    }

    /// How the image `service` runs is built, from the repository root.
    fn image_build(&self, service: &Service) -> ImageBuild {
        let topology = self.request.topology;
        let owner = topology.image_owner(service);
        ImageBuild {
            context: crate::scope::repository_path(self.prefix, &owner.build.context),
            dockerfile: owner.build.dockerfile.clone(),
            target: owner.build.prod_target.clone(),
            args: owner.build.prod_args.clone(),
            secrets: owner.build.secrets.clone(),
            built_by: service
                .runs_another_image()
                .then(|| topo_core::naming::container_name(&topology.project, &owner.role)),
        }
    }

    /// The production image repository of the service that builds the image.
    fn production_image_repository(&self, owner: &Service) -> String {
        let topology = self.request.topology;
        topo_core::naming::production_repository(
            topology.production.registry.as_deref(),
            &topology.project,
            &owner.role,
        )
    }

    fn fingerprint(&mut self, service: &Service) -> Result<String, PlanError> {
        let topology = self.request.topology;
        let container = topo_core::naming::container_name(&topology.project, &service.role);
        if let Some(known) = self.fingerprints.get(&container) {
            return Ok(known.clone());
        }
        let owner = topology.image_owner(service);
        let key = self.head.key(&container).unwrap_or_default().to_owned();
        let value = if service.runs_another_image() {
            let image = self.fingerprint(owner)?;
            fingerprint(&key, &[&image], None)
        } else {
            let digests = self.digests_of(service, &container)?;
            let value = fingerprint(&key, &[], Some(&digests));
            self.digests.insert(container.clone(), digests);
            value
        };
        self.fingerprints.insert(container, value.clone());
        Ok(value)
    }

    /// Whether the topology file is the same blob at `base` as at head.
    fn same_topology(&mut self, base: gix::ObjectId) -> bool {
        if let Some(same) = self.same_topology.get(&base) {
            return *same;
        }
        let path = self.request.topology_path;
        let same = self.repo.tree_of(base).is_ok_and(|tree| {
            matches!(
                (self.repo.entry_at(tree, path), self.repo.entry_at(self.head_tree, path)),
                (Ok(Some(old)), Ok(Some(new))) if old == new
            )
        });
        self.same_topology.insert(base, same);
        same
    }
}

/// The detail of an unchanged service: since when, and what changed without counting.
fn unchanged(commit: &str, found: &Found, lockfile: &deps::LockChange) -> String {
    let mut detail = format!("unchanged since {}", short(commit));
    if found.excluded > 0 {
        detail.push_str(&format!(
            " ({} changed, all excluded)",
            plural(found.excluded, "file")
        ));
    }
    if let deps::LockChange::Same(path) = lockfile {
        detail.push_str(&format!(
            " ({path} changed, not what it resolves for this image)"
        ));
    }
    detail
}

fn plural(n: usize, what: &str) -> String {
    if n == 1 {
        format!("1 {what}")
    } else {
        format!("{n} {what}s")
    }
}
