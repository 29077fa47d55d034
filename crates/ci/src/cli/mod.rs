//! The command line of planning, shared by `topo-ci` and `topo plan` (the `cli` feature):
//! flags (clap) and the runs behind them, which call the library, print, and return an
//! [`Exit`] or a [`CliError`]. Nothing here decides anything the library could.

mod flags;

pub use flags::{EventArg, FingerprintArgs, FingerprintFormat, MarkArgs, PlanArgs, PlanFormat};

use std::io::Write as _;
use std::path::PathBuf;

use topo_core::report::{Exit, Failure};
use topo_core::ValidTopology;

use crate::base::{BaseError, PullRequest};
use crate::load::{topology_at, LoadError};
use crate::markers::{Marker, MarkerError, Markers};
use crate::plan::{
    explain, fingerprints, plan, BaseSource, ExplainOptions, Explained, ForcedBy, Plan, PlanBase,
    PlanError, PlanOptions, PlanRequest,
};
use crate::registry::{registry_of, Credentials, RegistryStore};
use crate::release::{force_in_message, Event, EventName, Force};
use crate::repo::GitError;
use crate::store::MarkerStore;

/// Why a command failed.
#[derive(Debug, thiserror::Error)]
pub enum CliError {
    /// The topology could not be read at the commit.
    #[error(transparent)]
    Load(#[from] LoadError),
    /// A file could not be read or written.
    #[error("{}: {source}", path.display())]
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
    /// No base to compare with (`--base`, a pull request's).
    #[error(transparent)]
    Base(#[from] BaseError),
}

impl miette::Diagnostic for CliError {
    fn help<'a>(&'a self) -> Option<Box<dyn std::fmt::Display + 'a>> {
        match self {
            CliError::Load(error) => error.help(),
            _ => None,
        }
    }
}

impl Failure for CliError {
    fn exit(&self) -> Exit {
        match self {
            CliError::Usage(_)
            | CliError::Load(
                LoadError::NoWorkTree
                | LoadError::OutsideRepository { .. }
                | LoadError::NotCommitted { .. }
                | LoadError::NotText { .. },
            ) => Exit::Usage,
            _ => Exit::Failure,
        }
    }
}

/// `plan`: prints the plan in the chosen format, and writes GitHub's files when asked.
pub fn run_plan(args: &PlanArgs) -> Result<Exit, CliError> {
    let plan = make_plan(args)?;
    let text = match args.format {
        PlanFormat::Text | PlanFormat::Github => crate::report::text(&plan),
        PlanFormat::Json => crate::report::json(&plan),
        PlanFormat::Markdown => crate::report::markdown(&plan),
    };
    write_stdout(&text)?;
    if args.format == PlanFormat::Github {
        append_to_env_file("GITHUB_OUTPUT", &crate::report::github_outputs(&plan))?;
    }
    if matches!(args.format, PlanFormat::Markdown | PlanFormat::Github) {
        append_to_env_file("GITHUB_STEP_SUMMARY", &crate::report::markdown(&plan))?;
    }
    Ok(Exit::Success)
}

/// The plan `args` ask for: the event from the flags (else GitHub Actions' environment,
/// else manual), forces from `--force` and the commit message.
pub fn make_plan(args: &PlanArgs) -> Result<Plan, CliError> {
    if !topo_core::naming::is_valid_name(&args.env) {
        return Err(CliError::Usage(format!(
            "invalid environment name `{}`: use lowercase letters, digits and dashes",
            args.env
        )));
    }
    let committed = topology_at(&args.topology, &args.head)?;
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
    let (markers, store_notes, base) = compared_with(args, &committed)?;
    let event = match (&base, args.event) {
        // A pull request's merge is a push to its base branch: gate as that push will be.
        (Some(base), None) if base.source == BaseSource::PullRequest => Event {
            kind: EventName::Push,
            ref_name: Some(base.revision.trim_start_matches("origin/").to_owned()),
        },
        _ => event,
    };
    let message = committed.repo.message_of(committed.head)?;
    let flags = Force::from_flags(&args.force);
    let request = PlanRequest {
        topology: &committed.topology,
        topology_path: &committed.path_in_repo,
        source: Some(&committed.source),
        env: &args.env,
        markers: &markers,
        head: committed.head,
        event,
        forced_by: if flags == Force::None {
            ForcedBy::CommitMessage
        } else {
            ForcedBy::Flags
        },
        force: flags.union(force_in_message(&message)),
    };
    let mut plan = plan(&committed.repo, &request, &PlanOptions::default())?;
    plan.notes.extend(store_notes);
    plan.base = base;
    Ok(plan)
}

/// What HEAD is compared with: the markers (`--markers`), or the merge-base of `--base`
/// or of a GitHub pull request's base (markers at that commit for every service). With
/// the markers, notes of the store; with a base, the base.
fn compared_with(
    args: &PlanArgs,
    committed: &crate::load::Committed,
) -> Result<(Markers, Vec<String>, Option<PlanBase>), CliError> {
    let pull_request = PullRequest::from_github(
        |key| std::env::var(key).ok(),
        |path| std::fs::read_to_string(path),
    );
    let (repo, head) = (&committed.repo, committed.head);
    let base = match (&args.base, &args.markers) {
        (Some(_), Some(_)) => return Err(CliError::Usage(
            "--base and --markers both choose what HEAD is compared with: give one. --markers compares with what is deployed; --base REF with the merge-base of REF and HEAD (what a merge would deploy)".to_owned(),
        )),
        (Some(revision), None) => crate::base::resolve_flag(repo, head, revision)?,
        (None, Some(markers)) => {
            let store = open_store(
                markers,
                &args.topology,
                || Ok(committed.topology.clone()),
                args.registry_user.as_deref(),
            )?;
            let (markers, mut notes) = store.load(&args.env)?;
            if let Ok(Some(pr)) = pull_request {
                notes.push(format!(
                    "this is a `{}` run, planned against the markers because --markers was given: drop --markers (or give --base) to plan what the merge would deploy",
                    pr.event
                ));
            }
            return Ok((markers, notes, None));
        }
        (None, None) => match pull_request? {
            Some(pr) => crate::base::resolve_pull_request(repo, head, &pr)?,
            None => return Err(CliError::Usage(
                "give --markers DIR|git:REF|registry (compare with what is deployed) or --base REF (compare with the merge-base of REF, as for a pull request); in a GitHub pull-request run the base is read from GITHUB_BASE_REF".to_owned(),
            )),
        },
    };
    let topology = &committed.topology;
    let containers: Vec<String> = topology
        .services
        .iter()
        .map(|s| topo_core::naming::container_name(&topology.project, &s.role))
        .collect();
    let markers = crate::base::markers_at(&base, &args.env, &containers);
    Ok((markers, Vec::new(), Some(base)))
}

/// The marker store `--markers` names; for `registry`, the topology's image repositories
/// reached with the docker CLI's credentials (and `--registry-user`).
pub fn open_store(
    markers: &str,
    topology_path: &std::path::Path,
    topology: impl FnOnce() -> Result<ValidTopology, CliError>,
    registry_user: Option<&str>,
) -> Result<MarkerStore, CliError> {
    MarkerStore::parse(
        markers,
        &topo_core::repository_of(topology_path),
        || -> Result<RegistryStore, CliError> {
            let topology = topology()?;
            let credentials = Credentials::for_registries([registry_of(&topology)], registry_user)
                .map_err(MarkerError::from)?;
            Ok(RegistryStore::for_topology(&topology, credentials))
        },
    )
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

/// `mark`: records successful deploys; prints one line per recorded service.
pub fn run_mark(args: &MarkArgs) -> Result<Exit, CliError> {
    let (env, deploys) = match &args.from_plan {
        Some(path) => marks_of_plan(path, args.env.as_deref())?,
        None => marks_of_flags(args)?,
    };
    let store = open_store(
        &args.markers,
        &args.topology,
        || Ok(topology_at(&args.topology, "HEAD")?.topology),
        args.registry_user.as_deref(),
    )?;
    for (service, marker) in &deploys {
        println!(
            "marked {service} at {} in {env} ({})",
            crate::repo::short(&marker.commit),
            store.describe()
        );
    }
    if !deploys.is_empty() {
        store.record(&env, deploys)?;
    }
    Ok(Exit::Success)
}

/// The environment and markers of a plan document's deploys.
fn marks_of_plan(
    path: &std::path::Path,
    env: Option<&str>,
) -> Result<(String, Vec<(String, Marker)>), CliError> {
    let text = std::fs::read_to_string(path).map_err(|source| CliError::Io {
        path: path.to_owned(),
        source,
    })?;
    let plan = Plan::parse(&text).map_err(|e| {
        CliError::Usage(format!(
            "{}:{}:{}: not a plan document: {e}",
            path.display(),
            e.line(),
            e.column()
        ))
    })?;
    if let Some(env) = env.filter(|env| *env != plan.env) {
        return Err(CliError::Usage(format!(
            "the plan is for `{}`, not `{env}`",
            plan.env
        )));
    }
    let markers = plan.markers();
    Ok((plan.env, markers))
}

/// The environment and markers `--service`, `--commit`, `--fingerprint` and `--image` say.
fn marks_of_flags(args: &MarkArgs) -> Result<(String, Vec<(String, Marker)>), CliError> {
    let env = args
        .env
        .clone()
        .ok_or_else(|| CliError::Usage("--env is required without --from-plan".to_owned()))?;
    let (Some(commit), false) = (args.commit.as_deref(), args.service.is_empty()) else {
        return Err(CliError::Usage(
            "give --from-plan, or --service and --commit".to_owned(),
        ));
    };
    let committed = topology_at(&args.topology, "HEAD")?;
    let commit = committed.repo.resolve(commit)?.to_string();
    let mut deploys = Vec::new();
    for name in &args.service {
        let container = container_of(&committed.topology, name)?;
        let mut marker = Marker::now(commit.clone());
        marker.fingerprint = args.fingerprint.clone();
        marker.image = args.image.clone();
        deploys.push((container, marker));
    }
    Ok((env, deploys))
}

/// Writes `text` to stdout. A reader that stopped reading (`| head`) is no failure, as
/// for ripgrep; another write error is the command's, never a panic.
fn write_stdout(text: &str) -> Result<(), CliError> {
    match std::io::stdout().write_all(text.as_bytes()) {
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => Ok(()),
        written => written.map_err(|source| CliError::Io {
            path: "<stdout>".into(),
            source,
        }),
    }
}

/// `fingerprint --explain` for a terminal: each service's fingerprint, then what it is
/// made of, indented; the lockfile's packages listed when one service is asked for.
fn explained_text(explained: &Explained, list_packages: bool) -> String {
    use std::fmt::Write as _;
    let mut out = String::new();
    for service in &explained.services {
        let _ = writeln!(out, "{} {}", service.container, service.fingerprint);
        if let Some(owner) = &service.image_of {
            let _ = writeln!(out, "  image of {owner}");
        }
        for line in &service.scope {
            let package = line
                .strip_prefix("package ")
                .and_then(|p| p.split(' ').next());
            let ignore_file =
                (service.ignore_file.as_ref()).filter(|_| line.starts_with("dockerignore "));
            let _ = match (package.and_then(|dir| service.via.get(dir)), ignore_file) {
                (Some(chain), _) => writeln!(out, "  {line} (via {})", chain.join(" → ")),
                (None, Some(path)) => writeln!(out, "  {line} ({path})"),
                (None, None) => writeln!(out, "  {line}"),
            };
        }
        if let Some(lockfile) = &service.lockfile {
            let _ = match &lockfile.unreadable {
                Some(why) => writeln!(out, "  lockfile {} (unreadable: {why})", lockfile.path),
                None => writeln!(
                    out,
                    "  lockfile {}: {} package{}",
                    lockfile.path,
                    lockfile.packages.len(),
                    if lockfile.packages.len() == 1 {
                        ""
                    } else {
                        "s"
                    }
                ),
            };
            if list_packages {
                for package in &lockfile.packages {
                    let _ = writeln!(out, "    {package}");
                }
            }
            for patch in &lockfile.patches {
                let _ = writeln!(out, "  patch {patch}");
            }
        }
        if let Some(files) = &service.files {
            let _ = writeln!(out, "  files: {}", files.len());
            for file in files {
                let _ = match file.from.as_str() {
                    "own" => writeln!(out, "    {}", file.path),
                    from => writeln!(out, "    {} ({from})", file.path),
                };
            }
        }
    }
    for note in &explained.notes {
        let _ = writeln!(out, "note: {note}");
    }
    out
}

/// The container name of a service named by role or container name.
fn container_of(topology: &ValidTopology, name: &str) -> Result<String, CliError> {
    topology
        .service_named(name)
        .map(|s| topo_core::naming::container_name(&topology.project, &s.role))
        .ok_or_else(|| CliError::Usage(format!("the topology has no service `{name}`")))
}

/// `fingerprint`: prints services' fingerprints.
pub fn run_fingerprint(args: &FingerprintArgs) -> Result<Exit, CliError> {
    let committed = topology_at(&args.topology, &args.head)?;
    let only = args
        .service
        .as_deref()
        .map(|name| container_of(&committed.topology, name))
        .transpose()?;
    let text = if args.explain {
        let options = ExplainOptions { files: args.files };
        let explained = explain(&committed, only.as_deref(), options)?;
        match args.format {
            FingerprintFormat::Json => {
                serde_json::to_string_pretty(&explained).expect("strings serialise") + "\n"
            }
            FingerprintFormat::Text => explained_text(&explained, only.is_some()),
        }
    } else {
        let selected = fingerprints(&committed, only.as_deref())?;
        match args.format {
            FingerprintFormat::Json => {
                let map: std::collections::BTreeMap<&str, &str> = selected
                    .iter()
                    .map(|(c, f)| (c.as_str(), f.as_str()))
                    .collect();
                serde_json::to_string_pretty(&map).expect("a map serialises") + "\n"
            }
            FingerprintFormat::Text if only.is_some() => {
                selected.iter().map(|(_, f)| format!("{f}\n")).collect()
            }
            FingerprintFormat::Text => (selected.iter())
                .map(|(c, f)| format!("{c} {f}\n"))
                .collect(),
        }
    };
    write_stdout(&text)?;
    Ok(Exit::Success)
}
