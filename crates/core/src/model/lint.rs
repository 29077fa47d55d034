//! `[lint]`: how `topo lint` weighs its rules for this project.

use std::collections::BTreeMap;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::Spanned;

/// Settings of `topo lint` (`[lint]`).
#[derive(Clone, Debug, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct LintSettings {
    /// A severity per rule id, overriding the rule's default:
    /// `{ "unpinned-image" = "error", "literal-secret" = "off" }`.
    #[serde(default)]
    pub rules: BTreeMap<Spanned<String>, Spanned<Level>>,
}

/// How much a lint finding weighs.
#[derive(
    Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Deserialize, Serialize, JsonSchema,
)]
#[serde(rename_all = "lowercase")]
pub enum Level {
    /// Fails `topo lint` (exit 1).
    Error,
    /// Reported; the exit code stays 0.
    Warning,
    /// Reported as information.
    Note,
    /// Not reported.
    Off,
}

impl Level {
    /// `error`, `warning`, `note` or `off`.
    pub fn as_str(self) -> &'static str {
        match self {
            Level::Error => "error",
            Level::Warning => "warning",
            Level::Note => "note",
            Level::Off => "off",
        }
    }
}
