//! Builds through BuildKit: the engine's `/build` with `version=2` and a gRPC session (the
//! way `docker buildx` and Compose build), so a Dockerfile that Compose builds — cache mounts
//! (`RUN --mount=type=cache`), bind mounts from other stages, stages the target does not need
//! skipped, independent stages in parallel — builds here too.
//!
//! The engine reports progress as BuildKit vertices (one per instruction, named as
//! `[stage n/m] INSTRUCTION`) with their logs; a failing vertex is the failing step, its last
//! lines the output shown. Where the engine offers no BuildKit (or `DOCKER_BUILDKIT=0` asks
//! for the classic builder, as for the docker CLI), the classic builder builds, said once;
//! a Dockerfile that needs BuildKit then fails naming its line ([`needs_buildkit`]).

use std::collections::{HashMap, VecDeque};

use bollard::models::{BuildInfo, BuildInfoAux};
use bollard::query_parameters::BuilderVersion;
use futures_util::StreamExt as _;

use crate::build::{build_failure, BuildRequest, FAILED_OUTPUT_LINES};
use crate::engine::Engine;
use crate::error::{engine_message, explain, SimError};
use crate::progress::{Event, Progress};

/// Which builder the engine builds with.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Builder {
    /// BuildKit, through a session.
    BuildKit,
    /// The classic builder, and why BuildKit is not used.
    Classic(String),
}

/// BuildKit, unless `DOCKER_BUILDKIT` is `0`/`false` or the engine is older than BuildKit
/// through the API (API 1.39, Docker 18.09) or not Linux.
pub async fn choose(engine: &Engine) -> Builder {
    if let Ok(value) = std::env::var("DOCKER_BUILDKIT") {
        if matches!(value.trim(), "0" | "false") {
            return Builder::Classic("DOCKER_BUILDKIT=0".to_owned());
        }
    }
    match engine.docker().version().await {
        Ok(version) => {
            let api = version.api_version.unwrap_or_default();
            let os = version.os.unwrap_or_default();
            if !os.is_empty() && os != "linux" {
                Builder::Classic(format!("the engine runs on {os}"))
            } else if api_at_least(&api, 1, 39) {
                Builder::BuildKit
            } else {
                Builder::Classic(format!("the engine's API {api} predates BuildKit (1.39)"))
            }
        }
        Err(error) => Builder::Classic(format!(
            "the engine's version is unknown ({})",
            engine_message(&error)
        )),
    }
}

fn api_at_least(api: &str, major: u32, minor: u32) -> bool {
    let mut parts = api.split('.').map(|p| p.parse::<u32>().unwrap_or(0));
    let found = (parts.next().unwrap_or(0), parts.next().unwrap_or(0));
    found >= (major, minor)
}

/// Builds `tar` (a context holding the Dockerfile) through BuildKit as `request` says.
pub(crate) async fn build(
    engine: &Engine,
    tar: Vec<u8>,
    request: &BuildRequest<'_>,
    progress: &dyn Progress,
) -> Result<(), SimError> {
    if !request.build.secrets.is_empty() {
        return build_with_secrets(engine, tar, request, progress).await;
    }
    let session = session_id(request.tag);
    let options = request
        .options()
        .version(BuilderVersion::BuilderBuildKit)
        .session(&session)
        .build();
    let stream = engine
        .docker()
        .build_image(options, None, Some(bollard::body_full(tar.into())));
    follow(stream, request.image, progress).await
}

/// Builds through BuildKit's solve with the build's secrets served from this process's
/// environment (`RUN --mount=type=secret,id=NAME` reads the variable NAME): a secret is
/// never in the context, a layer, a label or an argument. bollard's build session serves
/// registry auth only, so builds with secrets go through its BuildKit driver, which reports
/// no step progress: the output is the solve's result.
async fn build_with_secrets(
    engine: &Engine,
    tar: Vec<u8>,
    request: &BuildRequest<'_>,
    progress: &dyn Progress,
) -> Result<(), SimError> {
    use bollard::grpc::build::{ImageBuildFrontendOptions, ImageBuildLoadInput, SecretSource};
    let secrets = &request.build.secrets;
    let unset: Vec<&str> = secrets
        .iter()
        .filter(|name| std::env::var_os(name).is_none_or(|v| v.is_empty()))
        .map(String::as_str)
        .collect();
    if !unset.is_empty() {
        return Err(SimError::BuildFailed {
            image: request.image.to_owned(),
            step: "its build secrets".to_owned(),
            output: format!(
                "the build reads the secret{} {} from the environment, and {} not set: set {} (in CI, from the repository's secrets)",
                if secrets.len() == 1 { "" } else { "s" },
                secrets.join(", "),
                if unset.len() == 1 { "it is" } else { "these are" },
                unset.join(", ")
            ),
        });
    }
    progress.event(Event::BuildOutput {
        image: request.image.to_owned(),
        line: format!(
            "building with the secret{} {} (BuildKit's solve: no step progress)",
            if secrets.len() == 1 { "" } else { "s" },
            secrets.join(", ")
        ),
    });
    let mut options = ImageBuildFrontendOptions::builder()
        .dockerfile(std::path::Path::new(&request.build.dockerfile))
        .target(&request.build.target)
        .nocache(request.fresh);
    for (name, value) in &request.build.args {
        options = options.buildarg(name, value);
    }
    for (name, value) in request.labels {
        options = options.label(name, value);
    }
    for name in secrets {
        options = options.set_secret(name, &SecretSource::Env(name.clone()));
    }
    let driver = bollard::grpc::driver::moby::Moby::new(engine.docker());
    let load = ImageBuildLoadInput::Upload(bytes::Bytes::from(tar));
    bollard::grpc::driver::Build::docker_build(
        driver,
        request.tag,
        options.build(),
        load,
        None,
        None,
    )
    .await
    .map_err(|error| SimError::BuildFailed {
        image: request.image.to_owned(),
        step: "the build (with secrets)".to_owned(),
        output: error.to_string(),
    })
}

/// A session id no other build of this process shares.
fn session_id(tag: &str) -> String {
    use sha2::Digest as _;
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos());
    let digest = sha2::Sha256::digest(format!("{tag} {nanos} {}", std::process::id()));
    format!("topo-{:x}", digest)[..30].to_owned()
}

/// What the build said so far: each vertex's name and last log lines.
#[derive(Default)]
struct Vertices {
    names: HashMap<String, String>,
    logs: HashMap<String, VecDeque<String>>,
    started: std::collections::HashSet<String>,
    failed: Option<(String, String)>,
}

impl Vertices {
    /// Takes one status message in; the lines to show.
    fn take(&mut self, status: bollard::moby::buildkit::v1::StatusResponse) -> Vec<String> {
        let mut lines = Vec::new();
        for vertex in status.vertexes {
            self.names
                .insert(vertex.digest.clone(), vertex.name.clone());
            if vertex.started.is_some() && self.started.insert(vertex.digest.clone()) {
                lines.push(vertex.name.clone());
            }
            if vertex.cached && vertex.completed.is_some() {
                lines.push(format!("{} (cached)", vertex.name));
            }
            if !vertex.error.is_empty() && self.failed.is_none() {
                self.failed = Some((vertex.digest.clone(), vertex.error.clone()));
            }
        }
        for log in status.logs {
            let text = String::from_utf8_lossy(&log.msg).into_owned();
            let kept = self.logs.entry(log.vertex).or_default();
            for line in text.lines().map(str::trim_end).filter(|l| !l.is_empty()) {
                if kept.len() == FAILED_OUTPUT_LINES {
                    kept.pop_front();
                }
                kept.push_back(line.to_owned());
                lines.push(line.to_owned());
            }
        }
        lines
    }

    /// The failure: the failing vertex's name, its last lines and the error.
    fn failure(&self, image: &str, message: &str) -> SimError {
        let (step, output) = match &self.failed {
            Some((digest, _)) => (
                self.names.get(digest).cloned().unwrap_or_default(),
                self.logs
                    .get(digest)
                    .map(|l| l.iter().cloned().collect::<Vec<_>>())
                    .unwrap_or_default(),
            ),
            None => ("the build".to_owned(), Vec::new()),
        };
        let message = match &self.failed {
            Some((_, error)) if !message.contains(error.as_str()) => format!("{error}: {message}"),
            _ => message.to_owned(),
        };
        build_failure(image, &step, &output, &message)
    }
}

/// Follows a BuildKit build's output; a failure names the failing vertex and its last lines.
async fn follow(
    mut stream: impl futures_util::Stream<Item = Result<BuildInfo, bollard::errors::Error>> + Unpin,
    image: &str,
    progress: &dyn Progress,
) -> Result<(), SimError> {
    let mut vertices = Vertices::default();
    while let Some(item) = stream.next().await {
        let info = match item {
            Ok(info) => info,
            Err(bollard::errors::Error::DockerStreamError { error }) => {
                return Err(vertices.failure(image, &error))
            }
            Err(error @ bollard::errors::Error::DockerResponseServerError { .. }) => {
                return Err(vertices.failure(image, &engine_message(&error)))
            }
            Err(error) => return Err(explain(format!("building {image}"), &error)),
        };
        if let Some(detail) = info.error_detail.and_then(|d| d.message) {
            return Err(vertices.failure(image, &detail));
        }
        if let Some(BuildInfoAux::BuildKit(status)) = info.aux {
            for line in vertices.take(status) {
                progress.event(Event::BuildOutput {
                    image: image.to_owned(),
                    line,
                });
            }
        }
    }
    if let Some((_, error)) = &vertices.failed {
        return Err(vertices.failure(image, error));
    }
    Ok(())
}

/// The first line of a Dockerfile that only BuildKit builds, and why: what the classic
/// builder's refusal is explained with.
pub fn needs_buildkit(dockerfile: &str) -> Option<(usize, &'static str)> {
    for (index, line) in dockerfile.lines().enumerate() {
        let words: Vec<&str> = line.split_whitespace().collect();
        let instruction = words.first().map(|w| w.to_ascii_uppercase());
        let flags = || words.iter().skip(1).take_while(|w| w.starts_with("--"));
        let why = match instruction.as_deref() {
            None => None,
            Some(first) if first.starts_with('#') => line
                .trim_start()
                .trim_start_matches('#')
                .trim()
                .to_ascii_lowercase()
                .starts_with("syntax=")
                .then_some("a `# syntax=` frontend directive"),
            Some("RUN") if flags().any(|f| f.starts_with("--mount")) => {
                Some("`RUN --mount` (cache, bind, secret or tmpfs mounts)")
            }
            Some("RUN")
                if flags().any(|f| f.starts_with("--network") || f.starts_with("--security")) =>
            {
                Some("`RUN --network`/`--security`")
            }
            Some("COPY" | "ADD") if flags().any(|f| *f == "--link" || f.starts_with("--link=")) => {
                Some("`COPY --link`")
            }
            Some("COPY" | "ADD")
                if flags().any(|f| f.starts_with("--parents") || f.starts_with("--exclude")) =>
            {
                Some("`COPY --parents`/`--exclude`")
            }
            Some("RUN" | "COPY") if words.iter().any(|w| w.starts_with("<<")) => {
                Some("a heredoc (`<<EOF`)")
            }
            _ => None,
        };
        if let Some(why) = why {
            return Some((index + 1, why));
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dockerfiles_that_need_buildkit_are_found_by_line() {
        let check = |dockerfile: &str, expect: Option<(usize, &str)>| {
            assert_eq!(needs_buildkit(dockerfile), expect, "{dockerfile}");
        };
        check("FROM busybox\nRUN echo hi\nCOPY . /app\n", None);
        check(
            "FROM busybox\n# a comment\nRUN --mount=type=cache,target=/c echo hi\n",
            Some((3, "`RUN --mount` (cache, bind, secret or tmpfs mounts)")),
        );
        check(
            "FROM busybox AS a\ncopy --link --chown=1 a /b\n",
            Some((2, "`COPY --link`")),
        );
        check(
            "FROM busybox\nRUN <<EOF\necho hi\nEOF\n",
            Some((2, "a heredoc (`<<EOF`)")),
        );
        check(
            "# syntax=docker/dockerfile:1.7\nFROM busybox\n",
            Some((1, "a `# syntax=` frontend directive")),
        );
        check("FROM busybox\nRUN echo --mount\n", None);
    }

    #[test]
    fn api_versions_compare_as_numbers() {
        assert!(api_at_least("1.41", 1, 39));
        assert!(api_at_least("1.39", 1, 39));
        assert!(!api_at_least("1.38", 1, 39));
        assert!(api_at_least("2.0", 1, 39));
        assert!(!api_at_least("", 1, 39));
    }
}
