//! `package-lock.json`, lockfile versions 2 and 3: the `packages` map, keyed by where each
//! package is installed (`node_modules/a/node_modules/b`); a dependency resolves as Node
//! resolves it, from the nearest `node_modules` up.

use indexmap::IndexMap;
use serde::de::{IgnoredAny, MapAccess, Visitor};
use serde::{Deserialize, Deserializer};

use super::{LockfileError, Resolved, Resolver};

/// A parsed `package-lock.json`.
#[derive(Debug)]
pub struct NpmLock {
    // Looked up once or more per dependency edge of a closure, never iterated in output:
    // hashed with foldhash (randomly seeded like SipHash, faster on these short keys), and
    // a closure walks it by index (no location copied per edge).
    packages: Packages,
}

type Packages = IndexMap<String, Entry, foldhash::fast::RandomState>;

#[derive(Deserialize)]
struct Document {
    #[serde(rename = "lockfileVersion")]
    version: Option<u64>,
    packages: Option<Packages>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
struct Entry {
    version: Option<String>,
    resolved: Option<String>,
    integrity: Option<String>,
    #[serde(default)]
    link: bool,
    // Only the names matter: where each resolves is the installed tree's answer.
    #[serde(default)]
    dependencies: Names,
    #[serde(default)]
    optional_dependencies: Names,
    #[serde(default)]
    peer_dependencies: Names,
}

/// The keys of a JSON object, its values skipped: the names of a dependency map, kept in
/// a list (a lockfile has tens of thousands; a map of them costs a node each to build).
#[derive(Debug, Default)]
pub(super) struct Names(pub(super) Vec<String>);

impl<'de> Deserialize<'de> for Names {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Names, D::Error> {
        struct Keys;
        impl<'de> Visitor<'de> for Keys {
            type Value = Names;
            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("an object of dependencies")
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Names, A::Error> {
                let mut names = Vec::with_capacity(map.size_hint().unwrap_or(0));
                while let Some((name, IgnoredAny)) = map.next_entry::<String, IgnoredAny>()? {
                    names.push(name);
                }
                Ok(Names(names))
            }
        }
        deserializer.deserialize_map(Keys)
    }
}

impl NpmLock {
    pub(super) fn parse(text: &str) -> Result<NpmLock, LockfileError> {
        let document: Document =
            serde_json::from_str(text).map_err(|e| LockfileError(e.to_string()))?;
        match (document.version, document.packages) {
            (Some(2..), Some(packages)) => Ok(NpmLock { packages }),
            (version, _) => Err(LockfileError(format!(
                "lockfileVersion {} has no `packages` map (npm 7 or later writes version 2 or 3)",
                version.map_or("(none)".to_owned(), |v| v.to_string())
            ))),
        }
    }

    /// Where `name` is found from the package installed at `from`: `from/node_modules/name`,
    /// then each parent's, up to the root's.
    fn locate(&self, from: &str, name: &str) -> Option<usize> {
        let mut candidate = String::with_capacity(from.len() + name.len() + 14);
        let mut dir = from;
        loop {
            if !(dir == "node_modules" || dir.ends_with("/node_modules")) {
                candidate.clear();
                if !dir.is_empty() {
                    candidate.push_str(dir);
                    candidate.push('/');
                }
                candidate.push_str("node_modules/");
                candidate.push_str(name);
                if let Some(index) = self.packages.get_index_of(candidate.as_str()) {
                    return Some(index);
                }
            }
            if dir.is_empty() {
                return None;
            }
            dir = dir.rsplit_once('/').map_or("", |(parent, _)| parent);
        }
    }
}

impl Resolver for NpmLock {
    type Id = usize;

    fn root(&self, dir: &str, name: &str, _range: &str) -> Option<usize> {
        self.locate(dir, name)
    }

    fn package(&self, index: &usize) -> Option<(Resolved, Vec<usize>)> {
        let (location, entry) = self.packages.get_index(*index)?;
        if entry.link {
            return None;
        }
        let name = location
            .rsplit_once("node_modules/")
            .map_or(location.as_str(), |(_, name)| name);
        let resolved = Resolved {
            name: name.to_owned(),
            version: entry.version.clone().unwrap_or_default(),
            integrity: entry
                .integrity
                .clone()
                .or_else(|| entry.resolved.clone())
                .unwrap_or_default(),
        };
        let edges = entry
            .dependencies
            .0
            .iter()
            .chain(&entry.optional_dependencies.0)
            .chain(&entry.peer_dependencies.0)
            .filter_map(|dep| self.locate(location, dep))
            .collect();
        Some((resolved, edges))
    }
}
