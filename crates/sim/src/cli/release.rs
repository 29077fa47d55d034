//! `topo build`: the production images of a commit, where topo-ci's plan (fingerprints,
//! images, builds) meets the engine builder. Without `--plan`, every image of the topology
//! as committed at `HEAD`; with one, the images of its `deploy` and `build` services.
//!
//! The fingerprints are those of the commit, and the build reads the work tree: a build
//! from a work tree with changes inside a build context would label an image with a
//! fingerprint it does not match, so CI builds clean checkouts.

use std::collections::BTreeMap;
use std::path::PathBuf;

use clap::Args;
use topo_core::release::{BuildOutcome, BuildReport};
use topo_core::report::Exit;
use topo_core::spec::BuildSpec;
use topo_core::value::ImageRef;

use super::{read_plan, CliError, Format, TopologyArg};
use crate::engine::Engine;
use crate::progress::for_terminal;
use crate::registry::Credentials;
use crate::release::{build_release, ReleaseImage, ReleaseOptions};

/// `topo build`.
#[derive(Args, Debug, Clone)]
pub struct ReleaseBuildArgs {
    #[command(flatten)]
    #[allow(missing_docs)]
    pub topology: TopologyArg,
    /// Only the images of these services (roles or container names); default all.
    pub services: Vec<String>,
    /// A `topo-ci plan --format json` document: only the images of its `deploy` and
    /// `build` services, at its tags.
    #[arg(long, value_name = "FILE")]
    pub plan: Option<PathBuf>,
    /// Build even when the fingerprint tag exists in the engine.
    #[arg(long)]
    pub rebuild: bool,
    /// Images built at once.
    #[arg(long, default_value_t = 2)]
    pub jobs: usize,
    /// Push each image to its registry (fingerprint tag last); an image whose fingerprint
    /// tag the registry has is neither built nor pushed. Credentials: the docker CLI's
    /// (`$DOCKER_CONFIG/config.json`, else `~/.docker/config.json`), or --registry-user.
    #[arg(long)]
    pub push: bool,
    /// The registry user; the password is read from REGISTRY_PASSWORD.
    #[arg(long, value_name = "USER", requires = "push")]
    pub registry_user: Option<String>,
    /// The output format of the report.
    #[arg(long, value_enum, default_value_t = Format::Text)]
    pub format: Format,
    /// Also write the JSON report to FILE (what `topo render --images` reads).
    #[arg(long, value_name = "FILE")]
    pub report: Option<PathBuf>,
}

/// Runs `topo build`.
pub fn run_release_build(args: &ReleaseBuildArgs) -> Result<Exit, CliError> {
    let committed = topo_ci::load::topology_at(&args.topology.topology, "HEAD")?;
    let plan = match &args.plan {
        Some(path) => {
            let mut plan = read_plan(path)?;
            plan.services
                .retain(|s| s.action != topo_ci::plan::Action::Skip);
            plan
        }
        None => topo_ci::plan::everything(&committed)?,
    };
    let images = release_images(&plan, &args.services)?;
    let root = committed
        .repo
        .workdir()
        .ok_or(CliError::Usage(
            "the repository has no work tree to build from".into(),
        ))?
        .to_owned();
    let head = plan.head.clone();
    let options = ReleaseOptions {
        jobs: args.jobs,
        rebuild: args.rebuild,
        source: source_address(),
        revision: Some(head),
        push: if args.push {
            Some(credentials(args, &images)?)
        } else {
            None
        },
    };
    let report = super::runtime()?.block_on(async {
        let engine = Engine::connect().await?;
        let progress = for_terminal();
        let report = build_release(&engine, &images, &root, &options, progress.as_ref()).await;
        progress.finish();
        report
    })?;
    if let Some(path) = &args.report {
        write_report(path, &report)?;
    }
    match args.format {
        Format::Json => print!("{}", report.to_json()),
        Format::Text => print!("{}", report_text(&report)),
    }
    Ok(Exit::Success)
}

/// The images of `plan`'s services (those named, when any are): one per image, with the
/// containers that run it.
fn release_images(
    plan: &topo_ci::plan::Plan,
    only: &[String],
) -> Result<Vec<ReleaseImage>, CliError> {
    if let Some(unknown) = only.iter().find(|name| {
        !plan
            .services
            .iter()
            .any(|s| s.name == **name || s.container == **name)
    }) {
        return Err(CliError::Usage(format!(
            "`{unknown}` is not a service of the plan (give a role or a container name)"
        )));
    }
    let mut images: BTreeMap<&str, ReleaseImage> = BTreeMap::new();
    let mut order = Vec::new();
    for service in &plan.services {
        if !only.is_empty()
            && !only
                .iter()
                .any(|n| *n == service.name || *n == service.container)
        {
            continue;
        }
        if let Some(image) = images.get_mut(service.image.as_str()) {
            image.containers.push(service.container.clone());
            continue;
        }
        let reference = ImageRef::parse(&service.image).map_err(|e| {
            CliError::Usage(format!(
                "the plan's image `{}` is not a reference: {}",
                service.image, e.problem
            ))
        })?;
        let fingerprint = reference
            .tag
            .as_ref()
            .and_then(|t| t.as_literal().map(str::to_owned))
            .unwrap_or_else(|| service.fingerprint.clone());
        order.push(service.image.as_str());
        images.insert(
            &service.image,
            ReleaseImage {
                repository: reference.full_name(),
                fingerprint,
                extra_tags: vec![topo_ci::repo::short(&plan.head).to_owned()],
                containers: vec![service.container.clone()],
                build: BuildSpec {
                    context: service.build.context.clone(),
                    dockerfile: service.build.dockerfile.clone(),
                    target: service.build.target.clone(),
                    args: service.build.args.clone(),
                    secrets: service.build.secrets.clone(),
                },
            },
        );
    }
    Ok(order
        .into_iter()
        .filter_map(|image| images.remove(image))
        .collect())
}

/// The docker CLI's stored credentials, and `--registry-user` with `REGISTRY_PASSWORD` for
/// the images' registry over them.
fn credentials(args: &ReleaseBuildArgs, images: &[ReleaseImage]) -> Result<Credentials, CliError> {
    let registries: std::collections::BTreeSet<Option<String>> = images
        .iter()
        .map(|i| ImageRef::parse(&i.repository).ok().and_then(|r| r.registry))
        .collect();
    Ok(Credentials::for_registries(
        registries,
        args.registry_user.as_deref(),
    )?)
}

/// Where the source lives, as GitHub Actions says (`$GITHUB_SERVER_URL/$GITHUB_REPOSITORY`).
fn source_address() -> Option<String> {
    let server = std::env::var("GITHUB_SERVER_URL")
        .ok()
        .filter(|s| !s.is_empty())?;
    let repository = std::env::var("GITHUB_REPOSITORY")
        .ok()
        .filter(|s| !s.is_empty())?;
    Some(format!("{server}/{repository}"))
}

/// One line per image: `image outcome (seconds) containers`.
fn report_text(report: &BuildReport) -> String {
    let mut text = String::new();
    for image in &report.images {
        text += &format!(
            "{} {}{} ({:.1} s) for {}\n",
            image.image,
            image.outcome.as_str(),
            image
                .digest
                .as_ref()
                .map_or(String::new(), |d| format!(" {d}")),
            image.seconds,
            image.containers.join(", ")
        );
    }
    let count = |outcome| {
        report
            .images
            .iter()
            .filter(|i| i.outcome == outcome)
            .count()
    };
    let total = report.images.len();
    text += &format!(
        "{total} image{}: {} built, {} reused, {} already pushed; {} pushed ({} bytes)\n",
        if total == 1 { "" } else { "s" },
        count(BuildOutcome::Built),
        count(BuildOutcome::Reused),
        count(BuildOutcome::AlreadyPushed),
        report.images.iter().filter(|i| i.pushed).count(),
        report.images.iter().map(|i| i.bytes_pushed).sum::<u64>()
    );
    text
}

/// Writes the JSON report through a synced temporary file and a rename: never half a report.
fn write_report(path: &std::path::Path, report: &BuildReport) -> Result<(), CliError> {
    let io = |source| CliError::Write {
        path: path.to_owned(),
        source,
    };
    let name = path
        .file_name()
        .map_or_else(|| "report".to_owned(), |n| n.to_string_lossy().into_owned());
    let temporary = path.with_file_name(format!(".{name}.partial"));
    let written = std::fs::File::create(&temporary).and_then(|mut file| {
        std::io::Write::write_all(&mut file, report.to_json().as_bytes())?;
        file.sync_all()
    });
    match written.and_then(|()| std::fs::rename(&temporary, path)) {
        Ok(()) => Ok(()),
        Err(source) => {
            let _ = std::fs::remove_file(&temporary);
            Err(io(source))
        }
    }
}
