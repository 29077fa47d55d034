//! CI settings: scope globs compile and stay inside the repository; release events parse.

use crate::diagnostic::Diagnostic;
use crate::model::{EventRule, Service, Topology};
use crate::valid::{Changes, Ci};
use crate::Spanned;

/// `[ci]` and every service's `changes`: globs compile and stay inside the repository;
/// release events parse.
pub(super) fn settings(topology: &Topology, out: &mut Vec<Diagnostic>) -> Ci {
    let ci = &topology.ci;
    let service_globs = topology.services.iter().flat_map(|service| {
        service
            .changes
            .include
            .iter()
            .chain(&service.changes.exclude)
    });
    for glob in ci
        .global_files
        .iter()
        .chain(&ci.exclude)
        .chain(service_globs)
    {
        check_glob(glob, out);
    }
    for service in &topology.services {
        if let Some(package) = &service.changes.package {
            check_package(service, package, out);
        }
    }
    let mut deploy_on = Vec::new();
    for event in &ci.deploy_on {
        match EventRule::parse(event) {
            Ok(rule) => {
                if let Some(Err(error)) = rule.ref_glob.as_deref().map(compile_glob) {
                    out.push(
                        Diagnostic::error("invalid-glob", format!("`{event}` has an invalid ref glob: {}", error.kind()))
                            .at(event.span(), "not a glob")
                            .help("use `*` for any characters and `?` for one, e.g. \"tag:v*\""),
                    );
                }
                deploy_on.push(rule);
            }
            Err(message) => out.push(
                Diagnostic::error("invalid-event", message)
                    .at(event.span(), "not an event")
                    .help("e.g. deploy_on = [\"tag:v*\", \"manual\"] deploys tags and manual runs; pushes only build"),
            ),
        }
    }
    let strings = |globs: &[Spanned<String>]| globs.iter().map(|g| g.to_string()).collect();
    Ci {
        global_files: strings(&ci.global_files),
        exclude: strings(&ci.exclude),
        deploy_on,
    }
}

/// A service's change-detection globs (checked with the settings).
pub(super) fn changes(service: &Service) -> Changes {
    let strings = |globs: &[Spanned<String>]| globs.iter().map(|g| g.to_string()).collect();
    Changes {
        include: strings(&service.changes.include),
        exclude: strings(&service.changes.exclude),
        package: service.changes.package.clone(),
    }
}

/// `changes.package` names a package the service's own image is built from.
fn check_package(service: &Service, package: &Spanned<String>, out: &mut Vec<Diagnostic>) {
    let role = &service.role;
    if let Some(owner) = &service.image_of {
        out.push(
            Diagnostic::error(
                "package-without-build",
                format!("`{role}` runs the image of `{owner}`, so no package is built for it"),
            )
            .at(package.span(), "the package is the image's")
            .help(format!(
                "name the package on `{owner}`, whose build makes the image"
            )),
        );
    } else if package.trim().is_empty() {
        out.push(
            Diagnostic::error("empty-package", format!("`{role}` names an empty package"))
                .at(package.span(), "empty")
                .help("name a workspace package (`@shop/server`), a crate (`server`) or its directory (`apps/server`), or remove `package`"),
        );
    } else if package.starts_with('/') || package.split('/').any(|part| part == "..") {
        out.push(
            Diagnostic::error(
                "package-escapes-repository",
                format!("`{package}` is not a package name, nor a directory inside the repository"),
            )
            .at(package.span(), "absolute, or climbs out with `..`")
            .help("name the package (`@shop/server`) or give its directory from the topology's (`apps/server`)"),
        );
    }
}

fn check_glob(glob: &Spanned<String>, out: &mut Vec<Diagnostic>) {
    if glob.starts_with('/') || glob.split('/').any(|part| part == "..") {
        out.push(
            Diagnostic::error(
                "glob-escapes-repository",
                format!("`{glob}` is not inside the repository"),
            )
            .at(glob.span(), "absolute, or climbs out with `..`")
            .help("write globs relative to the repository root, e.g. \"packages/shared/**\""),
        );
    } else if let Err(error) = compile_glob(glob) {
        out.push(
            Diagnostic::error(
                "invalid-glob",
                format!("`{glob}` is not a valid glob: {}", error.kind()),
            )
            .at(glob.span(), "not a glob")
            .help("`*` matches within one directory, `**` across directories, `{a,b}` either"),
        );
    }
}

/// Compiles a glob the way change detection uses it: `*` never crosses a `/`, as in git.
pub fn compile_glob(glob: &str) -> Result<globset::Glob, globset::Error> {
    globset::GlobBuilder::new(glob)
        .literal_separator(true)
        .empty_alternates(true)
        .build()
}
