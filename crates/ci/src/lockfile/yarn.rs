//! `yarn.lock`, v1 and berry (parsed by `yarn-lock-parser`): each entry is keyed by the
//! descriptors (`left-pad@^1.0.0`; berry: `left-pad@npm:^1.0.0`) that resolve to it.

use std::collections::HashMap;
use std::hash::{Hash, Hasher};

use indexmap::{Equivalent, IndexMap};

use super::{LockfileError, Resolved, Resolver};

/// A parsed `yarn.lock`.
#[derive(Debug)]
pub struct YarnLock {
    descriptors: Descriptors,
    entries: Vec<Entry>,
    /// Berry's workspace entries (`web@workspace:apps/web`), by directory: each dependency
    /// the lockfile writes with parameters (`::locator=…`), as its name, its range without
    /// them (as the manifest declares it) and the entry it resolves to.
    workspaces: HashMap<String, Vec<(String, String, usize)>, foldhash::fast::RandomState>,
}

#[derive(Debug)]
struct Entry {
    resolved: Resolved,
    link: bool,
    /// The entries its dependencies resolve to, found once when parsed: a closure walk
    /// then follows indexes (a dependency the lockfile does not resolve has none).
    edges: Vec<usize>,
}

/// Descriptors (name, range) to the entry they resolve to. Looked up per dependency, never
/// iterated in output: hashed with foldhash, and looked up by borrowed strings.
#[derive(Debug, Default)]
struct Descriptors {
    berry: bool,
    map: IndexMap<(String, String), usize, foldhash::fast::RandomState>,
}

/// A descriptor to look up without copying it: it hashes as the `(String, String)` key does.
struct Borrowed<'a>(&'a str, &'a str);

impl Hash for Borrowed<'_> {
    fn hash<H: Hasher>(&self, state: &mut H) {
        (self.0, self.1).hash(state);
    }
}

impl Equivalent<(String, String)> for Borrowed<'_> {
    fn equivalent(&self, key: &(String, String)) -> bool {
        self.0 == key.0 && self.1 == key.1
    }
}

impl Descriptors {
    /// The entry a descriptor resolves to; berry writes a range without a protocol as
    /// `npm:<range>`.
    fn find(&self, name: &str, range: &str) -> Option<usize> {
        let exact = self.map.get(&Borrowed(name, range));
        if exact.is_some() || !self.berry || has_protocol(range) {
            return exact.copied();
        }
        self.map
            .get(&Borrowed(name, &format!("npm:{range}")))
            .copied()
    }
}

impl YarnLock {
    pub(super) fn parse(text: &str) -> Result<YarnLock, LockfileError> {
        let lockfile = yarn_lock_parser::parse_str(text)
            .map_err(|e| LockfileError(format!("yarn-lock-parser: {e}")))?;
        let mut descriptors = Descriptors {
            berry: lockfile.version > 1,
            ..Descriptors::default()
        };
        for (index, entry) in lockfile.entries.iter().enumerate() {
            for (name, range) in &entry.descriptors {
                descriptors
                    .map
                    .insert(((*name).to_owned(), (*range).to_owned()), index);
            }
        }
        let entries = lockfile
            .entries
            .iter()
            .map(|entry| Entry {
                resolved: Resolved {
                    name: entry.name.to_owned(),
                    version: entry.version.to_owned(),
                    integrity: if entry.integrity.is_empty() {
                        entry.resolved.to_owned()
                    } else {
                        entry.integrity.to_owned()
                    },
                },
                link: entry.descriptors.iter().any(|(_, range)| {
                    range.starts_with("workspace:") || range.starts_with("link:")
                }),
                // Not its peer dependencies: yarn (v1 and berry) installs none; a peer is
                // whatever the package's dependent provides, which that dependent's edges
                // already reach.
                edges: entry
                    .dependencies
                    .iter()
                    .chain(&entry.optional_dependencies)
                    .filter_map(|(name, range)| descriptors.find(name, range))
                    .collect(),
            })
            .collect();
        let mut workspaces = HashMap::default();
        for entry in &lockfile.entries {
            // A workspace's own entry resolves to `web@workspace:apps/web`.
            let Some((_, dir)) = entry.resolved.rsplit_once("@workspace:") else {
                continue;
            };
            let locked: Vec<_> = (entry.dependencies.iter())
                .filter_map(|(name, range)| {
                    let (declared, _) = range.split_once("::")?;
                    let index = descriptors.find(name, range)?;
                    Some(((*name).to_owned(), declared.to_owned(), index))
                })
                .collect();
            if !locked.is_empty() {
                workspaces.insert(dir.to_owned(), locked);
            }
        }
        Ok(YarnLock {
            entries,
            descriptors,
            workspaces,
        })
    }
}

/// `npm:^1`, `workspace:*`, `patch:…`: a berry range naming its protocol.
fn has_protocol(range: &str) -> bool {
    range.split_once(':').is_some_and(|(protocol, _)| {
        !protocol.is_empty()
            && protocol
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '-')
    })
}

impl Resolver for YarnLock {
    type Id = usize;

    fn root(&self, dir: &str, name: &str, range: &str) -> Option<usize> {
        self.descriptors.find(name, range).or_else(|| {
            // Berry writes some of a workspace's ranges with parameters the manifest does
            // not have: a patch by a relative path gains the workspace's locator
            // (`patch:left-pad@npm%3A1.1.0#./fix.patch::locator=web%40workspace%3Aapps%2Fweb`).
            // The workspace's own entry says which it locked.
            let dir = if dir.is_empty() { "." } else { dir };
            (self.workspaces.get(dir)?.iter())
                .find(|(locked, declared, _)| locked == name && declared == range)
                .map(|(_, _, index)| *index)
        })
    }

    fn package(&self, index: &usize) -> Option<(Resolved, Vec<usize>)> {
        let entry = self.entries.get(*index)?;
        if entry.link {
            return None;
        }
        Some((entry.resolved.clone(), entry.edges.clone()))
    }
}
