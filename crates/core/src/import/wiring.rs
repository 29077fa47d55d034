//! How a service meets the others: published ports and its route, `depends_on`, the health
//! check, network aliases and the environment (inherited from the image's owner or its own).

use crate::compose::Pos;
use crate::model::{EnvValue, Protocol, TemplatePart, UrlOf};
use crate::{naming, Mode};

use super::database::secret_toml;
use super::document::{Table, Toml};
use super::env;
use super::health;
use super::service::RouteFound;
use super::settings::Settings;
use super::values::port_number;
use super::{Container, Note, Plan, Seen};

/// Whether another container waits for this one with `service_completed_successfully`:
/// then it is a one-shot job.
pub(super) fn is_job(plan: &Plan<'_>, container: &Container<'_>) -> bool {
    plan.containers.iter().flat_map(|c| &c.seen).any(|other| {
        other.view.depends_on().iter().any(|d| {
            d.condition == "service_completed_successfully"
                && container
                    .get(other.mode)
                    .is_some_and(|s| s.view.name() == d.service)
        })
    })
}

/// One published port as a file writes it.
#[derive(Clone, Debug)]
pub(super) struct Published {
    pub container: u16,
    pub host: u16,
    pub protocol: Protocol,
    pub pos: Pos,
}

/// The ports a view publishes that topo can say, with notes on the rest.
pub(super) fn published(
    seen: &Seen<'_>,
    settings: &mut Settings,
    table: &mut Table,
    checks: &mut Vec<Note>,
) -> Vec<Published> {
    let mut out = Vec::new();
    let mut wide_open = false;
    for port in seen.view.ports() {
        let protocol = match port.protocol.as_str() {
            "tcp" => Protocol::Tcp,
            "udp" => Protocol::Udp,
            other => {
                table.note(
                    checks,
                    seen.note(
                        port.pos,
                        format!(
                            "the protocol `{other}` cannot be written in the topology: dropped"
                        ),
                    ),
                );
                continue;
            }
        };
        let Some(container) = port_number(&port.target) else {
            table.note(
                checks,
                seen.note(
                    port.pos,
                    format!(
                        "the port `{}` (a range?) cannot be written in the topology: dropped",
                        port.target
                    ),
                ),
            );
            continue;
        };
        let host = match port.published.as_deref().map(port_number) {
            Some(Some(host)) => host,
            Some(None) => {
                table.note(
                    checks,
                    seen.note(
                        port.pos,
                        format!(
                            "the host port `{}` cannot be written in the topology: dropped",
                            port.published.as_deref().unwrap_or("")
                        ),
                    ),
                );
                continue;
            }
            None => {
                table.note(checks, seen.note(port.pos, format!("{container} is published on a random host port; topo publishes it on {container}")));
                container
            }
        };
        match seen.mode {
            Mode::Production => settings.host_ip(
                port.host_ip.clone().unwrap_or_else(|| "0.0.0.0".to_owned()),
                seen.note(port.pos, ""),
            ),
            Mode::Dev | Mode::ProdSim => wide_open |= port.host_ip.as_deref() != Some("127.0.0.1"),
        }
        out.push(Published {
            container,
            host,
            protocol,
            pos: port.pos,
        });
    }
    if wide_open {
        table.note(checks, seen.note_at("ports", format!("the {} file publishes on every interface; topo binds 127.0.0.1 locally (other machines no longer reach it)", seen.mode)));
    }
    out
}

/// `ports`, `route` and, when blue-green cannot work, `deploy = { strategy = "recreate" }`.
pub(super) fn ports_and_route(
    plan: &Plan<'_>,
    container: &Container<'_>,
    route: Option<&RouteFound>,
    is_job: bool,
    settings: &mut Settings,
    table: &mut Table,
    checks: &mut Vec<Note>,
) {
    let mut by_mode: Vec<(Seen<'_>, Vec<Published>)> = Vec::new();
    for seen in &container.seen {
        let list = published(seen, settings, table, checks);
        by_mode.push((*seen, list));
    }
    let list_of = |mode: Mode| by_mode.iter().find(|(s, _)| s.mode == mode);
    let later: Vec<&(Seen<'_>, Vec<Published>)> = [Mode::ProdSim, Mode::Production]
        .iter()
        .filter_map(|&m| list_of(m))
        .collect();
    let mut ports: Vec<(Published, bool)> = Vec::new();
    if let Some((dev, dev_ports)) = list_of(Mode::Dev) {
        for port in dev_ports {
            let mut found_elsewhere = false;
            for (seen, list) in &later {
                // The same host port first: a container port published twice is two ports
                // (and one another dev port publishes exactly is not this one's).
                let same =
                    |q: &&Published| q.container == port.container && q.protocol == port.protocol;
                let exact = |p: &Published, q: &Published| same(&q) && p.host == q.host;
                match list.iter().find(|q| exact(port, q)).or_else(|| {
                    list.iter()
                        .filter(same)
                        .find(|q| !dev_ports.iter().any(|p| exact(p, q)))
                }) {
                    Some(q) => {
                        found_elsewhere = true;
                        if q.host != port.host {
                            table.note(checks, seen.note(q.pos, format!("{} is published on {} here but on {} in dev: topo publishes one host port, dev's", port.container, q.host, port.host)));
                        }
                    }
                    None if !later.is_empty() => {}
                    None => {}
                }
            }
            let dev_only = !later.is_empty() && !found_elsewhere;
            if found_elsewhere
                && later
                    .iter()
                    .any(|(_, list)| !list.iter().any(|q| q.container == port.container))
            {
                table.note(checks, dev.note(port.pos, format!("{} is published in some files outside dev but not all: topo publishes it in prod-sim and production alike", port.container)));
            }
            ports.push((port.clone(), dev_only));
        }
    }
    for (seen, list) in later.iter().rev() {
        for q in list {
            if ports
                .iter()
                .any(|(p, _)| p.container == q.container && p.protocol == q.protocol)
            {
                continue;
            }
            if list_of(Mode::Dev).is_some() {
                table.note(checks, seen.note(q.pos, format!("{} is published in the {} file but not in dev; topo publishes it in dev too", q.container, seen.mode)));
            }
            ports.push((q.clone(), false));
        }
    }
    if !ports.is_empty() {
        table.set(
            "ports",
            Toml::Array(
                ports
                    .iter()
                    .map(|(p, dev_only)| port_toml(p, *dev_only))
                    .collect(),
            ),
        );
    }
    if let Some(route) = route {
        route_and_strategy(plan, container, route, &ports, is_job, table, checks);
    }
}

/// The route, and `deploy = { strategy = "recreate" }` when blue-green cannot work.
fn route_and_strategy(
    plan: &Plan<'_>,
    container: &Container<'_>,
    route: &RouteFound,
    ports: &[(Published, bool)],
    is_job: bool,
    table: &mut Table,
    checks: &mut Vec<Note>,
) {
    table.set(
        "route",
        Toml::Inline(vec![
            ("paths".to_owned(), Toml::strings(&route.paths)),
            ("port".to_owned(), Toml::Int(i64::from(route.port))),
        ]),
    );
    let published_outside_dev = ports.iter().any(|(_, dev_only)| !dev_only);
    let has_aliases = !alias_list(plan, container).is_empty();
    if published_outside_dev || has_aliases || is_job {
        let why = if published_outside_dev {
            "it publishes host ports outside dev"
        } else if has_aliases {
            "it has network aliases"
        } else {
            "it is a one-shot job"
        };
        table.note(checks, container.prod().note_here(format!("behind the proxy this service could deploy blue-green, but {why}: it is recreated; make its ports dev-only to deploy it without an outage")));
        table.set(
            "deploy",
            Toml::Inline(vec![("strategy".to_owned(), Toml::str("recreate"))]),
        );
    }
}

pub(super) fn port_toml(port: &Published, dev_only: bool) -> Toml {
    if port.host == port.container && port.protocol == Protocol::Tcp && !dev_only {
        return Toml::Int(i64::from(port.container));
    }
    let mut entries = vec![("container".to_owned(), Toml::Int(i64::from(port.container)))];
    if port.host != port.container {
        entries.push(("host".to_owned(), Toml::Int(i64::from(port.host))));
    }
    if port.protocol == Protocol::Udp {
        entries.push(("protocol".to_owned(), Toml::str("udp")));
    }
    if dev_only {
        entries.push(("dev_only".to_owned(), Toml::Bool(true)));
    }
    Toml::Inline(entries)
}

/// `depends_on = { role = "condition" }`, production's conditions first.
pub(super) fn depends_on(plan: &Plan<'_>, index: usize, table: &mut Table, checks: &mut Vec<Note>) {
    let container = &plan.containers[index];
    let mut found: Vec<(String, &'static str)> = Vec::new();
    for seen in container.seen.iter().rev() {
        for dependency in seen.view.depends_on() {
            let target = plan.role_of_key(seen.file, &dependency.service);
            let target_index = target.and_then(|role| plan.index_of_role(role));
            let (Some(role), Some(target_index)) = (target, target_index) else {
                table.note(
                    checks,
                    seen.note(
                        dependency.pos,
                        format!(
                            "waits for `{}`, which is not imported: dropped",
                            dependency.service
                        ),
                    ),
                );
                continue;
            };
            if target_index == index {
                table.note(
                    checks,
                    seen.note(
                        dependency.pos,
                        "waits for itself, which can never happen: dropped",
                    ),
                );
                continue;
            }
            if Some(target_index) == plan.proxy {
                table.note(
                    checks,
                    seen.note(
                        dependency.pos,
                        "waits for the proxy; in topo the proxy waits for the services: dropped",
                    ),
                );
                continue;
            }
            let mut condition = match dependency.condition.as_str() {
                "service_healthy" => "healthy",
                "service_completed_successfully" => "completed",
                "service_started" => "started",
                other => {
                    table.note(
                        checks,
                        seen.note(
                            dependency.pos,
                            format!(
                                "the condition `{other}` is not Compose's: waits for `started`"
                            ),
                        ),
                    );
                    "started"
                }
            };
            if condition == "healthy" && !plan.has_health(target_index) {
                table.note(checks, seen.note(dependency.pos, format!("waits for `{}` to be healthy, but it has no health check: waits for `started`", dependency.service)));
                condition = "started";
            }
            match found.iter().find(|(r, _)| r == role) {
                Some((_, kept)) if *kept != condition => table.note(checks, seen.note(dependency.pos, format!("waits for `{}` to be {condition} here but {kept} in production: kept production's", dependency.service))),
                Some(_) => {}
                None => found.push((role.to_owned(), condition)),
            }
        }
    }
    if !found.is_empty() {
        table.set(
            "depends_on",
            Toml::Inline(
                found
                    .into_iter()
                    .map(|(role, c)| (role, Toml::str(c)))
                    .collect(),
            ),
        );
    }
}

/// `health`, production's check, with notes where another file's differs.
pub(super) fn health(container: &Container<'_>, table: &mut Table, checks: &mut Vec<Note>) {
    let prod = container.prod();
    let kept = health::read(prod);
    for seen in &container.seen {
        if seen.mode == prod.mode {
            continue;
        }
        let other = health::read(seen).map(|(check, _)| check);
        if other != kept.as_ref().map(|(check, _)| check.clone()) {
            table.note(checks, seen.note_at("healthcheck", format!("the health check of the {} file differs from production's: topo runs production's in every mode", seen.mode)));
        }
    }
    if let Some((check, notes)) = kept {
        for note in notes {
            table.note(checks, note);
        }
        table.set("health", health::to_toml(&check));
    }
}

/// Network aliases beyond the container name and the Compose service name, and those a
/// topology cannot hold (not a valid name), with where they are written.
fn alias_lists(plan: &Plan<'_>, container: &Container<'_>) -> (Vec<String>, Vec<(String, Pos)>) {
    let seen = container.prod();
    let name = naming::container_name(&plan.project, &container.role);
    let mut aliases: Vec<String> = Vec::new();
    let mut invalid = Vec::new();
    for attachment in seen.view.networks() {
        for alias in attachment.aliases {
            if alias == name || alias == seen.view.name() || aliases.contains(&alias) {
                continue;
            }
            if naming::is_valid_name(&alias) {
                aliases.push(alias);
            } else {
                invalid.push((alias, attachment.pos));
            }
        }
    }
    (aliases, invalid)
}

/// Network aliases beyond the container name and the Compose service name.
fn alias_list(plan: &Plan<'_>, container: &Container<'_>) -> Vec<String> {
    alias_lists(plan, container).0
}

/// `aliases = [...]`, with a note on each alias that cannot be written.
pub(super) fn aliases(
    plan: &Plan<'_>,
    container: &Container<'_>,
    table: &mut Table,
    checks: &mut Vec<Note>,
) {
    let (aliases, invalid) = alias_lists(plan, container);
    for (alias, pos) in invalid {
        table.note(checks, container.prod().note(pos, format!("the network alias `{alias}` is not a name a topology can hold (lowercase letters, digits and single dashes): dropped")));
    }
    if aliases.is_empty() {
        return;
    }
    table.set("aliases", Toml::strings(&aliases));
}

/// `[services.env]`: the container's variables, less what it inherits from the image's owner.
pub(super) fn env(
    plan: &Plan<'_>,
    container: &Container<'_>,
    owner: Option<&Container<'_>>,
    checks: &mut Vec<Note>,
) -> Table {
    env_table(plan, container, owner, "[services.env]", checks)
}

/// The environment table under `header` (`[services.env]`, `[accessories.env]`).
pub(super) fn env_table(
    plan: &Plan<'_>,
    container: &Container<'_>,
    owner: Option<&Container<'_>>,
    header: &str,
    checks: &mut Vec<Note>,
) -> Table {
    let mut table = Table::new(Some(header));
    table.read_from(container.prod().note_here(""));
    let own = variables(plan, container);
    let inherited = owner
        .map(|owner| variables(plan, owner))
        .unwrap_or_default();
    for variable in &inherited {
        if !own.iter().any(|v| v.name == variable.name) {
            table.note(checks, container.prod().note_at("environment", format!("`{}` is not set here, but this service runs `{}`'s image and inherits its environment, so it gets `{}` too", variable.name, owner.map_or("", |o| o.role.as_str()), variable.name)));
        }
    }
    for variable in own {
        if inherited
            .iter()
            .any(|v| v.name == variable.name && v.value == variable.value)
        {
            continue;
        }
        for note in &variable.notes {
            table.note(checks, note.clone());
        }
        table.set_from(
            &variable.name,
            env_toml(&variable.value),
            variable.at.clone(),
        );
    }
    if table.is_empty() {
        Table::new(None)
    } else {
        table
    }
}

/// A container's variables with renamed hosts rewritten.
fn variables(plan: &Plan<'_>, container: &Container<'_>) -> Vec<env::Variable> {
    let given: Vec<Mode> = container.seen.iter().map(|s| s.mode).collect();
    let renamed = plan.renamed_hosts();
    let database_url = super::database::url(plan);
    env::import(container, &given)
        .into_iter()
        .map(|mut variable| {
            let rewrite = |text: &mut String| -> Option<(String, String)> {
                for (old, new) in &renamed {
                    if let Some(rewritten) = env::rewrite_host(text, old, new) {
                        *text = rewritten;
                        return Some((old.clone(), new.clone()));
                    }
                }
                None
            };
            let changed = match &mut variable.value {
                EnvValue::Literal(text) => rewrite(text),
                EnvValue::PerMode { dev, prod } => rewrite(dev).or(rewrite(prod)),
                EnvValue::Secret { dev: Some(dev), .. } => rewrite(dev),
                EnvValue::Secret { dev: None, .. } | EnvValue::UrlOf(_) => None,
                EnvValue::Template(parts) => parts.iter_mut().find_map(|part| match part {
                    TemplatePart::Text(text) => rewrite(text),
                    TemplatePart::Secret { .. } => None,
                }),
            };
            if let Some(url) = database_url.as_ref().and_then(|(role, url, schemes)| url_of(role, url, schemes, &variable.value)) {
                variable.value = url;
            }
            if let Some((old, new)) = changed {
                let seen = container.seen.iter().find(|s| s.view.environment().iter().any(|e| e.name == variable.name)).expect("written somewhere");
                let pos = seen.view.environment().into_iter().find(|e| e.name == variable.name).map(|e| e.value_pos).expect("found above");
                variable.notes.push(seen.note(pos, format!("`{}` named the Compose service `{old}`, which is the container `{new}` now: rewritten", variable.name)));
            }
            variable
        })
        .collect()
}

/// `{ url_of = "<role>" }` when `value` is the database's URL, `url` (in one of its schemes).
fn url_of(
    role: &str,
    url: &[TemplatePart],
    schemes: &[&str],
    value: &EnvValue,
) -> Option<EnvValue> {
    let EnvValue::Template(parts) = value else {
        return None;
    };
    let bare = |parts: &[TemplatePart]| -> Vec<TemplatePart> {
        parts
            .iter()
            .map(|p| match p {
                TemplatePart::Secret { var, .. } => TemplatePart::Secret {
                    var: var.clone(),
                    dev: None,
                },
                text => text.clone(),
            })
            .collect()
    };
    let (TemplatePart::Text(first), Some(TemplatePart::Text(written))) =
        (url.first()?, parts.first())
    else {
        return None;
    };
    let (usual, _) = first.split_once("://")?;
    let (scheme, after) = written.split_once("://")?;
    if !schemes.contains(&scheme) {
        return None;
    }
    let mut candidate = bare(parts);
    candidate[0] = TemplatePart::Text(format!("{usual}://{after}"));
    (candidate == bare(url)).then(|| {
        EnvValue::UrlOf(UrlOf {
            target: role.to_owned(),
            scheme: (scheme != usual).then(|| scheme.to_owned()),
            path: None,
        })
    })
}

pub(super) fn env_toml(value: &EnvValue) -> Toml {
    match value {
        EnvValue::Literal(text) => match (text.parse::<i64>(), text.as_str()) {
            (Ok(number), _) if number.to_string() == *text => Toml::Int(number),
            (_, "true") => Toml::Bool(true),
            (_, "false") => Toml::Bool(false),
            _ => Toml::str(text),
        },
        EnvValue::PerMode { dev, prod } => Toml::Inline(vec![
            ("dev".to_owned(), Toml::str(dev)),
            ("prod".to_owned(), Toml::str(prod)),
        ]),
        EnvValue::Secret { var, dev, file } => secret_toml(var, dev.as_deref(), *file),
        EnvValue::Template(parts) => Toml::Inline(vec![(
            "template".to_owned(),
            Toml::str(TemplatePart::written(parts)),
        )]),
        EnvValue::UrlOf(url) => {
            let mut entries = vec![("url_of".to_owned(), Toml::str(&url.target))];
            if let Some(scheme) = &url.scheme {
                entries.push(("scheme".to_owned(), Toml::str(scheme)));
            }
            if let Some(path) = &url.path {
                entries.push(("path".to_owned(), Toml::str(path)));
            }
            Toml::Inline(entries)
        }
    }
}
