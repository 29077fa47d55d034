//! Health checks and their timings, read into [`HealthCheck`] and [`Timing`].

use std::time::Duration;

use crate::diagnostic::Diagnostic;
use crate::model::{Health, HealthTiming};
use crate::valid::{HealthCheck, Test, Timing};
use crate::value::parse_duration;
use crate::Spanned;

/// A service's health check. Where it is wrong, the problem is reported and a stand-in
/// returned (validation then fails, and nothing reads it).
pub(super) fn check(health: &Spanned<Health>, out: &mut Vec<Diagnostic>) -> HealthCheck {
    let test = match (&health.http, &health.command) {
        (Some(_), Some(_)) | (None, None) => {
            out.push(
                Diagnostic::error(
                    "health-check-shape",
                    "a health check is either `http` (with `port`) or `command`",
                )
                .at(
                    health.span(),
                    if health.http.is_some() {
                        "both given"
                    } else {
                        "neither given"
                    },
                )
                .help(r#"e.g. `health = { http = "/health", port = 3000 }`"#),
            );
            Test::Command(Vec::new())
        }
        (Some(path), None) => http(health, path, out),
        (None, Some(command)) => {
            if command.is_empty() {
                out.push(
                    Diagnostic::error("invalid-value", "the health command is empty")
                        .at(command.span(), "empty"),
                );
            }
            Test::Command(command.to_vec())
        }
    };
    HealthCheck {
        test,
        timing: timing(&health.timing(), out),
    }
}

fn http(health: &Spanned<Health>, path: &Spanned<String>, out: &mut Vec<Diagnostic>) -> Test {
    if !path.starts_with('/') {
        out.push(
            Diagnostic::error(
                "invalid-value",
                format!("the health path `{path}` must start with `/`"),
            )
            .at(path.span(), "not a path")
            .help(format!("write \"/{path}\"")),
        );
    }
    let port = health.port.as_deref().copied().unwrap_or_else(|| {
        out.push(
            Diagnostic::error("health-check-shape", "an HTTP health check needs `port`")
                .at(health.span(), "which container port serves it?")
                .help("add `port = 3000` (the container port)"),
        );
        0
    });
    Test::Http {
        path: path.to_string(),
        port,
        probe: health.probe.as_deref().copied().unwrap_or_default(),
    }
}

/// Timings with their defaults; a duration that does not read, or zero retries, is
/// reported.
pub(super) fn timing(timing: &HealthTiming, out: &mut Vec<Diagnostic>) -> Timing {
    let mut duration = |written: &Option<Spanned<String>>, default: Duration| {
        let Some(text) = written else {
            return default;
        };
        parse_duration(text).unwrap_or_else(|| {
            out.push(
                Diagnostic::error("invalid-duration", format!("`{text}` is not a duration"))
                    .at(text.span(), "unreadable")
                    .help("write a number and a unit: \"500ms\", \"10s\", \"1m30s\""),
            );
            default
        })
    };
    let interval = duration(&timing.interval, Timing::DEFAULT.interval);
    let timeout = duration(&timing.timeout, Timing::DEFAULT.timeout);
    let start_period = duration(&timing.start_period, Timing::DEFAULT.start_period);
    let retries = match &timing.retries {
        None => Timing::DEFAULT.retries,
        Some(retries) if **retries == 0 => {
            out.push(
                Diagnostic::error("invalid-value", "`retries` must be at least 1")
                    .at(retries.span(), "zero"),
            );
            Timing::DEFAULT.retries
        }
        Some(retries) => **retries,
    };
    Timing {
        interval,
        timeout,
        retries,
        start_period,
    }
}
