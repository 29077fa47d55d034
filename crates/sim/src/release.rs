//! Production images: each built once from its service's production target, tagged by its
//! fingerprint (what a plan deploys) and by the short commit, labelled with where it came
//! from. The same engine builder as prod-sim (`build.rs`); what differs is the tag, which
//! is given (the fingerprint of the sources in git), not computed from the context.
//!
//! An image already tagged with its fingerprint in the engine is not built again: the
//! fingerprint covers everything the build reads.

use std::collections::HashMap;
use std::path::Path;
use std::time::{Instant, SystemTime};

use futures_util::{StreamExt as _, TryStreamExt as _};
use topo_core::release::{BuildOutcome, BuildReport, BuiltImage, BUILD_REPORT_VERSION};
use topo_core::spec::BuildSpec;

use crate::build::{engine_build, exists, read_context, tag_as, REVISION_LABEL};
use crate::engine::Engine;
use crate::error::{explain, SimError};
use crate::progress::{Event, Progress};

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
}

impl Default for ReleaseOptions {
    fn default() -> Self {
        ReleaseOptions {
            jobs: 2,
            rebuild: false,
            revision: None,
            source: None,
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
    let reused = !options.rebuild && exists(engine, &reference).await?;
    if reused {
        progress.event(Event::BuildFinished {
            image: reference.clone(),
            cached: true,
            elapsed: start.elapsed(),
        });
    } else {
        let context = read_context(root, &image.build).await?;
        let labels = labels(image, options);
        engine_build(
            engine,
            context,
            &image.build,
            &reference,
            &labels,
            &reference,
            progress,
        )
        .await?;
        progress.event(Event::BuildFinished {
            image: reference.clone(),
            cached: false,
            elapsed: start.elapsed(),
        });
    }
    for tag in &image.extra_tags {
        tag_as(engine, &reference, &image.repository, tag).await?;
    }
    let id = engine
        .docker()
        .inspect_image(&reference)
        .await
        .map_err(|e| explain(format!("inspecting image {reference}"), &e))?
        .id
        .unwrap_or_default();
    Ok(BuiltImage {
        image: reference,
        containers: image.containers.clone(),
        fingerprint: image.fingerprint.clone(),
        tags: std::iter::once(image.fingerprint.clone())
            .chain(image.extra_tags.iter().cloned())
            .collect(),
        id,
        digest: None,
        outcome: if reused {
            BuildOutcome::Reused
        } else {
            BuildOutcome::Built
        },
        // Milliseconds are plenty, and keep reports short.
        seconds: (start.elapsed().as_secs_f64() * 1000.0).round() / 1000.0,
        bytes_pushed: 0,
    })
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
