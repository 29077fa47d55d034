//! Lockfiles of workspaces — `package-lock.json` (v2, v3), `pnpm-lock.yaml` (v5 to v9),
//! `yarn.lock` (v1 and berry), `bun.lock` and `Cargo.lock` — read for one question: which packages, at
//! which versions, does a service's code get? That is its *closure*: the third-party
//! dependencies of its package and of the workspace packages it depends on, followed
//! through the lockfile's resolution to `name@version`, and on through what those depend on.
//!
//! Two closures compare equal when the service would be installed the same; the
//! difference is said package by package (`left-pad 1.0.0 → 1.1.0`).

use std::cell::RefCell;
use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};
use std::hash::Hash;
use std::rc::Rc;

pub use patches::{patched_package, Patch};

mod bun;
mod cargo;
mod npm;
mod patches;
mod pnpm;
mod yarn;

/// A lockfile's format.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum LockfileKind {
    /// npm's `package-lock.json`, version 2 or 3 (the `packages` map).
    Npm,
    /// `pnpm-lock.yaml`: importers and packages.
    Pnpm,
    /// `yarn.lock`, v1 or berry.
    Yarn,
    /// `bun.lock` (`bun.lockb`, Bun's binary lockfile, is found but cannot be read).
    Bun,
    /// `Cargo.lock`.
    Cargo,
}

/// The dependencies of one workspace package, as its `package.json` declares them.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Root {
    /// The package's directory, from the workspace root (`""` for the root).
    pub dir: String,
    /// Its name, if it has one (Cargo.lock knows a crate of the workspace by it).
    pub name: Option<String>,
    /// Its dependencies that are not workspace packages: name and version range.
    pub dependencies: Vec<(String, String)>,
    /// Dependencies not followed from it: a crate's dev-only ones, when the image's crate
    /// depends on it (its tests are not built with the image). Empty for the image's own
    /// package.
    pub dev_only: BTreeSet<String>,
}

/// One package a closure holds.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Resolved {
    /// The name it is installed under.
    pub name: String,
    /// The version the lockfile resolves it to (pnpm's peer suffix included); for a
    /// dependency the lockfile does not resolve, its range and `(unresolved)`.
    pub version: String,
    /// Its integrity or checksum (or where it comes from), when the lockfile says.
    pub integrity: String,
}

/// The packages a service gets, resolved.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Closure(BTreeSet<Rc<Resolved>>);

impl Closure {
    /// The packages, in order.
    pub fn iter(&self) -> impl Iterator<Item = &Resolved> {
        self.0.iter().map(|package| &**package)
    }

    /// What differs from `base` to `self`, one line per package name, in name order:
    /// `left-pad 1.0.0 → 1.1.0`, `chalk 5.3.0 added`, `debug 4.3.4 removed`,
    /// `ms 2.1.3 (integrity changed)`.
    pub fn changes_since(&self, base: &Closure) -> Vec<String> {
        let mut names: BTreeMap<&str, (BTreeSet<&Resolved>, BTreeSet<&Resolved>)> = BTreeMap::new();
        for r in base.iter() {
            names.entry(&r.name).or_default().0.insert(r);
        }
        for r in self.iter() {
            names.entry(&r.name).or_default().1.insert(r);
        }
        let versions = |set: &BTreeSet<&Resolved>, other: &BTreeSet<&Resolved>| -> String {
            let theirs: BTreeSet<&str> = other.iter().map(|r| r.version.as_str()).collect();
            let mine: BTreeSet<&str> = set
                .iter()
                .map(|r| r.version.as_str())
                .filter(|v| !theirs.contains(v))
                .collect();
            mine.into_iter().collect::<Vec<_>>().join(", ")
        };
        names
            .into_iter()
            .filter(|(_, (old, new))| old != new)
            .map(
                |(name, (old, new))| match (versions(&old, &new), versions(&new, &old)) {
                    (gone, added) if gone.is_empty() && added.is_empty() => {
                        let all: BTreeSet<&str> = new.iter().map(|r| r.version.as_str()).collect();
                        let all = all.into_iter().collect::<Vec<_>>().join(", ");
                        let applied = |set: &BTreeSet<&Resolved>| -> BTreeSet<String> {
                            let each = set.iter().map(|r| patches::patches_in(&r.integrity));
                            each.map(str::to_owned).collect()
                        };
                        let (before, after) = (applied(&old), applied(&new));
                        let what = match (before == after, before.iter().all(|p| p.is_empty())) {
                            (true, _) => "integrity changed",
                            (false, true) => "patched",
                            (false, false) if after.iter().all(|p| p.is_empty()) => "patch removed",
                            (false, false) => "patch changed",
                        };
                        format!("{name} {all} ({what})")
                    }
                    (gone, added) if gone.is_empty() => format!("{name} {added} added"),
                    (gone, added) if added.is_empty() => format!("{name} {gone} removed"),
                    (gone, added) => format!("{name} {gone} → {added}"),
                },
            )
            .collect()
    }
}

/// A parser's message on one line: its first line (where) and its last (what), without
/// the excerpt between them that TOML's errors quote.
pub(crate) fn one_line(message: &str) -> String {
    let lines: Vec<&str> = message
        .lines()
        .map(str::trim)
        .filter(|line| !line.is_empty())
        .collect();
    match lines.as_slice() {
        [] => String::new(),
        [only] => (*only).to_owned(),
        [first, .., last] => format!("{first}: {last}"),
    }
}

/// A lockfile that cannot be read: what is wrong with it.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct LockfileError(pub String);

/// A parsed lockfile.
#[derive(Debug)]
pub struct Lockfile(Format);

#[derive(Debug)]
enum Format {
    Npm(Memoized<npm::NpmLock>),
    Pnpm(Memoized<pnpm::PnpmLock>),
    Yarn(Memoized<yarn::YarnLock>),
    Bun(Memoized<bun::BunLock>),
    Cargo(Memoized<cargo::CargoLock>),
}

impl Lockfile {
    /// Reads a lockfile of the given format.
    pub fn parse(kind: LockfileKind, bytes: &[u8]) -> Result<Lockfile, LockfileError> {
        let text = || std::str::from_utf8(bytes).map_err(|_| LockfileError("not UTF-8".into()));
        let format = match kind {
            LockfileKind::Npm => Format::Npm(Memoized::new(npm::NpmLock::parse(text()?)?)),
            LockfileKind::Pnpm => Format::Pnpm(Memoized::new(pnpm::PnpmLock::parse(text()?)?)),
            LockfileKind::Yarn => Format::Yarn(Memoized::new(yarn::YarnLock::parse(text()?)?)),
            // Bytes: `bun.lockb` is binary, and bun.rs says so rather than "not UTF-8".
            LockfileKind::Bun => Format::Bun(Memoized::new(bun::BunLock::parse(bytes)?)),
            LockfileKind::Cargo => Format::Cargo(Memoized::new(cargo::CargoLock::parse(text()?)?)),
        };
        Ok(Lockfile(format))
    }

    /// The closure of the packages `roots` describe.
    pub fn closure(&self, roots: &[Root]) -> Closure {
        match &self.0 {
            Format::Npm(lock) => lock.closure(roots),
            Format::Pnpm(lock) => lock.closure(roots),
            Format::Yarn(lock) => lock.closure(roots),
            Format::Bun(lock) => lock.closure(roots),
            Format::Cargo(lock) => lock.closure(roots),
        }
    }
}

/// How a lockfile resolves: a workspace package's dependency to a locked package, and a
/// locked package to what it is and what it depends on.
trait Resolver {
    /// A locked package, as the lockfile identifies it.
    type Id: Hash + Eq + Clone + std::fmt::Debug;
    /// The locked packages the workspace package `root` gets, where the lockfile resolves
    /// them for the package as a whole (Cargo.lock); `None` to resolve each of its
    /// dependencies by [`Resolver::root`].
    fn roots(&self, _root: &Root) -> Option<Vec<Self::Id>> {
        None
    }
    /// The package a workspace package in `dir` gets for `name` (declared as `range`).
    fn root(&self, dir: &str, name: &str, range: &str) -> Option<Self::Id>;
    /// What the package is, and the locked packages it depends on; `None` for a link
    /// (a workspace package or a local directory).
    fn package(&self, id: &Self::Id) -> Option<(Resolved, Vec<Self::Id>)>;
}

/// Each locked package a walk has asked for, and what it resolved to (`None`: a link).
type Resolutions<Id> = HashMap<Id, Option<Rc<Node<Id>>>, foldhash::fast::RandomState>;

/// A lockfile and the locked packages its closures have resolved so far. A plan walks one
/// closure per image, mostly over the same packages (the workspace's shared ones), and
/// resolving a package (locating each dependency, copying its strings) is most of a
/// walk's cost: each is resolved once. Never iterated: closures are ordered sets.
#[derive(Debug)]
struct Memoized<R: Resolver> {
    lock: R,
    resolved: RefCell<Resolutions<R::Id>>,
}

/// A resolved locked package: what it is, and what it depends on.
#[derive(Debug)]
struct Node<Id> {
    package: Rc<Resolved>,
    edges: Vec<Id>,
}

impl<R: Resolver> Memoized<R> {
    fn new(lock: R) -> Self {
        Memoized {
            lock,
            resolved: RefCell::default(),
        }
    }

    fn node(&self, id: &R::Id) -> Option<Rc<Node<R::Id>>> {
        if let Some(known) = self.resolved.borrow().get(id) {
            return known.clone();
        }
        let node = self.lock.package(id).map(|(package, edges)| {
            Rc::new(Node {
                package: Rc::new(package),
                edges,
            })
        });
        self.resolved.borrow_mut().insert(id.clone(), node.clone());
        node
    }

    fn closure(&self, roots: &[Root]) -> Closure {
        let mut closure = BTreeSet::new();
        let mut seen: HashSet<R::Id, foldhash::fast::RandomState> = HashSet::default();
        let mut queue = Vec::new();
        for root in roots {
            if let Some(ids) = self.lock.roots(root) {
                queue.extend(ids);
                continue;
            }
            for (name, range) in &root.dependencies {
                match self.lock.root(&root.dir, name, range) {
                    Some(id) => queue.push(id),
                    None => {
                        closure.insert(Rc::new(Resolved {
                            name: name.clone(),
                            version: format!("{range} (unresolved)"),
                            integrity: String::new(),
                        }));
                    }
                }
            }
        }
        while let Some(id) = queue.pop() {
            if !seen.insert(id.clone()) {
                continue;
            }
            if let Some(node) = self.node(&id) {
                closure.insert(node.package.clone());
                queue.extend(
                    node.edges
                        .iter()
                        .filter(|edge| !seen.contains(*edge))
                        .cloned(),
                );
            }
        }
        Closure(closure)
    }
}

#[cfg(test)]
mod tests;
