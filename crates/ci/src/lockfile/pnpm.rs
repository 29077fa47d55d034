//! `pnpm-lock.yaml`, lockfile versions 5 to 9: `importers` (each workspace package's
//! dependencies, by directory) resolve to dependency paths (`left-pad@1.1.0`,
//! `/left-pad@1.1.0` in v6, `/left-pad/1.1.0` in v5), whose entries (`snapshots` in v9,
//! `packages` before) say what they depend on.

use std::collections::BTreeMap;

use serde::Deserialize;
use serde_json::Value;

use super::{LockfileError, Resolved, Resolver};

/// A parsed `pnpm-lock.yaml`.
#[derive(Debug)]
pub struct PnpmLock {
    major: u32,
    importers: BTreeMap<String, Importer>,
    packages: BTreeMap<String, Entry>,
    snapshots: BTreeMap<String, Entry>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Document {
    lockfile_version: Value,
    #[serde(default)]
    importers: Option<BTreeMap<String, Importer>>,
    #[serde(default)]
    packages: Option<BTreeMap<String, Entry>>,
    #[serde(default)]
    snapshots: Option<BTreeMap<String, Entry>>,
    /// A lockfile of a single project (no `importers`) has its dependencies at the top.
    #[serde(flatten)]
    top: Importer,
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
struct Importer {
    #[serde(default)]
    dependencies: Option<BTreeMap<String, Value>>,
    #[serde(default)]
    dev_dependencies: Option<BTreeMap<String, Value>>,
    #[serde(default)]
    optional_dependencies: Option<BTreeMap<String, Value>>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
struct Entry {
    #[serde(default)]
    resolution: Option<Value>,
    #[serde(default)]
    dependencies: Option<BTreeMap<String, String>>,
    #[serde(default)]
    optional_dependencies: Option<BTreeMap<String, String>>,
}

impl PnpmLock {
    pub(super) fn parse(text: &str) -> Result<PnpmLock, LockfileError> {
        let document: Document =
            serde_saphyr::from_str(text).map_err(|e| LockfileError(e.to_string()))?;
        let version = match &document.lockfile_version {
            Value::String(text) => text.clone(),
            Value::Number(number) => number.to_string(),
            _ => String::new(),
        };
        let major: u32 = version
            .split('.')
            .next()
            .and_then(|major| major.parse().ok())
            .ok_or_else(|| LockfileError(format!("unknown lockfileVersion `{version}`")))?;
        if !(5..=9).contains(&major) {
            return Err(LockfileError(format!(
                "lockfileVersion {version} is not one topo-ci reads (5 to 9)"
            )));
        }
        let importers = document
            .importers
            .unwrap_or_else(|| BTreeMap::from([(".".to_owned(), document.top)]));
        Ok(PnpmLock {
            major,
            importers,
            packages: document.packages.unwrap_or_default(),
            snapshots: document.snapshots.unwrap_or_default(),
        })
    }

    /// The dependency path a reference (`1.1.0`, `1.1.0(react@18.2.0)`, an alias
    /// `string-width@4.2.3`, `/left-pad@1.1.0`) names for `name`; `None` for a link.
    fn dep_path(&self, name: &str, reference: &str) -> Option<String> {
        if reference.starts_with("link:") {
            return None;
        }
        let outside_parens = reference.split('(').next().unwrap_or(reference);
        Some(match self.major {
            9.. => {
                let at = name_end(reference);
                let colon = reference.find(':');
                let paren = reference.find('(');
                match at {
                    Some(at) if colon.is_none_or(|c| at < c) && paren.is_none_or(|p| at < p) => {
                        reference.to_owned()
                    }
                    _ if reference.starts_with('@') => reference.to_owned(),
                    _ => format!("{name}@{reference}"),
                }
            }
            6..=8 if reference.starts_with('/') || outside_parens.contains('/') => {
                reference.to_owned()
            }
            6..=8 => format!("/{name}@{reference}"),
            _ if reference.contains('/') => reference.to_owned(),
            _ => format!("/{name}/{reference}"),
        })
    }

    /// The name and version a dependency path holds.
    fn name_and_version(&self, path: &str) -> (String, String) {
        let path = path.strip_prefix('/').unwrap_or(path);
        if self.major < 6 {
            let parts: Vec<&str> = path.split('/').collect();
            let cut = if path.starts_with('@') { 2 } else { 1 };
            let cut = cut.min(parts.len());
            return (parts[..cut].join("/"), parts[cut..].join("/"));
        }
        match name_end(path) {
            Some(at) => (path[..at].to_owned(), path[at + 1..].to_owned()),
            None => (path.to_owned(), String::new()),
        }
    }
}

/// Where the name of `name@version` ends: its first `@` after the first character (a
/// scoped name starts with one).
fn name_end(text: &str) -> Option<usize> {
    text.char_indices()
        .skip(1)
        .find(|(_, c)| *c == '@')
        .map(|(i, _)| i)
}

impl Resolver for PnpmLock {
    type Id = String;

    fn root(&self, dir: &str, name: &str, _range: &str) -> Option<String> {
        let key = if dir.is_empty() { "." } else { dir };
        let importer = self.importers.get(key)?;
        let reference = [
            &importer.dependencies,
            &importer.dev_dependencies,
            &importer.optional_dependencies,
        ]
        .into_iter()
        .flatten()
        .find_map(|deps| deps.get(name))?;
        let reference = match reference {
            Value::String(version) => version.as_str(),
            Value::Object(map) => map.get("version").and_then(Value::as_str)?,
            _ => return None,
        };
        self.dep_path(name, reference)
    }

    fn package(&self, path: &String) -> Option<(Resolved, Vec<String>)> {
        // v9 keeps what a package depends on in `snapshots` (keyed with the peer suffix)
        // and its resolution in `packages` (keyed without it).
        let (deps, resolution) = if self.major >= 9 {
            let bare = path.split('(').next().unwrap_or(path);
            (self.snapshots.get(path), self.packages.get(bare))
        } else {
            let entry = self.packages.get(path);
            (entry, entry)
        };
        if deps.is_none() && resolution.is_none() {
            return None;
        }
        let (name, version) = self.name_and_version(path);
        let integrity = resolution
            .and_then(|entry| entry.resolution.as_ref())
            .map(
                |resolution| match resolution.get("integrity").and_then(Value::as_str) {
                    Some(integrity) => integrity.to_owned(),
                    None => resolution.to_string(),
                },
            )
            .unwrap_or_default();
        let edges = deps
            .into_iter()
            .flat_map(|entry| [&entry.dependencies, &entry.optional_dependencies])
            .flatten()
            .flatten()
            .filter_map(|(dep, reference)| self.dep_path(dep, reference))
            .collect();
        Some((
            Resolved {
                name,
                version,
                integrity,
            },
            edges,
        ))
    }
}
