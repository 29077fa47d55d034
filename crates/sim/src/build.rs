//! Images: built from the spec's build sections inside the engine, or pulled.
//!
//! Each distinct image is built once (the worker runs the server's image), at most `jobs`
//! at a time. An image is tagged `<project>-<role>:<digest>` — the digest of its build
//! context, Dockerfile and target — and then under the spec's tag (`:prod-sim`), which is
//! what containers run, exactly as Compose would name it. A second `up` on the same sources
//! finds the digest tag and sends nothing.
//!
//! The only label added is the source revision: the engine's classic builder turns every
//! label into one more committed step (about a second each on this kind of storage), and
//! the digest needs no label, being the tag.

use std::collections::{BTreeMap, HashMap, VecDeque};
use std::path::Path;
use std::time::{Duration, Instant};

use bollard::query_parameters::{
    BuildImageOptionsBuilder, CreateImageOptionsBuilder, TagImageOptionsBuilder,
};
use futures_util::{StreamExt as _, TryStreamExt as _};
use serde::Serialize;
use topo_core::spec::{BuildSpec, ImageRef, RuntimeSpec};

use crate::buildkit::{needs_buildkit, Builder};
use crate::context::Context;
use crate::engine::Engine;
use crate::error::{engine_message, explain, is_not_found, SimError};
use crate::progress::{Event, Progress};
use crate::translate::{image_reference, Variables};

/// The OCI label holding the source revision.
pub const REVISION_LABEL: &str = "org.opencontainers.image.revision";
/// How many lines of a failing step's output an error shows.
pub(crate) const FAILED_OUTPUT_LINES: usize = 30;

/// A failed build of `image` at `step`: its last `lines` and the builder's `message`, or an
/// engine out of disk.
pub(crate) fn build_failure(image: &str, step: &str, lines: &[String], message: &str) -> SimError {
    if message.contains("no space left on device") {
        return SimError::OutOfDisk {
            context: format!("building {image}"),
            detail: message.to_owned(),
        };
    }
    let mut output: Vec<&str> = lines.iter().map(String::as_str).collect();
    output.push(message);
    SimError::BuildFailed {
        image: image.to_owned(),
        step: step.to_owned(),
        output: output.join("\n"),
    }
}

/// How images are built.
#[derive(Clone, Debug)]
pub struct BuildOptions {
    /// Builds running at once.
    pub jobs: usize,
    /// Build even when an image of the same sources exists (the engine's layer cache
    /// still applies).
    pub rebuild: bool,
    /// The source revision recorded in each image's labels.
    pub revision: Option<String>,
}

impl Default for BuildOptions {
    fn default() -> Self {
        BuildOptions {
            jobs: 4,
            rebuild: false,
            revision: None,
        }
    }
}

/// One image made ready.
#[derive(Clone, Debug, Serialize)]
pub struct ImageReport {
    /// The reference containers run (`vendure-server:prod-sim`).
    pub image: String,
    /// The content tag (`vendure-server:3f2a…`), for built images.
    pub tag: Option<String>,
    /// `built`, `reused` (same sources already built), `present` (not built here, in the
    /// engine already) or `pulled`.
    pub how: &'static str,
    /// Milliseconds spent.
    pub elapsed_ms: u64,
}

/// Makes every image of `spec` available: builds what the spec builds, pulls what is missing.
pub async fn prepare_images(
    engine: &Engine,
    spec: &RuntimeSpec,
    root: &Path,
    variables: &dyn Variables,
    options: &BuildOptions,
    progress: &dyn Progress,
) -> Result<Vec<ImageReport>, SimError> {
    let mut builds: BTreeMap<String, (ImageRef, &BuildSpec)> = BTreeMap::new();
    let mut pulls = Vec::new();
    for container in &spec.containers {
        let image = image_reference(container, variables)?;
        match &container.build {
            Some(build) => {
                builds.entry(image.to_string()).or_insert((image, build));
            }
            None if !pulls.contains(&image.to_string()) => pulls.push(image.to_string()),
            None => {}
        }
    }
    let built = futures_util::stream::iter(builds)
        .map(|(_, (image, build))| build_one(engine, image, build, root, options, progress))
        .buffer_unordered(options.jobs.max(1))
        .try_collect::<Vec<_>>();
    let pulled = futures_util::stream::iter(pulls)
        .map(|image| ensure_present(engine, image, None))
        .buffer_unordered(4)
        .try_collect::<Vec<_>>();
    let (mut built, pulled) = futures_util::try_join!(built, pulled)?;
    built.extend(pulled);
    built.sort_by(|a, b| a.image.cmp(&b.image));
    Ok(built)
}

async fn build_one(
    engine: &Engine,
    reference: ImageRef,
    build: &BuildSpec,
    root: &Path,
    options: &BuildOptions,
    progress: &dyn Progress,
) -> Result<ImageReport, SimError> {
    let start = Instant::now();
    let image = reference.to_string();
    let context = read_context(root, build).await?;
    let content_tag = reference.with_tag(&context.digest).to_string();
    let cached = !options.rebuild && exists(engine, &content_tag).await?;
    if cached {
        progress.event(Event::BuildFinished {
            image: image.clone(),
            cached: true,
            elapsed: start.elapsed(),
        });
    } else {
        let labels: HashMap<&str, String> = options
            .revision
            .iter()
            .map(|revision| (REVISION_LABEL, revision.clone()))
            .collect();
        let request = BuildRequest {
            build,
            tag: &content_tag,
            labels: &labels,
            image: &image,
            fresh: options.rebuild,
        };
        engine_build(engine, context, &request, progress).await?;
        progress.event(Event::BuildFinished {
            image: image.clone(),
            cached: false,
            elapsed: start.elapsed(),
        });
    }
    let tag = reference.tag_or_latest().unwrap_or("latest");
    tag_as(engine, &content_tag, &reference.full_name(), tag).await?;
    Ok(ImageReport {
        image,
        tag: Some(content_tag),
        how: if cached { "reused" } else { "built" },
        elapsed_ms: millis(start.elapsed()),
    })
}

/// The build context of `build` under `root`, read off the async threads.
pub(crate) async fn read_context(root: &Path, build: &BuildSpec) -> Result<Context, SimError> {
    let context_dir = root.join(&build.context);
    let (dockerfile, target) = (build.dockerfile.clone(), build.target.clone());
    let args = build.args.clone();
    tokio::task::spawn_blocking(move || {
        Context::read(&context_dir, &dockerfile, &target).map(|c| c.with_build_args(&args))
    })
    .await
    .expect("reading a context does not panic")
}

/// One image to build: from which build section, under which tag, with which labels.
pub(crate) struct BuildRequest<'a> {
    /// The Dockerfile, target and context.
    pub build: &'a BuildSpec,
    /// The tag the image gets.
    pub tag: &'a str,
    /// Its labels.
    pub labels: &'a HashMap<&'a str, String>,
    /// The image its output is reported as.
    pub image: &'a str,
    /// Ignore the builder's cache (`--rebuild`).
    pub fresh: bool,
}

impl BuildRequest<'_> {
    /// What both builders are told: Dockerfile, tag, target, labels, arguments, cache.
    pub(crate) fn options(&self) -> BuildImageOptionsBuilder {
        BuildImageOptionsBuilder::default()
            .dockerfile(&self.build.dockerfile)
            .t(self.tag)
            .target(&self.build.target)
            .labels(self.labels)
            .buildargs(&self.build.args.iter().collect::<HashMap<_, _>>())
            .nocache(self.fresh)
    }
}

/// Builds `context` in the engine as `request` says: through BuildKit where the engine offers
/// it, else with the classic builder (said once; a Dockerfile that needs BuildKit is then
/// refused naming its line).
pub(crate) async fn engine_build(
    engine: &Engine,
    context: Context,
    request: &BuildRequest<'_>,
    progress: &dyn Progress,
) -> Result<(), SimError> {
    progress.event(Event::BuildStarted {
        image: request.image.to_owned(),
    });
    let dockerfile = context.dockerfile_text();
    let tar = tokio::task::spawn_blocking(move || context.tar())
        .await
        .expect("writing a tar in memory does not panic")?;
    let why_classic = match engine.builder().await {
        Builder::BuildKit => return crate::buildkit::build(engine, tar, request, progress).await,
        Builder::Classic(why) => why.clone(),
    };
    if engine.first_classic_build() {
        progress.event(Event::BuildOutput {
            image: request.image.to_owned(),
            line: format!("the classic builder builds: no BuildKit ({why_classic})"),
        });
    }
    let options = request.options().rm(true).forcerm(true).build();
    let stream = engine
        .docker()
        .build_image(options, None, Some(bollard::body_full(tar.into())));
    run_build(stream, request.image, progress)
        .await
        .map_err(|error| match (error, dockerfile.as_deref().and_then(needs_buildkit)) {
            (SimError::BuildFailed { image, .. }, Some((line, what))) => SimError::BuildFailed {
                image,
                step: format!("{}:{line}", request.build.dockerfile),
                output: format!(
                    "{what} needs BuildKit, and this engine builds without it ({why_classic}): use an engine with BuildKit (Docker 18.09 or later, DOCKER_BUILDKIT unset), or rewrite the line"
                ),
            },
            (error, _) => error,
        })
}

/// Tags the image `source` as `repository:tag`.
pub(crate) async fn tag_as(
    engine: &Engine,
    source: &str,
    repository: &str,
    tag: &str,
) -> Result<(), SimError> {
    let options = TagImageOptionsBuilder::default()
        .repo(repository)
        .tag(tag)
        .build();
    engine
        .docker()
        .tag_image(source, Some(options))
        .await
        .map_err(|e| explain(format!("tagging {source} as {repository}:{tag}"), &e))
}

/// Whether an image is tagged `tag`.
pub(crate) async fn exists(engine: &Engine, tag: &str) -> Result<bool, SimError> {
    match engine.docker().inspect_image(tag).await {
        Ok(_) => Ok(true),
        Err(error) if is_not_found(&error) => Ok(false),
        Err(error) => Err(explain(format!("inspecting image {tag}"), &error)),
    }
}

/// Follows a build's output; a failure names the failing step and its last lines.
async fn run_build(
    mut stream: impl futures_util::Stream<Item = Result<bollard::models::BuildInfo, bollard::errors::Error>>
        + Unpin,
    image: &str,
    progress: &dyn Progress,
) -> Result<(), SimError> {
    let mut step = String::from("the start of the build");
    let mut since_step: VecDeque<String> = VecDeque::new();
    let failed = |step: &str, since_step: &VecDeque<String>, message: &str| {
        let lines: Vec<String> = since_step.iter().cloned().collect();
        build_failure(image, step, &lines, message)
    };
    while let Some(item) = stream.next().await {
        let info = match item {
            Ok(info) => info,
            Err(bollard::errors::Error::DockerStreamError { error }) => {
                return Err(failed(&step, &since_step, &error))
            }
            Err(error)
                if matches!(
                    error,
                    bollard::errors::Error::DockerResponseServerError { .. }
                ) =>
            {
                return Err(failed(&step, &since_step, &engine_message(&error)))
            }
            Err(error) => return Err(explain(format!("building {image}"), &error)),
        };
        if let Some(detail) = info.error_detail.and_then(|d| d.message) {
            return Err(failed(&step, &since_step, &detail));
        }
        for line in info.stream.iter().flat_map(|s| s.lines()) {
            let line = line.trim_end();
            if line.is_empty() {
                continue;
            }
            if line.starts_with("Step ") {
                step = line.to_owned();
                since_step.clear();
            } else {
                if since_step.len() == FAILED_OUTPUT_LINES {
                    since_step.pop_front();
                }
                since_step.push_back(line.to_owned());
            }
            progress.event(Event::BuildOutput {
                image: image.to_owned(),
                line: line.to_owned(),
            });
        }
    }
    Ok(())
}

/// An image the spec runs but does not build: present, or pulled, or explained.
pub(crate) async fn ensure_present(
    engine: &Engine,
    image: String,
    credentials: Option<&crate::registry::Credentials>,
) -> Result<ImageReport, SimError> {
    let start = Instant::now();
    let docker = engine.docker();
    match docker.inspect_image(&image).await {
        Ok(_) => {
            return Ok(ImageReport {
                image,
                tag: None,
                how: "present",
                elapsed_ms: millis(start.elapsed()),
            })
        }
        Err(error) if is_not_found(&error) => {}
        Err(error) => return Err(explain(format!("inspecting image {image}"), &error)),
    }
    let options = CreateImageOptionsBuilder::default()
        .from_image(&image)
        .build();
    let auth = credentials.and_then(|c| {
        let registry = ImageRef::parse(&image).ok().and_then(|i| i.registry);
        crate::registry::engine_auth(c, registry.as_deref())
    });
    let mut pull = docker.create_image(Some(options), None, auth);
    while let Some(item) = pull.next().await {
        let detail = match item {
            Ok(info) => info.error_detail.and_then(|d| d.message),
            Err(error) => Some(engine_message(&error)),
        };
        if let Some(detail) = detail {
            return Err(SimError::ImageMissing { image, detail });
        }
    }
    Ok(ImageReport {
        image,
        tag: None,
        how: "pulled",
        elapsed_ms: millis(start.elapsed()),
    })
}

/// Whole milliseconds, for reports.
pub fn millis(duration: Duration) -> u64 {
    u64::try_from(duration.as_millis()).unwrap_or(u64::MAX)
}
