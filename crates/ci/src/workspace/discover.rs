//! Which directories of a tree the workspace globs name: each holding the manifest
//! (`package.json`, `Cargo.toml`), matched by a glob and by no `!` negation. Only what a
//! glob can reach is walked (below its literal prefix, no deeper than its components unless
//! it has `**`), and never a `node_modules`.

use std::collections::BTreeSet;

use gix::objs::tree::EntryKind;
use gix::ObjectId;
use globset::{GlobSet, GlobSetBuilder};
use topo_core::validate::compile_glob;

use super::manifest::normalise_glob;
use crate::repo::{join, GitError, Repo};

/// The package directories (from the repository root) the globs name, sorted; globs are
/// relative to the workspace root `root`. A glob that does not compile names nothing.
pub(super) fn package_dirs(
    repo: &Repo,
    tree: ObjectId,
    root: &str,
    globs: &[String],
    manifest: &str,
) -> Result<Vec<String>, GitError> {
    let (negated, included): (Vec<String>, Vec<String>) = globs
        .iter()
        .map(|glob| normalise_glob(glob))
        .filter(|glob| !glob.is_empty() && glob != "!")
        .partition(|glob| glob.starts_with('!'));
    let negated: Vec<String> = negated
        .iter()
        .map(|glob| normalise_glob(&glob[1..]))
        .collect();
    let excluded = set(&negated, true);
    let mut found = BTreeSet::new();
    for glob in &included {
        let Some(matcher) = set(std::slice::from_ref(glob), false) else {
            continue;
        };
        let literal: Vec<&str> = glob
            .split('/')
            .take_while(|part| !part.contains(['*', '?', '[', '{', '\\']))
            .collect();
        let start = match literal.join("/") {
            literal if literal.is_empty() => root.to_owned(),
            literal => join(root, &literal),
        };
        let depth = (!glob.contains("**")).then(|| glob.split('/').count());
        let Some(entry) = repo.entry_at(tree, &start)? else {
            continue;
        };
        if !entry.is_tree() {
            continue;
        }
        let relative = |path: &str| -> String {
            path.strip_prefix(root)
                .unwrap_or(path)
                .trim_start_matches('/')
                .to_owned()
        };
        let depth_of = |path: &str| relative(path).split('/').count();
        let mut visit = |path: &str, kind: EntryKind, _: &gix::oid| -> bool {
            let name = path.rsplit('/').next().unwrap_or(path);
            if kind == EntryKind::Tree {
                return name != "node_modules" && depth.is_none_or(|max| depth_of(path) <= max);
            }
            if name == manifest {
                let dir = path.rsplit_once('/').map_or("", |(dir, _)| dir);
                let rel = relative(dir);
                let negated = excluded.as_ref().is_some_and(|set| set.is_match(&rel));
                if matcher.is_match(&rel) && !negated {
                    found.insert(dir.to_owned());
                }
            }
            false
        };
        repo.walk(&start, entry.id, &mut visit)?;
    }
    Ok(found.into_iter().collect())
}

/// The globs as one set; a negation also covers everything under what it names.
fn set(globs: &[String], with_contents: bool) -> Option<GlobSet> {
    if globs.is_empty() {
        return None;
    }
    let mut builder = GlobSetBuilder::new();
    for glob in globs {
        let patterns = if with_contents {
            vec![glob.clone(), format!("{glob}/**")]
        } else {
            vec![glob.clone()]
        };
        for pattern in patterns {
            if let Ok(compiled) = compile_glob(&pattern) {
                builder.add(compiled);
            }
        }
    }
    builder.build().ok()
}
