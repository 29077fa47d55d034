//! Values that may be written in more than one form (`3000` or `{ container = 3000 }`).
//!
//! Each has a hand-written `Deserialize` so that a wrong form gets a precise message
//! instead of serde's "did not match any variant", and a schema-only mirror type
//! that gives the JSON Schema its `anyOf`.

use std::fmt;

use schemars::JsonSchema;
use serde::de::{self, value::MapAccessDeserializer, value::SeqAccessDeserializer, Visitor};
use serde::{Deserialize, Deserializer};

/// Implements `JsonSchema` for `$ty` by delegating to the schema-only type `$shape`.
macro_rules! schema_as {
    ($ty:ty, $shape:ty) => {
        impl JsonSchema for $ty {
            fn schema_name() -> std::borrow::Cow<'static, str> {
                <$shape>::schema_name()
            }
            fn json_schema(generator: &mut schemars::SchemaGenerator) -> schemars::Schema {
                <$shape>::json_schema(generator)
            }
        }
    };
}

/// A container command: the same in every mode, or one for dev and one for prod-sim and
/// production. `None` runs the image's own `CMD`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Command {
    /// The dev command.
    pub dev: Option<Vec<String>>,
    /// The command of prod-sim and production (always the same: that is parity).
    pub prod: Option<Vec<String>>,
}

#[derive(Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
#[schemars(rename = "CommandPerMode")]
struct CommandPerMode {
    /// The dev command, e.g. `["npm", "run", "dev"]`.
    dev: Option<Vec<String>>,
    /// The command of prod-sim and production, e.g. `["node", "dist/index.js"]`.
    prod: Option<Vec<String>>,
}

/// A command: an array of arguments for every mode, or `{ dev = [...], prod = [...] }`.
/// (The schema of [`Command`].)
#[derive(JsonSchema)]
#[serde(untagged)]
#[schemars(rename = "Command")]
#[allow(dead_code)]
enum CommandShape {
    /// The same command in every mode, as an array of arguments.
    All(Vec<String>),
    /// One command per mode.
    PerMode(CommandPerMode),
}
schema_as!(Command, CommandShape);

impl<'de> Deserialize<'de> for Command {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct CommandVisitor;
        impl<'de> Visitor<'de> for CommandVisitor {
            type Value = Command;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str(r#"an array of arguments (["node", "dist/index.js"]) or { dev = [...], prod = [...] }"#)
            }
            fn visit_str<E: de::Error>(self, _: &str) -> Result<Command, E> {
                Err(E::custom(
                    r#"a command is an array of arguments, e.g. ["npm", "run", "dev"], not a string: topo never guesses how to split it"#,
                ))
            }
            fn visit_seq<A: de::SeqAccess<'de>>(self, seq: A) -> Result<Command, A::Error> {
                let all = Vec::<String>::deserialize(SeqAccessDeserializer::new(seq))?;
                Ok(Command {
                    dev: Some(all.clone()),
                    prod: Some(all),
                })
            }
            fn visit_map<A: de::MapAccess<'de>>(self, map: A) -> Result<Command, A::Error> {
                let per_mode = CommandPerMode::deserialize(MapAccessDeserializer::new(map))?;
                Ok(Command {
                    dev: per_mode.dev,
                    prod: per_mode.prod,
                })
            }
        }
        deserializer.deserialize_any(CommandVisitor)
    }
}

/// One environment value.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum EnvValue {
    /// The same literal in every mode. Numbers and booleans are kept as written.
    Literal(String),
    /// A literal per mode: `dev` for dev, `prod` for prod-sim and production.
    PerMode {
        /// The dev value.
        dev: String,
        /// The prod-sim and production value.
        prod: String,
    },
    /// A reference to a secret, resolved from the deploying environment's variable `var`.
    /// `dev` is a non-secret default for the local modes (dev and prod-sim) only.
    Secret {
        /// The variable that holds the secret (`DB_PASSWORD`).
        var: String,
        /// A default for dev and prod-sim; production never has one.
        dev: Option<String>,
        /// In prod-sim and production, deliver it as a file under `/run/secrets` named by
        /// `<NAME>_FILE` instead of the variable `<NAME>` (`None`: the consumer's default:
        /// a file for the database, a variable for a service).
        file: Option<bool>,
    },
    /// Text with secrets inside it: `{ template = "amqp://shop:${MQ_PASSWORD}@shop-queue/" }`.
    /// Each variable is a secret read from the deploying environment, with the local
    /// default its `${VAR:-dev}` gives (or the one its declaration elsewhere gives).
    Template(Vec<TemplatePart>),
    /// A connection URL derived from the database, an accessory or a service:
    /// `{ url_of = "db" }`. Validation turns it into a [`EnvValue::Template`].
    UrlOf(UrlOf),
}

/// One piece of a [`EnvValue::Template`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum TemplatePart {
    /// Literal text.
    Text(String),
    /// A secret read from the variable `var`; `dev` is its default in the local modes.
    Secret {
        /// The variable holding it.
        var: String,
        /// A default for dev and prod-sim; production never has one.
        dev: Option<String>,
    },
}

impl TemplatePart {
    /// The parts as a topology writes them: `$` doubled in text, `${VAR}` or
    /// `${VAR:-local default}` for a secret.
    pub fn written(parts: &[TemplatePart]) -> String {
        parts
            .iter()
            .map(|part| match part {
                TemplatePart::Text(text) => text.replace('$', "$$"),
                TemplatePart::Secret { var, dev: None } => format!("${{{var}}}"),
                TemplatePart::Secret {
                    var,
                    dev: Some(dev),
                } => format!("${{{var}:-{dev}}}"),
            })
            .collect()
    }
}

/// `{ url_of = "db", scheme = "postgres", path = "/shop" }`: the URL a client uses to reach
/// a role.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct UrlOf {
    /// The role reached: the database's, an accessory's or a service's.
    pub target: String,
    /// The scheme, when not the target's usual one (`postgres` instead of `postgresql`).
    pub scheme: Option<String>,
    /// A path after the host and port (the database's name by default for a database).
    pub path: Option<String>,
}

impl EnvValue {
    /// A reference to the secret held by the variable `var`.
    pub fn secret(var: impl Into<String>) -> Self {
        EnvValue::Secret {
            var: var.into(),
            dev: None,
            file: None,
        }
    }
}

#[derive(Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
#[schemars(rename = "EnvTable")]
struct EnvTable {
    /// The variable holding a secret; the secret itself never appears in the topology.
    #[serde(default)]
    secret: Option<String>,
    /// The dev value (with `secret`: a non-secret default for dev and prod-sim).
    #[serde(default)]
    dev: Option<String>,
    /// The prod-sim and production value.
    #[serde(default)]
    prod: Option<String>,
    /// With `secret`: `true` delivers it as a file under `/run/secrets` in prod-sim and
    /// production, named by the variable `<NAME>_FILE` (the `_FILE` convention); `false`
    /// keeps it a variable. Unset: a file for the database, a variable for a service.
    #[serde(default)]
    file: Option<bool>,
    /// Text with secrets inside it, each written `${VAR}` or `${VAR:-local default}`:
    /// rendered `${VAR:?…}` in production. `$$` is a literal `$`.
    #[serde(default)]
    template: Option<String>,
    /// A role (the database, an accessory, a service) whose connection URL this is: its
    /// scheme, user, password, host, port and database, never typed twice.
    #[serde(default)]
    url_of: Option<String>,
    /// With `url_of`: the scheme, when not the target's usual one.
    #[serde(default)]
    scheme: Option<String>,
    /// With `url_of`: the path after the port (a database's name by default).
    #[serde(default)]
    path: Option<String>,
}

/// An environment value: a literal, `{ secret = "VAR" }` (optionally with a local-only
/// `dev` default), `{ dev = "...", prod = "..." }`, `{ template = "...${VAR}..." }` or
/// `{ url_of = "ROLE" }`. (The schema of [`EnvValue`].)
#[derive(JsonSchema)]
#[serde(untagged)]
#[schemars(rename = "EnvValue")]
#[allow(dead_code)]
enum EnvValueShape {
    /// A literal.
    Text(String),
    /// A number, kept as written.
    Number(f64),
    /// A boolean, kept as written.
    Bool(bool),
    /// A secret reference, a per-mode value, a template or a derived URL.
    Table(EnvTable),
}
schema_as!(EnvValue, EnvValueShape);

impl<'de> Deserialize<'de> for EnvValue {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct EnvVisitor;
        impl<'de> Visitor<'de> for EnvVisitor {
            type Value = EnvValue;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str(r#"a string, a number, a boolean, { secret = "VAR" }, { dev = "...", prod = "..." }, { template = "..." } or { url_of = "ROLE" }"#)
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<EnvValue, E> {
                Ok(EnvValue::Literal(v.to_owned()))
            }
            fn visit_i64<E: de::Error>(self, v: i64) -> Result<EnvValue, E> {
                Ok(EnvValue::Literal(v.to_string()))
            }
            fn visit_u64<E: de::Error>(self, v: u64) -> Result<EnvValue, E> {
                Ok(EnvValue::Literal(v.to_string()))
            }
            fn visit_f64<E: de::Error>(self, v: f64) -> Result<EnvValue, E> {
                Ok(EnvValue::Literal(v.to_string()))
            }
            fn visit_bool<E: de::Error>(self, v: bool) -> Result<EnvValue, E> {
                Ok(EnvValue::Literal(v.to_string()))
            }
            fn visit_map<A: de::MapAccess<'de>>(self, map: A) -> Result<EnvValue, A::Error> {
                let table = EnvTable::deserialize(MapAccessDeserializer::new(map))?;
                derived(&table)
                    .unwrap_or_else(|| plain(table))
                    .map_err(de::Error::custom)
            }
        }
        deserializer.deserialize_any(EnvVisitor)
    }
}

/// A `template` or `url_of` table, or `None` for the other forms.
fn derived(table: &EnvTable) -> Option<Result<EnvValue, String>> {
    let plain_keys = table.secret.is_some()
        || table.dev.is_some()
        || table.prod.is_some()
        || table.file.is_some();
    let derived_keys = table.scheme.is_some() || table.path.is_some();
    Some(match (&table.template, &table.url_of) {
        (Some(_), Some(_)) => Err("write either `template` or `url_of`, not both".to_owned()),
        (Some(template), None) if !plain_keys && !derived_keys => {
            template_parts(template).map(EnvValue::Template)
        }
        (Some(_), None) => Err(
            "a template takes no other key: write a local default inside it, `${VAR:-local}`"
                .to_owned(),
        ),
        (None, Some(target)) if !plain_keys => Ok(EnvValue::UrlOf(UrlOf {
            target: target.clone(),
            scheme: table.scheme.clone(),
            path: table.path.clone(),
        })),
        (None, Some(_)) => Err(
            "`url_of` takes only `scheme` and `path`: the password comes from the target's secret"
                .to_owned(),
        ),
        (None, None) if derived_keys => {
            Err("`scheme` and `path` belong to a derived URL: { url_of = \"db\" }".to_owned())
        }
        (None, None) => return None,
    })
}

/// The pieces of a template: text, and `${VAR}` or `${VAR:-local default}` secrets.
fn template_parts(template: &str) -> Result<Vec<TemplatePart>, String> {
    use crate::value::Part;
    let parsed = crate::value::Interpolated::parse(template)
        .map_err(|e| format!("the template is not valid: {e}"))?;
    let shape = |name: &str| {
        format!("in a template a secret is written `${{{name}}}` or `${{{name}:-local default}}`")
    };
    parsed
        .parts()
        .iter()
        .map(|part| match part {
            Part::Text(text) => Ok(TemplatePart::Text(text.clone())),
            Part::Variable(variable) => {
                let dev = match (&variable.modifier, variable.literal_default()) {
                    (None, _) => None,
                    (Some(_), Some(default)) => Some(default.to_owned()),
                    (Some(_), None) => return Err(shape(&variable.name)),
                };
                Ok(TemplatePart::Secret {
                    var: variable.name.clone(),
                    dev,
                })
            }
        })
        .collect()
}

/// A secret reference or a per-mode value.
fn plain(table: EnvTable) -> Result<EnvValue, String> {
    match table {
        EnvTable {
            secret: Some(var),
            dev,
            prod: None,
            file,
            ..
        } => Ok(EnvValue::Secret { var, dev, file }),
        EnvTable {
            secret: Some(_),
            prod: Some(_),
            ..
        } => Err("a secret reference takes no `prod` value: production reads the secret from its variable".to_owned()),
        EnvTable {
            secret: None,
            file: Some(_),
            ..
        } => Err("`file` belongs to a secret reference: { secret = \"VAR\", file = true }".to_owned()),
        EnvTable {
            secret: None,
            dev: Some(dev),
            prod: Some(prod),
            file: None,
            ..
        } => Ok(EnvValue::PerMode { dev, prod }),
        EnvTable { secret: None, .. } => Err(
            r#"write { secret = "VAR" }, both { dev = "...", prod = "..." }, { template = "..." } or { url_of = "ROLE" }"#.to_owned(),
        ),
    }
}

/// A database major version as written (`17`, `"17"`, or MariaDB's `"11.8"`); validation
/// checks it against the engine.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MajorVersion(String);

impl MajorVersion {
    /// A major version as text.
    pub fn new(text: impl Into<String>) -> Self {
        MajorVersion(text.into())
    }

    /// The text as written.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The number, when the text is one.
    pub fn number(&self) -> Option<u32> {
        self.0.parse().ok()
    }
}

impl fmt::Display for MajorVersion {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// A database major version, pinned once: `17`. (The schema of [`MajorVersion`].)
#[derive(JsonSchema)]
#[serde(untagged)]
#[schemars(rename = "MajorVersion")]
#[allow(dead_code)]
enum MajorVersionShape {
    /// The major as a number (`17`).
    Number(u32),
    /// The major as text (`"17"`), or a MariaDB release series (`"11.8"`).
    Text(String),
}
schema_as!(MajorVersion, MajorVersionShape);

impl<'de> Deserialize<'de> for MajorVersion {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct MajorVisitor;
        impl Visitor<'_> for MajorVisitor {
            type Value = MajorVersion;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a major version such as 17")
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<MajorVersion, E> {
                Ok(MajorVersion(v.to_owned()))
            }
            fn visit_i64<E: de::Error>(self, v: i64) -> Result<MajorVersion, E> {
                Ok(MajorVersion(v.to_string()))
            }
            fn visit_u64<E: de::Error>(self, v: u64) -> Result<MajorVersion, E> {
                Ok(MajorVersion(v.to_string()))
            }
            fn visit_f64<E: de::Error>(self, v: f64) -> Result<MajorVersion, E> {
                // 10.10 would read as 10.1: a release series is text.
                Err(E::custom(format!(
                    "`{v}` is a TOML number: write a release series as text, e.g. major = \"11.8\" (a number loses trailing zeros: 10.10 reads as 10.1)"
                )))
            }
        }
        deserializer.deserialize_any(MajorVisitor)
    }
}

/// A published port.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Port {
    /// The port inside the container.
    pub container: u16,
    /// The host port; defaults to the container port.
    pub host: u16,
    /// TCP or UDP.
    pub protocol: Protocol,
    /// Published in dev only (in prod-sim and production the service is reached through
    /// the network, e.g. behind the proxy).
    pub dev_only: bool,
}

impl Port {
    /// The container port published on the same host port, TCP, in every mode.
    pub fn same(port: u16) -> Self {
        Port {
            container: port,
            host: port,
            protocol: Protocol::Tcp,
            dev_only: false,
        }
    }
}

/// A port's transport protocol.
#[derive(
    Clone,
    Copy,
    Debug,
    Default,
    PartialEq,
    Eq,
    PartialOrd,
    Ord,
    Deserialize,
    JsonSchema,
    serde::Serialize,
)]
#[serde(rename_all = "lowercase")]
pub enum Protocol {
    /// TCP.
    #[default]
    Tcp,
    /// UDP.
    Udp,
}

impl Protocol {
    /// `tcp` or `udp`.
    pub fn as_str(self) -> &'static str {
        match self {
            Protocol::Tcp => "tcp",
            Protocol::Udp => "udp",
        }
    }
}

#[derive(Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
#[schemars(rename = "PortTable")]
struct PortTable {
    /// The port inside the container.
    container: u16,
    /// The host port; defaults to the container port.
    #[serde(default)]
    host: Option<u16>,
    /// `tcp` (default) or `udp`.
    #[serde(default)]
    protocol: Protocol,
    /// Publish in dev only.
    #[serde(default)]
    dev_only: bool,
}

/// A published port: `3000`, or `{ container = 3000, host = 8080 }`. (The schema of [`Port`].)
#[derive(JsonSchema)]
#[serde(untagged)]
#[schemars(rename = "Port")]
#[allow(dead_code)]
enum PortShape {
    /// The container port, published on the same host port.
    Same(u16),
    /// A container port and where to publish it.
    Table(PortTable),
}
schema_as!(Port, PortShape);

impl<'de> Deserialize<'de> for Port {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct PortVisitor;
        impl<'de> Visitor<'de> for PortVisitor {
            type Value = Port;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a port number (3000) or { container = 3000, host = 8080 }")
            }
            fn visit_i64<E: de::Error>(self, v: i64) -> Result<Port, E> {
                u16::try_from(v).map(Port::same).map_err(|_| {
                    E::invalid_value(de::Unexpected::Signed(v), &"a port number from 1 to 65535")
                })
            }
            fn visit_u64<E: de::Error>(self, v: u64) -> Result<Port, E> {
                u16::try_from(v).map(Port::same).map_err(|_| {
                    E::invalid_value(
                        de::Unexpected::Unsigned(v),
                        &"a port number from 1 to 65535",
                    )
                })
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<Port, E> {
                let suggestion = match v.split_once(':') {
                    Some((host, container))
                        if host.parse::<u16>().is_ok() && container.parse::<u16>().is_ok() =>
                    {
                        format!("{{ container = {container}, host = {host} }}")
                    }
                    _ => "{ container = 3000, host = 8080 }".to_owned(),
                };
                Err(E::custom(format!(
                    r#"write ports as numbers or tables, not Compose strings: "{v}" is {suggestion}"#
                )))
            }
            fn visit_map<A: de::MapAccess<'de>>(self, map: A) -> Result<Port, A::Error> {
                let table = PortTable::deserialize(MapAccessDeserializer::new(map))?;
                Ok(Port {
                    container: table.container,
                    host: table.host.unwrap_or(table.container),
                    protocol: table.protocol,
                    dev_only: table.dev_only,
                })
            }
        }
        deserializer.deserialize_any(PortVisitor)
    }
}
