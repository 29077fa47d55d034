//! Values of a service: environment entries (secrets, variable names), commands, ports.

use std::collections::BTreeMap;
use std::ops::Range;

use crate::diagnostic::Diagnostic;
use crate::model::{self, EnvValue, Port, Topology};
use crate::valid::Command;
use crate::value::{fits_in_argument, is_secret_name, Interpolated};
use crate::Spanned;

/// One environment entry: its name, and a literal that looks like a secret or reads like an
/// interpolation.
pub(super) fn env_entry(
    name: &Spanned<String>,
    value: &Spanned<EnvValue>,
    out: &mut Vec<Diagnostic>,
) {
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
                .help(r#"topo escapes `$` in literals; to read a secret inside a value write `{ template = "…${VAR}…" }`, or derive a connection URL with `{ url_of = "db" }`"#),
        ),
        EnvValue::Secret { var, dev, .. } => {
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

/// The variables of a service's build secrets, sorted, each once.
pub(super) fn build_secrets(service: &model::Service, out: &mut Vec<Diagnostic>) -> Vec<String> {
    let mut secrets = Vec::new();
    for name in &service.build_secrets {
        if !is_env_name(name) {
            out.push(
                Diagnostic::error(
                    "invalid-env-name",
                    format!("`{name}` is not a valid environment variable name"),
                )
                .at(
                    name.span(),
                    "the variable holding the secret: letters, digits and underscores",
                )
                .help("e.g. build_secrets = [\"NPM_TOKEN\"]"),
            );
        }
        secrets.push(name.to_string());
    }
    secrets.sort();
    secrets.dedup();
    secrets
}

/// A service's build arguments, per mode: (dev, prod). A secret is refused: a build
/// argument stays readable in the image's history.
pub(super) fn build_args(
    service: &model::Service,
    out: &mut Vec<Diagnostic>,
) -> (BTreeMap<String, String>, BTreeMap<String, String>) {
    let (mut dev, mut prod) = (BTreeMap::new(), BTreeMap::new());
    for (name, value) in &service.build_args {
        if !is_env_name(name) {
            out.push(
                Diagnostic::error(
                    "invalid-build-arg-name",
                    format!("`{name}` is not a valid build argument name"),
                )
                .at(
                    name.span(),
                    "letters, digits and underscores, not starting with a digit",
                )
                .help("name it as the Dockerfile's `ARG` does, e.g. NODE_VERSION"),
            );
        }
        let (for_dev, for_prod) = match value.get() {
            EnvValue::Literal(text) => (text, text),
            EnvValue::PerMode { dev, prod } => (dev, prod),
            EnvValue::Template(_) | EnvValue::UrlOf(_) => {
                out.push(
                    Diagnostic::error(
                        "secret-build-arg",
                        format!(
                            "the build argument `{name}` of `{}` is a template or a derived URL",
                            service.role
                        ),
                    )
                    .at(
                        value.span(),
                        "a build argument is a literal, the same for every image built",
                    )
                    .help("read the value at run time from `env` instead"),
                );
                continue;
            }
            EnvValue::Secret { .. } => {
                out.push(
                    Diagnostic::error(
                        "secret-build-arg",
                        format!("the build argument `{name}` of `{}` refers to a secret", service.role),
                    )
                    .at(value.span(), "a build argument stays readable in the image's history (`docker history`)")
                    .help("read the secret at run time from `env` instead (build secrets, `RUN --mount=type=secret`, are not supported yet)"),
                );
                continue;
            }
        };
        if is_secret_name(name) && !for_prod.is_empty() {
            out.push(
                Diagnostic::error(
                    "literal-secret",
                    format!("the build argument `{name}` looks like a secret but has a literal value"),
                )
                .at(value.span(), "a build argument stays readable in the image's history, and in every rendered file")
                .help("keep secrets out of build arguments; read them at run time from `env`"),
            );
        }
        dev.insert(name.to_string(), for_dev.clone());
        prod.insert(name.to_string(), for_prod.clone());
    }
    (dev, prod)
}

/// A variable name: letters, digits and `_`, not starting with a digit.
pub(super) fn is_env_name(name: &str) -> bool {
    let mut bytes = name.bytes();
    bytes
        .next()
        .is_some_and(|b| b.is_ascii_alphabetic() || b == b'_')
        && bytes.all(|b| b.is_ascii_alphanumeric() || b == b'_')
}

/// A service's commands; an empty one is reported.
pub(super) fn command(
    command: Option<&Spanned<model::Command>>,
    out: &mut Vec<Diagnostic>,
) -> Command {
    let Some(command) = command else {
        return Command::default();
    };
    let empty = |c: &Option<Vec<String>>| c.as_ref().is_some_and(|c| c.is_empty());
    if empty(&command.dev) || empty(&command.prod) {
        out.push(
            Diagnostic::error("invalid-value", "a command cannot be empty")
                .at(command.span(), "empty")
                .help("remove it to run the image's own CMD, or give the arguments"),
        );
    }
    Command {
        dev: command.dev.clone(),
        prod: command.prod.clone(),
    }
}

/// A service's published ports; port 0 is reported.
pub(super) fn ports(ports: &[Spanned<Port>], out: &mut Vec<Diagnostic>) -> Vec<Port> {
    for port in ports {
        if port.container == 0 || port.host == 0 {
            out.push(
                Diagnostic::error("invalid-port", "port 0 cannot be published")
                    .at(port.span(), "use a port from 1 to 65535"),
            );
        }
    }
    ports.iter().map(|p| p.get().clone()).collect()
}

/// No two containers publish the same host port.
pub(super) fn host_ports(topology: &Topology, out: &mut Vec<Diagnostic>) {
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
