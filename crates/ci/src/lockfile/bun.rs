//! `bun.lock` (Bun 1.2 and later; JSON with trailing commas, read by `jsonc-parser`): the
//! `packages` map is keyed by where each package is installed, as a path of package names
//! — `react` at the top, `@shop/legacy/react` for the workspace package `@shop/legacy`'s
//! own copy, `send/ms` for the copy `send` gets — and a dependency resolves as Node resolves
//! it, from the nearest such key up. Each entry is an array: `name@version` first, then, by
//! the kind of package, a registry, an object of what it depends on, and its integrity.
//!
//! `bun.lockb`, the binary lockfile of earlier versions, is not read: it is an unreadable
//! lockfile, with the command that writes `bun.lock` in its place.

use std::collections::{BTreeMap, HashMap};

use indexmap::IndexMap;
use serde::de::value::MapAccessDeserializer;
use serde::de::{IgnoredAny, MapAccess, SeqAccess, Visitor};
use serde::{Deserialize, Deserializer};

use super::npm::Names;
use super::{LockfileError, Resolved, Resolver};

/// What `bun.lockb` starts with.
const BINARY_HEADER: &[u8] = b"#!/usr/bin/env bun";

/// A parsed `bun.lock`.
#[derive(Debug)]
pub struct BunLock {
    // Looked up once or more per dependency edge, never iterated in output (as npm's).
    packages: IndexMap<String, Entry, foldhash::fast::RandomState>,
    /// Each workspace package's name, by directory: the first segment of its own keys.
    workspaces: HashMap<String, String, foldhash::fast::RandomState>,
}

#[derive(Deserialize)]
struct Document {
    #[serde(rename = "lockfileVersion")]
    version: Option<u64>,
    #[serde(default)]
    workspaces: BTreeMap<String, Workspace>,
    packages: Option<IndexMap<String, Entry, foldhash::fast::RandomState>>,
    /// `name@version` to the patch file applied to it.
    #[serde(default, rename = "patchedDependencies")]
    patched: BTreeMap<String, String>,
}

#[derive(Deserialize)]
struct Workspace {
    name: Option<String>,
}

/// One package: `name@version` (`name@workspace:dir`, `name@github:…`), the other strings
/// of its array (registry, integrity; a git commit) and what it depends on.
#[derive(Debug, Default)]
struct Entry {
    ident: String,
    strings: Vec<String>,
    info: Info,
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
struct Info {
    #[serde(default)]
    dependencies: Names,
    #[serde(default)]
    optional_dependencies: Names,
    #[serde(default)]
    peer_dependencies: Names,
}

impl<'de> Deserialize<'de> for Entry {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Entry, D::Error> {
        struct Elements;
        impl<'de> Visitor<'de> for Elements {
            type Value = Entry;
            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("an array starting with `name@version`")
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Entry, A::Error> {
                let ident: String = seq
                    .next_element()?
                    .ok_or_else(|| serde::de::Error::invalid_length(0, &self))?;
                let mut entry = Entry {
                    ident,
                    ..Entry::default()
                };
                while let Some(element) = seq.next_element::<Element>()? {
                    match element {
                        Element::Text(text) => entry.strings.push(text),
                        Element::Info(info) => entry.info = info,
                        Element::Other => {}
                    }
                }
                Ok(entry)
            }
        }
        deserializer.deserialize_seq(Elements)
    }
}

/// An element of an entry after the first: a string, the object of what the package
/// depends on, or something else (skipped).
enum Element {
    Text(String),
    Info(Info),
    Other,
}

impl<'de> Deserialize<'de> for Element {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Element, D::Error> {
        struct Any;
        impl<'de> Visitor<'de> for Any {
            type Value = Element;
            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("a string or an object")
            }
            fn visit_str<E: serde::de::Error>(self, text: &str) -> Result<Element, E> {
                Ok(Element::Text(text.to_owned()))
            }
            fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<Element, A::Error> {
                Info::deserialize(MapAccessDeserializer::new(map)).map(Element::Info)
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Element, A::Error> {
                while seq.next_element::<IgnoredAny>()?.is_some() {}
                Ok(Element::Other)
            }
            fn visit_bool<E: serde::de::Error>(self, _: bool) -> Result<Element, E> {
                Ok(Element::Other)
            }
            fn visit_i64<E: serde::de::Error>(self, _: i64) -> Result<Element, E> {
                Ok(Element::Other)
            }
            fn visit_u64<E: serde::de::Error>(self, _: u64) -> Result<Element, E> {
                Ok(Element::Other)
            }
            fn visit_f64<E: serde::de::Error>(self, _: f64) -> Result<Element, E> {
                Ok(Element::Other)
            }
            fn visit_unit<E: serde::de::Error>(self) -> Result<Element, E> {
                Ok(Element::Other)
            }
        }
        deserializer.deserialize_any(Any)
    }
}

/// `name@version` split at the `@` after the name (a scoped name starts with one; a
/// version may hold more: `git+ssh://git@…`).
fn split_ident(ident: &str) -> (&str, &str) {
    let after_scope = usize::from(ident.starts_with('@'));
    match ident[after_scope..].find('@') {
        Some(at) => (&ident[..after_scope + at], &ident[after_scope + at + 1..]),
        None => (ident, ""),
    }
}

impl BunLock {
    pub(super) fn parse(bytes: &[u8]) -> Result<BunLock, LockfileError> {
        if bytes.starts_with(BINARY_HEADER) {
            return Err(LockfileError(
                "it is Bun's binary lockfile (bun.lockb); `bun install --save-text-lockfile` writes the text bun.lock topo-ci reads (Bun 1.2 and later write it by default)".to_owned(),
            ));
        }
        let text = std::str::from_utf8(bytes).map_err(|_| LockfileError("not UTF-8".into()))?;
        let options = jsonc_parser::ParseOptions::default();
        let document: Document = jsonc_parser::parse_to_serde_value(text, &options)
            .map_err(|e| LockfileError(e.to_string()))?;
        let (Some(1..), Some(mut packages)) = (document.version, document.packages) else {
            return Err(LockfileError(format!(
                "lockfileVersion {} has no `packages` map (Bun 1.2 or later writes version 1)",
                document
                    .version
                    .map_or("(none)".to_owned(), |v| v.to_string())
            )));
        };
        // A patched package is another package: the patch file is its integrity's part.
        for entry in packages.values_mut() {
            if let Some(patch) = document.patched.get(&entry.ident) {
                entry.strings.push(format!("patched by {patch}"));
            }
        }
        let workspaces = (document.workspaces.into_iter())
            .filter_map(|(dir, workspace)| Some((dir, workspace.name?)))
            .collect();
        Ok(BunLock {
            packages,
            workspaces,
        })
    }

    /// Where `name` is found from the package at `key`: `key/name`, then from each of the
    /// packages `key` is nested in, up to the top.
    fn locate(&self, key: &str, name: &str) -> Option<usize> {
        let mut candidate = String::with_capacity(key.len() + name.len() + 1);
        let mut from = Some(key);
        while let Some(key) = from {
            candidate.clear();
            candidate.push_str(key);
            candidate.push('/');
            candidate.push_str(name);
            if let Some(index) = self.packages.get_index_of(candidate.as_str()) {
                return Some(index);
            }
            from = parent(key);
        }
        self.packages.get_index_of(name)
    }
}

/// The key a nested key is nested in (`a/@s/b` → `a`; `@s/b/c` → `@s/b`); `None` at the
/// top (`a`, `@s/b`). A scoped name is two segments.
fn parent(key: &str) -> Option<&str> {
    let (head, _) = key.rsplit_once('/')?;
    match head.rsplit_once('/') {
        Some((parent, scope)) if scope.starts_with('@') => Some(parent),
        Some(_) => Some(head),
        None if head.starts_with('@') => None,
        None => Some(head),
    }
}

impl Resolver for BunLock {
    type Id = usize;

    fn root(&self, dir: &str, name: &str, _range: &str) -> Option<usize> {
        match self.workspaces.get(dir).filter(|_| !dir.is_empty()) {
            Some(workspace) => self.locate(workspace, name),
            None => self.packages.get_index_of(name),
        }
    }

    fn package(&self, index: &usize) -> Option<(Resolved, Vec<usize>)> {
        let (key, entry) = self.packages.get_index(*index)?;
        let (name, version) = split_ident(&entry.ident);
        // Links to directories of the repository: what they hold is in the scopes.
        if ["workspace:", "link:", "root:"]
            .iter()
            .any(|protocol| version.starts_with(protocol))
        {
            return None;
        }
        let integrity = entry.strings.iter().rev().find(|s| !s.is_empty());
        let resolved = Resolved {
            name: name.to_owned(),
            version: version.to_owned(),
            integrity: integrity.cloned().unwrap_or_default(),
        };
        let info = &entry.info;
        let edges = (info.dependencies.0.iter())
            .chain(&info.optional_dependencies.0)
            .chain(&info.peer_dependencies.0)
            .filter_map(|dep| self.locate(key, dep))
            .collect();
        Some((resolved, edges))
    }
}

#[cfg(test)]
mod tests {
    use super::{parent, split_ident};

    #[test]
    fn keys_nest_by_package_name() {
        assert_eq!(parent("react"), None);
        assert_eq!(parent("@types/react"), None);
        assert_eq!(parent("send/ms"), Some("send"));
        assert_eq!(parent("@shop/legacy/react-dom"), Some("@shop/legacy"));
        assert_eq!(parent("a/@s/b"), Some("a"));
        assert_eq!(
            parent("@shop/legacy/react-dom/scheduler"),
            Some("@shop/legacy/react-dom")
        );
        assert_eq!(
            split_ident("@types/react@18.2.45"),
            ("@types/react", "18.2.45")
        );
        assert_eq!(
            split_ident("lib@git+ssh://git@example.com/lib.git#abc"),
            ("lib", "git+ssh://git@example.com/lib.git#abc")
        );
        assert_eq!(split_ident("odd"), ("odd", ""));
    }
}
