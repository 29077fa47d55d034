//! Accessories: a pinned image, the catalogue's defaults (health, data, capabilities)
//! where it knows the image, an explicit health check where it does not.

use std::collections::BTreeMap;

use super::{deploy, hardening, health, values};
use crate::accessory::known;
use crate::diagnostic::Diagnostic;
use crate::model;
use crate::valid::{self, HealthCheck, Test};
use crate::value::ImageRef;
use crate::Mode;

/// One accessory, read and checked.
pub(super) fn accessory(
    accessory: &model::Accessory,
    out: &mut Vec<Diagnostic>,
) -> valid::Accessory {
    let role = accessory.role.as_str();
    let image = image(accessory, out);
    let known = known(&image);
    for (name, value) in &accessory.env {
        values::env_entry(name, value, out);
    }
    let defaults = crate::accessory::hardening_defaults(known);
    valid::Accessory {
        role: role.to_owned(),
        major: image.tag_major(),
        known,
        modes: modes(accessory, out),
        command: values::command(accessory.command.as_ref(), out),
        env: accessory
            .env
            .iter()
            .map(|(name, value)| (name.to_string(), value.get().clone()))
            .collect(),
        ports: values::ports(&accessory.ports, out),
        depends_on: accessory
            .depends_on
            .iter()
            .map(|(target, condition)| (target.to_string(), **condition))
            .collect(),
        health: health_check(accessory, known, out),
        volumes: volumes(accessory, known, out),
        stop_timeout: deploy::stop_timeout(accessory.stop_timeout.as_ref(), out),
        hardening: hardening::hardening(accessory.hardening(), defaults, out),
        image,
    }
}

/// The image: a literal reference pinned by a tag (or digest), never `latest`.
fn image(accessory: &model::Accessory, out: &mut Vec<Diagnostic>) -> ImageRef {
    let written = &accessory.image;
    let stand_in = || ImageRef::parse("stand-in:1").expect("a reference");
    match ImageRef::parse_literal(written) {
        Err(problem) => {
            out.push(
                Diagnostic::error(
                    "invalid-value",
                    format!(
                        "`{}` is not an image reference: {problem}",
                        written.as_str()
                    ),
                )
                .at(written.span(), "unreadable")
                .help("e.g. \"redis:7.2\""),
            );
            stand_in()
        }
        Ok(image) if image.is_unpinned() => {
            out.push(
                Diagnostic::error(
                    "unpinned-image",
                    format!(
                        "the accessory `{}` runs `{}`, which names no version",
                        accessory.role.as_str(),
                        written.as_str()
                    ),
                )
                .at(
                    written.span(),
                    "`latest` or no tag: another version on every pull",
                )
                .help(format!(
                    "pin it like the database: \"{}:<version>\" (the same image in every mode)",
                    image.name()
                )),
            );
            image
        }
        Ok(image) => image,
    }
}

/// `modes`: dev, prod-sim and production by default.
fn modes(accessory: &model::Accessory, out: &mut Vec<Diagnostic>) -> Vec<Mode> {
    let Some(written) = &accessory.modes else {
        return Mode::ALL.to_vec();
    };
    let mut modes = Vec::new();
    for mode in written.iter() {
        match mode.parse::<Mode>() {
            Ok(mode) if !modes.contains(&mode) => modes.push(mode),
            Ok(_) => {}
            Err(problem) => out.push(
                Diagnostic::error("invalid-value", problem)
                    .at(mode.span(), "not a mode")
                    .help("the modes are \"dev\", \"prod-sim\" and \"production\""),
            ),
        }
    }
    if modes.is_empty() && !written.is_empty() {
        return Mode::ALL.to_vec();
    }
    if written.is_empty() {
        out.push(
            Diagnostic::error(
                "invalid-value",
                format!(
                    "the accessory `{}` runs in no mode",
                    accessory.role.as_str()
                ),
            )
            .at(written.span(), "empty")
            .help("list its modes, or remove the accessory"),
        );
    }
    modes.sort();
    modes
}

/// The health check: as written; the catalogue's command with the written timings
/// (`health = { interval = "1s" }`); the catalogue's; or, for an image the catalogue does
/// not know, an error.
fn health_check(
    accessory: &model::Accessory,
    known: Option<&'static crate::accessory::Known>,
    out: &mut Vec<Diagnostic>,
) -> Option<HealthCheck> {
    let catalogue = known
        .and_then(|k| k.health)
        .map(|command| Test::Command(command.iter().map(|a| (*a).to_owned()).collect()));
    if let (Some(written), Some(known)) = (&accessory.health, known) {
        contradictions(accessory.role.as_str(), written, known, out);
    }
    match (&accessory.health, catalogue) {
        (Some(written), Some(test)) if written.http.is_none() && written.command.is_none() => {
            Some(HealthCheck {
                test,
                timing: health::timing(&written.timing(), out),
            })
        }
        (Some(written), _) => Some(health::check(written, out)),
        (None, Some(test)) => Some(HealthCheck {
            test,
            timing: valid::Timing::DEFAULT,
        }),
        (None, None) if known.is_some() => None,
        (None, None) => {
            out.push(
                Diagnostic::error("missing-key", format!("the accessory `{}` runs an image topo does not know, without a health check", accessory.role.as_str()))
                    .at(accessory.image.span(), "not in topo's catalogue")
                    .help("add `health = { command = [...] }` (or `http` and `port`): dependents and deploys wait for it"),
            );
            None
        }
    }
}

/// A written health check that cannot pass against the image the catalogue knows: an HTTP
/// probe of the port where it speaks another protocol (Redis, AMQP, SMTP). Another port is
/// left alone: some serve HTTP beside it (RabbitMQ's management, Mailpit's web UI).
fn contradictions(
    role: &str,
    written: &model::Health,
    known: &crate::accessory::Known,
    out: &mut Vec<Diagnostic>,
) {
    let (Some(path), Some(port)) = (&written.http, &written.port) else {
        return;
    };
    if known.schemes.contains(&"http") || **port != known.port {
        return;
    }
    let catalogue_check = known.health.map_or_else(
        || "none: dependents wait for it to start".to_owned(),
        |command| format!("`{}`", command.join(" ")),
    );
    out.push(
        Diagnostic::error(
            "contradicting-health",
            format!(
                "the accessory `{role}` runs {}, which speaks {} on port {}, not HTTP: this health check can never pass",
                known.name, known.schemes[0], known.port
            ),
        )
        .at(path.span(), "an HTTP probe")
        .help(format!(
            "remove `http`, `port` and `probe` to keep the catalogue's check ({catalogue_check}), or write `command`"
        )),
    );
}

/// Its data: as written (absolute paths), else a volume `data` at the catalogue's path.
fn volumes(
    accessory: &model::Accessory,
    known: Option<&'static crate::accessory::Known>,
    out: &mut Vec<Diagnostic>,
) -> BTreeMap<String, String> {
    let Some(written) = &accessory.volumes else {
        return known
            .and_then(|k| k.data)
            .map(|path| BTreeMap::from([("data".to_owned(), path.to_owned())]))
            .unwrap_or_default();
    };
    // A relative path is read from the image's root.
    let example = |path: &str| format!("/{path}");
    super::paths::absolute_volumes(accessory.role.as_str(), written, example, out)
}
