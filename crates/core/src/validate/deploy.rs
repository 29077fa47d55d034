//! The proxy, routes and deploy strategies.

use std::collections::BTreeMap;
use std::ops::Range;
use std::time::Duration;

use crate::diagnostic::Diagnostic;
use crate::model::{self, Proxy as ProxyRole, Service, Strategy, Topology};
use crate::naming;
use crate::valid::{DeployPolicy, Proxy, Route, ServiceKind, ValidTopology};
use crate::value::ImageRef;
use crate::Spanned;

/// The `[proxy]`: its port and image.
pub(super) fn proxy(proxy: &model::Proxy, out: &mut Vec<Diagnostic>) -> Proxy {
    if *proxy.port == 0 {
        out.push(
            Diagnostic::error("invalid-port", "port 0 cannot be published")
                .at(proxy.port.span(), "use a port from 1 to 65535"),
        );
    }
    let default = || {
        ImageRef::parse(model::Proxy::DEFAULT_IMAGE)
            .expect("the default proxy image is a reference")
    };
    let image = match &proxy.image {
        None => default(),
        Some(image) => ImageRef::parse_literal(image)
            .map(ImageRef::or_latest)
            .unwrap_or_else(|problem| {
                out.push(
                    Diagnostic::error(
                        "invalid-value",
                        format!("`{image}` is not an image reference: {problem}"),
                    )
                    .at(image.span(), "unreadable")
                    .help(format!("e.g. `{}`", model::Proxy::DEFAULT_IMAGE)),
                );
                default()
            }),
    };
    if let Some(read_only) = proxy.read_only.as_ref().filter(|r| ***r) {
        out.push(
            Diagnostic::error("invalid-value", "the proxy's root filesystem cannot be read-only")
                .at(read_only.span(), "not for the proxy")
                .help("its routes file is copied into the container (by topo, and by Compose's `configs`), which the engine refuses on a read-only root filesystem; remove the key"),
        );
    }
    Proxy {
        tls: super::tls::tls(proxy, out),
        image,
        port: *proxy.port,
        hardening: super::hardening::hardening(proxy.hardening(), model::Proxy::HARDENING, out),
    }
}

/// How a deploy replaces `service`: its strategy and drain.
pub(super) fn policy(service: &Service, out: &mut Vec<Diagnostic>) -> DeployPolicy {
    let drain = match &service.deploy.drain {
        None => DeployPolicy::DEFAULT_DRAIN,
        Some(drain) => humantime::parse_duration(drain).unwrap_or_else(|_| {
            out.push(
                Diagnostic::error(
                    "invalid-duration",
                    format!("`{}` is not a duration", drain.as_str()),
                )
                .at(drain.span(), "e.g. \"5s\" or \"1m\""),
            );
            DeployPolicy::DEFAULT_DRAIN
        }),
    };
    DeployPolicy {
        strategy: service.strategy(),
        drain,
        stop_timeout: stop_timeout(service.stop_timeout.as_ref(), out),
    }
}

/// A written `stop_timeout`: a duration in whole seconds (the engine's `StopTimeout` is an
/// integer of seconds; Compose would round a fraction another way).
pub(super) fn stop_timeout(
    written: Option<&Spanned<String>>,
    out: &mut Vec<Diagnostic>,
) -> Option<Duration> {
    let written = written?;
    let Ok(duration) = humantime::parse_duration(written) else {
        out.push(
            Diagnostic::error(
                "invalid-duration",
                format!("`{}` is not a duration", written.as_str()),
            )
            .at(written.span(), "e.g. \"30s\" or \"2m\""),
        );
        return None;
    };
    if duration.subsec_nanos() != 0 {
        out.push(
            Diagnostic::error(
                "invalid-duration",
                format!("`{}` is not a whole number of seconds", written.as_str()),
            )
            .at(
                written.span(),
                "the engine stops containers in whole seconds",
            )
            .help(format!("write \"{}s\"", duration.as_secs() + 1)),
        );
        return None;
    }
    Some(duration)
}

/// The proxy's route to `service`, as written.
pub(super) fn route(service: &Service) -> Option<Route> {
    service.route.as_ref().map(|route| Route {
        paths: route.paths.iter().map(|p| p.to_string()).collect(),
        port: *route.port,
    })
}

/// Routes, the proxy's role, and what blue-green cannot do.
pub(super) fn check(topology: &Topology, valid: &ValidTopology, out: &mut Vec<Diagnostic>) {
    if topology.proxy.is_some() {
        proxy_role(topology, out);
    }
    // path prefix → the first service routing it.
    let mut paths: BTreeMap<&str, (&str, Option<Range<usize>>)> = BTreeMap::new();
    for service in &topology.services {
        if let Some(route) = &service.route {
            routes(topology, service, route, &mut paths, out);
        }
        if service.strategy() == Strategy::BlueGreen {
            blue_green(topology, valid, service, out);
        }
    }
}

/// No service takes the proxy's role.
fn proxy_role(topology: &Topology, out: &mut Vec<Diagnostic>) {
    let project = topology.project.as_str();
    for service in &topology.services {
        if service.role.as_str() == ProxyRole::ROLE {
            out.push(
                Diagnostic::error("duplicate-name", "the role `proxy` is the proxy's")
                    .at(
                        service.role.span(),
                        format!(
                            "`{}` is the `[proxy]`'s container",
                            naming::container_name(project, ProxyRole::ROLE)
                        ),
                    )
                    .help("choose another role for this service"),
            );
        }
    }
}

/// A route: a proxy to route through, at least one path, a port, each path a prefix that
/// no other service routes.
fn routes<'a>(
    topology: &Topology,
    service: &'a Service,
    route: &'a Spanned<model::Route>,
    paths: &mut BTreeMap<&'a str, (&'a str, Option<Range<usize>>)>,
    out: &mut Vec<Diagnostic>,
) {
    let role = service.role.as_str();
    if topology.proxy.is_none() {
        out.push(
            Diagnostic::error(
                "route-without-proxy",
                format!("`{role}` has a route but the topology has no proxy"),
            )
            .at(route.span(), "the proxy would send these paths to it")
            .help("add a `[proxy]` table (e.g. `[proxy]` with `port = 80`), or remove the route"),
        );
    }
    if route.paths.is_empty() {
        out.push(
            Diagnostic::error("invalid-value", "a route needs at least one path")
                .at(route.span(), "e.g. `paths = [\"/\"]`"),
        );
    }
    if *route.port == 0 {
        out.push(
            Diagnostic::error("invalid-port", "the proxy cannot call port 0").at(
                route.port.span(),
                "the container port the service listens on",
            ),
        );
    }
    for path in &route.paths {
        let valid = path.starts_with('/')
            && path
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b"/-._~".contains(&b));
        if !valid {
            out.push(
                Diagnostic::error(
                    "invalid-value",
                    format!("`{}` is not a path prefix", path.as_str()),
                )
                .at(
                    path.span(),
                    "a path starting with `/`, of letters, digits and `/-._~`",
                )
                .help("e.g. \"/\" or \"/shop-api\""),
            );
        } else if let Some((first, first_span)) = paths.get(path.as_str()) {
            out.push(
                Diagnostic::error(
                    "duplicate-route",
                    format!("the path `{}` is routed twice", path.as_str()),
                )
                .at(path.span(), format!("`{role}` routes it"))
                .related(first_span.clone(), format!("`{first}` routes it first"))
                .help("each path prefix goes to one service"),
            );
        } else {
            paths.insert(path.as_str(), (role, path.span()));
        }
    }
}

/// A blue-green service is routed, publishes no host port, has no extra alias and is no job.
fn blue_green(
    topology: &Topology,
    valid: &ValidTopology,
    service: &Service,
    out: &mut Vec<Diagnostic>,
) {
    let role = service.role.as_str();
    let strategy_span = service.deploy.strategy.as_ref().and_then(|s| s.span());
    if service.route.is_none() {
        out.push(
            Diagnostic::error(
                "blue-green-without-route",
                format!("`{role}` is deployed blue-green but has no route"),
            )
            .at(strategy_span.clone(), "the switch happens at the proxy")
            .help("add `route = { paths = [\"/\"], port = … }`, or use `strategy = \"recreate\"`"),
        );
    }
    if let Some(port) = service.ports.iter().find(|p| !p.dev_only) {
        out.push(
            Diagnostic::error("blue-green-with-ports", format!("`{role}` is deployed blue-green but publishes host ports"))
                .at(port.span(), "the old and the new container would both need this host port")
                .help("publish it in dev only (`{ container = 3000, dev_only = true }`) and reach it through the proxy's route, or use `strategy = \"recreate\"`"),
        );
    }
    if let Some(alias) = service.aliases.first() {
        out.push(
            Diagnostic::error(
                "blue-green-with-aliases",
                format!("`{role}` is deployed blue-green but has extra network aliases"),
            )
            .at(
                alias.span(),
                "the container taking over is renamed, and aliases cannot move with it",
            )
            .help(format!(
                "call it by its name `{}`, or use `strategy = \"recreate\"`",
                naming::container_name(&topology.project, role)
            )),
        );
    }
    if valid
        .service(role)
        .is_some_and(|s| s.kind == ServiceKind::Job)
    {
        out.push(
            Diagnostic::error(
                "blue-green-job",
                format!("`{role}` is a one-shot job and cannot be deployed blue-green"),
            )
            .at(
                strategy_span.or_else(|| service.role.span()),
                "others wait for it with `completed`",
            )
            .help(
                "remove `strategy`: a job runs to completion before the services that wait for it",
            ),
        );
    }
}

/// How many tasks run a service on Swarm: at least one, more only on Swarm, and a job
/// runs once.
pub(super) fn replicas(
    topology: &Topology,
    service: &Service,
    is_job: bool,
    out: &mut Vec<Diagnostic>,
) -> u32 {
    let Some(replicas) = &service.replicas else {
        return 1;
    };
    let count = **replicas;
    let swarm = *topology.production.engine == crate::model::ProductionEngine::Swarm;
    let problem = match count {
        0 => Some((
            "`replicas` must run at least one task".to_owned(),
            "0 tasks".to_owned(),
            "remove the service to run none".to_owned(),
        )),
        1 => None,
        _ if is_job => Some((
            format!(
                "`{}` is a one-shot job (others wait for it to complete): it runs once",
                service.role
            ),
            format!("{count} tasks"),
            "remove `replicas`".to_owned(),
        )),
        _ if !swarm => Some((
            format!(
                "`{}` asks for {count} replicas, but one host runs one container per service",
                service.role
            ),
            "replicas need a cluster".to_owned(),
            "set `[production] engine = \"swarm\"`, or remove `replicas`".to_owned(),
        )),
        _ => None,
    };
    if let Some((message, label, help)) = problem {
        out.push(
            Diagnostic::error("invalid-replicas", message)
                .at(replicas.span(), label)
                .help(help),
        );
    }
    count.max(1)
}
