//! The command-line surface of planning, shared by `topo-ci` and `topo plan`: flags (clap)
//! and the runs behind them. Each run returns what it printed as a value or a typed error;
//! the binaries print and map errors to exit codes.

use std::io::Write as _;
use std::path::{Path, PathBuf};

use clap::{Args, ValueEnum};
use topo_core::{SourceFile, ValidTopology, ValidateOptions};

use crate::markers::{Marker, MarkerError};
use crate::plan::{plan, Action, Plan, PlanError, PlanOptions, PlanRequest};
use crate::release::{force_in_message, Event, EventName, Force};
use crate::repo::{GitError, Repo};
use crate::store::MarkerStore;

/// Why a command failed. [`CliError::exit_code`] maps it.
#[derive(Debug, thiserror::Error)]
pub enum CliError {
    /// The topology has errors (each line is `file:line:column: error[code]: message`).
    #[error("{}\nrun `topo check` for the details", .0.join("\n"))]
    Topology(Vec<String>),
    /// A file could not be read or written.
    #[error("{path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// Git could not answer.
    #[error(transparent)]
    Git(#[from] GitError),
    /// Planning failed.
    #[error(transparent)]
    Plan(#[from] PlanError),
    /// Markers could not be read or written.
    #[error(transparent)]
    Markers(#[from] MarkerError),
    /// The flags do not make sense together.
    #[error("{0}")]
    Usage(String),
}

impl CliError {
    /// 2 for usage errors, 1 for everything else.
    pub fn exit_code(&self) -> u8 {
        match self {
            CliError::Usage(_) => 2,
            _ => 1,
        }
    }
}

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
    /// Where markers are kept: a directory, or `git:REF` (e.g. `git:refs/topo/deployed`).
    #[arg(long)]
    pub markers: String,
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

/// A topology read for planning, with its repository.
pub struct Loaded {
    /// The repository holding the topology.
    pub repo: Repo,
    /// The topology, as committed at `head`.
    pub topology: ValidTopology,
    /// The topology file, relative to the repository root.
    pub path_in_repo: String,
    /// The commit planned for.
    pub head: gix::ObjectId,
}

/// Opens the repository holding the topology file `path`, resolves `head` and reads the
/// topology *as committed there*: a plan is for a commit, not for the work tree.
pub fn load_topology(path: &Path, head: &str) -> Result<Loaded, CliError> {
    let io = |source| CliError::Io {
        path: path.to_owned(),
        source,
    };
    let absolute = std::fs::canonicalize(path).map_err(io)?;
    let directory = absolute.parent().unwrap_or(&absolute).to_owned();
    let repo = Repo::discover(&directory)?;
    let root = repo
        .workdir()
        .map(std::fs::canonicalize)
        .transpose()
        .map_err(io)?
        .ok_or_else(|| CliError::Usage("the repository has no work tree".to_owned()))?;
    let relative = absolute.strip_prefix(&root).map_err(|_| {
        CliError::Usage(format!(
            "{} is not inside the repository at {}",
            path.display(),
            root.display()
        ))
    })?;
    let path_in_repo = relative
        .components()
        .map(|c| c.as_os_str().to_string_lossy())
        .collect::<Vec<_>>()
        .join("/");
    let head = repo.resolve(head)?;
    let bytes = repo
        .read_file(repo.tree_of(head)?, &path_in_repo)?
        .ok_or_else(|| {
            CliError::Usage(format!(
                "{path_in_repo} is not committed at {head}: commit it, or plan another --head"
            ))
        })?;
    let text = String::from_utf8(bytes)
        .map_err(|_| CliError::Usage(format!("{path_in_repo} at {head} is not UTF-8")))?;
    let source = SourceFile::new(path.display().to_string(), text);
    let topology = topo_core::load(&source, &ValidateOptions::default())
        .map_err(|diagnostics| {
            CliError::Topology(topo_core::diagnostic::error_lines(&diagnostics, &source))
        })?
        .topology;
    Ok(Loaded {
        repo,
        topology,
        path_in_repo,
        head,
    })
}

/// Makes the plan `args` ask for.
pub fn make_plan(args: &PlanArgs) -> Result<Plan, CliError> {
    if !topo_core::naming::is_valid_name(&args.env) {
        return Err(CliError::Usage(format!(
            "invalid environment name `{}`: use lowercase letters, digits and dashes",
            args.env
        )));
    }
    let loaded = load_topology(&args.topology, &args.head)?;
    let head = loaded.head;
    let event = match args.event {
        Some(kind) => Event {
            kind: kind.into(),
            ref_name: args.ref_name.clone(),
        },
        None => Event::from_github(|key| std::env::var(key).ok()).unwrap_or(Event {
            kind: EventName::Manual,
            ref_name: args.ref_name.clone(),
        }),
    };
    let store = MarkerStore::parse(&args.markers, &topo_core::repository_of(&args.topology));
    let markers = store.load()?;
    let message = loaded.repo.message_of(head)?;
    let force = Force::from_flags(&args.force).union(force_in_message(&message));
    let request = PlanRequest {
        topology: &loaded.topology,
        topology_path: &loaded.path_in_repo,
        env: &args.env,
        markers: &markers,
        head,
        event,
        force,
    };
    let mut plan = plan(&loaded.repo, &request, &PlanOptions::default())?;
    if !args.force.is_empty() || force_in_message(&message) != Force::None {
        let forced: Vec<&str> = plan
            .services
            .iter()
            .filter(|s| s.reason == crate::plan::Reason::Forced)
            .map(|s| s.container.as_str())
            .collect();
        if !forced.is_empty() {
            plan.notes.push(format!(
                "forced by {}: {}",
                if args.force.is_empty() {
                    "the commit message"
                } else {
                    "--force"
                },
                forced.join(", ")
            ));
        }
    }
    Ok(plan)
}

/// Runs `plan`: prints the plan in the chosen format, and writes GitHub's files when asked.
pub fn run_plan(args: &PlanArgs, stdout: &mut dyn std::io::Write) -> Result<(), CliError> {
    let plan = make_plan(args)?;
    let print = |stdout: &mut dyn std::io::Write, text: &str| {
        stdout
            .write_all(text.as_bytes())
            .map_err(|source| CliError::Io {
                path: "<stdout>".into(),
                source,
            })
    };
    match args.format {
        PlanFormat::Text => print(stdout, &crate::report::text(&plan))?,
        PlanFormat::Json => print(stdout, &crate::report::json(&plan))?,
        PlanFormat::Markdown => {
            let summary = crate::report::markdown(&plan);
            print(stdout, &summary)?;
            append_to_env_file("GITHUB_STEP_SUMMARY", &summary)?;
        }
        PlanFormat::Github => {
            print(stdout, &crate::report::text(&plan))?;
            append_to_env_file("GITHUB_OUTPUT", &crate::report::github_outputs(&plan))?;
            append_to_env_file("GITHUB_STEP_SUMMARY", &crate::report::markdown(&plan))?;
        }
    }
    Ok(())
}

/// Appends to the file named by the variable, when it is set.
fn append_to_env_file(variable: &str, text: &str) -> Result<(), CliError> {
    let Some(path) = std::env::var_os(variable).filter(|p| !p.is_empty()) else {
        return Ok(());
    };
    let path = PathBuf::from(path);
    let io = |source| CliError::Io {
        path: path.clone(),
        source,
    };
    let mut file = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(&path)
        .map_err(io)?;
    file.write_all(text.as_bytes()).map_err(io)
}

/// `mark`: record successful deploys.
#[derive(Args, Debug, Clone)]
pub struct MarkArgs {
    /// The environment deployed to; defaults to the plan's.
    #[arg(long)]
    pub env: Option<String>,
    /// Where markers are kept: a directory, or `git:REF`.
    #[arg(long)]
    pub markers: String,
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

/// Runs `mark`; returns one line per recorded service.
pub fn run_mark(args: &MarkArgs) -> Result<Vec<String>, CliError> {
    let (env, deploys) = match &args.from_plan {
        Some(path) => {
            let text = std::fs::read_to_string(path).map_err(|source| CliError::Io {
                path: path.clone(),
                source,
            })?;
            let plan: Plan = serde_json::from_str(&text).map_err(|e| {
                CliError::Usage(format!(
                    "{}:{}:{}: not a plan document: {e}",
                    path.display(),
                    e.line(),
                    e.column()
                ))
            })?;
            if let Some(env) = &args.env {
                if *env != plan.env {
                    return Err(CliError::Usage(format!(
                        "the plan is for `{}`, not `{env}`",
                        plan.env
                    )));
                }
            }
            let deploys = plan
                .services
                .iter()
                .filter(|s| s.action == Action::Deploy)
                .map(|s| {
                    let mut marker = Marker::now(plan.head.clone());
                    marker.fingerprint = Some(s.fingerprint.clone());
                    marker.image = Some(s.image.clone());
                    (s.container.clone(), marker)
                })
                .collect::<Vec<_>>();
            (plan.env, deploys)
        }
        None => {
            let env = args.env.clone().ok_or_else(|| {
                CliError::Usage("--env is required without --from-plan".to_owned())
            })?;
            let commit = args.commit.as_deref().ok_or_else(|| {
                CliError::Usage("give --from-plan, or --service and --commit".to_owned())
            })?;
            if args.service.is_empty() {
                return Err(CliError::Usage(
                    "give --from-plan, or --service and --commit".to_owned(),
                ));
            }
            let loaded = load_topology(&args.topology, "HEAD")?;
            let commit = loaded.repo.resolve(commit)?.to_string();
            let mut deploys = Vec::new();
            for name in &args.service {
                let container = container_of(&loaded.topology, name)?;
                let mut marker = Marker::now(commit.clone());
                marker.fingerprint = args.fingerprint.clone();
                marker.image = args.image.clone();
                deploys.push((container, marker));
            }
            (env, deploys)
        }
    };
    let store = MarkerStore::parse(&args.markers, &topo_core::repository_of(&args.topology));
    let lines = deploys
        .iter()
        .map(|(service, marker)| {
            format!(
                "marked {service} at {} in {env} ({})",
                crate::repo::short(&marker.commit),
                store.describe()
            )
        })
        .collect();
    if !deploys.is_empty() {
        store.record(&env, deploys)?;
    }
    Ok(lines)
}

/// The container name of a service named by role or container name.
fn container_of(topology: &ValidTopology, name: &str) -> Result<String, CliError> {
    topology
        .service_named(name)
        .map(|s| topo_core::naming::container_name(&topology.project, &s.role))
        .ok_or_else(|| CliError::Usage(format!("the topology has no service `{name}`")))
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
}

/// Output formats of `fingerprint`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum FingerprintFormat {
    /// `container fingerprint` lines; with `--service`, the fingerprint alone.
    Text,
    /// `{"container": "fingerprint", ...}`.
    Json,
}

/// Runs `fingerprint`; returns what to print.
pub fn run_fingerprint(args: &FingerprintArgs) -> Result<String, CliError> {
    let loaded = load_topology(&args.topology, &args.head)?;
    let head = loaded.head;
    let only = args
        .service
        .as_deref()
        .map(|name| container_of(&loaded.topology, name))
        .transpose()?;
    // A plan with no markers computes every fingerprint, the same way a real plan does.
    let markers = crate::markers::Markers::default();
    let request = PlanRequest {
        topology: &loaded.topology,
        topology_path: &loaded.path_in_repo,
        env: "fingerprint",
        markers: &markers,
        head,
        event: Event {
            kind: EventName::Manual,
            ref_name: None,
        },
        force: Force::None,
    };
    let plan = plan(&loaded.repo, &request, &PlanOptions::default())?;
    let selected: Vec<_> = plan
        .services
        .iter()
        .filter(|s| only.as_deref().is_none_or(|c| c == s.container))
        .collect();
    Ok(match args.format {
        FingerprintFormat::Json => {
            let map: std::collections::BTreeMap<&str, &str> = selected
                .iter()
                .map(|s| (s.container.as_str(), s.fingerprint.as_str()))
                .collect();
            format!(
                "{}\n",
                serde_json::to_string_pretty(&map).expect("a map serialises")
            )
        }
        FingerprintFormat::Text if only.is_some() => selected
            .iter()
            .map(|s| format!("{}\n", s.fingerprint))
            .collect(),
        FingerprintFormat::Text => selected
            .iter()
            .map(|s| format!("{} {}\n", s.container, s.fingerprint))
            .collect(),
    })
}

/// The JSON Schema of the plan document.
pub fn plan_schema() -> String {
    let schema = schemars::schema_for!(Plan);
    let mut text = serde_json::to_string_pretty(&schema).expect("a schema serialises");
    text.push('\n');
    text
}
