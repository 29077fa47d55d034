//! `deploy` and `lock`: the production spec applied to a target engine, and its lock.
//!
//! What to deploy comes from `--tag` (every service at one tag, default the topology's tag
//! variable), `--plan` (a `topo-ci plan --format json` document: its `deploy` services at
//! their fingerprint images) or `--rollback`. Markers go to a topo-ci store (`--markers`)
//! after each service that reached its version — the engine modules know nothing about git
//! or markers; this is where they meet.

use std::collections::BTreeMap;
use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::time::Duration;

use clap::{Args, Subcommand, ValueEnum};
use topo_core::model::Strategy;
use topo_core::release::BuildReport;
use topo_core::{Mode, RuntimeSpec, SpecOptions};

use super::{load_topology, CliError, TopologyArg};
use crate::deploy::{
    break_lock, holder, lock_name, DeployOptions, DeploySummary, Deployment, Release,
    ServiceDeploy, Wanted,
};
use crate::engine::Engine;
use crate::progress::{for_terminal, Event, Interruption, Phase};
use crate::translate::ProcessEnv;
use topo_core::report::Exit;

/// `deploy`.
#[derive(Args, Debug, Clone)]
pub struct DeployArgs {
    #[command(flatten)]
    #[allow(missing_docs)]
    pub topology: TopologyArg,
    /// Only these services (roles or container names); default all.
    pub services: Vec<String>,
    /// The engine to deploy to (`unix://…`, `tcp://host:2376` with DOCKER_TLS_VERIFY and
    /// DOCKER_CERT_PATH, `ssh://user@host`); default DOCKER_HOST, else the local socket.
    #[arg(long, value_name = "HOST")]
    pub host: Option<String>,
    /// What runs production, instead of the topology's `[production] engine`: `swarm`
    /// deploys to a Swarm manager through its services API.
    #[arg(long, value_enum, value_name = "ENGINE")]
    pub engine: Option<super::EngineArg>,
    /// The image tag of every service; default the topology's tag variable ($TAG).
    #[arg(long, conflicts_with_all = ["plan", "rollback"])]
    pub tag: Option<String>,
    /// A `topo-ci plan --format json` document: deploy its `deploy` services at its images.
    #[arg(long, value_name = "FILE", conflicts_with = "rollback")]
    pub plan: Option<PathBuf>,
    /// A `topo build` report: deploy its images, by digest when pushed (with --plan, the
    /// plan's `deploy` services, by the report's digests).
    #[arg(long, value_name = "FILE", conflicts_with_all = ["rollback", "tag"])]
    pub images: Option<PathBuf>,
    /// Return each service (or those named) to the version it ran before.
    #[arg(long)]
    pub rollback: bool,
    /// A strategy override: `blue-green`, `recreate` (every service) or `SERVICE=STRATEGY`.
    #[arg(long, value_name = "[SERVICE=]STRATEGY")]
    pub strategy: Vec<String>,
    /// Wait up to SECS for another deploy's lock instead of failing at once.
    #[arg(long, value_name = "SECS", default_value_t = 0)]
    pub lock_wait: u64,
    /// The lease renewed on the lock while this deploy works: a deploy from another host
    /// takes over a lock whose lease was not renewed for SECS (its holder died).
    #[arg(long, value_name = "SECS", default_value_t = 30, value_parser = clap::value_parser!(u64).range(1..))]
    pub lock_lease: u64,
    /// A host's first deploy: create the network, volumes, database and proxy if missing.
    #[arg(long)]
    pub setup: bool,
    /// Check and decide only (every check, the lock's state, each service's decision):
    /// change nothing on the target, not even the lock.
    #[arg(long)]
    pub dry_run: bool,
    /// Have the proxy's ACME certificate renewed now, even if it is not due (it is renewed
    /// by any deploy once it expires within `renew_before`).
    #[arg(long)]
    pub renew_certificate: bool,
    /// Replace this accessory (by role) when its image or configuration changed, its data
    /// volumes kept; an application deploy never touches accessories otherwise. Repeatable.
    #[arg(long = "accessory", value_name = "ROLE")]
    pub accessories: Vec<String>,
    /// A topo-ci marker store (a directory, `git:REF`, or `registry`: the tag `:<env>` of
    /// each image's repository): each service's marker is written after it deploys.
    #[arg(long, value_name = "STORE")]
    pub markers: Option<String>,
    /// The registry user for pulls and registry markers (its password in
    /// REGISTRY_PASSWORD); default the docker CLI's stored credentials.
    #[arg(long, value_name = "USER")]
    pub registry_user: Option<String>,
    /// The environment the markers are written for.
    #[arg(long, default_value = "production")]
    pub env: String,
    /// The commit being deployed, for markers (default: the plan's head, $GITHUB_SHA, git HEAD).
    #[arg(long)]
    pub revision: Option<String>,
    /// The output format of the summary.
    #[arg(long, value_enum, default_value_t = SummaryFormat::Text)]
    pub format: SummaryFormat,
}

/// Summary formats.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum SummaryFormat {
    /// Lines for people.
    Text,
    /// The JSON document.
    Json,
    /// Markdown (also appended to $GITHUB_STEP_SUMMARY when it is set).
    Markdown,
}

/// `lock`.
#[derive(Args, Debug, Clone)]
pub struct LockArgs {
    /// What to do.
    #[command(subcommand)]
    pub action: LockAction,
}

/// `lock status` and `lock release`.
#[derive(Subcommand, Debug, Clone)]
pub enum LockAction {
    /// Who holds the deploy lock.
    Status(LockTarget),
    /// Break the deploy lock, whoever holds it (after a deploy died without releasing it).
    Release(LockTarget),
}

/// The topology and the engine a lock command talks to.
#[derive(Args, Debug, Clone)]
pub struct LockTarget {
    #[command(flatten)]
    #[allow(missing_docs)]
    pub topology: TopologyArg,
    /// The engine (as for `deploy --host`).
    #[arg(long, value_name = "HOST")]
    pub host: Option<String>,
}

/// Loads the production spec.
fn production_spec(path: &Path) -> Result<(RuntimeSpec, PathBuf), CliError> {
    let (spec, root, _) = production_spec_of(path, None)?;
    Ok((spec, root))
}

/// Loads the production spec (on `engine`, when given), with the topology it came from.
fn production_spec_of(
    path: &Path,
    engine: Option<super::EngineArg>,
) -> Result<(RuntimeSpec, PathBuf, topo_core::ValidTopology), CliError> {
    let (mut valid, root) = load_topology(path)?;
    super::EngineArg::apply(engine, &mut valid.topology)?;
    let spec = topo_core::runtime_spec(&valid.topology, Mode::Production, &SpecOptions::default());
    Ok((spec, root, valid.topology))
}

/// `deploy`.
pub(super) async fn run_deploy(args: &DeployArgs) -> Result<Exit, CliError> {
    let (spec, root, topology) = production_spec_of(&args.topology.topology, args.engine)?;
    let (release, plan_head) = release_of(args, &spec)?;
    let registry = topo_ci::registry::registry_of(&topology);
    let credentials =
        topo_ci::registry::Credentials::for_registries([registry], args.registry_user.as_deref())?;
    let options = DeployOptions {
        services: args.services.clone(),
        strategies: strategies(&args.strategy)?,
        lock_wait: Duration::from_secs(args.lock_wait),
        lock_lease: Duration::from_secs(args.lock_lease),
        setup: args.setup,
        dry_run: args.dry_run,
        renew_certificate: args.renew_certificate,
        accessories: args.accessories.clone(),
        purpose: match &release {
            Release::Tag(tag) => format!("deploy {tag}"),
            Release::Images(_) => "deploy of a plan".to_owned(),
            Release::Rollback => "rollback".to_owned(),
        },
    };
    let revision = args
        .revision
        .clone()
        .or(plan_head)
        .or_else(|| std::env::var("GITHUB_SHA").ok().filter(|s| !s.is_empty()))
        .or_else(|| super::head_revision(&root));
    let store = match args.markers.as_deref() {
        Some(spec) => Some(topo_ci::store::MarkerStore::parse(spec, &root, || {
            Ok::<_, CliError>(topo_ci::registry::RegistryStore::for_topology(
                &topology,
                credentials.clone(),
            ))
        })?),
        None => None,
    };
    let env = args.env.clone();
    let mut on_deployed = |service: &ServiceDeploy, wanted: &Wanted| {
        let Some(store) = &store else { return Ok(()) };
        let Some(commit) = &revision else {
            return Err("no commit to record (give --revision)".into());
        };
        let mut marker = topo_ci::markers::Marker::now(commit.clone());
        marker.fingerprint = wanted.fingerprint.clone();
        // A registry marker points at exactly what runs: the digest, when known.
        marker.image = Some(match store {
            topo_ci::store::MarkerStore::Registry(_) => wanted.reference(),
            _ => service.image.clone(),
        });
        store
            .record(&env, vec![(service.container.clone(), marker)])
            .map(|_| ())
            .map_err(Into::into)
    };
    let engine = Engine::connect_to(args.host.as_deref()).await?;
    let progress = for_terminal();
    let deployment = Deployment {
        engine: &engine,
        spec: &spec,
        root: &root,
        variables: &ProcessEnv,
        progress: progress.as_ref(),
        credentials: &credentials,
    };
    let result = tokio::select! {
        result = deployment.run(&release, &options, &mut on_deployed) => result,
        _ = tokio::signal::ctrl_c() => {
            progress.event(Event::Phase(Phase::Interrupted(Interruption::ReleasingTheLock)));
            progress.finish();
            break_lock(&engine, &spec.project).await?;
            eprintln!("interrupted: the deploy lock is released; the next deploy removes a half-started `-next` container and puts an `-old` one back");
            return Ok(Exit::Interrupted);
        }
    };
    progress.finish();
    let summary = result?;
    print_summary(&summary, args.format);
    Ok(Exit::from_ok(summary.ok))
}

fn print_summary(summary: &DeploySummary, format: SummaryFormat) {
    match format {
        SummaryFormat::Text => print!("{}", summary.text()),
        SummaryFormat::Json => print!("{}", summary.json()),
        SummaryFormat::Markdown => print!("{}", summary.markdown()),
    }
    if let Ok(path) = std::env::var("GITHUB_STEP_SUMMARY") {
        if !path.is_empty() {
            if let Ok(mut file) = std::fs::OpenOptions::new()
                .append(true)
                .create(true)
                .open(path)
            {
                let _ = file.write_all(summary.markdown().as_bytes());
            }
        }
    }
    let _ = std::io::stdout().flush();
}

/// Reads a `topo build` report; an error says where it is not one.
fn read_report(path: &Path) -> Result<BuildReport, CliError> {
    super::read_json(path, "topo build report", BuildReport::parse)
}

/// The report's digest for `container`, when the report built the very image the plan names.
fn report_digest(report: &BuildReport, container: &str, image: &str) -> Option<String> {
    report
        .images
        .iter()
        .find(|i| i.image == image && i.containers.iter().any(|c| c == container))
        .and_then(|i| i.digest.clone())
}

/// What to deploy, and the plan's commit when a plan says.
fn release_of(
    args: &DeployArgs,
    spec: &RuntimeSpec,
) -> Result<(Release, Option<String>), CliError> {
    if args.rollback {
        return Ok((Release::Rollback, None));
    }
    let report = args.images.as_deref().map(read_report).transpose()?;
    if let Some(path) = &args.plan {
        let plan = super::read_plan(path)?;
        let mut images: BTreeMap<String, Wanted> = plan
            .services
            .iter()
            .filter(|s| plan.deploys && s.action == topo_ci::plan::Action::Deploy)
            .map(|s| {
                let wanted = Wanted::tagged(s.image.clone(), Some(s.fingerprint.clone()));
                (s.container.clone(), wanted)
            })
            .collect();
        if let Some(report) = &report {
            for (container, wanted) in &mut images {
                wanted.digest = report_digest(report, container, &wanted.image);
            }
        }
        return Ok((Release::Images(images), Some(plan.head)));
    }
    if let Some(report) = report {
        let images = report
            .images
            .iter()
            .flat_map(|image| {
                image.containers.iter().map(|container| {
                    let mut wanted =
                        Wanted::tagged(image.image.clone(), Some(image.fingerprint.clone()));
                    wanted.digest = image.digest.clone();
                    (container.clone(), wanted)
                })
            })
            .collect();
        return Ok((Release::Images(images), report.revision));
    }
    if let Some(tag) = &args.tag {
        return Ok((Release::Tag(tag.clone()), None));
    }
    let variable = spec.tag_variable.as_deref().unwrap_or("TAG");
    match std::env::var(variable).ok().filter(|t| !t.is_empty()) {
        Some(tag) => Ok((Release::Tag(tag), None)),
        None => Err(CliError::Usage(format!(
            "nothing says what to deploy: give --tag TAG, set ${variable}, give --plan FILE or --images FILE, or --rollback"
        ))),
    }
}

fn strategies(flags: &[String]) -> Result<BTreeMap<String, Strategy>, CliError> {
    flags
        .iter()
        .map(|flag| {
            let (service, strategy) = flag.split_once('=').unwrap_or(("*", flag));
            let strategy: Strategy = strategy.parse().map_err(CliError::Usage)?;
            Ok((service.to_owned(), strategy))
        })
        .collect()
}

/// `lock status` / `lock release`.
pub(super) async fn run_lock(args: &LockArgs) -> Result<Exit, CliError> {
    let target = match &args.action {
        LockAction::Status(t) | LockAction::Release(t) => t,
    };
    let (spec, _) = production_spec(&target.topology.topology)?;
    let engine = Engine::connect_to(target.host.as_deref()).await?;
    let name = lock_name(&spec.project);
    match &args.action {
        LockAction::Status(_) => match holder(&engine, &spec.project).await? {
            Some(found) => println!("{name}: held by {}", found.describe()),
            None => println!("{name}: free"),
        },
        LockAction::Release(_) => match break_lock(&engine, &spec.project).await? {
            Some(found) => println!("{name}: released (was held by {})", found.describe()),
            None => println!("{name}: was not held"),
        },
    }
    Ok(Exit::Success)
}
