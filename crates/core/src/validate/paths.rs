//! Paths: build contexts stay inside the repository, generated paths inside the source
//! path, volumes at absolute paths; read into a [`Build`].

use std::path::{Component, Path};

use std::collections::BTreeMap;

use crate::diagnostic::Diagnostic;
use crate::model::Service;
use crate::valid::Build;
use crate::Spanned;

/// The build a service describes with `context` (and `dockerfile`, `targets`,
/// `source_path`, `generated`), checked. `None` without a context.
pub(super) fn build(
    service: &Service,
    repository: Option<&Path>,
    out: &mut Vec<Diagnostic>,
) -> Option<Build> {
    let context = service.context.as_ref()?;
    if escapes(context) {
        out.push(
            Diagnostic::error("context-escapes-repository", format!("the build context of `{}` is outside the repository", service.role))
                .at(context.span(), "absolute, or climbs out with `..`")
                .help("write the context relative to the topology file's directory, inside it (e.g. \"apps/server\")"),
        );
    } else if let Some(root) = repository {
        on_disk(service, context, root, out);
    }
    let (source_path, generated) = source_and_generated(service, out);
    let (dev_args, prod_args) = super::values::build_args(service, out);
    Some(Build {
        context: context.to_string(),
        dockerfile: service.dockerfile().to_owned(),
        dev_target: service.targets.dev.to_string(),
        prod_target: service.targets.prod.to_string(),
        dev_args,
        prod_args,
        secrets: super::values::build_secrets(service, out),
        source_path,
        generated,
    })
}

/// Checks the paths a service writes without building from them: a service on another's
/// image reports its own `context` as a conflict, and its paths are still checked here.
pub(super) fn dockerfile(service: &Service, out: &mut Vec<Diagnostic>) {
    if let Some(dockerfile) = &service.dockerfile {
        if escapes(dockerfile) {
            out.push(
                Diagnostic::error(
                    "context-escapes-repository",
                    format!(
                        "the Dockerfile of `{}` is outside its build context",
                        service.role
                    ),
                )
                .at(dockerfile.span(), "absolute, or climbs out with `..`")
                .help("write the Dockerfile's path relative to the context"),
            );
        }
    }
}

/// Warns when the context or its Dockerfile is missing from the repository.
fn on_disk(service: &Service, context: &Spanned<String>, root: &Path, out: &mut Vec<Diagnostic>) {
    let directory = root.join(context.as_str());
    if !directory.is_dir() {
        out.push(
            Diagnostic::warning(
                "context-missing",
                format!("the build context `{context}` does not exist"),
            )
            .at(
                context.span(),
                format!("no directory {}", directory.display()),
            )
            .help("create it, or fix the path; rendering works, building will not"),
        );
    } else if !directory.join(service.dockerfile()).is_file() {
        let span = service
            .dockerfile
            .as_ref()
            .and_then(Spanned::span)
            .or(context.span());
        out.push(
            Diagnostic::warning(
                "dockerfile-missing",
                format!("`{}` has no {}", context, service.dockerfile()),
            )
            .at(span, "not found in the build context")
            .help("add the Dockerfile with `dev` and `prod` targets, or set `dockerfile`"),
        );
    }
}

/// Runtime state: every volume's container path is absolute.
pub(super) fn volumes(service: &Service, out: &mut Vec<Diagnostic>) -> BTreeMap<String, String> {
    let example = |path: &str| format!("{}/{path}", service.source_path());
    absolute_volumes(&service.role, &service.volumes, example, out)
}

/// Volumes (purpose → container path) of the container `role`, each path absolute; a
/// relative one is reported with `example(path)` as the path to write.
pub(super) fn absolute_volumes(
    role: &str,
    volumes: &BTreeMap<Spanned<String>, Spanned<String>>,
    example: impl Fn(&str) -> String,
    out: &mut Vec<Diagnostic>,
) -> BTreeMap<String, String> {
    for (purpose, path) in volumes {
        if !path.starts_with('/') {
            out.push(
                Diagnostic::error(
                    "path-not-absolute",
                    format!("the volume `{purpose}` of `{role}` needs an absolute container path"),
                )
                .at(path.span(), "relative")
                .help(format!("write the full path, e.g. \"{}\"", example(path))),
            );
        }
    }
    volumes
        .iter()
        .map(|(purpose, path)| (purpose.to_string(), path.to_string()))
        .collect()
}

/// The source path and the generated paths relative to it, normalised.
fn source_and_generated(service: &Service, out: &mut Vec<Diagnostic>) -> (String, Vec<String>) {
    let source = service.source_path();
    if let Some(path) = &service.source_path {
        if !path.starts_with('/') || has_parent(path) {
            out.push(
                Diagnostic::error(
                    "path-not-absolute",
                    format!(
                        "the source path of `{}` must be an absolute container path",
                        service.role
                    ),
                )
                .at(path.span(), "not absolute")
                .help("e.g. \"/usr/src/app\""),
            );
        }
    }
    let mut seen: Vec<String> = Vec::new();
    for generated in &service.generated {
        let normalised = relative_to_source(generated, source);
        if generated.contains(['*', '?', '[', '{']) {
            out.push(
                Diagnostic::error("generated-path-glob", format!("the generated path `{generated}` of `{}` is a glob", service.role))
                    .at(generated.span(), "a pattern, not a path")
                    .help("each generated path gets its own named volume in dev: list the directories themselves (\"node_modules\", \"apps/web/.next\")"),
            );
        } else if !generated_inside(generated, source) {
            out.push(
                Diagnostic::error("generated-path-outside-source", format!("the generated path `{generated}` of `{}` is not inside its source path `{source}`", service.role))
                    .at(generated.span(), "outside the source path")
                    .help("generated paths are relative to the source path (\"node_modules\", \"dist\", \".next\")"),
            );
        } else if seen.contains(&normalised) {
            out.push(
                Diagnostic::error(
                    "duplicate-name",
                    format!("`{generated}` is listed twice in `generated`"),
                )
                .at(generated.span(), "remove the repetition"),
            );
        }
        seen.push(normalised);
    }
    seen.retain(|g| !g.is_empty());
    (source.to_owned(), seen)
}

/// A generated path relative to the source path, normalised: `/app/dist` with source
/// `/app` → `dist`, `./node_modules/` → `node_modules`; empty when it names the source
/// path itself or lies outside it.
pub(crate) fn relative_to_source(generated: &str, source: &str) -> String {
    let relative = if generated.starts_with('/') {
        match Path::new(generated).strip_prefix(source) {
            Ok(rest) => rest.to_string_lossy().into_owned(),
            Err(_) => return String::new(),
        }
    } else {
        generated.to_owned()
    };
    relative
        .split('/')
        .filter(|part| !part.is_empty() && *part != ".")
        .collect::<Vec<_>>()
        .join("/")
}

/// One path in the container, one mount: the engine refuses a container with two mounts
/// at one path (a volume at the source path, or at a generated path, or two volumes). In
/// dev a service mounts the source and generated paths of the image it runs (`build`).
pub(super) fn mount_points(service: &Service, build: &Build, out: &mut Vec<Diagnostic>) {
    let source = build.source_path.trim_end_matches('/');
    let mut taken: Vec<String> = vec![source.to_owned()];
    taken.extend(build.generated.iter().map(|g| format!("{source}/{g}")));
    for (purpose, path) in &service.volumes {
        let target = path.trim_end_matches('/');
        if taken.iter().any(|t| t == target) {
            out.push(
                Diagnostic::error(
                    "duplicate-mount",
                    format!(
                        "the volume `{purpose}` of `{}` is mounted at `{path}`, where `{}` already mounts something",
                        service.role, service.role
                    ),
                )
                .at(path.span(), "a second mount at this path")
                .help("give each volume its own path, away from the source path and the generated paths"),
            );
        } else {
            taken.push(target.to_owned());
        }
    }
}

/// Whether a generated path names something inside the source path: relative to it (or
/// absolute below it), with at least one name and no `..` (`./` is the source path itself,
/// whose volume would hide the whole source).
pub(crate) fn generated_inside(generated: &str, source: &str) -> bool {
    !relative_to_source(generated, source).is_empty()
        && !has_parent(generated)
        && (generated.starts_with('/') || !escapes(generated))
}

fn has_parent(path: &str) -> bool {
    Path::new(path)
        .components()
        .any(|c| c == Component::ParentDir)
}

/// Is a relative path absolute or does it climb out of its base?
pub(crate) fn escapes(path: &str) -> bool {
    if path.starts_with('/')
        || path.starts_with('\\')
        || Path::new(path).is_absolute()
        || path.contains(':') && path.len() > 1 && path.as_bytes()[1] == b':'
    {
        return true;
    }
    let mut depth: i32 = 0;
    for component in Path::new(path).components() {
        match component {
            Component::ParentDir => depth -= 1,
            Component::Normal(_) => depth += 1,
            _ => {}
        }
        if depth < 0 {
            return true;
        }
    }
    false
}

#[cfg(test)]
mod tests {
    use super::{escapes, generated_inside, mount_points};
    use crate::model::Service;
    use crate::Spanned;

    #[test]
    fn one_mount_per_container_path() {
        let mut web = Service::build("web", ".");
        web.generated.push(Spanned::new("dist".to_owned()));
        for (purpose, path) in [
            ("a", "/data"),
            ("b", "/data/"),
            ("c", "/app/dist"),
            ("d", "/app"),
        ] {
            web.volumes.insert(
                Spanned::new(purpose.to_owned()),
                Spanned::new(path.to_owned()),
            );
        }
        let mut out = Vec::new();
        let build = super::build(&web, None, &mut out).expect("web builds");
        mount_points(&web, &build, &mut out);
        let messages: Vec<&str> = out.iter().map(|d| d.message.as_str()).collect();
        assert_eq!(messages.len(), 3, "{messages:#?}");
        assert!(messages[0].starts_with("the volume `b` of `web` is mounted at `/data/`"));
        assert!(out.iter().all(|d| d.code == "duplicate-mount"));
    }

    #[test]
    fn generated_paths_inside_the_source() {
        for (path, expect) in [
            ("node_modules", true),
            ("./dist", true),
            ("apps/web/.next", true),
            ("/app/dist", true),
            ("dist/", true),
            (".", false),
            ("./", false),
            ("", false),
            ("dist/..", false),
            ("../x", false),
            ("/app", false),
            ("/app/.", false),
            ("/elsewhere/dist", false),
            ("/application/dist", false),
        ] {
            assert_eq!(generated_inside(path, "/app"), expect, "{path}");
        }
    }

    #[test]
    fn escaping_paths() {
        for (path, expect) in [
            ("apps/server", false),
            (".", false),
            ("apps/../server", false),
            ("../x", true),
            ("a/../../x", true),
            ("/abs", true),
            ("C:/x", true),
        ] {
            assert_eq!(escapes(path), expect, "{path}");
        }
    }
}
