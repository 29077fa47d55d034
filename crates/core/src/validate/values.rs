//! Values: secrets, ports, health checks, durations, the database pin.

use std::collections::BTreeMap;
use std::ops::Range;

use crate::diagnostic::Diagnostic;
use crate::model::{Command, EnvValue, Health, HealthTiming, Topology};
use crate::value::{fits_in_argument, is_secret_name, parse_duration, ImageRef, Interpolated};
use crate::Spanned;

pub(super) fn check(topology: &Topology, out: &mut Vec<Diagnostic>) {
    database(topology, out);
    for service in &topology.services {
        for (name, value) in &service.env {
            env_entry(name, value, out);
        }
        if let Some(command) = &service.command {
            command_entry(command, out);
        }
        if let Some(health) = &service.health {
            health_entry(health, out);
        }
        for port in &service.ports {
            if port.container == 0 || port.host == 0 {
                out.push(
                    Diagnostic::error("invalid-port", "port 0 cannot be published")
                        .at(port.span(), "use a port from 1 to 65535"),
                );
            }
        }
    }
    host_ports(topology, out);
    production(topology, out);
}

fn database(topology: &Topology, out: &mut Vec<Diagnostic>) {
    let Some(database) = &topology.database else {
        return;
    };
    let major = database.major.get();
    if major.number().is_none() {
        out.push(
            Diagnostic::error("database-major-not-numeric", format!("the database major version `{major}` is not a number"))
                .at(database.major.span(), "pin a major version, e.g. 17")
                .help("topo pins the major once and uses it in every mode; minor versions follow the image tag"),
        );
    } else if let Some(image) = &database.image {
        let official = database.engine.official_image(major.as_str());
        match ImageRef::parse(image).map(|parsed| parsed.tag_major()) {
            Err(error) => out.push(
                Diagnostic::error("invalid-value", format!("`{image}` is not an image reference: {}", error.problem))
                    .at(image.span(), "unreadable")
                    .help(format!("e.g. `{official}`")),
            ),
            Ok(Some(tag_major)) if Some(tag_major) != major.number() => out.push(
                Diagnostic::error("database-image-major-mismatch", format!("the database image `{image}` is PostgreSQL {tag_major}, but the pinned major is {major}"))
                    .at(image.span(), format!("tag names major {tag_major}"))
                    .related(database.major.span(), format!("pinned to {major} here"))
                    .help(format!("use an image tagged {major} (e.g. `{official}`), or change the pin deliberately")),
            ),
            Ok(Some(_)) => {}
            Ok(None) => out.push(
                Diagnostic::error("database-image-major-mismatch", format!("the database image `{image}` does not name a major version in its tag"))
                    .at(image.span(), "untagged or `latest`: the major could drift")
                    .help(format!("tag it with the pinned major, e.g. `{official}`")),
            ),
        }
    }
    match database.password.as_ref() {
        None => out.push(
            Diagnostic::error("missing-key", "the database has no `password`")
                .at(database.major.span(), "in this [database] table")
                .help(r#"add `password = { secret = "DB_PASSWORD" }` (the image refuses to start without one)"#),
        ),
        Some(password) if !matches!(password.get(), EnvValue::Secret { .. }) => out.push(
            Diagnostic::error("literal-secret", "the database password is written in the topology")
                .at(password.span(), "a literal secret")
                .help(r#"reference it instead: `password = { secret = "DB_PASSWORD", dev = "local-only" }`"#),
        ),
        Some(password) => env_entry(&Spanned::new("POSTGRES_PASSWORD".to_owned()), password, out),
    }
    if database.dev_port.as_ref().is_some_and(|p| **p == 0) {
        out.push(
            Diagnostic::error("invalid-port", "port 0 cannot be published").at(
                database.dev_port.as_ref().and_then(Spanned::span),
                "use a port from 1 to 65535",
            ),
        );
    }
    timing(&database.health, out);
}

fn env_entry(name: &Spanned<String>, value: &Spanned<EnvValue>, out: &mut Vec<Diagnostic>) {
    if !is_env_name(name) {
        out.push(
            Diagnostic::error(
                "invalid-env-name",
                format!("`{name}` is not a valid environment variable name"),
            )
            .at(
                name.span(),
                "letters, digits and underscores, not starting with a digit",
            )
            .help("e.g. DB_HOST"),
        );
    }
    match value.get() {
        EnvValue::Literal(text) | EnvValue::PerMode { prod: text, .. } if is_secret_name(name) && !text.is_empty() => out.push(
            Diagnostic::error("literal-secret", format!("`{name}` looks like a secret but has a literal value"))
                .at(value.span(), "a secret written into the topology ends up in every rendered file")
                .help(format!(r#"reference it: `{name} = {{ secret = "{}" }}` (add `dev = "..."` for a local-only default)"#, name.to_ascii_uppercase())),
        ),
        EnvValue::Literal(text) | EnvValue::PerMode { prod: text, .. } if Interpolated::parse(text).is_ok_and(|v| v.reads_variables()) => out.push(
            Diagnostic::warning("literal-interpolation", format!("`{name}` contains a Compose interpolation (`{text}`), which topo writes literally"))
                .at(value.span(), "not interpolated")
                .help(r#"topo escapes `$` in literals; to read a variable write `{ secret = "VAR" }`"#),
        ),
        EnvValue::Secret { var, dev } => {
            if !is_env_name(var) {
                out.push(
                    Diagnostic::error("invalid-env-name", format!("`{var}` is not a valid variable name"))
                        .at(value.span(), "the secret's variable")
                        .help("letters, digits and underscores, not starting with a digit"),
                );
            }
            if dev.as_deref().is_some_and(|d| !fits_in_argument(d)) {
                out.push(
                    Diagnostic::error("invalid-value", format!("the dev default of `{name}` contains `}}` or `${{`"))
                        .at(value.span(), "Compose cannot carry this in a default")
                        .help("choose a dev default without `}` and `${`"),
                );
            }
        }
        _ => {}
    }
}

fn is_env_name(name: &str) -> bool {
    let mut bytes = name.bytes();
    bytes
        .next()
        .is_some_and(|b| b.is_ascii_alphabetic() || b == b'_')
        && bytes.all(|b| b.is_ascii_alphanumeric() || b == b'_')
}

fn command_entry(command: &Spanned<Command>, out: &mut Vec<Diagnostic>) {
    let empty = |c: &Option<Vec<String>>| c.as_ref().is_some_and(|c| c.is_empty());
    if empty(&command.dev) || empty(&command.prod) {
        out.push(
            Diagnostic::error("invalid-value", "a command cannot be empty")
                .at(command.span(), "empty")
                .help("remove it to run the image's own CMD, or give the arguments"),
        );
    }
}

fn health_entry(health: &Spanned<Health>, out: &mut Vec<Diagnostic>) {
    match (&health.http, &health.command) {
        (Some(_), Some(_)) | (None, None) => out.push(
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
        ),
        (Some(path), None) => {
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
            if health.port.is_none() {
                out.push(
                    Diagnostic::error("health-check-shape", "an HTTP health check needs `port`")
                        .at(health.span(), "which container port serves it?")
                        .help("add `port = 3000` (the container port)"),
                );
            }
        }
        (None, Some(command)) if command.is_empty() => {
            out.push(
                Diagnostic::error("invalid-value", "the health command is empty")
                    .at(command.span(), "empty"),
            );
        }
        (None, Some(_)) => {}
    }
    timing(&health.timing(), out);
}

fn timing(timing: &HealthTiming, out: &mut Vec<Diagnostic>) {
    for duration in [&timing.interval, &timing.timeout, &timing.start_period]
        .into_iter()
        .flatten()
    {
        if parse_duration(duration).is_none() {
            out.push(
                Diagnostic::error(
                    "invalid-duration",
                    format!("`{duration}` is not a duration"),
                )
                .at(duration.span(), "unreadable")
                .help("write a number and a unit: \"500ms\", \"10s\", \"1m30s\""),
            );
        }
    }
    if let Some(retries) = &timing.retries {
        if **retries == 0 {
            out.push(
                Diagnostic::error("invalid-value", "`retries` must be at least 1")
                    .at(retries.span(), "zero"),
            );
        }
    }
}

fn host_ports(topology: &Topology, out: &mut Vec<Diagnostic>) {
    // Dev publishes a superset of every other mode's ports, so checking it checks them all.
    // (host port, protocol) → the first publisher and where it did.
    type Publisher = (String, Option<Range<usize>>);
    let mut taken: BTreeMap<(u16, &str), Publisher> = BTreeMap::new();
    let mut publish = |host: u16,
                       protocol: &'static str,
                       owner: &str,
                       span: Option<Range<usize>>,
                       out: &mut Vec<Diagnostic>| {
        if let Some((first, first_span)) = taken.get(&(host, protocol)) {
            out.push(
                Diagnostic::error(
                    "host-port-collision",
                    format!(
                        "host port {host}/{protocol} is published by both `{first}` and `{owner}`"
                    ),
                )
                .at(span, format!("`{owner}` publishes {host}"))
                .related(first_span.clone(), format!("`{first}` publishes {host}"))
                .help("give one of them another host port: `{ container = 3000, host = 3001 }`"),
            );
        } else {
            taken.insert((host, protocol), (owner.to_owned(), span));
        }
    };
    if let Some(database) = &topology.database {
        if let Some(port) = &database.dev_port {
            publish(**port, "tcp", &database.role, port.span(), out);
        }
    }
    if let Some(proxy) = &topology.proxy {
        publish(*proxy.port, "tcp", "proxy", proxy.port.span(), out);
    }
    for service in &topology.services {
        for port in &service.ports {
            publish(
                port.host,
                port.protocol.as_str(),
                &service.role,
                port.span(),
                out,
            );
        }
    }
}

fn production(topology: &Topology, out: &mut Vec<Diagnostic>) {
    let settings = &topology.production;
    if settings.host_ip.parse::<std::net::IpAddr>().is_err() {
        out.push(
            Diagnostic::error(
                "invalid-value",
                format!("`{}` is not an IP address", settings.host_ip),
            )
            .at(
                settings.host_ip.span(),
                "published ports bind to this address",
            )
            .help("e.g. \"0.0.0.0\" for every interface, or the host's public address"),
        );
    }
    if !is_env_name(&settings.tag_variable) {
        out.push(
            Diagnostic::error(
                "invalid-env-name",
                format!("`{}` is not a valid variable name", settings.tag_variable),
            )
            .at(settings.tag_variable.span(), "the image tag's variable"),
        );
    }
    if let Some(registry) = &settings.registry {
        if registry.contains("://") || registry.ends_with('/') || registry.is_empty() {
            out.push(
                Diagnostic::error(
                    "invalid-value",
                    format!("`{registry}` is not a registry prefix"),
                )
                .at(registry.span(), "no scheme, no trailing slash")
                .help("e.g. \"ghcr.io/acme\""),
            );
        }
    }
    let size = settings.log_max_size.as_str();
    let digits = size.trim_end_matches(['k', 'm', 'g']);
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        out.push(
            Diagnostic::error("invalid-value", format!("`{size}` is not a log size"))
                .at(settings.log_max_size.span(), "e.g. \"10m\""),
        );
    }
    let files = &topology.files;
    let names = [&files.dev, &files.prod_sim, &files.production];
    for (i, name) in names.iter().enumerate() {
        if name.is_empty() || name.contains('/') || name.contains('\\') {
            out.push(
                Diagnostic::error("invalid-value", format!("`{name}` is not a file name")).at(
                    name.span(),
                    "a plain file name, written into the output directory",
                ),
            );
        } else if names[..i]
            .iter()
            .any(|other| other.as_str() == name.as_str())
        {
            out.push(
                Diagnostic::error("duplicate-name", format!("two modes render to `{name}`"))
                    .at(name.span(), "give each mode its own file"),
            );
        }
    }
}
