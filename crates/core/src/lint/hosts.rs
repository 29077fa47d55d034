//! `host-reference-unknown`: a host in an environment value (`DB_HOST=db`,
//! `DATABASE_URL=postgres://…@db:5432/…`) must be a name on the referring service's network
//! in the same file: a service, a container name, a hostname or an alias.

use std::collections::{BTreeMap, BTreeSet};

use super::{facts, LintFile, Place, Raw};
use crate::compose::{Node, Pos, ServiceView};

pub(super) fn check(lf: &LintFile, all: &[LintFile], out: &mut Vec<Raw>) {
    let file = &lf.file;
    let services = file.services();
    // Network → the names answered on it.
    let mut on_network: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for service in &services {
        for attachment in service.networks() {
            let names = on_network.entry(attachment.network.clone()).or_default();
            names.insert(service.name().to_owned());
            names.extend(service.container_name().map(|(n, _)| n));
            names.extend(service.text("hostname"));
            names.extend(attachment.aliases.iter().cloned());
        }
    }
    for service in &services {
        let networks = service.networks();
        if networks.is_empty() {
            continue; // network_mode: host / service:x / none: another namespace's names
        }
        let own = own_names(service);
        let is_known = |host: &str| {
            own.iter().any(|name| name == host)
                || networks
                    .iter()
                    .any(|a| on_network.get(&a.network).is_some_and(|n| n.contains(host)))
        };
        // Every name the service can reach, gathered only when a finding needs the list
        // (copying it for every service would cost services² on a large file).
        let mut known: Option<BTreeSet<String>> = None;
        for entry in service.environment() {
            let Some(value) = entry.value.as_deref() else {
                continue;
            };
            for (host, offset) in facts::hosts_named(&entry.name, value) {
                if facts::is_external_host(&host) || is_known(&host) {
                    continue;
                }
                let known = known.get_or_insert_with(|| {
                    networks
                        .iter()
                        .flat_map(|a| on_network.get(&a.network).into_iter().flatten().cloned())
                        .chain(own.iter().cloned())
                        .collect()
                });
                let at = entry.pos_in_value(offset);
                out.push(finding(lf, all, service, &entry.name, &host, at, known));
            }
        }
    }
}

/// Names a service adds for itself: `extra_hosts` and `links` aliases.
fn own_names(service: &ServiceView<'_>) -> Vec<String> {
    let mut names = Vec::new();
    if let Some(extra) = service.get("extra_hosts") {
        names.extend(extra.entries().iter().map(|(k, _)| k.text.clone()));
        names.extend(
            extra
                .items()
                .iter()
                .filter_map(Node::scalar)
                .filter_map(|h| h.split([':', '=']).next().map(str::to_owned)),
        );
    }
    for key in ["links", "external_links"] {
        if let Some(links) = service.get(key) {
            for link in links.items().iter().filter_map(Node::scalar) {
                names.extend(link.rsplit(':').next().map(str::to_owned));
            }
        }
    }
    names
}

fn finding(
    lf: &LintFile,
    all: &[LintFile],
    service: &ServiceView<'_>,
    variable: &str,
    host: &str,
    at: Pos,
    known: &BTreeSet<String>,
) -> Raw {
    let mut raw = Raw::new(
        "host-reference-unknown",
        Place::at(&lf.file, at),
        format!(
            "`{variable}` of `{}` names the host `{host}`, which is no service, container or alias on its network in this file",
            service.name()
        ),
    );
    // The file where that name exists: it is usually the other environment's spelling.
    if let Some(place) = all
        .iter()
        .filter(|other| other.file.name != lf.file.name)
        .find_map(|other| {
            other
                .file
                .services()
                .into_iter()
                .find(|s| s.name() == host || s.container_name().is_some_and(|(c, _)| c == host))
                .map(|s| Place::at(&other.file, s.key.pos))
        })
    {
        raw = raw.related(place);
    }
    // `db` for `vendure-db`: a name that is the host with a prefix, else the most alike.
    let closest = known
        .iter()
        .filter(|name| name.as_str() != service.name())
        .find(|name| name.ends_with(&format!("-{host}")) || name.ends_with(&format!("_{host}")))
        .or_else(|| {
            known
                .iter()
                .filter(|name| name.as_str() != service.name())
                .map(|name| (strsim::jaro_winkler(name, host), name))
                .filter(|(score, _)| *score > 0.7)
                .max_by(|a, b| a.0.total_cmp(&b.0))
                .map(|(_, name)| name)
        });
    let listed: Vec<&str> = known.iter().map(String::as_str).take(8).collect();
    raw.hint(match closest {
        Some(name) => format!(
            "did you mean `{name}`? Names on this network: {}",
            listed.join(", ")
        ),
        _ => format!("names on this network: {}", listed.join(", ")),
    })
}
