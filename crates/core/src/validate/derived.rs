//! Values derived from the topology: `{ url_of = "db" }` and `{ template = "…${VAR}…" }`
//! become one [`EnvValue::Template`] of text and secrets, so that a host, port, user,
//! database name or password is written once and every consumer reads it from there.
//!
//! Runs after the topology is read: a URL needs its target's final form (the database's
//! user, an accessory's catalogue entry, a service's port). A secret inside a template
//! without a `${VAR:-local}` default takes the local default its declaration elsewhere
//! gives (`password = { secret = "DB_PASSWORD", dev = "shop" }`).

use std::collections::BTreeMap;
use std::ops::Range;

use crate::diagnostic::Diagnostic;
use crate::model::{EnvValue, TemplatePart, Topology, UrlOf};
use crate::naming::container_name;
use crate::valid::{Test, ValidTopology};
use crate::Spanned;

/// Replaces every derived value of the services and accessories with its template, and
/// reports each one that cannot be derived at the entry that says it.
pub(super) fn lower(topology: &Topology, valid: &mut ValidTopology, out: &mut Vec<Diagnostic>) {
    let context = Context::new(valid);
    let written = topology
        .services
        .iter()
        .map(|s| (s.role.as_str(), &s.env))
        .chain(
            topology
                .accessories
                .iter()
                .map(|a| (a.role.as_str(), &a.env)),
        );
    for (role, env) in written {
        for (name, value) in env {
            if let Err(problem) = context.lower(value.get()) {
                out.push(problem.at(role, name, value.span()));
            }
        }
    }
    let lowered = |env: &mut BTreeMap<String, EnvValue>| {
        for value in env.values_mut() {
            // A value that cannot be derived is reported above; its stand-in is never used.
            *value = context
                .lower(value)
                .unwrap_or_else(|_| EnvValue::Literal(String::new()));
        }
    };
    let mut services: Vec<BTreeMap<String, EnvValue>> =
        valid.services.iter().map(|s| s.env.clone()).collect();
    let mut accessories: Vec<BTreeMap<String, EnvValue>> =
        valid.accessories.iter().map(|a| a.env.clone()).collect();
    services.iter_mut().for_each(lowered);
    accessories.iter_mut().for_each(lowered);
    for (service, env) in valid.services.iter_mut().zip(services) {
        service.env = env;
    }
    for (accessory, env) in valid.accessories.iter_mut().zip(accessories) {
        accessory.env = env;
    }
}

/// Why a value cannot be derived.
struct Problem {
    message: String,
    label: String,
    help: String,
}

impl Problem {
    fn new(message: impl Into<String>, label: impl Into<String>, help: impl Into<String>) -> Self {
        Problem {
            message: message.into(),
            label: label.into(),
            help: help.into(),
        }
    }

    fn at(self, role: &str, name: &Spanned<String>, span: Option<Range<usize>>) -> Diagnostic {
        Diagnostic::error(
            "invalid-derived-value",
            format!("`{name}` of `{role}`: {}", self.message),
        )
        .at(span, self.label)
        .help(self.help)
    }
}

/// What a URL is made of: where it goes and which schemes it speaks.
struct Target {
    /// The schemes it speaks, the usual one first; empty when unknown (any is accepted).
    schemes: Vec<&'static str>,
    /// `user[:password]@`, when the target has credentials.
    user: Option<Vec<TemplatePart>>,
    host: String,
    port: Option<u16>,
    /// The path when none is written (a database's name).
    path: String,
    /// The modes it runs in, when not every one.
    only_in: Option<Vec<crate::Mode>>,
}

struct Context {
    targets: BTreeMap<String, Target>,
    /// Each secret's local default, as its declarations give it.
    defaults: BTreeMap<String, String>,
}

impl Context {
    fn new(valid: &ValidTopology) -> Self {
        let mut defaults = BTreeMap::new();
        let mut targets = BTreeMap::new();
        let project = valid.project.as_str();
        if let Some(database) = &valid.database {
            if let Some(dev) = &database.password.dev {
                defaults.insert(database.password.var.clone(), dev.clone());
            }
            let host = container_name(project, &database.role);
            let url = database_url(
                database.engine,
                &database.user,
                &database.password.var,
                &host,
                &database.name,
            );
            targets.insert(
                database.role.clone(),
                Target {
                    schemes: database.engine.url_schemes().to_vec(),
                    user: Some(url.user),
                    host,
                    port: Some(database.engine.port()),
                    path: url.path,
                    only_in: None,
                },
            );
        }
        let envs = valid
            .services
            .iter()
            .map(|s| &s.env)
            .chain(valid.accessories.iter().map(|a| &a.env));
        for value in envs.flat_map(|env| env.values()) {
            if let EnvValue::Secret {
                var,
                dev: Some(dev),
                ..
            } = value
            {
                defaults.entry(var.clone()).or_insert_with(|| dev.clone());
            }
        }
        for accessory in &valid.accessories {
            targets.insert(accessory.role.clone(), accessory_target(project, accessory));
        }
        for service in &valid.services {
            let port = service
                .route
                .as_ref()
                .map(|r| r.port)
                .or_else(|| match service.health.as_ref().map(|h| &h.test) {
                    Some(Test::Http { port, .. }) => Some(*port),
                    _ => None,
                })
                .or_else(|| service.ports.first().map(|p| p.container));
            targets.insert(
                service.role.clone(),
                Target {
                    schemes: vec!["http"],
                    user: None,
                    host: container_name(project, &service.role),
                    port,
                    path: String::new(),
                    only_in: None,
                },
            );
        }
        Context { targets, defaults }
    }

    /// The value with a derived form replaced by its template, local defaults filled in.
    fn lower(&self, value: &EnvValue) -> Result<EnvValue, Problem> {
        let (parts, is_url) = match value {
            EnvValue::Template(parts) => (parts.clone(), false),
            EnvValue::UrlOf(url) => (self.url(url)?, true),
            other => return Ok(other.clone()),
        };
        let parts: Vec<TemplatePart> = parts
            .into_iter()
            .map(|part| match part {
                TemplatePart::Secret { var, dev: None } => TemplatePart::Secret {
                    dev: self.defaults.get(&var).cloned(),
                    var,
                },
                part => part,
            })
            .collect();
        for part in &parts {
            if let TemplatePart::Secret {
                var,
                dev: Some(dev),
            } = part
            {
                // The password goes into the URL as it is, in Compose and in topo's driver
                // alike: a character a URL reserves would change what the URL says.
                if is_url && userinfo(dev) != *dev {
                    return Err(Problem::new(
                        format!("the local default of `{var}` holds a character a URL reserves"),
                        "it goes into the URL unencoded",
                        format!("choose a URL-safe local default (letters, digits, `-._~`); `{var}` itself must be URL-safe too, e.g. `openssl rand -hex 24`"),
                    ));
                }
            }
        }
        Ok(EnvValue::Template(parts))
    }

    fn url(&self, url: &UrlOf) -> Result<Vec<TemplatePart>, Problem> {
        let roles = || {
            let names: Vec<&str> = self.targets.keys().map(String::as_str).collect();
            format!("one of: {}", names.join(", "))
        };
        let target = self.targets.get(&url.target).ok_or_else(|| {
            Problem::new(
                format!(
                    "`url_of` names `{}`, which the topology does not define",
                    url.target
                ),
                "no such role",
                format!("name the database, an accessory or a service: {}", roles()),
            )
        })?;
        if let Some(modes) = &target.only_in {
            let modes: Vec<&str> = modes.iter().map(|m| m.as_str()).collect();
            return Err(Problem::new(
                format!(
                    "`{}` runs only in {}, so its URL would name nothing elsewhere",
                    url.target,
                    modes.join(", ")
                ),
                "a URL for every mode",
                "give the value per mode instead: { dev = \"…\", prod = \"…\" }",
            ));
        }
        let scheme = match (&url.scheme, target.schemes.first()) {
            (Some(scheme), _) if !is_scheme(scheme) => {
                return Err(Problem::new(
                    format!("`{scheme}` is not a URL scheme"),
                    "letters, digits, `+`, `-` and `.`, starting with a letter",
                    "e.g. scheme = \"postgres\"",
                ))
            }
            (Some(scheme), _)
                if target.schemes.is_empty() || target.schemes.contains(&scheme.as_str()) =>
            {
                scheme.clone()
            }
            (Some(scheme), _) => {
                return Err(Problem::new(
                    format!("`{}` does not speak `{scheme}`", url.target),
                    "no such scheme",
                    format!("its schemes: {}", target.schemes.join(", ")),
                ))
            }
            (None, Some(usual)) => (*usual).to_owned(),
            (None, None) => {
                return Err(Problem::new(
                    format!("topo does not know which scheme `{}` speaks", url.target),
                    "no scheme",
                    "add one: { url_of = \"…\", scheme = \"http\" }",
                ))
            }
        };
        let port = target.port.ok_or_else(|| {
            Problem::new(
                format!("`{}` has no port to derive a URL from", url.target),
                "no port",
                format!(
                    "give `{}` a `route`, an HTTP `health` check or a `ports` entry",
                    url.target
                ),
            )
        })?;
        let path = url.path.clone().unwrap_or_else(|| target.path.clone());
        if !(path.is_empty() || path.starts_with('/')) {
            return Err(Problem::new(
                format!("the path `{path}` does not start with `/`"),
                "after the port",
                format!("path = \"/{path}\""),
            ));
        }
        let mut parts = vec![TemplatePart::Text(format!("{scheme}://"))];
        if let Some(user) = &target.user {
            parts.extend(user.iter().cloned());
            parts.push(TemplatePart::Text("@".to_owned()));
        }
        parts.push(TemplatePart::Text(format!("{}:{port}{path}", target.host)));
        Ok(merge(parts))
    }
}

/// Where an accessory is reached: its catalogue's port and schemes, its user and password
/// when the catalogue knows the variables its image reads them from.
fn accessory_target(project: &str, accessory: &crate::valid::Accessory) -> Target {
    let known = accessory.known;
    let credentials = known
        .and_then(|k| k.credentials)
        .and_then(|(user, password)| {
            let user = match accessory.env.get(user)? {
                EnvValue::Literal(user) => userinfo(user),
                _ => return None,
            };
            let password = match accessory.env.get(password)? {
                EnvValue::Secret { var, .. } => TemplatePart::Secret {
                    var: var.clone(),
                    dev: None,
                },
                EnvValue::Literal(text) => TemplatePart::Text(userinfo(text)),
                _ => return None,
            };
            Some(vec![TemplatePart::Text(format!("{user}:")), password])
        });
    let every = [
        crate::Mode::Dev,
        crate::Mode::ProdSim,
        crate::Mode::Production,
    ];
    Target {
        schemes: known.map(|k| k.schemes.to_vec()).unwrap_or_default(),
        user: credentials,
        host: container_name(project, &accessory.role),
        port: known
            .map(|k| k.port)
            .or_else(|| accessory.ports.first().map(|p| p.container)),
        path: String::new(),
        only_in: (!every.iter().all(|m| accessory.runs_in(*m))).then(|| accessory.modes.clone()),
    }
}

/// What a database's URL is made of (its usual scheme's).
pub(crate) struct DatabaseUrl {
    /// `user:` and the password's secret.
    pub user: Vec<TemplatePart>,
    /// `/<database>`.
    pub path: String,
    /// The whole URL in the usual scheme.
    pub whole: Vec<TemplatePart>,
}

/// The URL of a database server: `postgresql://user:${PASSWORD}@host:5432/name`. (Also what
/// `topo import` recognises as `{ url_of = "db" }`.)
pub(crate) fn database_url(
    engine: crate::model::Engine,
    user: &str,
    password_var: &str,
    host: &str,
    name: &str,
) -> DatabaseUrl {
    let user = vec![
        TemplatePart::Text(format!("{}:", userinfo(user))),
        TemplatePart::Secret {
            var: password_var.to_owned(),
            dev: None,
        },
    ];
    let path = format!("/{name}");
    let mut whole = vec![TemplatePart::Text(format!(
        "{}://",
        engine.url_schemes()[0]
    ))];
    whole.extend(user.iter().cloned());
    whole.push(TemplatePart::Text(format!(
        "@{host}:{}{path}",
        engine.port()
    )));
    DatabaseUrl {
        user,
        path,
        whole: merge(whole),
    }
}

/// Adjacent texts joined, so that equal templates compare equal.
fn merge(parts: Vec<TemplatePart>) -> Vec<TemplatePart> {
    let mut out: Vec<TemplatePart> = Vec::new();
    for part in parts {
        match (out.last_mut(), part) {
            (Some(TemplatePart::Text(last)), TemplatePart::Text(text)) => last.push_str(&text),
            (_, part) => out.push(part),
        }
    }
    out
}

/// `scheme = ALPHA *( ALPHA / DIGIT / "+" / "-" / "." )` (RFC 3986).
fn is_scheme(text: &str) -> bool {
    text.starts_with(|c: char| c.is_ascii_alphabetic())
        && text
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '+' | '-' | '.'))
}

/// A user name or password as a URL's user information carries it (RFC 3986 §3.2.1:
/// anything outside unreserved and sub-delims is percent-encoded).
fn userinfo(text: &str) -> String {
    let mut out = String::new();
    for byte in text.bytes() {
        if byte.is_ascii_alphanumeric() || b"-._~!$&'()*+,;=".contains(&byte) {
            out.push(byte as char);
        } else {
            out.push_str(&format!("%{byte:02X}"));
        }
    }
    out
}
