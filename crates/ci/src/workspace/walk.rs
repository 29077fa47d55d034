//! The walk of a package's workspace dependencies, transitively: what it reaches, and the
//! cycles and links to no package it meets, explained; and the chain of dependencies by
//! which it reaches each package.

use std::collections::{BTreeMap, BTreeSet, VecDeque};

use super::{cargo, Ecosystem, Link, Package, Workspace};

/// A depth-first walk of workspace dependencies that reports cycles.
pub(super) struct Walk<'w> {
    pub(super) workspace: &'w Workspace,
    /// The directory of the package the walk is for: all its dependencies are followed,
    /// the dev-only ones of the packages it reaches are not.
    pub(super) own: &'w str,
    pub(super) seen: BTreeSet<String>,
    /// The directories of the packages being visited, outermost first.
    pub(super) stack: Vec<String>,
    pub(super) notes: BTreeSet<String>,
}

impl Walk<'_> {
    pub(super) fn visit(&mut self, package: &Package) {
        let workspace = self.workspace;
        self.seen.insert(package.dir.clone());
        self.stack.push(package.dir.clone());
        for (name, range) in package.followed(package.dir == self.own) {
            let dir = match workspace.link(package, name, range) {
                Link::External => continue,
                Link::Missing => {
                    let manifest = workspace.manifest_of(package);
                    self.notes.insert(match workspace.ecosystem {
                        Ecosystem::Go => format!(
                            "{manifest} replaces `{name}` with the directory {}, which holds no go.mod: nothing is added to the scope for it",
                            range.trim_start_matches(cargo::PATH)
                        ),
                        _ => format!(
                            "{manifest} depends on `{name}` (`{range}`), which is no package of the workspace declared in {}: nothing is added to the scope for it",
                            workspace.declared_in
                        ),
                    });
                    continue;
                }
                Link::Package(dir) => dir,
            };
            if let Some(at) = self.stack.iter().position(|seen| seen == dir) {
                // Said from its first package in name order, however it was reached.
                let mut cycle: Vec<&str> = self.stack[at..]
                    .iter()
                    .map(|dir| {
                        workspace
                            .packages
                            .get(dir)
                            .map_or(dir.as_str(), Package::label)
                    })
                    .collect();
                let first = (0..cycle.len()).min_by_key(|&i| cycle[i]).unwrap_or(0);
                cycle.rotate_left(first);
                cycle.push(cycle[0]);
                self.notes.insert(format!(
                    "workspace dependency cycle: {}; every package of it is in the scope of what depends on any of them",
                    cycle.join(" → ")
                ));
                continue;
            }
            if self.seen.contains(dir) {
                continue;
            }
            if let Some(next) = workspace.packages.get(dir) {
                self.visit(next);
            }
        }
        self.stack.pop();
    }
}

impl Workspace {
    /// For each workspace package `package` depends on, transitively, a shortest chain of
    /// dependencies reaching it: the labels from `package`'s to its own (`server →
    /// @shop/common → @shop/utils`). What every package may use (Cargo's `[patch]`) has
    /// none unless a dependency names it.
    pub fn chains(&self, package: &Package) -> BTreeMap<String, Vec<String>> {
        let mut chains = BTreeMap::new();
        let mut queue = VecDeque::from([(package, vec![package.label().to_owned()])]);
        let mut seen = BTreeSet::from([package.dir.as_str()]);
        while let Some((at, chain)) = queue.pop_front() {
            for (name, range) in at.followed(at.dir == package.dir) {
                let Link::Package(dir) = self.link(at, name, range) else {
                    continue;
                };
                let Some(next) = self.packages.get(dir).filter(|_| seen.insert(dir)) else {
                    continue;
                };
                let mut longer = chain.clone();
                longer.push(next.label().to_owned());
                chains.insert(next.dir.clone(), longer.clone());
                queue.push_back((next, longer));
            }
        }
        chains
    }
}
