//! The flags of `plan`, `mark` and `fingerprint`.

use std::path::PathBuf;

use clap::{Args, ValueEnum};

use crate::release::EventName;

/// Output formats of a plan.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum PlanFormat {
    /// A table for terminals.
    Text,
    /// The plan document (see `topo-ci schema`).
    Json,
    /// The deployment summary; also appended to `$GITHUB_STEP_SUMMARY` when it is set.
    Markdown,
    /// `$GITHUB_OUTPUT` keys (`deploy`, `images`, `any`, one per service, `plan`), and the
    /// summary to `$GITHUB_STEP_SUMMARY`; the text table on stdout.
    Github,
}

/// `plan`: what to deploy, and why.
#[derive(Args, Debug, Clone)]
pub struct PlanArgs {
    /// The topology file.
    #[arg(short = 't', long = "topology", default_value = "topology.toml")]
    pub topology: PathBuf,
    /// The environment whose markers are compared (`production`).
    #[arg(long)]
    pub env: String,
    /// Where markers are kept: a directory, `git:REF` (e.g. `git:refs/topo/deployed`), or
    /// `registry` (a tag per environment in each image's repository). HEAD is compared
    /// with what they say is deployed. Not with --base.
    #[arg(long)]
    pub markers: Option<String>,
    /// Compare HEAD with the merge-base of REF and HEAD instead of the markers: what
    /// merging HEAD into REF would deploy (a branch, tag or SHA: `main`, `origin/main`).
    /// In a GitHub pull-request run without --base or --markers, the pull request's base.
    #[arg(long, value_name = "REF")]
    pub base: Option<String>,
    /// The registry user for `--markers registry` (its password in REGISTRY_PASSWORD);
    /// default the docker CLI's stored credentials.
    #[arg(long, value_name = "USER")]
    pub registry_user: Option<String>,
    /// The commit to plan for.
    #[arg(long, default_value = "HEAD")]
    pub head: String,
    /// The CI event; read from GitHub Actions' environment when not given, otherwise `manual`.
    #[arg(long, value_enum)]
    pub event: Option<EventArg>,
    /// The branch or tag name of the event (`main`, `v1.4.0`).
    #[arg(long)]
    pub ref_name: Option<String>,
    /// Deploy these services whatever changed (role, container name, or `all`). Repeatable.
    #[arg(long, value_name = "SERVICE")]
    pub force: Vec<String>,
    /// The output format.
    #[arg(long, value_enum, default_value_t = PlanFormat::Text)]
    pub format: PlanFormat,
}

/// Event kinds on the command line.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum EventArg {
    /// A push to a branch.
    Push,
    /// A pushed tag.
    Tag,
    /// A manual run.
    Manual,
}

impl From<EventArg> for EventName {
    fn from(arg: EventArg) -> Self {
        match arg {
            EventArg::Push => EventName::Push,
            EventArg::Tag => EventName::Tag,
            EventArg::Manual => EventName::Manual,
        }
    }
}

/// `mark`: record successful deploys.
#[derive(Args, Debug, Clone)]
pub struct MarkArgs {
    /// The environment deployed to; defaults to the plan's.
    #[arg(long)]
    pub env: Option<String>,
    /// Where markers are kept: a directory, `git:REF`, or `registry`.
    #[arg(long)]
    pub markers: String,
    /// The registry user for `--markers registry` (its password in REGISTRY_PASSWORD).
    #[arg(long, value_name = "USER")]
    pub registry_user: Option<String>,
    /// Record every service the plan deployed (its `deploy` entries).
    #[arg(long, value_name = "PLAN_JSON", conflicts_with_all = ["service", "commit"])]
    pub from_plan: Option<PathBuf>,
    /// The service deployed (role or container name, with `-t`). Repeatable.
    #[arg(long, requires = "commit")]
    pub service: Vec<String>,
    /// The commit deployed (a SHA, or a revision of the repository).
    #[arg(long)]
    pub commit: Option<String>,
    /// The fingerprint deployed.
    #[arg(long)]
    pub fingerprint: Option<String>,
    /// The image deployed.
    #[arg(long)]
    pub image: Option<String>,
    /// The topology file (to resolve service names and the repository).
    #[arg(short = 't', long = "topology", default_value = "topology.toml")]
    pub topology: PathBuf,
}

/// `fingerprint`: print services' fingerprints.
#[derive(Args, Debug, Clone)]
pub struct FingerprintArgs {
    /// The topology file.
    #[arg(short = 't', long = "topology", default_value = "topology.toml")]
    pub topology: PathBuf,
    /// Only this service (role or container name).
    #[arg(long)]
    pub service: Option<String>,
    /// The commit whose tree is fingerprinted.
    #[arg(long, default_value = "HEAD")]
    pub head: String,
    /// `text` (one `container fingerprint` line each) or `json`.
    #[arg(long, value_enum, default_value_t = FingerprintFormat::Text)]
    pub format: FingerprintFormat,
    /// Say what each fingerprint is made of: the scope whose files are hashed (build
    /// context, globs, the workspace packages it depends on, the ignore file) and the
    /// packages the lockfile resolves for it (listed with `--service`; always in `json`).
    #[arg(long)]
    pub explain: bool,
    /// With `--explain`: list each file each scope holds at the commit (its mode and blob in
    /// `json`), and what makes it the scope's (a package it depends on, a global file).
    #[arg(long, requires = "explain")]
    pub files: bool,
}

/// Output formats of `fingerprint`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum FingerprintFormat {
    /// `container fingerprint` lines; with `--service`, the fingerprint alone.
    Text,
    /// `{"container": "fingerprint", ...}`.
    Json,
}
