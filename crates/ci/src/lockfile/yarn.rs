//! `yarn.lock`, v1 and berry (parsed by `yarn-lock-parser`): each entry is keyed by the
//! descriptors (`left-pad@^1.0.0`; berry: `left-pad@npm:^1.0.0`) that resolve to it.

use std::collections::BTreeMap;

use super::{LockfileError, Resolved, Resolver};

/// A parsed `yarn.lock`.
#[derive(Debug)]
pub struct YarnLock {
    berry: bool,
    descriptors: BTreeMap<(String, String), usize>,
    entries: Vec<Entry>,
}

#[derive(Debug)]
struct Entry {
    resolved: Resolved,
    link: bool,
    dependencies: Vec<(String, String)>,
}

impl YarnLock {
    pub(super) fn parse(text: &str) -> Result<YarnLock, LockfileError> {
        let lockfile = yarn_lock_parser::parse_str(text)
            .map_err(|e| LockfileError(format!("yarn-lock-parser: {e}")))?;
        let berry = lockfile.version > 1;
        let mut descriptors = BTreeMap::new();
        let mut entries = Vec::new();
        for entry in &lockfile.entries {
            let index = entries.len();
            for (name, range) in &entry.descriptors {
                descriptors.insert(((*name).to_owned(), (*range).to_owned()), index);
            }
            let link = entry
                .descriptors
                .iter()
                .any(|(_, range)| range.starts_with("workspace:") || range.starts_with("link:"));
            entries.push(Entry {
                resolved: Resolved {
                    name: entry.name.to_owned(),
                    version: entry.version.to_owned(),
                    integrity: if entry.integrity.is_empty() {
                        entry.resolved.to_owned()
                    } else {
                        entry.integrity.to_owned()
                    },
                },
                link,
                dependencies: entry
                    .dependencies
                    .iter()
                    .chain(&entry.optional_dependencies)
                    .map(|(name, range)| ((*name).to_owned(), (*range).to_owned()))
                    .collect(),
            });
        }
        Ok(YarnLock {
            berry,
            descriptors,
            entries,
        })
    }

    /// The entry a descriptor resolves to; berry writes a range without a protocol as
    /// `npm:<range>`.
    fn find(&self, name: &str, range: &str) -> Option<usize> {
        let exact = self.descriptors.get(&(name.to_owned(), range.to_owned()));
        if exact.is_some() || !self.berry || has_protocol(range) {
            return exact.copied();
        }
        self.descriptors
            .get(&(name.to_owned(), format!("npm:{range}")))
            .copied()
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

    fn root(&self, _dir: &str, name: &str, range: &str) -> Option<usize> {
        self.find(name, range)
    }

    fn package(&self, index: &usize) -> Option<(Resolved, Vec<usize>)> {
        let entry = self.entries.get(*index)?;
        if entry.link {
            return None;
        }
        // Not its peer dependencies: yarn (v1 and berry) installs none; a peer is whatever
        // the package's dependent provides, which that dependent's edges already reach.
        let edges = entry
            .dependencies
            .iter()
            .filter_map(|(name, range)| self.find(name, range))
            .collect();
        Some((entry.resolved.clone(), edges))
    }
}
