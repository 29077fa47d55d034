//! How a container of prod-sim and production is confined (the keys every service, the
//! database and the proxy share). Dev runs none of it: a developer's container stays easy
//! to poke at.

use schemars::JsonSchema;
use serde::Deserialize;

use crate::Spanned;

/// Resource limits: `resources = { memory = "1g", cpus = 1.5, pids = 512 }`. Each has a
/// documented default (docs/topology.md); `"unlimited"` (memory) or `0` (cpus, pids) removes
/// a limit.
#[derive(Clone, Debug, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Resources {
    /// The memory limit, as the engine reads it (`512m`, `2g`: units of 1024), or
    /// `"unlimited"`.
    #[serde(default)]
    pub memory: Option<Spanned<String>>,
    /// How many CPUs' worth of time (`0.5`, `2`); `0` for no limit.
    #[serde(default)]
    pub cpus: Option<Spanned<f64>>,
    /// The most processes and threads at once (a fork bomb's ceiling); `0` for no limit.
    #[serde(default)]
    pub pids: Option<Spanned<u32>>,
}

/// The hardening keys as written on a service, the database or the proxy.
#[derive(Clone, Copy, Debug)]
pub struct HardeningKeys<'a> {
    /// `resources`.
    pub resources: &'a Option<Spanned<Resources>>,
    /// `capabilities`: added back after every capability is dropped.
    pub capabilities: &'a Option<Spanned<Vec<Spanned<String>>>>,
    /// `drop_capabilities = false`: keep the engine's default set.
    pub drop_capabilities: &'a Option<Spanned<bool>>,
    /// `read_only = false`: a writable root filesystem.
    pub read_only: &'a Option<Spanned<bool>>,
    /// `writable`: paths given a tmpfs on a read-only root filesystem.
    pub writable: &'a Option<Spanned<Vec<Spanned<String>>>>,
}

/// Declares the hardening keys' accessor on a model type with the five fields.
macro_rules! hardening_keys {
    ($ty:ty) => {
        impl $ty {
            /// Its hardening keys.
            pub fn hardening(&self) -> $crate::model::HardeningKeys<'_> {
                $crate::model::HardeningKeys {
                    resources: &self.resources,
                    capabilities: &self.capabilities,
                    drop_capabilities: &self.drop_capabilities,
                    read_only: &self.read_only,
                    writable: &self.writable,
                }
            }
        }
    };
}
pub(crate) use hardening_keys;
