//! Accessories (`[[accessories]]`): third-party servers run from a pinned image, not built
//! (a cache, a queue, object storage, a mail catcher, a search engine).

use std::collections::BTreeMap;

use schemars::JsonSchema;
use serde::Deserialize;

use super::{Command, Condition, EnvValue, Health, Port, Resources};
use crate::Spanned;

/// A third-party server from a pinned image: `image = "redis:7.2"`. topo's catalogue knows
/// the port, data path, health check and version of the common ones; any other image needs
/// a `health` check.
#[derive(Clone, Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Accessory {
    /// The role: the container is `<project>-<role>`.
    pub role: Spanned<String>,
    /// The image, pinned by a tag naming its version (`redis:7.2`), never `latest`; the same
    /// in every mode.
    pub image: Spanned<String>,
    /// The modes it runs in (`["dev"]` for a mail catcher); every mode by default.
    #[serde(default)]
    pub modes: Option<Spanned<Vec<Spanned<String>>>>,
    /// The command, when not the image's.
    #[serde(default)]
    pub command: Option<Spanned<Command>>,
    /// Environment: literals, per-mode values and references to secrets.
    #[serde(default)]
    pub env: BTreeMap<Spanned<String>, Spanned<EnvValue>>,
    /// Ports published on 127.0.0.1 in dev only (an accessory is reached by its name on the
    /// network otherwise).
    #[serde(default)]
    pub ports: Vec<Spanned<Port>>,
    /// Roles (services, the database, other accessories) it waits for.
    #[serde(default)]
    pub depends_on: BTreeMap<Spanned<String>, Spanned<Condition>>,
    /// The health check; the catalogue's by default. Required for an image it does not know.
    #[serde(default)]
    pub health: Option<Spanned<Health>>,
    /// Its data: purpose → container path. Defaults to `{ data = <the catalogue's data
    /// path> }`; `{}` keeps nothing.
    #[serde(default)]
    pub volumes: Option<BTreeMap<Spanned<String>, Spanned<String>>>,
    /// How long it gets to shut down cleanly when stopped (`"30s"`).
    #[serde(default)]
    pub stop_timeout: Option<Spanned<String>>,
    /// Resource limits in prod-sim and production.
    #[serde(default)]
    pub resources: Option<Spanned<Resources>>,
    /// Capabilities added back after all are dropped; the catalogue's by default.
    #[serde(default)]
    pub capabilities: Option<Spanned<Vec<Spanned<String>>>>,
    /// `false` keeps the engine's default capabilities.
    #[serde(default)]
    pub drop_capabilities: Option<Spanned<bool>>,
    /// `false` gives a writable root filesystem in prod-sim and production.
    #[serde(default)]
    pub read_only: Option<Spanned<bool>>,
    /// Paths given a tmpfs on a read-only root filesystem; the catalogue's by default.
    #[serde(default)]
    pub writable: Option<Spanned<Vec<Spanned<String>>>>,
}

super::hardening::hardening_keys!(Accessory);
