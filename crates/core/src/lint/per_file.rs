//! Rules that look at one file at a time (a few peek at a sibling file or the disk for
//! context: the production build target, a host `node_modules`).

use std::collections::BTreeMap;
use std::path::Path;

use super::{facts, hosts, Host, LintFile, Place, Raw};
use crate::compose::{MountKind, Node, ServiceView};
use crate::model::Level;
use crate::Mode;

pub(super) fn check(lf: &LintFile, all: &[LintFile], host: &dyn Host, out: &mut Vec<Raw>) {
    let file = &lf.file;
    let services = file.services();
    let waited_healthy = waited_on(&services, "service_healthy");
    let waited_completed = waited_on(&services, "service_completed_successfully");
    for service in &services {
        generated_path_bind_mount(lf, service, host, out);
        if lf.mode != Mode::Dev {
            bind_mount_in_prod(lf, service, out);
            dev_command_in_prod(lf, service, out);
        }
        if lf.mode == Mode::ProdSim {
            build_target_not_prod(lf, service, all, host, out);
        }
        if lf.mode == Mode::Production {
            db_port_published(lf, service, out);
            privileged(lf, service, out);
            super::confinement::unconfined_in_prod(lf, service, out);
        }
        literal_secret(lf, service, out);
        unpinned_image(lf, service, out);
        missing_healthcheck(lf, service, &waited_healthy, &waited_completed, out);
    }
    hosts::check(lf, all, out);
}

/// Services others wait for with `condition`: name → (dependent, where the wait is written).
fn waited_on<'a>(
    services: &[ServiceView<'a>],
    condition: &str,
) -> BTreeMap<String, (&'a str, crate::compose::Pos)> {
    let mut out = BTreeMap::new();
    for service in services {
        for dependency in service.depends_on() {
            if dependency.condition == condition {
                out.entry(dependency.service)
                    .or_insert((service.name(), dependency.pos));
            }
        }
    }
    out
}

fn generated_path_bind_mount(
    lf: &LintFile,
    service: &ServiceView<'_>,
    host: &dyn Host,
    out: &mut Vec<Raw>,
) {
    let file = &lf.file;
    let mounts = service.mounts();
    for mount in mounts.iter().filter(|m| m.kind == MountKind::Bind) {
        let source = mount.source.as_deref().unwrap_or("");
        let generated = facts::generated_component(&mount.target)
            .map(|g| (g, "onto"))
            .or_else(|| facts::generated_component(source).map(|g| (g, "from")));
        if let Some((generated, direction)) = generated {
            out.push(
                Raw::new(
                    "generated-path-bind-mount",
                    Place::at(file, mount.pos),
                    format!(
                        "`{source}:{}` bind-mounts the host {direction} the container-owned `{generated}` of `{}`",
                        mount.target,
                        service.name()
                    ),
                )
                .hint(format!(
                    "let the container own `{generated}`: drop this mount and give `{}` its own volume (`- {}`), so the host's copy never shadows or feeds the image's",
                    mount.target.rsplit_once(generated).map_or(mount.target.clone(), |(before, _)| format!("{before}{generated}")),
                    mount.target.rsplit_once(generated).map_or(mount.target.clone(), |(before, _)| format!("{before}{generated}")),
                )),
            );
            continue;
        }
        // A bind-mounted source directory that holds a host-generated directory shadows the
        // image's copy unless a volume covers that path.
        let (Some(dir), Some(source)) = (&lf.dir, mount.source.as_deref()) else {
            continue;
        };
        // A source that reads a variable or the home directory is not a path here.
        let Some(source) = crate::value::Interpolated::parse(source)
            .ok()
            .and_then(|s| s.as_literal().map(str::to_owned))
            .filter(|s| !s.starts_with('~'))
        else {
            continue;
        };
        let host_dir = dir.join(&source);
        if !host.is_dir(&host_dir) {
            continue;
        }
        for generated in facts::GENERATED {
            let inside = format!("{}/{generated}", mount.target.trim_end_matches('/'));
            let covered = mounts
                .iter()
                .any(|m| m.kind != MountKind::Bind && m.target.trim_end_matches('/') == inside);
            if !covered && host.is_dir(&host_dir.join(generated)) {
                out.push(
                    Raw::new(
                        "generated-path-bind-mount",
                        Place::at(file, mount.pos),
                        format!(
                            "`{source}:{}` brings the host's `{}` into `{}` at `{inside}`, over the container's own",
                            mount.target,
                            Path::new(&source).join(generated).display(),
                            service.name()
                        ),
                    )
                    .hint(format!("add a volume for the container's copy: `- {inside}` (anonymous) or a named one")),
                );
            }
        }
    }
}

fn bind_mount_in_prod(lf: &LintFile, service: &ServiceView<'_>, out: &mut Vec<Raw>) {
    for mount in service
        .mounts()
        .iter()
        .filter(|m| m.kind == MountKind::Bind)
    {
        out.push(Raw::new(
            "bind-mount-in-prod",
            Place::at(&lf.file, mount.pos),
            format!(
                "`{}` bind-mounts the host path `{}` into `{}` in {}",
                service.name(),
                mount.source.as_deref().unwrap_or("?"),
                mount.target,
                lf.mode
            ),
        ));
    }
}

fn dev_command_in_prod(lf: &LintFile, service: &ServiceView<'_>, out: &mut Vec<Raw>) {
    for (field, words) in [
        ("command", service.command()),
        ("entrypoint", service.entrypoint()),
    ] {
        let Some(words) = words else { continue };
        if let Some(why) = facts::dev_command(&words.words) {
            out.push(Raw::new(
                "dev-command-in-prod",
                Place::at(&lf.file, words.pos),
                format!(
                    "the {field} of `{}` in {} is a development command: {why}",
                    service.name(),
                    lf.mode
                ),
            ));
        }
    }
}

/// Stage names a production image is never built from.
const DEV_STAGES: &[&str] = &[
    "dev",
    "development",
    "develop",
    "debug",
    "test",
    "testing",
    "local",
    "builder",
    "build",
    "deps",
    "base",
];

fn build_target_not_prod(
    lf: &LintFile,
    service: &ServiceView<'_>,
    all: &[LintFile],
    host: &dyn Host,
    out: &mut Vec<Raw>,
) {
    let Some(build) = service.build() else { return };
    let production = all
        .iter()
        .filter(|f| f.mode == Mode::Production)
        .find_map(|f| {
            let theirs = f.file.service(service.name())?;
            let their_build = theirs.build()?;
            let target = their_build.target.clone()?;
            Some((target, Place::at(&f.file, their_build.target_pos)))
        });
    let stages = lf
        .dir
        .as_ref()
        .and_then(|dir| {
            host.read(
                &dir.join(&build.context)
                    .join(build.dockerfile.as_deref().unwrap_or("Dockerfile")),
            )
        })
        .map(|text| stages(&text));
    let last_stage = stages.as_ref().and_then(|s| s.last().cloned());
    let place = Place::at(&lf.file, build.target_pos);
    let finding = match (&build.target, production) {
        (Some(target), Some((production, at))) if *target != production => Some(
            Raw::new(
                "build-target-not-prod",
                place,
                format!("prod-sim builds `{}` from the target `{target}`; production builds `{production}`", service.name()),
            )
            .related(at)
            .hint(format!("set `target: {production}` here")),
        ),
        (None, Some((production, at))) if last_stage.as_ref().is_some_and(|last| *last != production) => Some(
            Raw::new(
                "build-target-not-prod",
                place,
                format!(
                    "prod-sim builds `{}` from the Dockerfile's last stage `{}`; production builds `{production}`",
                    service.name(),
                    last_stage.as_deref().unwrap_or("?")
                ),
            )
            .related(at)
            .hint(format!("set `target: {production}` here")),
        ),
        (Some(target), None) if DEV_STAGES.contains(&target.as_str()) => Some(Raw::new(
            "build-target-not-prod",
            place,
            format!("prod-sim builds `{}` from the target `{target}`, a development or build stage", service.name()),
        )),
        (None, None) => last_stage.filter(|last| DEV_STAGES.contains(&last.as_str())).map(|last| {
            Raw::new(
                "build-target-not-prod",
                place,
                format!("prod-sim builds `{}` from the Dockerfile's last stage `{last}`, a development stage", service.name()),
            )
            .hint("set `target:` to the production stage")
        }),
        _ => None,
    };
    out.extend(finding);
}

/// The stage names of a Dockerfile (`FROM image AS name`), in order; unnamed stages by index.
fn stages(dockerfile: &str) -> Vec<String> {
    dockerfile
        .lines()
        .map(str::trim)
        .filter(|line| {
            line.len() > 5
                && line
                    .get(..5)
                    .is_some_and(|w| w.eq_ignore_ascii_case("FROM "))
        })
        .enumerate()
        .map(|(index, line)| {
            let words: Vec<&str> = line.split_whitespace().collect();
            match words.iter().position(|w| w.eq_ignore_ascii_case("AS")) {
                Some(at) if at + 1 < words.len() => words[at + 1].to_ascii_lowercase(),
                _ => index.to_string(),
            }
        })
        .collect()
}

fn db_port_published(lf: &LintFile, service: &ServiceView<'_>, out: &mut Vec<Raw>) {
    let Some(db) = service
        .image()
        .and_then(|(image, _)| facts::db_image(&image))
    else {
        return;
    };
    for port in service.ports() {
        let loopback = port
            .host_ip
            .as_deref()
            .is_some_and(|ip| ip == "127.0.0.1" || ip == "::1");
        let finding = Raw::new(
            "db-port-published",
            Place::at(&lf.file, port.pos),
            format!(
                "the {} port {} of `{}` is published on the host{} in production",
                db.engine,
                port.target,
                service.name(),
                if loopback { " (loopback only)" } else { "" }
            ),
        );
        // Loopback-only publishing (reached through an SSH tunnel) is a smaller risk.
        out.push(if loopback {
            finding.level(Level::Warning)
        } else {
            finding
        });
    }
}

fn privileged(lf: &LintFile, service: &ServiceView<'_>, out: &mut Vec<Raw>) {
    let name = service.name();
    let mut found = |node: &Node, what: String| {
        out.push(Raw::new(
            "privileged",
            Place::at(&lf.file, node.pos),
            format!("`{name}` {what} in production"),
        ));
    };
    if let Some(node) = service
        .get("privileged")
        .filter(|n| n.as_bool() == Some(true))
    {
        found(
            node,
            "runs privileged (every device, every capability)".to_owned(),
        );
    }
    for key in ["network_mode", "pid", "ipc"] {
        if let Some(node) = service.get(key).filter(|n| n.as_str() == Some("host")) {
            found(
                node,
                format!(
                    "shares the host's {} namespace (`{key}: host`)",
                    if key == "network_mode" {
                        "network"
                    } else {
                        key
                    }
                ),
            );
        }
    }
    if let Some(caps) = service.get("cap_add") {
        for cap in caps.items() {
            // Docker reads capabilities in any case, with or without `CAP_` (`ALL` without).
            let upper = cap.as_str().unwrap_or("").to_ascii_uppercase();
            if upper == "ALL" || upper.strip_prefix("CAP_").unwrap_or(&upper) == "SYS_ADMIN" {
                found(
                    cap,
                    format!("adds the capability `{}`", cap.as_str().unwrap_or("")),
                );
            }
        }
    }
    for mount in service.mounts() {
        if mount
            .source
            .as_deref()
            .is_some_and(|s| s.ends_with("docker.sock"))
        {
            out.push(Raw::new(
                "privileged",
                Place::at(&lf.file, mount.pos),
                format!("`{name}` mounts the Docker socket (root on the host) in production"),
            ));
        }
    }
}

fn literal_secret(lf: &LintFile, service: &ServiceView<'_>, out: &mut Vec<Raw>) {
    let level = if lf.mode == Mode::Production {
        Level::Error
    } else {
        Level::Warning
    };
    for entry in service.environment() {
        let Some(value) = entry.value.as_deref().filter(|v| !v.is_empty()) else {
            continue;
        };
        let message = if facts::is_secret_name(&entry.name) && !facts::is_interpolated(value) {
            format!(
                "`{}` of `{}` is a literal secret in {}",
                entry.name,
                service.name(),
                lf.mode
            )
        } else if facts::is_secret_name(&entry.name)
            && lf.mode == Mode::Production
            && facts::interpolation_default(value).is_some()
        {
            format!(
                "`{}` of `{}` falls back to a literal default in production",
                entry.name,
                service.name()
            )
        } else if facts::url_password(value).is_some() {
            format!(
                "`{}` of `{}` holds a literal password in its URL",
                entry.name,
                service.name()
            )
        } else {
            continue;
        };
        out.push(
            Raw::new(
                "literal-secret",
                Place::at(&lf.file, entry.value_pos),
                message,
            )
            .level(level),
        );
    }
}

fn unpinned_image(lf: &LintFile, service: &ServiceView<'_>, out: &mut Vec<Raw>) {
    // With `build:`, `image:` names what the build produces; nothing is pulled.
    if service.build().is_some() {
        return;
    }
    let Some((image, pos)) = service.image() else {
        return;
    };
    if facts::is_unpinned(&image) {
        let level = if lf.mode == Mode::Production {
            Level::Error
        } else {
            Level::Warning
        };
        out.push(
            Raw::new(
                "unpinned-image",
                Place::at(&lf.file, pos),
                format!(
                    "`{}` runs `{image}`, which names no version",
                    service.name()
                ),
            )
            .level(level),
        );
    }
}

fn missing_healthcheck(
    lf: &LintFile,
    service: &ServiceView<'_>,
    waited_healthy: &BTreeMap<String, (&str, crate::compose::Pos)>,
    waited_completed: &BTreeMap<String, (&str, crate::compose::Pos)>,
    out: &mut Vec<Raw>,
) {
    if service.has_healthcheck() {
        return;
    }
    let place = Place::at(&lf.file, service.key.pos);
    if let Some((dependent, at)) = waited_healthy.get(service.name()) {
        out.push(
            Raw::new(
                "missing-healthcheck",
                place,
                format!(
                    "`{dependent}` waits for `{}` to be healthy, but it has no health check",
                    service.name()
                ),
            )
            .related(Place::at(&lf.file, *at)),
        );
        return;
    }
    let disabled = service.get("healthcheck").is_some();
    let one_shot = waited_completed.contains_key(service.name())
        || matches!(
            service.text("restart").as_deref(),
            Some("no" | "on-failure")
        );
    if lf.mode == Mode::Production && !disabled && !one_shot {
        out.push(
            Raw::new(
                "missing-healthcheck",
                place,
                format!(
                    "`{}` has no health check in production: nothing tells a deploy it is ready",
                    service.name()
                ),
            )
            .level(Level::Warning),
        );
    }
}

#[cfg(test)]
mod tests {
    use super::stages;

    #[test]
    fn dockerfile_stages() {
        let text =
            "FROM node:22 AS base\nRUN x\nfrom base as dev\nFROM base AS prod\nFROM scratch\n";
        assert_eq!(stages(text), ["base", "dev", "prod", "3"]);
        // A multi-byte character inside the first five bytes is no `FROM `.
        assert_eq!(stages("FROM node:22 AS prod\nRUN é\nRUNé\n"), ["prod"]);
    }
}
