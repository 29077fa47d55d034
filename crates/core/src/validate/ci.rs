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
