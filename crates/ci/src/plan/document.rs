//! The plan document: what `topo-ci plan --format json` prints and `mark --from-plan` reads.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::release::Event;

/// The version of the plan document: 2 added each service's `digests` (and `base`).
pub const PLAN_VERSION: u32 = 2;

/// The plan document (`topo-ci plan --format json`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
#[schemars(title = "topo deploy plan")]
pub struct Plan {
    /// The document's format version (2; 1 is read too).
    pub version: u32,
    /// The commit planned for (full SHA).
    pub head: String,
    /// The environment the markers were read for.
    pub env: String,
    /// The CI event.
    pub event: Event,
    /// Whether this event deploys (`false`: changed services are only built).
    pub deploys: bool,
    /// The topology file, relative to the repository root.
    pub topology: String,
    /// One entry per service of the topology, in its order.
    pub services: Vec<ServicePlan>,
    /// Fallbacks and overrides that applied, explained.
    pub notes: Vec<String>,
    /// What head was compared with when not the markers: the merge-base of `--base` or of
    /// a pull request's base branch and head. Absent: each service's marker commit.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub base: Option<PlanBase>,
}

/// The merge-base a plan compared head with, and why.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct PlanBase {
    /// Where the base came from: `--base`, or a pull request's variables.
    pub source: BaseSource,
    /// The revision compared with (`main`, `origin/main`, a SHA).
    pub revision: String,
    /// The commit it named (full SHA).
    pub commit: String,
    /// The merge-base of that commit and head (full SHA): every service was diffed from it.
    pub merge_base: String,
    /// The pull request's number, when known.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pull_request: Option<u64>,
    /// Which base, and why, in one sentence.
    pub why: String,
}

/// Where a plan's base came from.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "kebab-case")]
pub enum BaseSource {
    /// `--base REF`.
    Flag,
    /// GitHub Actions' pull-request variables (`GITHUB_EVENT_NAME`, `GITHUB_BASE_REF`, the
    /// event payload).
    PullRequest,
}

impl Plan {
    /// Reads a plan document (`topo-ci plan --format json`); the error says where it is
    /// not one.
    pub fn parse(text: &str) -> Result<Plan, PlanParseError> {
        // The version first: a newer document says so instead of naming a field this
        // topo-ci does not know.
        #[derive(Deserialize)]
        struct Versioned {
            version: u32,
        }
        if let Ok(Versioned { version }) = serde_json::from_str::<Versioned>(text) {
            if version == 0 || version > PLAN_VERSION {
                return Err(PlanParseError::Version(version));
            }
        }
        Ok(serde_json::from_str(text)?)
    }

    /// The markers a successful deploy of this plan records: one per service it deploys,
    /// with the plan's commit, fingerprint and image.
    pub fn markers(&self) -> Vec<(String, crate::markers::Marker)> {
        self.services
            .iter()
            .filter(|s| s.action == Action::Deploy)
            .map(|s| {
                let mut marker = crate::markers::Marker::now(self.head.clone());
                marker.fingerprint = Some(s.fingerprint.clone());
                marker.image = Some(s.image.clone());
                marker.digests = s.digests.clone();
                (s.container.clone(), marker)
            })
            .collect()
    }

    /// The JSON Schema of the document (`docs/plan.schema.json`).
    pub fn schema_json() -> String {
        let schema = schemars::schema_for!(Plan);
        let mut text = serde_json::to_string_pretty(&schema).expect("a schema serialises");
        text.push('\n');
        text
    }
}

/// What to do with one service, and why.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ServicePlan {
    /// The role (`server`).
    pub name: String,
    /// The container (`vendure-server`): the key of its marker.
    pub container: String,
    /// Deploy, build only, or skip.
    pub action: Action,
    /// Why, from a fixed vocabulary.
    pub reason: Reason,
    /// For a `release-gate` build: the reason it would otherwise have deployed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cause: Option<Reason>,
    /// The decision in one sentence.
    pub detail: String,
    /// The marker commit the diff started from, if there is one.
    pub base: Option<String>,
    /// The service's fingerprint at `head`.
    pub fingerprint: String,
    /// The image to deploy: `<registry>/<project>-<role>:<fingerprint of the image>`.
    pub image: String,
    /// How that image is built, for any build tool (`docker build`, `topo build`).
    pub build: ImageBuild,
    /// Changed files in the scope (the first 100 at most), from the repository root.
    pub changed_files: Vec<String>,
    /// How many files of the scope changed.
    pub changed_count: usize,
    /// How many changed files an exclude glob dropped.
    pub excluded_count: usize,
    /// For a `lockfile-changed` service (and one running its image): what changed among
    /// the packages its lockfile resolves for it (`left-pad 1.0.0 → 1.1.0`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub changed_dependencies: Vec<String>,
    /// For a service that builds its image: what its fingerprint is made of, recorded in
    /// its marker by `mark --from-plan` so the next plan updates them from its diff.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub digests: Option<crate::fingerprint::Digests>,
}

/// A plan document that cannot be read.
#[derive(Debug, thiserror::Error)]
pub enum PlanParseError {
    /// Written by a newer topo-ci.
    #[error("a plan of format version {0}; this topo-ci reads versions 1 to {PLAN_VERSION}: upgrade topo-ci, or plan with the same version that marks")]
    Version(u32),
    /// Not a plan document.
    #[error(transparent)]
    Json(#[from] serde_json::Error),
}

impl PlanParseError {
    /// The 1-based line of the problem (1 for a version).
    pub fn line(&self) -> usize {
        match self {
            PlanParseError::Version(_) => 1,
            PlanParseError::Json(e) => e.line(),
        }
    }

    /// The 1-based column of the problem (1 for a version).
    pub fn column(&self) -> usize {
        match self {
            PlanParseError::Version(_) => 1,
            PlanParseError::Json(e) => e.column(),
        }
    }
}

/// How a production image is built: `docker build -f <context>/<dockerfile> --target
/// <target> <context>`, run from the repository root.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ImageBuild {
    /// The build context, relative to the repository root (`.` for the root itself).
    pub context: String,
    /// The Dockerfile, relative to the context.
    pub dockerfile: String,
    /// The stage the production image is (`prod`).
    pub target: String,
    /// The production build's arguments (`--build-arg KEY=VALUE`), when it has any.
    #[serde(default, skip_serializing_if = "std::collections::BTreeMap::is_empty")]
    pub args: std::collections::BTreeMap<String, String>,
    /// The variables holding the build's secrets (`--secret id=NAME,env=NAME`), if any.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub secrets: Vec<String>,
    /// The container whose image this is, when the service runs another's
    /// (`vendure-server` for the worker): one build serves both.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub built_by: Option<String>,
}

/// What happens to a service.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "kebab-case")]
pub enum Action {
    /// Build its image and deploy it.
    Deploy,
    /// Build its image only: the event does not deploy.
    Build,
    /// Nothing to do.
    Skip,
}

/// Why.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "kebab-case")]
pub enum Reason {
    /// No marker: never deployed to this environment (or the markers were lost).
    NoPreviousDeploy,
    /// Files of its scope changed since its marker commit.
    Changed,
    /// Its rendered production spec (or production build) changed.
    ConfigChanged,
    /// The image it runs, built by another service, changed.
    DependencyChanged,
    /// Files of a workspace package its package depends on (transitively) changed.
    WorkspaceDependencyChanged,
    /// The lockfile changed what its dependencies resolve to.
    LockfileChanged,
    /// Its marker commit is not in this clone; the recorded fingerprint decided, or
    /// (none recorded) it deploys.
    MarkerUnknown,
    /// Nothing of it changed.
    Unchanged,
    /// Forced by `--force` or the commit-message token.
    Forced,
    /// It would deploy, but this event only builds.
    ReleaseGate,
}

impl Action {
    /// `deploy`, `build`, `skip`.
    pub fn as_str(self) -> &'static str {
        match self {
            Action::Deploy => "deploy",
            Action::Build => "build",
            Action::Skip => "skip",
        }
    }
}

impl Reason {
    /// The kebab-case name.
    pub fn as_str(self) -> &'static str {
        match self {
            Reason::NoPreviousDeploy => "no-previous-deploy",
            Reason::Changed => "changed",
            Reason::ConfigChanged => "config-changed",
            Reason::DependencyChanged => "dependency-changed",
            Reason::WorkspaceDependencyChanged => "workspace-dependency-changed",
            Reason::LockfileChanged => "lockfile-changed",
            Reason::MarkerUnknown => "marker-unknown",
            Reason::Unchanged => "unchanged",
            Reason::Forced => "forced",
            Reason::ReleaseGate => "release-gate",
        }
    }
}
