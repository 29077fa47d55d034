//! References between services: `depends_on`, `image_of`, and dependency cycles.

use std::collections::BTreeMap;

use petgraph::graph::{DiGraph, NodeIndex};

use crate::diagnostic::Diagnostic;
use crate::load::did_you_mean;
use crate::model::{Condition, Service, Topology};
use crate::Spanned;

/// Whether the accessory `role` has a health check (its own or the catalogue's).
fn accessory_has_health(topology: &Topology, role: &str) -> bool {
    topology
        .accessories
        .iter()
        .find(|a| a.role.as_str() == role)
        .is_some_and(|a| {
            a.health.is_some()
                || crate::value::ImageRef::parse(&a.image)
                    .ok()
                    .and_then(|image| crate::accessory::known(&image))
                    .is_some_and(|k| k.health.is_some())
        })
}

/// An accessory waits only for the database and other accessories (it is there before the
/// application), each present in every mode it runs in.
fn accessories(topology: &Topology, out: &mut Vec<Diagnostic>) {
    let db_role = topology.database.as_ref().map(|d| d.role.as_str());
    // A service runs in every mode: what it waits for must too.
    for service in &topology.services {
        for target in service.depends_on.keys() {
            let Some(accessory) = topology
                .accessories
                .iter()
                .find(|a| a.role.as_str() == target.as_str())
            else {
                continue;
            };
            if let Some(modes) = accessory
                .modes
                .as_ref()
                .filter(|m| m.len() < crate::Mode::ALL.len())
            {
                let listed: Vec<&str> = modes.iter().map(|m| m.as_str()).collect();
                out.push(
                    Diagnostic::error(
                        "unknown-dependency",
                        format!(
                            "`{}` waits for `{target}`, which runs only in {}",
                            service.role,
                            listed.join(", ")
                        ),
                    )
                    .at(target.span(), "missing in the other modes")
                    .help(format!(
                        "run `{target}` in every mode, or do not make `{}` wait for it",
                        service.role
                    )),
                );
            }
        }
    }
    for accessory in &topology.accessories {
        for (target, condition) in &accessory.depends_on {
            let known = Some(target.as_str()) == db_role
                || topology.accessories.iter().any(|a| {
                    a.role.as_str() == target.as_str() && a.role.as_str() != accessory.role.as_str()
                });
            if !known {
                out.push(
                    Diagnostic::error("unknown-dependency", format!("the accessory `{}` depends on `{target}`, which is not the database or another accessory", accessory.role.as_str()))
                        .at(target.span(), "an accessory starts before the application")
                        .help("an accessory waits only for the database or another accessory"),
                );
            } else if **condition == Condition::Healthy
                && Some(target.as_str()) != db_role
                && !accessory_has_health(topology, target)
            {
                out.push(
                    Diagnostic::error("healthy-without-health-check", format!("`{}` waits for `{target}` to be healthy, but `{target}` has no health check", accessory.role.as_str()))
                        .at(condition.span(), "this condition can never be met")
                        .help(format!("give `{target}` a `health` check, or wait for \"started\"")),
                );
            }
        }
    }
}

pub(super) fn check(topology: &Topology, out: &mut Vec<Diagnostic>) {
    let db_role = topology.database.as_ref().map(|d| d.role.as_str());
    let roles: Vec<&str> = db_role
        .into_iter()
        .chain(topology.services.iter().map(|s| s.role.as_str()))
        .chain(topology.accessories.iter().map(|a| a.role.as_str()))
        .collect();
    accessories(topology, out);

    for service in &topology.services {
        image_of(topology, service, &roles, out);
        for (target, condition) in &service.depends_on {
            if target.as_str() == service.role.as_str() {
                out.push(
                    Diagnostic::error(
                        "dependency-cycle",
                        format!("`{}` depends on itself", service.role),
                    )
                    .at(target.span(), "remove this entry"),
                );
                continue;
            }
            if !roles.contains(&target.as_str()) {
                let diagnostic = Diagnostic::error(
                    "unknown-dependency",
                    format!(
                        "`{}` depends on `{target}`, which is not in the topology",
                        service.role
                    ),
                )
                .at(target.span(), "no service or database has this role");
                out.push(match did_you_mean(target, &roles) {
                    Some(suggestion) => diagnostic.help(format!("did you mean `{suggestion}`?")),
                    None => diagnostic.help(format!("the roles are: {}", roles.join(", "))),
                });
                continue;
            }
            let has_health = Some(target.as_str()) == db_role
                || topology.service(target).is_some_and(|s| s.health.is_some())
                || accessory_has_health(topology, target);
            if **condition == Condition::Healthy && !has_health {
                out.push(
                    Diagnostic::error("healthy-without-health-check", format!("`{}` waits for `{target}` to be healthy, but `{target}` has no health check", service.role))
                        .at(condition.span(), "this condition can never be met")
                        .help(format!("give `{target}` a `health` check, or wait for \"started\"")),
                );
            }
        }
    }
    cycles(topology, out);
}

fn image_of(topology: &Topology, service: &Service, roles: &[&str], out: &mut Vec<Diagnostic>) {
    let Some(owner) = &service.image_of else {
        if service.context.is_none() {
            out.push(
                Diagnostic::error("missing-context", format!("service `{}` has neither `context` nor `image_of`", service.role))
                    .at(service.role.span(), "how is its image made?")
                    .help("set `context` to the directory its Dockerfile builds, or `image_of` to run another service's image"),
            );
        }
        return;
    };
    let owner_service = topology.service(owner);
    match owner_service {
        None => {
            let builders: Vec<&str> = topology
                .services
                .iter()
                .filter(|s| s.image_of.is_none())
                .map(|s| s.role.as_str())
                .collect();
            let diagnostic = Diagnostic::error(
                "unknown-image-owner",
                format!(
                    "`{}` runs the image of `{owner}`, which is not a service of the topology",
                    service.role
                ),
            )
            .at(owner.span(), "no service has this role");
            let known: Vec<&str> = if builders.is_empty() {
                roles.to_vec()
            } else {
                builders
            };
            out.push(match did_you_mean(owner, &known) {
                Some(suggestion) => diagnostic.help(format!("did you mean `{suggestion}`?")),
                None => diagnostic.help("name a service that has a `context`"),
            });
        }
        Some(owner_service) if owner_service.role.as_str() == service.role.as_str() => out.push(
            Diagnostic::error(
                "image-of-itself",
                format!("`{}` runs its own image through `image_of`", service.role),
            )
            .at(owner.span(), "remove `image_of` and set `context`"),
        ),
        Some(owner_service) if owner_service.image_of.is_some() => out.push(
            Diagnostic::error(
                "image-of-chain",
                format!("`{owner}` itself runs another service's image"),
            )
            .at(owner.span(), "point at the service that builds the image")
            .help(format!(
                "write `image_of = \"{}\"`",
                owner_service.image_of.as_deref().map_or("", String::as_str)
            )),
        ),
        Some(_) => {}
    }
    // The image comes from the owner; building keys here would describe it twice.
    let own_build_keys = [
        ("context", &service.context),
        ("dockerfile", &service.dockerfile),
        ("source_path", &service.source_path),
    ];
    for (key, value) in own_build_keys {
        if let Some(value) = value {
            out.push(
                Diagnostic::error(
                    "image-of-conflict",
                    format!("`{}` sets both `image_of` and `{key}`", service.role),
                )
                .at(value.span(), "the image's owner decides this")
                .help(format!(
                    "remove `{key}`, or remove `image_of` to build an image of its own"
                )),
            );
        }
    }
    if let Some(first) = service.generated.first() {
        out.push(
            Diagnostic::error(
                "image-of-conflict",
                format!("`{}` sets both `image_of` and `generated`", service.role),
            )
            .at(first.span(), "generated paths belong to the image's owner")
            .help(format!(
                "declare them on `{owner}`; this service mounts the same volumes in dev"
            )),
        );
    }
}

/// The role of the service whose image `service` runs: the owner its `image_of` names
/// when that owner builds an image, else its own (the problem is reported by `check`).
pub(super) fn image_role<'a>(topology: &'a Topology, service: &'a Service) -> &'a str {
    service
        .image_of
        .as_ref()
        .and_then(|owner| topology.service(owner))
        .filter(|owner| owner.image_of.is_none())
        .map_or(service.role.as_str(), |owner| owner.role.as_str())
}

fn cycles(topology: &Topology, out: &mut Vec<Diagnostic>) {
    let mut graph = DiGraph::<&str, ()>::new();
    let nodes: BTreeMap<&str, NodeIndex> = topology
        .services
        .iter()
        .map(|s| (s.role.as_str(), graph.add_node(s.role.as_str())))
        .collect();
    for service in &topology.services {
        for target in service.depends_on.keys() {
            if let (Some(&from), Some(&to)) =
                (nodes.get(service.role.as_str()), nodes.get(target.as_str()))
            {
                if from != to {
                    graph.add_edge(from, to, ());
                }
            }
        }
    }
    for component in petgraph::algo::tarjan_scc(&graph) {
        if component.len() < 2 {
            continue;
        }
        let mut members: Vec<&str> = component.iter().map(|&i| graph[i]).collect();
        members.sort_unstable();
        members.dedup();
        // A role may be written twice (reported as a duplicate): every service with a
        // member's role takes part, and the first edge found is the one pointed at.
        let edges: Vec<(&Service, &Spanned<String>)> = members
            .iter()
            .flat_map(|member| {
                topology
                    .services
                    .iter()
                    .filter(move |s| s.role.as_str() == *member)
            })
            .flat_map(|service| {
                service
                    .depends_on
                    .keys()
                    .filter(|t| {
                        members.contains(&t.as_str()) && t.as_str() != service.role.as_str()
                    })
                    .map(move |target| (service, target))
            })
            .collect();
        let Some(((first, next), rest)) = edges.split_first() else {
            continue;
        };
        let mut diagnostic = Diagnostic::error("dependency-cycle", format!("dependency cycle between {}", members.iter().map(|m| format!("`{m}`")).collect::<Vec<_>>().join(", ")))
            .at(next.span(), format!("`{}` waits for `{next}`", first.role))
            .help("a service cannot (indirectly) wait for itself: remove one of these `depends_on` entries");
        for (service, target) in rest.iter().filter(|(s, _)| !std::ptr::eq(*s, *first)) {
            diagnostic = diagnostic.related(
                target.span(),
                format!("`{}` waits for `{target}`", service.role),
            );
        }
        out.push(diagnostic);
    }
}

#[cfg(test)]
mod tests {
    use crate::model::{Condition, Service, Topology};
    use crate::Spanned;

    #[test]
    fn a_cycle_through_a_duplicated_role_is_reported() {
        let mut topology = Topology::new("p");
        let wait = |service: &mut Service, on: &str| {
            service.depends_on.insert(
                Spanned::new(on.to_owned()),
                Spanned::new(Condition::Started),
            );
        };
        let first_a = Service::build("a", ".");
        let mut second_a = Service::build("a", ".");
        wait(&mut second_a, "b");
        let mut b = Service::build("b", ".");
        wait(&mut b, "a");
        topology.services = vec![first_a, second_a, b];
        let mut out = Vec::new();
        super::check(&topology, &mut out);
        let codes: Vec<&str> = out.iter().map(|d| d.code).collect();
        assert_eq!(codes, ["dependency-cycle"], "{out:#?}");
        assert_eq!(out[0].message, "dependency cycle between `a`, `b`");
        assert_eq!(out[0].label.as_deref(), Some("`a` waits for `b`"));
    }
}
