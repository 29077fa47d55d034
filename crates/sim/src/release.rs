//! Production images: each built once from its service's production target, tagged by its
//! fingerprint (what a plan deploys) and by the short commit, labelled with where it came
//! from. The same engine builder as prod-sim (`build.rs`); what differs is the tag, which
//! is given (the fingerprint of the sources in git), not computed from the context.
//!
//! An image already tagged with its fingerprint in the engine is not built again: the
//! fingerprint covers everything the build reads. With a push, an image whose fingerprint
//! tag the registry has is neither built nor pushed.

use std::collections::HashMap;
use std::path::Path;
use std::time::{Instant, SystemTime};

use futures_util::{StreamExt as _, TryStreamExt as _};
use topo_core::release::{BuildOutcome, BuildReport, BuiltImage, BUILD_REPORT_VERSION};
use topo_core::spec::BuildSpec;

use crate::build::{engine_build, exists, read_context, tag_as, BuildRequest, REVISION_LABEL};
use crate::engine::Engine;
use crate::error::{explain, SimError};
use crate::progress::{Event, Progress};
use crate::registry::{push, remote_digest, Credentials};

/// The OCI label holding the source repository's address.
pub const SOURCE_LABEL: &str = "org.opencontainers.image.source";
/// The OCI label holding the build time (RFC 3339).
pub const CREATED_LABEL: &str = "org.opencontainers.image.created";
/// The label holding the image's fingerprint (its tag), read back by deploys and markers.
pub const FINGERPRINT_LABEL: &str = "topo.fingerprint";

/// One production image to make.
#[derive(Clone, Debug)]
pub struct ReleaseImage {
    /// The repository, registry included (`ghcr.io/acme/shop-web`).
    pub repository: String,
    /// The fingerprint of its sources: its first tag.
    pub fingerprint: String,
    /// More tags (the short commit).
    pub extra_tags: Vec<String>,
    /// The containers that run it.
    pub containers: Vec<String>,
    /// How it is built (context relative to the build root).
    pub build: BuildSpec,
}

impl ReleaseImage {
    /// `repository:fingerprint`.
    pub fn reference(&self) -> String {
        format!("{}:{}", self.repository, self.fingerprint)
    }
}

/// How production images are built.
#[derive(Clone, Debug)]
pub struct ReleaseOptions {
    /// Builds running at once.
    pub jobs: usize,
    /// Build even when the fingerprint tag exists (the engine's layer cache still applies).
    pub rebuild: bool,
    /// The commit built (the revision label and the report).
    pub revision: Option<String>,
    /// The source repository's address (the source label), when known.
    pub source: Option<String>,
    /// Push each image with these credentials (and skip what the registry has).
    pub push: Option<Credentials>,
}

impl Default for ReleaseOptions {
    fn default() -> Self {
        ReleaseOptions {
            jobs: 2,
            rebuild: false,
            revision: None,
            source: None,
            push: None,
        }
    }
}

/// Builds (or finds) every image; the report lists them in the order given.
pub async fn build_release(
    engine: &Engine,
    images: &[ReleaseImage],
    root: &Path,
    options: &ReleaseOptions,
    progress: &dyn Progress,
) -> Result<BuildReport, SimError> {
    let mut built: Vec<(usize, BuiltImage)> = futures_util::stream::iter(images.iter().enumerate())
        .map(|(index, image)| async move {
            let built = build_one(engine, image, root, options, progress).await?;
            Ok::<_, SimError>((index, built))
        })
        .buffer_unordered(options.jobs.max(1))
        .try_collect()
        .await?;
    built.sort_by_key(|(index, _)| *index);
    Ok(BuildReport {
        version: BUILD_REPORT_VERSION,
        revision: options.revision.clone(),
        images: built.into_iter().map(|(_, image)| image).collect(),
    })
}

async fn build_one(
    engine: &Engine,
    image: &ReleaseImage,
    root: &Path,
    options: &ReleaseOptions,
    progress: &dyn Progress,
) -> Result<BuiltImage, SimError> {
    let start = Instant::now();
    let reference = image.reference();
    let mut built = BuiltImage {
        image: reference.clone(),
        containers: image.containers.clone(),
        fingerprint: image.fingerprint.clone(),
        tags: std::iter::once(image.fingerprint.clone())
            .chain(image.extra_tags.iter().cloned())
            .collect(),
        id: None,
        digest: None,
        outcome: BuildOutcome::Reused,
        pushed: false,
        seconds: 0.0,
        bytes_pushed: 0,
    };
    // The fingerprint tag in the registry means the whole image is there (it is pushed
    // last): nothing to build or push.
    if let (Some(credentials), false) = (&options.push, options.rebuild) {
        if let Some(digest) = remote_digest(engine, &reference, credentials).await? {
            progress.event(Event::BuildOutput {
                image: reference.clone(),
                line: format!("already pushed ({digest})"),
            });
            built.outcome = BuildOutcome::AlreadyPushed;
            built.digest = Some(digest);
            built.seconds = seconds(start);
            return Ok(built);
        }
    }
    built.outcome = build_locally(engine, image, root, options, progress)
        .await
        .map_err(|error| naming_services(error, image))?;
    for tag in &image.extra_tags {
        tag_as(engine, &reference, &image.repository, tag).await?;
    }
    built.id = engine
        .docker()
        .inspect_image(&reference)
        .await
        .map_err(|e| explain(format!("inspecting image {reference}"), &e))?
        .id;
    if let Some(credentials) = &options.push {
        // The short-commit tag first, the fingerprint tag last: its presence is what
        // "already pushed" trusts.
        for tag in image.extra_tags.iter().chain([&image.fingerprint]) {
            let pushed = push(engine, &image.repository, tag, credentials)
                .await
                .map_err(|error| naming_services(error, image))?;
            built.bytes_pushed += pushed.bytes;
            built.digest = pushed.digest.or(built.digest);
        }
        if built.digest.is_none() {
            built.digest = remote_digest(engine, &reference, credentials).await?;
        }
        built.pushed = true;
        progress.event(Event::BuildOutput {
            image: reference.clone(),
            line: format!(
                "pushed {} ({} bytes)",
                built.digest.as_deref().unwrap_or("no digest reported"),
                built.bytes_pushed
            ),
        });
    }
    built.seconds = seconds(start);
    Ok(built)
}

/// Builds the image in the engine unless its fingerprint tag is there already.
async fn build_locally(
    engine: &Engine,
    image: &ReleaseImage,
    root: &Path,
    options: &ReleaseOptions,
    progress: &dyn Progress,
) -> Result<BuildOutcome, SimError> {
    let start = Instant::now();
    let reference = image.reference();
    let reused = !options.rebuild && exists(engine, &reference).await?;
    if !reused {
        let context = read_context(root, &image.build).await?;
        let labels = labels(image, options);
        let request = BuildRequest {
            build: &image.build,
            tag: &reference,
            labels: &labels,
            image: &reference,
            fresh: options.rebuild,
        };
        engine_build(engine, context, &request, progress).await?;
    }
    progress.event(Event::BuildFinished {
        image: reference,
        cached: reused,
        elapsed: start.elapsed(),
    });
    Ok(if reused {
        BuildOutcome::Reused
    } else {
        BuildOutcome::Built
    })
}

/// A build or push error that names the services whose image it is.
fn naming_services(error: SimError, image: &ReleaseImage) -> SimError {
    let of = |name: String| format!("{name} (the image of {})", image.containers.join(", "));
    match error {
        SimError::BuildFailed {
            image: name,
            step,
            output,
        } => SimError::BuildFailed {
            image: of(name),
            step,
            output,
        },
        SimError::Registry {
            doing,
            image: name,
            registry,
            detail,
            help,
        } => SimError::Registry {
            doing,
            image: of(name),
            registry,
            detail,
            help,
        },
        other => other,
    }
}

/// Seconds since `start`, to the millisecond (plenty, and reports stay short).
fn seconds(start: Instant) -> f64 {
    (start.elapsed().as_secs_f64() * 1000.0).round() / 1000.0
}

/// The OCI labels (revision, source, created) and the fingerprint.
fn labels<'a>(image: &ReleaseImage, options: &ReleaseOptions) -> HashMap<&'a str, String> {
    let mut labels = HashMap::from([
        (FINGERPRINT_LABEL, image.fingerprint.clone()),
        (
            CREATED_LABEL,
            humantime::format_rfc3339_seconds(SystemTime::now()).to_string(),
        ),
    ]);
    if let Some(revision) = &options.revision {
        labels.insert(REVISION_LABEL, revision.clone());
    }
    if let Some(source) = &options.source {
        labels.insert(SOURCE_LABEL, source.clone());
    }
    labels
}
