//! `Cargo.lock` (parsed by `cargo-lock`; every format version): a `[[package]]` per crate,
//! each naming the packages it depends on. A crate of the workspace (or any `path` crate)
//! has no `source`: its own files are in its dependents' scope, so the closure holds only
//! what comes from a registry or a git repository.

use std::collections::HashMap;

use super::{one_line, LockfileError, Resolved, Resolver, Root};

/// A parsed `Cargo.lock`.
#[derive(Debug)]
pub struct CargoLock {
    packages: Vec<Package>,
    /// The local crates (no `source`) by name: where a workspace package's walk starts.
    local: HashMap<String, Vec<usize>>,
}

#[derive(Debug)]
struct Package {
    name: String,
    /// What it is; `None` for a local crate.
    resolved: Option<Resolved>,
    /// The packages its dependencies resolve to (of every kind: Cargo.lock keeps normal,
    /// build and dev dependencies in one list).
    edges: Vec<usize>,
}

impl CargoLock {
    pub(super) fn parse(text: &str) -> Result<CargoLock, LockfileError> {
        let lockfile = text
            .parse::<cargo_lock::Lockfile>()
            .map_err(|e| LockfileError(format!("cargo-lock: {}", one_line(&e.to_string()))))?;
        // Each dependency names a package exactly (name, version, source): found by name,
        // then matched.
        let mut by_name: HashMap<&str, Vec<usize>> = HashMap::new();
        for (index, package) in lockfile.packages.iter().enumerate() {
            by_name
                .entry(package.name.as_str())
                .or_default()
                .push(index);
        }
        let mut local: HashMap<String, Vec<usize>> = HashMap::new();
        let packages = lockfile
            .packages
            .iter()
            .enumerate()
            .map(|(index, package)| {
                let resolved = package.source.as_ref().map(|source| Resolved {
                    name: package.name.as_str().to_owned(),
                    version: package.version.to_string(),
                    integrity: match &package.checksum {
                        Some(checksum) => checksum.to_string(),
                        None => source.to_string(),
                    },
                });
                if resolved.is_none() {
                    local
                        .entry(package.name.as_str().to_owned())
                        .or_default()
                        .push(index);
                }
                let edges = package
                    .dependencies
                    .iter()
                    .filter_map(|dependency| {
                        by_name
                            .get(dependency.name.as_str())?
                            .iter()
                            .copied()
                            .find(|&i| dependency.matches(&lockfile.packages[i]))
                    })
                    .collect();
                Package {
                    name: package.name.as_str().to_owned(),
                    resolved,
                    edges,
                }
            })
            .collect();
        Ok(CargoLock { packages, local })
    }
}

impl Resolver for CargoLock {
    type Id = usize;

    /// Cargo.lock resolves a crate's dependencies in the crate's own entry, found by the
    /// crate's name, not by the ranges of its manifest; of a crate the image's depends on,
    /// without its dev-only dependencies (one list holds every kind: the manifest tells).
    fn roots(&self, root: &Root) -> Option<Vec<usize>> {
        let entries = self.local.get(root.name.as_deref()?)?;
        Some(
            entries
                .iter()
                .flat_map(|&index| self.packages[index].edges.iter().copied())
                .filter(|&edge| !root.dev_only.contains(&self.packages[edge].name))
                .collect(),
        )
    }

    /// Only for a crate Cargo.lock does not have (it is out of date): nothing resolves.
    fn root(&self, _dir: &str, _name: &str, _range: &str) -> Option<usize> {
        None
    }

    fn package(&self, index: &usize) -> Option<(Resolved, Vec<usize>)> {
        let package = self.packages.get(*index)?;
        Some((package.resolved.clone()?, package.edges.clone()))
    }
}
