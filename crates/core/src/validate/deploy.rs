//! The proxy, routes and deploy strategies.

use std::collections::BTreeMap;
use std::ops::Range;

use crate::diagnostic::Diagnostic;
use crate::model::{Condition, Proxy, Strategy, Topology};
use crate::naming;

pub(super) fn check(topology: &Topology, out: &mut Vec<Diagnostic>) {
    let project = topology.project.as_str();
    if let Some(proxy) = &topology.proxy {
        if *proxy.port == 0 {
            out.push(
                Diagnostic::error("invalid-port", "port 0 cannot be published")
                    .at(proxy.port.span(), "use a port from 1 to 65535"),
            );
        }
        for service in &topology.services {
            if service.role.as_str() == Proxy::ROLE {
                out.push(
                    Diagnostic::error("duplicate-name", "the role `proxy` is the proxy's")
                        .at(
                            service.role.span(),
                            format!(
                                "`{}` is the `[proxy]`'s container",
                                naming::container_name(project, Proxy::ROLE)
                            ),
                        )
                        .help("choose another role for this service"),
                );
            }
        }
    }
    // path prefix → the first service routing it.
    let mut paths: BTreeMap<&str, (&str, Option<Range<usize>>)> = BTreeMap::new();
    for service in &topology.services {
        let role = service.role.as_str();
        if let Some(route) = &service.route {
            if topology.proxy.is_none() {
                out.push(
                    Diagnostic::error("route-without-proxy", format!("`{role}` has a route but the topology has no proxy"))
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
        if let Some(drain) = &service.deploy.drain {
            if humantime::parse_duration(drain).is_err() {
                out.push(
                    Diagnostic::error(
                        "invalid-duration",
                        format!("`{}` is not a duration", drain.as_str()),
                    )
                    .at(drain.span(), "e.g. \"5s\" or \"1m\""),
                );
            }
        }
        if service.strategy() != Strategy::BlueGreen {
            continue;
        }
        let strategy_span = service.deploy.strategy.as_ref().and_then(|s| s.span());
        if service.route.is_none() {
            out.push(
                Diagnostic::error(
                    "blue-green-without-route",
                    format!("`{role}` is deployed blue-green but has no route"),
                )
                .at(strategy_span.clone(), "the switch happens at the proxy")
                .help(
                    "add `route = { paths = [\"/\"], port = … }`, or use `strategy = \"recreate\"`",
                ),
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
                    naming::container_name(project, role)
                )),
            );
        }
        let is_job = topology.services.iter().any(|other| {
            other.depends_on.iter().any(|(target, condition)| {
                target.as_str() == role && **condition == Condition::Completed
            })
        });
        if is_job {
            out.push(
                Diagnostic::error("blue-green-job", format!("`{role}` is a one-shot job and cannot be deployed blue-green"))
                    .at(strategy_span.or_else(|| service.role.span()), "others wait for it with `completed`")
                    .help("remove `strategy`: a job runs to completion before the services that wait for it"),
            );
        }
    }
    let keep = &topology.production.keep_images;
    if **keep == 0 {
        out.push(
            Diagnostic::error(
                "invalid-value",
                "`keep_images` must keep at least the running version",
            )
            .at(
                keep.span(),
                "1 keeps no version to roll back to; 3 is the default",
            ),
        );
    }
}
