//! `[proxy]` from the nginx container, and each service's `route` from the routes file
//! topo writes into it (a Compose `configs:` entry with `content:`): its `upstream` and
//! `location` blocks, or plain `proxy_pass http://host:port` lines.

use std::collections::BTreeMap;

use crate::compose::{ComposeFile, MountKind, Node};
use crate::model::Proxy;
use crate::naming;

use super::document::{Table, Toml};
use super::service::RouteFound;
use super::settings::Settings;
use super::values::port_number;
use super::{leftovers, Container, Note, Plan};

/// The routes the proxy's configuration gives each service, by role.
/// The notes are the proxy table's: pass them to [`import`].
pub(super) fn routes(
    plan: &Plan<'_>,
    proxy: &Container<'_>,
    checks: &mut Vec<Note>,
) -> BTreeMap<String, RouteFound> {
    let seen = proxy.prod();
    let content = seen.view.get("configs").and_then(|configs| {
        configs.items().iter().find_map(|item| {
            let target = item.get("target").and_then(Node::scalar)?;
            (target == Proxy::CONFIG_PATH).then(|| item.get("source").and_then(Node::scalar))?
        })
    });
    let Some(text) = content.and_then(|source| config_content(seen.file, &source)) else {
        let conf = seen
            .view
            .mounts()
            .into_iter()
            .find(|m| m.kind == MountKind::Bind && m.target.starts_with("/etc/nginx"));
        let at = conf.as_ref().map_or(seen.view.key.pos, |m| m.pos);
        checks.push(seen.note(at, format!(
            "the proxy's routes are not in the Compose file{}: add `route = {{ paths = [...], port = ... }}` to each service it sends to",
            conf.and_then(|m| m.source).map_or_else(String::new, |s| format!(" (nginx reads `{s}`, which topo import does not open)"))
        )));
        return BTreeMap::new();
    };
    let mut routes: BTreeMap<String, RouteFound> = BTreeMap::new();
    for (path, host, port) in parse_routes(&text) {
        let role = plan
            .containers
            .iter()
            .enumerate()
            .filter(|(i, _)| plan.services.contains(i))
            .find(|(_, c)| {
                naming::container_name(&plan.project, &c.role) == host
                    || c.seen.iter().any(|s| s.view.name() == host)
            })
            .map(|(_, c)| c.role.clone());
        let Some(role) = role else {
            checks.push(seen.note_at("configs", format!("the proxy sends `{path}` to `{host}`, which is not an imported service: dropped")));
            continue;
        };
        if let Some((first, _)) = routes
            .iter()
            .find(|(other, found)| **other != role && found.paths.contains(&path))
        {
            checks.push(seen.note_at("configs", format!("the proxy sends `{path}` to `{host}` too, but `{first}` gets it first: kept `{first}`")));
            continue;
        }
        let route = routes.entry(role).or_insert_with(|| RouteFound {
            paths: Vec::new(),
            port,
        });
        if !route.paths.contains(&path) {
            route.paths.push(path);
        }
    }
    routes
}

/// The `content:` of the top-level config `source` as Compose reads it (`$$` a `$`);
/// `None` when it reads variables.
/// `tls` (and `https_port`) from the production file: the certificate a `configs:` entry
/// reads from a file, the key a `secrets:` entry reads from a variable.
fn tls(
    container: &Container<'_>,
    https_port: Option<u16>,
    table: &mut Table,
    checks: &mut Vec<Note>,
) {
    let seen = container.prod();
    let source_of = |key: &str, target: &str| {
        seen.view.get(key).and_then(|list| {
            list.items().iter().find_map(|item| {
                let written = item.get("target").and_then(Node::scalar)?;
                (written == target).then(|| item.get("source").and_then(Node::scalar))?
            })
        })
    };
    let top = |section: &str, source: &str, field: &str| {
        seen.file
            .root
            .get(section)?
            .get(source)?
            .get(field)?
            .scalar()
    };
    let certificate = source_of("configs", Proxy::TLS_CERTIFICATE_PATH)
        .and_then(|source| top("configs", &source, "file"));
    // The key's variable: the secret's `environment`, or the name of its file (`topo
    // secrets` names each file after its variable).
    let key = source_of("secrets", Proxy::TLS_KEY_PATH).and_then(|source| {
        top("secrets", &source, "environment").or_else(|| {
            let file = top("secrets", &source, "file")?;
            file.rsplit('/').next().map(str::to_owned)
        })
    });
    if acme(container, https_port, table, checks) {
        return;
    }
    let (Some(certificate), Some(key)) = (certificate, key) else {
        if https_port.is_some() {
            table.note(checks, seen.note_here("the proxy publishes 443 without topo's certificate and key entries: HTTPS is not imported (add `tls` to `[proxy]`)"));
        }
        return;
    };
    let certificate = certificate.trim_start_matches("./").to_owned();
    if let Some(port) = https_port.filter(|p| *p != 443) {
        table.set("https_port", Toml::Int(i64::from(port)));
    }
    table.set(
        "tls",
        Toml::Inline(vec![
            ("certificate".to_owned(), Toml::str(certificate)),
            (
                "key".to_owned(),
                Toml::Inline(vec![("secret".to_owned(), Toml::str(key))]),
            ),
        ]),
    );
}

/// `tls = { acme = … }` from the production file's `x-topo-acme` (the renderer's record of
/// the account and names, which no Compose key holds); whether there was one.
fn acme(
    container: &Container<'_>,
    https_port: Option<u16>,
    table: &mut Table,
    checks: &mut Vec<Note>,
) -> bool {
    let seen = container.prod();
    let Some(acme) = seen.file.root.get("x-topo-acme") else {
        return false;
    };
    let field = |name: &str| acme.get(name).and_then(Node::scalar);
    let domains: Vec<String> = acme
        .get("domains")
        .map(|d| d.items().iter().filter_map(Node::scalar).collect())
        .unwrap_or_default();
    let Some(email) = field("email") else {
        table.note(checks, seen.note_here("`x-topo-acme` without an `email`: HTTPS is not imported (add `tls = { acme = … }` to `[proxy]`)"));
        return true;
    };
    let mut entries = vec![
        ("email".to_owned(), Toml::str(email)),
        (
            "domains".to_owned(),
            Toml::strings(&domains.iter().map(String::as_str).collect::<Vec<_>>()),
        ),
    ];
    if let Some(directory) = field("directory").filter(|d| d != Proxy::LETS_ENCRYPT) {
        entries.push(("directory".to_owned(), Toml::str(directory)));
    }
    if let Some(root) = field("ca_certificate") {
        entries.push((
            "ca_certificate".to_owned(),
            Toml::str(root.trim_start_matches("./")),
        ));
    }
    let default_margin =
        humantime::format_duration(crate::validate::DEFAULT_RENEW_BEFORE).to_string();
    if let Some(margin) = field("renew_before").filter(|m| *m != default_margin) {
        entries.push(("renew_before".to_owned(), Toml::str(margin)));
    }
    if let Some(port) = https_port.filter(|p| *p != 443) {
        table.set("https_port", Toml::Int(i64::from(port)));
    }
    table.set(
        "tls",
        Toml::Inline(vec![("acme".to_owned(), Toml::Inline(entries))]),
    );
    true
}

fn config_content(file: &ComposeFile, source: &str) -> Option<String> {
    let content = file
        .root
        .get("configs")?
        .get(source)?
        .get("content")?
        .scalar()?;
    crate::value::Interpolated::parse(&content)
        .ok()?
        .as_literal()
        .map(str::to_owned)
}

/// (path, host, port) for every `location` that proxies somewhere, in the order written.
fn parse_routes(text: &str) -> Vec<(String, String, u16)> {
    let mut upstreams: BTreeMap<String, (String, u16)> = BTreeMap::new();
    let mut current_upstream: Option<String> = None;
    let mut current_location: Option<String> = None;
    let mut out = Vec::new();
    for line in text.lines().map(str::trim) {
        let words: Vec<&str> = line
            .trim_end_matches(['{', ';'])
            .split_whitespace()
            .collect();
        match words.as_slice() {
            ["upstream", name] => current_upstream = Some((*name).to_owned()),
            ["server", address, ..] if current_upstream.is_some() => {
                if let Some((host, port)) = address
                    .rsplit_once(':')
                    .and_then(|(h, p)| Some((h, port_number(p)?)))
                {
                    let name = current_upstream.clone().expect("inside an upstream");
                    upstreams.entry(name).or_insert((host.to_owned(), port));
                }
            }
            ["location", path] | ["location", "=" | "^~", path] => {
                current_location = Some((*path).to_owned())
            }
            ["proxy_pass", target] => {
                let Some(path) = current_location.clone() else {
                    continue;
                };
                let address = target.trim_start_matches("http://").trim_end_matches('/');
                let resolved = match upstreams.get(address) {
                    Some((host, port)) => Some((host.clone(), *port)),
                    None => address
                        .rsplit_once(':')
                        .and_then(|(h, p)| Some((h.to_owned(), port_number(p)?)))
                        .or_else(|| Some((address.to_owned(), 80))),
                };
                if let Some((host, port)) = resolved {
                    out.push((path, host, port));
                }
            }
            ["}"] => {
                current_upstream = None;
            }
            _ => {}
        }
    }
    out
}

/// The `[proxy]` table.
pub(super) fn import(
    plan: &Plan<'_>,
    container: &Container<'_>,
    route_notes: Vec<Note>,
    settings: &mut Settings,
    checks: &mut Vec<Note>,
) -> Table {
    let mut table = Table::new(Some("[proxy]"));
    table.read_from(container.prod().note_here(""));
    super::service::absent_modes(plan, container, &mut table, checks);
    for note in route_notes {
        table.note(checks, note);
    }
    let prod = container.prod();
    if let Some((image, _)) = prod.view.image() {
        for seen in &container.seen {
            if let Some((other, pos)) = seen.view.image().filter(|(other, _)| *other != image) {
                table.note(
                    checks,
                    seen.note(
                        pos,
                        format!(
                            "the proxy runs `{other}` here but `{image}` in {}: kept production's",
                            prod.file.name
                        ),
                    ),
                );
            }
        }
        if image != Proxy::DEFAULT_IMAGE {
            let written = super::values::literal(&image).unwrap_or_else(|raw| {
                table.note(checks, prod.note_at("image", format!("the proxy's image `{raw}` reads a variable; topo writes images literally: set the image you run")));
                raw
            });
            table.set("image", Toml::str(written));
        }
    }
    let mut port: Option<u16> = None;
    let mut https_port: Option<u16> = None;
    for seen in container.seen.iter().rev() {
        for published in seen.view.ports() {
            let host = published.published.as_deref().and_then(port_number);
            match (port_number(&published.target), host) {
                (Some(443), Some(host)) if seen.mode != crate::Mode::Dev => {
                    https_port = Some(host);
                }
                (Some(80), Some(host)) => {
                    if seen.mode == crate::Mode::Production {
                        settings.host_ip(published.host_ip.clone().unwrap_or_else(|| "0.0.0.0".to_owned()), seen.note(published.pos, ""));
                    }
                    match port {
                        Some(kept) if kept != host => table.note(checks, seen.note(published.pos, format!("the proxy is published on {host} here but {kept} in production: topo publishes one port"))),
                        Some(_) => {}
                        None => port = Some(host),
                    }
                }
                _ => table.note(checks, seen.note(published.pos, format!("the proxy's port `{}` cannot be written in the topology (it publishes container port 80 only): dropped", published.target))),
            }
        }
        // The ACME volume is topo's own (read back from `x-topo-acme`).
        let acme_volume = naming::volume_name(&plan.project, Proxy::ROLE, "acme");
        for mount in seen.view.mounts().into_iter().filter(|m| {
            !(m.target == Proxy::ACME_DIR && m.source.as_deref() == Some(acme_volume.as_str()))
        }) {
            table.note(checks, seen.note(mount.pos, format!("the proxy's mount of `{}` is not topo's: it writes the routes file itself from the services' `route`s: dropped", mount.target)));
        }
        for key in ["environment", "healthcheck"] {
            if seen.view.get(key).is_some() && !is_topos(seen, key) {
                leftovers::dropped(
                    seen,
                    key,
                    "is derived by topo for the proxy",
                    &mut table,
                    checks,
                );
            }
        }
    }
    if let Some(port) = port.filter(|p| *p != 80) {
        table.set("port", Toml::Int(i64::from(port)));
    }
    tls(container, https_port, &mut table, checks);
    super::hardening::confinement(
        container,
        crate::model::Proxy::HARDENING,
        &mut table,
        checks,
    );
    leftovers::container_keys(
        plan,
        container,
        &["configs", "secrets"],
        false,
        settings,
        &mut table,
        checks,
    );
    table
}

/// Whether the proxy's `key` is what topo writes itself.
fn is_topos(seen: &super::Seen<'_>, key: &str) -> bool {
    match key {
        "healthcheck" => seen
            .view
            .get("healthcheck")
            .and_then(|h| h.get("test"))
            .is_some_and(|t| {
                t.items()
                    .iter()
                    .filter_map(Node::scalar)
                    .collect::<Vec<_>>()
                    == ["CMD", "sh", "-c", "test -s /var/run/nginx.pid"]
            }),
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::parse_routes;

    fn check(config: &str, expect: &[(&str, &str, u16)]) {
        let got = parse_routes(config);
        let got: Vec<(&str, &str, u16)> = got
            .iter()
            .map(|(p, h, n)| (p.as_str(), h.as_str(), *n))
            .collect();
        assert_eq!(got, expect);
    }

    #[test]
    fn routes_files() {
        check(
            "upstream shop-api {\n    server shop-api:3000;\n    keepalive 16;\n}\nserver {\n    listen 80;\n    location /api {\n        proxy_pass http://shop-api;\n    }\n    location / {\n        return 404;\n    }\n}\n",
            &[("/api", "shop-api", 3000)],
        );
        check(
            "server {\n  location / { \n proxy_pass http://storefront:4000/;\n }\n  location /shop-api {\n    proxy_pass http://server:3000;\n  }\n}\n",
            &[("/", "storefront", 4000), ("/shop-api", "server", 3000)],
        );
    }
}
