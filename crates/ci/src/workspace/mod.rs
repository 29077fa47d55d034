//! The workspace graph, as committed: a JavaScript workspace (npm and yarn `workspaces` in
//! the root `package.json`, or `pnpm-workspace.yaml`; each package a directory with a
//! `package.json`), a Cargo workspace (a `Cargo.toml` with `[workspace]`; each package a
//! crate) or Go modules (a `go.work`'s, or a main module and what its replacements reach).
//! A service's package is the one whose directory is (or holds) its build context, and the
//! workspace packages it depends on, transitively, join its scope.
//!
//! The graph is read from a tree (the commit being planned), never from the work tree.
//! What cannot be followed — a manifest that does not parse, a `workspace:` range or a
//! `path` naming no package, a cycle — is said in [`Workspace::notes`] and
//! [`Dependencies::notes`].

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::rc::Rc;

use gix::ObjectId;

use crate::lockfile::{LockfileKind, Root};
use crate::repo::{join, GitError, Repo};
use crate::scope::is_within;

mod cargo;
mod discover;
mod go;
pub mod manifest;
mod walk;

use manifest::Manifest;
use walk::Walk;

/// A workspace package: a directory with a `package.json`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Package {
    /// Its directory, from the repository root.
    pub dir: String,
    /// Its manifest (empty when it does not parse).
    pub manifest: Manifest,
}

impl Package {
    /// Its dependencies (name, range) that come with it: every one for the image's own
    /// package (`own`); without its dev-only ones for a package the image depends on.
    pub fn followed(&self, own: bool) -> impl Iterator<Item = (&String, &String)> {
        let dev_only = &self.manifest.dev_only;
        (self.manifest.dependencies.iter())
            .filter(move |(name, _)| own || !dev_only.contains(*name))
    }

    /// How messages name it: its name, else its directory.
    pub fn label(&self) -> &str {
        self.manifest.name.as_deref().unwrap_or(&self.dir)
    }
}

/// The files that can declare a workspace.
const PNPM_WORKSPACE: &str = "pnpm-workspace.yaml";
const PACKAGE: &str = "package.json";
const CARGO: &str = "Cargo.toml";

/// What [`Workspace::find`] has looked at: by tree, ecosystem and directory, the
/// workspace whose root it is (`None`: it is no root).
pub type Known = HashMap<(ObjectId, Ecosystem, String), Option<Rc<Workspace>>>;

/// The package manager a workspace is declared for.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Ecosystem {
    /// npm, pnpm or yarn: packages link by name.
    JavaScript,
    /// Cargo: crates link by `path`.
    Cargo,
    /// Go: modules link by module path in a `go.work`, else by a `replace` with a directory.
    Go,
}

/// A workspace: its root, its packages and its lockfile.
#[derive(Clone, Debug)]
pub struct Workspace {
    ecosystem: Ecosystem,
    root: String,
    declared_in: String,
    packages: BTreeMap<String, Package>,
    names: BTreeMap<String, String>,
    lockfile: Option<(String, LockfileKind)>,
    /// Packages every package of the workspace may use, whoever names them (Cargo's
    /// `[patch]` crates from a `path`): by directory.
    shared: Vec<String>,
    /// Whether a Go module's requirement of a module path is on the workspace's module of
    /// that path (in a `go.work`), not only through a replacement by a directory.
    by_module_path: bool,
    /// Whether it is a Go main module and what its replacements reach, not every module.
    go_main_module: bool,
    notes: Vec<String>,
}

/// The workspace packages a package depends on, transitively, and what could not be
/// followed.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Dependencies {
    /// The packages (not the package itself), by directory.
    pub packages: Vec<Package>,
    /// Cycles and names of no package, explained.
    pub notes: Vec<String>,
}

impl Workspace {
    /// The workspaces holding the directory `from` (a build context) in the tree `tree`,
    /// as the package managers find them: the nearest JavaScript workspace (a directory at
    /// or above it with a `pnpm-workspace.yaml` or a `package.json` declaring
    /// `workspaces`), then the nearest Cargo workspace (a `Cargo.toml` with `[workspace]`);
    /// each only if there is one. Each directory is looked at once per tree: `known`
    /// keeps what was found.
    pub fn find(
        repo: &Repo,
        tree: ObjectId,
        from: &str,
        known: &mut Known,
    ) -> Result<Vec<Rc<Workspace>>, GitError> {
        // Only a directory with one of these files can be a root: one descent finds them.
        let names = [PNPM_WORKSPACE, PACKAGE, CARGO, go::GO_WORK, go::GO_MOD];
        let files = repo.files_along(tree, from, &names)?;
        let mut found = Vec::new();
        for ecosystem in [Ecosystem::JavaScript, Ecosystem::Cargo, Ecosystem::Go] {
            let declares = |name: &str| match ecosystem {
                Ecosystem::JavaScript => name == PNPM_WORKSPACE || name == PACKAGE,
                Ecosystem::Cargo => name == CARGO,
                // The nearest `go.work` (Go's workspace mode), else module mode (below).
                Ecosystem::Go => name == go::GO_WORK,
            };
            let mut dirs: Vec<&str> = (files.iter())
                .filter(|(_, name)| declares(name))
                .map(|(dir, _)| dir.as_str())
                .collect();
            dirs.dedup();
            if ecosystem == Ecosystem::Go && dirs.is_empty() {
                // Module mode: the nearest `go.mod` is the main module.
                let module = files.iter().rev().find(|(_, name)| *name == go::GO_MOD);
                if let Some((dir, _)) = module {
                    let key = (tree, ecosystem, dir.clone());
                    found.extend(Self::known(known, key, || go::module_at(repo, tree, dir))?);
                }
                continue;
            }
            // The nearest first.
            for dir in dirs.into_iter().rev() {
                let key = (tree, ecosystem, dir.to_owned());
                let here = Self::known(known, key, || match ecosystem {
                    Ecosystem::JavaScript => Workspace::at(repo, tree, dir),
                    Ecosystem::Cargo => cargo::workspace_at(repo, tree, dir),
                    Ecosystem::Go => go::work_at(repo, tree, dir),
                })?;
                if let Some(workspace) = here {
                    found.push(workspace);
                    break;
                }
            }
        }
        Ok(found)
    }

    /// Every Go module of the tree `tree`, in module mode (see [`Ecosystem::Go`]), if it
    /// has any: each directory with a `go.mod`, found by one walk of the whole tree.
    pub fn go_modules(
        repo: &Repo,
        tree: ObjectId,
        known: &mut Known,
    ) -> Result<Option<Rc<Workspace>>, GitError> {
        // No directory is `/`: the key of no `go.work`'s workspace.
        let key = (tree, Ecosystem::Go, "/".to_owned());
        Self::known(known, key, || go::modules_of(repo, tree))
    }

    /// The workspace `key` names, read by `read` the first time.
    fn known(
        known: &mut Known,
        key: (ObjectId, Ecosystem, String),
        read: impl FnOnce() -> Result<Option<Workspace>, GitError>,
    ) -> Result<Option<Rc<Workspace>>, GitError> {
        if let Some(here) = known.get(&key) {
            return Ok(here.clone());
        }
        let here = read()?.map(Rc::new);
        known.insert(key, here.clone());
        Ok(here)
    }

    /// A workspace of these packages; packages are known by name too (the first of two
    /// of one name, with a note), except those in `unnamed` (directories only a local
    /// range reaches: another package's dependency of their name is not on them).
    fn new(
        ecosystem: Ecosystem,
        root: &str,
        declared_in: String,
        packages: BTreeMap<String, Package>,
        unnamed: &BTreeSet<String>,
        lockfile: Option<(String, LockfileKind)>,
        mut notes: Vec<String>,
    ) -> Workspace {
        let mut names = BTreeMap::new();
        for package in packages.values().filter(|p| !unnamed.contains(&p.dir)) {
            let Some(name) = &package.manifest.name else {
                continue;
            };
            if let Some(first) = names.insert(name.clone(), package.dir.clone()) {
                notes.push(format!(
                    "two workspace packages are named `{name}` ({first} and {}): dependencies on it follow {}",
                    package.dir, first
                ));
                names.insert(name.clone(), first);
            }
        }
        Workspace {
            ecosystem,
            root: root.to_owned(),
            declared_in,
            packages,
            names,
            lockfile,
            shared: Vec::new(),
            by_module_path: false,
            go_main_module: false,
            notes,
        }
    }

    /// The JavaScript workspace whose root is `root`, if it is one.
    fn at(repo: &Repo, tree: ObjectId, root: &str) -> Result<Option<Workspace>, GitError> {
        let mut notes = Vec::new();
        let pnpm_file = join(root, "pnpm-workspace.yaml");
        let package_file = join(root, "package.json");
        let root_manifest = match repo.read_file(tree, &package_file)? {
            Some(bytes) => Manifest::parse(&bytes).map_err(|why| (package_file.clone(), why)),
            None => Ok(Manifest::default()),
        };
        let (declared_in, globs, pnpm) = match repo.read_file(tree, &pnpm_file)? {
            Some(bytes) => match manifest::pnpm_workspace(&bytes) {
                Ok(globs) => (pnpm_file, globs, true),
                Err(why) => {
                    notes.push(format!(
                        "{pnpm_file} cannot be read ({why}): its packages are not followed, so no service's scope includes the workspace packages it depends on"
                    ));
                    (pnpm_file, Vec::new(), true)
                }
            },
            None => match &root_manifest {
                Ok(Manifest {
                    workspaces: Some(globs),
                    ..
                }) => (package_file.clone(), globs.clone(), false),
                Ok(_) => return Ok(None),
                Err((file, why)) => {
                    notes.push(format!(
                        "{file} cannot be read ({why}): no workspace graph is read from it, so no service's scope includes the workspace packages it depends on"
                    ));
                    (file.clone(), Vec::new(), false)
                }
            },
        };
        let mut packages = BTreeMap::new();
        if let Ok(manifest) = &root_manifest {
            packages.insert(
                root.to_owned(),
                Package {
                    dir: root.to_owned(),
                    manifest: manifest.clone(),
                },
            );
        }
        // The packages the globs name, then the directories `file:` and `link:` ranges
        // name (their files are what the dependency installs).
        let mut pending = discover::package_dirs(repo, tree, root, &globs, "package.json")?;
        let globbed: BTreeSet<String> = pending.iter().cloned().collect();
        if let Some(package) = packages.get(root) {
            let local = package.manifest.dependencies.values();
            pending.extend(local.filter_map(|range| local_dir(package, range)));
        }
        let parse = |bytes: &[u8], _: &str| Manifest::parse(bytes);
        let read = (repo, tree, "package.json");
        read_packages(read, pending, parse, local_dir, &mut packages, &mut notes)?;
        let lockfile = lockfile(repo, tree, root, pnpm, root_manifest.as_ref().ok())?;
        let unnamed = (packages.keys())
            .filter(|dir| *dir != root && !globbed.contains(*dir))
            .cloned()
            .collect();
        Ok(Some(Workspace::new(
            Ecosystem::JavaScript,
            root,
            declared_in,
            packages,
            &unnamed,
            lockfile,
            notes,
        )))
    }

    /// The workspace root, from the repository root (`""` for the root itself).
    pub fn root(&self) -> &str {
        &self.root
    }

    /// The file declaring the workspace (`package.json`, `pnpm-workspace.yaml` or
    /// `Cargo.toml`).
    pub fn declared_in(&self) -> &str {
        &self.declared_in
    }

    /// The lockfile at the workspace root, if one is committed, and its format.
    pub fn lockfile(&self) -> Option<(&str, LockfileKind)> {
        self.lockfile
            .as_ref()
            .map(|(path, kind)| (path.as_str(), *kind))
    }

    /// Where `patch-package` keeps the workspace's patches, from the repository root, when
    /// its root package uses it (a JavaScript workspace's only) and the directory is in the
    /// repository (`--patch-dir ../patches` from a workspace in `web` is `patches`).
    pub fn patch_dir(&self) -> Option<String> {
        if self.ecosystem != Ecosystem::JavaScript {
            return None;
        }
        let dir = self.root_package()?.manifest.patch_dir.as_deref()?;
        let joined = join(&self.root, dir.trim_start_matches('/'));
        let clean = path_clean::clean(&joined).to_string_lossy().into_owned();
        (!dir.starts_with('/') && clean != ".." && !clean.starts_with("../")).then_some(clean)
    }

    /// What could not be read of the workspace itself, explained.
    pub fn notes(&self) -> &[String] {
        &self.notes
    }

    /// The package of a service whose build context is `context` (from the repository
    /// root): the deepest package whose directory is it or holds it. The workspace root's
    /// own package counts only for a context at the root (a JavaScript or Cargo root
    /// declares the workspace more than it is the package of what lies below it), except a
    /// Go module's: it is the module of every directory below without a `go.mod` of its own.
    pub fn package_of(&self, context: &str) -> Option<&Package> {
        let holds = |p: &Package| p.dir != self.root || self.ecosystem == Ecosystem::Go;
        self.packages
            .values()
            .filter(|p| p.dir == context || (holds(p) && is_within(context, &p.dir)))
            .max_by_key(|p| p.dir.len())
    }

    /// The package a topology names (`changes.package`): by its name, else by its
    /// directory `dir` (from the repository root).
    pub fn package_named(&self, name: &str, dir: &str) -> Option<&Package> {
        let by_name = self.names.get(name).and_then(|dir| self.packages.get(dir));
        by_name.or_else(|| self.packages.get(dir))
    }

    /// The package manager it is declared for.
    pub fn ecosystem(&self) -> Ecosystem {
        self.ecosystem
    }

    /// Whether it is a Go main module and the modules its replacements reach (module mode,
    /// found from a build context): it does not know the repository's other modules.
    pub fn is_go_main_module(&self) -> bool {
        self.go_main_module
    }

    /// The workspace root's own package (a `package.json` there; a Cargo root with a
    /// `[package]`), if it has one.
    pub fn root_package(&self) -> Option<&Package> {
        self.packages.get(&self.root)
    }

    /// The packages whose directories lie in `dir` (or are it), in directory order.
    pub fn packages_within<'w>(&'w self, dir: &'w str) -> impl Iterator<Item = &'w Package> {
        self.packages
            .values()
            .filter(move |p| is_within(&p.dir, dir))
    }

    /// What the dependency `name` (declared as `range`) of `package` is to the workspace:
    /// JavaScript packages link by name (a `workspace:` range must name one) or by a local
    /// directory (`file:`, `link:`, `portal:`), crates by `path`, Go modules by a
    /// replacement's directory or, in a `go.work`, by module path.
    fn link(&self, package: &Package, name: &str, range: &str) -> Link<'_> {
        match self.ecosystem {
            Ecosystem::JavaScript => match (self.names.get(name), local_dir(package, range)) {
                (Some(dir), _) => Link::Package(dir),
                (None, Some(dir)) => match self.packages.get_key_value(&dir) {
                    Some((dir, _)) => Link::Package(dir),
                    // A tarball (`file:x.tgz`): the lockfile's integrity follows it.
                    None => Link::External,
                },
                (None, None) if range.starts_with("workspace:") => Link::Missing,
                (None, None) => Link::External,
            },
            Ecosystem::Cargo | Ecosystem::Go => match range.strip_prefix(cargo::PATH) {
                None => match self.names.get(name) {
                    Some(dir) if self.by_module_path => Link::Package(dir),
                    _ => Link::External,
                },
                Some(dir) => match self.packages.get_key_value(dir) {
                    Some((dir, _)) => Link::Package(dir),
                    None => Link::Missing,
                },
            },
        }
    }

    /// The file a package's dependencies are declared in (`package.json`, `Cargo.toml`),
    /// from the repository root.
    pub fn manifest_of(&self, package: &Package) -> String {
        let file = match self.ecosystem {
            Ecosystem::JavaScript => "package.json",
            Ecosystem::Cargo => "Cargo.toml",
            Ecosystem::Go => go::GO_MOD,
        };
        join(&package.dir, file)
    }

    /// The workspace packages `package` depends on, transitively (any kind of dependency
    /// naming a workspace package: `workspace:` ranges included; for crates, `path`
    /// dependencies), in directory order.
    pub fn dependencies(&self, package: &Package) -> Dependencies {
        let mut walk = Walk {
            workspace: self,
            own: &package.dir,
            seen: BTreeSet::new(),
            stack: Vec::new(),
            notes: BTreeSet::new(),
        };
        walk.visit(package);
        for dir in &self.shared {
            if let (false, Some(next)) = (walk.seen.contains(dir), self.packages.get(dir)) {
                walk.visit(next);
            }
        }
        Dependencies {
            packages: walk
                .seen
                .iter()
                .filter(|dir| **dir != package.dir)
                .filter_map(|dir| self.packages.get(dir).cloned())
                .collect(),
            notes: walk.notes.into_iter().collect(),
        }
    }

    /// What a lockfile resolves for `package` and its workspace dependencies: each
    /// package's directory (from the workspace root), its name, and its dependencies that
    /// are not links to workspace packages (nor links naming none).
    pub fn lockfile_roots(&self, package: &Package, dependencies: &Dependencies) -> Vec<Root> {
        std::iter::once(package)
            .chain(&dependencies.packages)
            .map(|p| Root {
                dev_only: if p.dir == package.dir {
                    BTreeSet::new()
                } else {
                    p.manifest.dev_only.clone()
                },
                dependencies: p
                    .followed(p.dir == package.dir)
                    .filter(|(name, range)| matches!(self.link(p, name, range), Link::External))
                    .map(|(name, range)| (name.clone(), range.clone()))
                    .collect(),
                dir: p
                    .dir
                    .strip_prefix(self.root.as_str())
                    .unwrap_or(&p.dir)
                    .trim_start_matches('/')
                    .to_owned(),
                name: p.manifest.name.clone(),
            })
            .collect()
    }
}

/// What a dependency is to the workspace.
enum Link<'w> {
    /// A workspace package: its directory.
    Package(&'w str),
    /// A link (`workspace:` range, `path`) to no package of the workspace.
    Missing,
    /// Not a workspace package: the lockfile resolves it.
    External,
}

/// The lockfile at the workspace root: pnpm's for a pnpm workspace; else the one
/// `packageManager` names, else `package-lock.json`, `yarn.lock`, `bun.lock` or
/// `bun.lockb` (Bun's binary one, found to be said unreadable), the first committed.
fn lockfile(
    repo: &Repo,
    tree: ObjectId,
    root: &str,
    pnpm: bool,
    manifest: Option<&Manifest>,
) -> Result<Option<(String, LockfileKind)>, GitError> {
    let manager = manifest
        .and_then(|m| m.package_manager.as_deref())
        .and_then(|m| m.split('@').next())
        .unwrap_or("");
    let candidates: &[(&str, LockfileKind)] = if pnpm || manager == "pnpm" {
        &[("pnpm-lock.yaml", LockfileKind::Pnpm)]
    } else if manager == "yarn" {
        &[("yarn.lock", LockfileKind::Yarn)]
    } else if manager == "bun" {
        &[
            ("bun.lock", LockfileKind::Bun),
            ("bun.lockb", LockfileKind::Bun),
        ]
    } else {
        &[
            ("package-lock.json", LockfileKind::Npm),
            ("yarn.lock", LockfileKind::Yarn),
            ("bun.lock", LockfileKind::Bun),
            ("bun.lockb", LockfileKind::Bun),
        ]
    };
    for (file, kind) in candidates {
        let path = join(root, file);
        if let Some(entry) = repo.entry_at(tree, &path)? {
            if !entry.is_tree() {
                return Ok(Some((path, *kind)));
            }
        }
    }
    Ok(None)
}

/// Reads into `packages` the package of each directory of `pending` and, in turn, of each
/// directory their dependencies name locally (`local`: a JavaScript `file:` range, a crate's
/// `path`), from the manifest `file` of each tree `(repo, tree, file)`. A directory without
/// it is no package; a manifest that does not `parse` (its bytes, its directory) is a note.
fn read_packages(
    (repo, tree, file): (&Repo, ObjectId, &str),
    mut pending: Vec<String>,
    parse: impl Fn(&[u8], &str) -> Result<Manifest, String>,
    local: impl Fn(&Package, &str) -> Option<String>,
    packages: &mut BTreeMap<String, Package>,
    notes: &mut Vec<String>,
) -> Result<(), GitError> {
    // In directory order: notes are output.
    pending.sort_unstable_by(|a, b| b.cmp(a));
    while let Some(dir) = pending.pop() {
        if packages.contains_key(&dir) {
            continue;
        }
        let path = join(&dir, file);
        let Some(bytes) = repo.read_file(tree, &path)? else {
            continue;
        };
        let manifest = parse(&bytes, &dir).unwrap_or_else(|why| {
            notes.push(format!(
                "{path} cannot be read ({why}): the dependencies of {dir} are not followed"
            ));
            Manifest::default()
        });
        let package = Package { dir, manifest };
        let ranges = package.manifest.dependencies.values();
        pending.extend(ranges.filter_map(|range| local(&package, range)));
        packages.insert(package.dir.clone(), package);
    }
    Ok(())
}

/// The directory (from the repository root) a JavaScript range `file:`, `link:` or
/// `portal:` names, relative to the package declaring it.
fn local_dir(package: &Package, range: &str) -> Option<String> {
    let path = ["file:", "link:", "portal:"]
        .iter()
        .find_map(|protocol| range.strip_prefix(protocol))?;
    normalise(&package.dir, path)
}

/// `path` (relative, `..` allowed) from the directory `dir`, from the repository root;
/// `None` when it leads above the root or is absolute.
fn normalise(dir: &str, path: &str) -> Option<String> {
    if path.starts_with('/') {
        return None;
    }
    let mut parts: Vec<&str> = dir.split('/').filter(|p| !p.is_empty()).collect();
    for part in path.split('/') {
        match part {
            "" | "." => {}
            ".." => {
                parts.pop()?;
            }
            part => parts.push(part),
        }
    }
    Some(parts.join("/"))
}

#[cfg(test)]
mod tests;
