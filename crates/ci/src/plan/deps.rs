//! What the workspaces (JavaScript, Cargo) add to a plan: each image's package, the
//! workspace packages it depends on (in its scope), and its lockfile closure — compared
//! between the marker commit and head when the lockfile changed, and hashed into its
//! fingerprint.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::rc::Rc;

use gix::ObjectId;
use topo_core::valid::Service;

use super::package::{image_deps_in, root_context_note, Named, NotFound};
use super::patches::Patches;
use super::{plural, Found, PlanError, Planner, Reason, ServicePlan};
use crate::lockfile::{Closure, Lockfile, LockfileKind, Patch, Root};
use crate::repo::{join, short};
use crate::scope::{is_within, repository_path, Match, Scope};
use crate::workspace::{Known, Workspace};

/// At most this many package changes are named in a service's detail.
const LISTED_CHANGES: usize = 5;

/// At most this many packages are named when `changes.package` names none of them.
const LISTED_PACKAGES: usize = 8;

/// A lockfile as committed: its blob, and what it parses to (or why it does not).
type Parsed = (ObjectId, Rc<Result<Lockfile, String>>);

/// The workspaces, read once per plan, and what was derived from them.
#[derive(Default)]
pub(super) struct Deps {
    /// The workspaces looked for, at head and at bases.
    known: Known,
    images: HashMap<String, Rc<ImageDeps>>,
    lockfiles: HashMap<ObjectId, Rc<Result<Lockfile, String>>>,
    /// Closures by lockfile blob and roots (and patch directory): head's, walked for a
    /// decision, is the one the fingerprint hashes.
    closures: HashMap<(ObjectId, String), Rc<Closure>>,
    /// `patch-package`'s patches, by their directory and its tree.
    pub(super) patches: HashMap<(String, ObjectId), Rc<Vec<Patch>>>,
    /// What each image depended on at a base tree (by tree and role), for the base side of
    /// a closure comparison.
    base_images: HashMap<(ObjectId, String), Rc<ImageDeps>>,
    /// The manifests of packages images use that an exclude glob leaves out of a scope.
    hidden_manifests: BTreeSet<String>,
}

impl Deps {
    /// Keeps the manifests of `deps` that `scope` excludes: a change of the dependency
    /// ranges they declare is seen only through the lockfile (not at all without one).
    pub(super) fn note_hidden_manifests(&mut self, deps: &ImageDeps, scope: &Scope) {
        let hidden = (deps.manifests.iter()).filter(|m| scope.classify(m) == Match::Excluded);
        self.hidden_manifests.extend(hidden.cloned());
    }

    /// The note on the manifests exclude globs hide, if any.
    pub(super) fn hidden_manifests_note(&self) -> Option<String> {
        let first = self.hidden_manifests.first()?;
        let more = match self.hidden_manifests.len() {
            1 => String::new(),
            n => format!(" and {}", plural(n - 1, "more package manifest")),
        };
        Some(format!(
            "an exclude glob leaves {first}{more} out of the scopes of the services that use them: a change of the dependencies they declare deploys nothing unless the lockfile resolves them differently; narrow the glob so that it keeps them"
        ))
    }
}

/// What an image's build depends on through the workspace.
#[derive(Default)]
pub(super) struct ImageDeps {
    /// The workspace packages it depends on: directory and name.
    pub packages: Vec<(String, String)>,
    /// Its package and theirs, for the lockfile.
    pub roots: Vec<Root>,
    /// The lockfile (path, format), when the image has a package and one is committed.
    pub lockfile: Option<(String, LockfileKind)>,
    /// The directory of `patch-package`'s patches, from the repository root, when the
    /// image has a lockfile and its workspace's root package uses `patch-package`.
    pub patches: Option<String>,
    /// The manifest of its JavaScript workspace's root package, which says whether
    /// `patch-package` runs and where its patches are, when the image has a lockfile.
    pub root_manifest: Option<String>,
    /// The roots as text (each package's directory and dependency list): with the
    /// lockfile's blob, all a closure is computed from.
    pub roots_key: String,
    /// The files declaring the workspaces its build context is in.
    pub declared_in: Vec<String>,
    /// The manifests of its package and of the workspace packages it depends on.
    pub manifests: Vec<String>,
    /// When the topology names its package: the paths of its build context that are not
    /// its (other packages' directories, and the lockfile, compared by closure).
    pub outside: Option<Vec<String>>,
    /// Its package and workspace, when it has one: for [`ImageDeps::chains`].
    pub package: Option<(Rc<Workspace>, String)>,
}

impl ImageDeps {
    /// By directory, the chain of dependencies reaching each workspace package it depends
    /// on, from its own package: walked again on each call, as only an explanation (a
    /// detail, `fingerprint --explain`) asks for it.
    pub fn chains(&self) -> BTreeMap<String, Vec<String>> {
        let Some((workspace, dir)) = &self.package else {
            return BTreeMap::new();
        };
        (workspace.package_of(dir))
            .map(|package| workspace.chains(package))
            .unwrap_or_default()
    }
}

/// How the lockfile changed for one image between the marker commit and head.
pub(super) enum LockChange {
    /// It did not change, or the image does not use it.
    None,
    /// It changed, not the image's closure.
    Same(String),
    /// The image's closure changed: these packages.
    Changed(String, Vec<String>),
    /// It cannot be read on one side: the image is treated as changed.
    Unreadable(String, String),
}

impl Planner<'_> {
    /// What the image `owner` builds depends on through the workspace.
    pub(super) fn image_deps(&mut self, owner: &Service) -> Result<Rc<ImageDeps>, PlanError> {
        if let Some(known) = self.deps.images.get(owner.role.as_str()) {
            return Ok(known.clone());
        }
        let context = self.context_of(owner);
        let named = self.named_package(owner);
        let workspaces = self.workspaces(self.head_tree, &context, named.as_ref())?;
        let (deps, mut notes) = image_deps_in(&workspaces, &context, named.as_ref())
            .map_err(|NotFound(known)| self.unknown_package(owner, &context, &known))?;
        if named.is_none() {
            let dockerfile = join(&context, &owner.build.dockerfile);
            let role = owner.role.as_str();
            notes.extend(root_context_note(&workspaces, role, &context, &dockerfile));
        }
        let workspace_notes = workspaces.iter().flat_map(|w| w.notes().iter().cloned());
        for note in workspace_notes.chain(notes) {
            if !self.notes.contains(&note) {
                self.notes.push(note);
            }
        }
        let deps = Rc::new(deps);
        self.deps
            .images
            .insert(owner.role.to_string(), deps.clone());
        Ok(deps)
    }

    /// What the image `owner` builds depended on through the workspace as it was in the
    /// tree `tree` (a base): its packages' dependency lists and lockfile there, so that a
    /// closure compared with head's is the one that base installed. Problems of that
    /// workspace are not head's, so they make no notes.
    fn image_deps_at(
        &mut self,
        tree: ObjectId,
        owner: &Service,
    ) -> Result<Rc<ImageDeps>, PlanError> {
        if tree == self.head_tree {
            return self.image_deps(owner);
        }
        let key = (tree, owner.role.to_string());
        if let Some(known) = self.deps.base_images.get(&key) {
            return Ok(known.clone());
        }
        let context = self.context_of(owner);
        let named = self.named_package(owner);
        let workspaces = self.workspaces(tree, &context, named.as_ref())?;
        // A base without the named package has no lockfile here: head's lists stand in.
        let (deps, _) = image_deps_in(&workspaces, &context, named.as_ref()).unwrap_or_default();
        let deps = Rc::new(deps);
        self.deps.base_images.insert(key, deps.clone());
        Ok(deps)
    }

    /// The workspaces of the tree `tree` an image built from `context` may be built from:
    /// those holding the context, and, for a package named by a directory in it that those
    /// do not hold, those holding that directory (a workspace in a directory of a context at
    /// the root).
    fn workspaces(
        &mut self,
        tree: ObjectId,
        context: &str,
        named: Option<&Named<'_>>,
    ) -> Result<Vec<Rc<Workspace>>, PlanError> {
        let known = &mut self.deps.known;
        let mut workspaces = Workspace::find(self.repo, tree, context, known)?;
        // Only when those do not hold it already (a name, most often): no second descent.
        let held = |workspaces: &[Rc<Workspace>], named: &Named<'_>| {
            workspaces.iter().any(|w| {
                w.package_named(named.name, &named.dir)
                    .is_some_and(|p| is_within(&p.dir, context))
            })
        };
        let add = |workspaces: &mut Vec<Rc<Workspace>>, found: Vec<Rc<Workspace>>| {
            for found in found {
                if !workspaces.iter().any(|w| Rc::ptr_eq(w, &found)) {
                    workspaces.push(found);
                }
            }
        };
        let Some(named) = named.filter(|n| !held(&workspaces, n)) else {
            return Ok(workspaces);
        };
        if named.dir != context && is_within(&named.dir, context) {
            let found = Workspace::find(self.repo, tree, &named.dir, known)?;
            // A Go main module found from its directory does not know the context's other
            // modules, which leave the scope: those are found below.
            let found = found.into_iter().filter(|w| !w.is_go_main_module());
            add(&mut workspaces, found.collect());
        }
        // Go's module mode has no file declaring the repository's modules together: a module
        // named in a context holding others is looked for among them all. At head only: a
        // base tree is read for the lockfile side of a comparison, and a Go module has no
        // lockfile (`go.sum` is a file of its scope), so walking a base's whole tree there
        // (a base predating a named npm package, say) would find nothing it needs.
        if tree == self.head_tree && !held(&workspaces, named) {
            let modules = Workspace::go_modules(self.repo, tree, known)?;
            add(&mut workspaces, modules.into_iter().collect());
        }
        Ok(workspaces)
    }

    /// The package the topology names for the image `owner` builds, if it does.
    fn named_package<'s>(&self, owner: &'s Service) -> Option<Named<'s>> {
        let name = owner.changes.package.as_ref()?;
        let dir = match repository_path(self.prefix, name) {
            root if root == "." => String::new(),
            dir => dir,
        };
        Some(Named { name, dir })
    }

    /// The error for a `changes.package` naming no package of the context; `known` are
    /// those it holds.
    fn unknown_package(&self, owner: &Service, context: &str, known: &[String]) -> PlanError {
        let package = owner.changes.package.as_ref();
        let at = match (package.and_then(|p| p.span()), self.request.source) {
            (Some(span), Some(source)) => {
                let (line, column) = source.line_col(span.start);
                format!("{}:{line}:{column}: ", source.name())
            }
            _ => String::new(),
        };
        let listed = known.iter().take(LISTED_PACKAGES).map(|p| format!("`{p}`"));
        let mut listed: Vec<String> = listed.collect();
        if known.len() > LISTED_PACKAGES {
            listed.push(format!("… {} more", known.len() - LISTED_PACKAGES));
        }
        PlanError::UnknownPackage {
            at,
            role: owner.role.to_string(),
            package: package.map(|p| p.to_string()).unwrap_or_default(),
            context: format!("`{}`", if context.is_empty() { "." } else { context }),
            known: if listed.is_empty() {
                " (it holds none)".to_owned()
            } else {
                format!(" (it holds {})", listed.join(", "))
            },
        }
    }

    /// The build context of `owner`, from the repository root (`""` for the root).
    pub(super) fn context_of(&self, owner: &Service) -> String {
        match repository_path(self.prefix, &owner.build.context) {
            root if root == "." => String::new(),
            context => context,
        }
    }

    /// The lockfile at `path` in `tree` (its blob id and what it parses to), once per blob.
    pub(super) fn lockfile_in(
        &mut self,
        tree: ObjectId,
        path: &str,
        kind: LockfileKind,
    ) -> Result<Option<Parsed>, PlanError> {
        let Some(entry) = self.repo.entry_at(tree, path)?.filter(|e| !e.is_tree()) else {
            return Ok(None);
        };
        if let Some(known) = self.deps.lockfiles.get(&entry.id) {
            return Ok(Some((entry.id, known.clone())));
        }
        let bytes = self.repo.read_blob(entry.id, path)?;
        let parsed = Rc::new(Lockfile::parse(kind, &bytes).map_err(|e| e.to_string()));
        self.deps.lockfiles.insert(entry.id, parsed.clone());
        Ok(Some((entry.id, parsed)))
    }

    /// How the lockfile changed for the image `owner` builds since `base`.
    pub(super) fn lockfile_change(
        &mut self,
        base: ObjectId,
        owner: &Service,
    ) -> Result<LockChange, PlanError> {
        let deps = self.image_deps(owner)?;
        let Some((path, kind)) = deps.lockfile.clone() else {
            return Ok(LockChange::None);
        };
        let base_tree = self.repo.tree_of(base)?;
        // The same blob on both sides: nothing to parse (the common case).
        let id = |tree| -> Result<_, PlanError> {
            Ok(self
                .repo
                .entry_at(tree, &path)?
                .filter(|e| !e.is_tree())
                .map(|e| e.id))
        };
        // The same patches on both sides: the same patch directory, and the same root
        // manifest saying whether patch-package runs and where it looks.
        let same_patches = |this: &Self| -> Result<bool, PlanError> {
            let manifest = |tree| match &deps.root_manifest {
                Some(path) => this.repo.entry_at(tree, path),
                None => Ok(None),
            };
            Ok(
                this.patch_dir_id(base_tree, &deps)? == this.patch_dir_id(this.head_tree, &deps)?
                    && manifest(base_tree)? == manifest(this.head_tree)?,
            )
        };
        if id(base_tree)? == id(self.head_tree)? && same_patches(self)? {
            return Ok(LockChange::None);
        }
        // The owner's marker at this base recorded its closure's digest: head's closure
        // alone tells whether it changed; the base side is read only to name what did.
        if self.recorded_closure(base, owner).is_some_and(|recorded| {
            self.closure_digest(owner)
                .is_ok_and(|head| head == recorded)
        }) {
            return Ok(LockChange::Same(path));
        }
        // The base side as the base had it: its package lists, and its lockfile (a project
        // that moved from yarn to npm compares its `yarn.lock` with head's
        // `package-lock.json`); head's lists where the base's workspace did not have the
        // image's package.
        let at_base = self.image_deps_at(base_tree, owner)?;
        let base_deps = if at_base.lockfile.is_some() {
            at_base
        } else {
            deps.clone()
        };
        let (base_path, base_kind) = base_deps.lockfile.clone().unwrap_or((path.clone(), kind));
        let old = self.lockfile_in(base_tree, &base_path, base_kind)?;
        let new = self.lockfile_in(self.head_tree, &path, kind)?;
        let old_patches = self.patches_of(base_tree, &base_deps)?;
        let new_patches = self.patches_of(self.head_tree, &deps)?;
        if old.as_ref().map(|(id, _)| id) == new.as_ref().map(|(id, _)| id)
            && base_deps.roots_key == deps.roots_key
            && old_patches.as_ref().map(|(id, _)| id) == new_patches.as_ref().map(|(id, _)| id)
        {
            return Ok(LockChange::None);
        }
        let head = self.request.head.to_string();
        let mut closure = |side: &Option<Parsed>,
                           at: &str,
                           deps: &ImageDeps,
                           patches: Option<&Patches>|
         -> Result<Rc<Closure>, String> {
            match side {
                None => Err(format!("it did not exist at {}", short(at))),
                Some((id, parsed)) => match parsed.as_ref() {
                    Ok(lockfile) => Ok(self.closure_of(*id, lockfile, deps, patches)),
                    Err(why) => Err(format!("at {}, {why}", short(at))),
                },
            }
        };
        let sides = (
            closure(&old, &base.to_string(), &base_deps, old_patches.as_ref()),
            closure(&new, &head, &deps, new_patches.as_ref()),
        );
        match sides {
            (Ok(old), Ok(new)) if old == new => Ok(LockChange::Same(path)),
            (Ok(old), Ok(new)) => Ok(LockChange::Changed(path, new.changes_since(&old))),
            (Err(why), _) | (_, Err(why)) => {
                let note = format!(
                    "{path} cannot be read ({why}): every service whose package it locks is treated as changed, as if it were a global file"
                );
                if !self.notes.contains(&note) {
                    self.notes.push(note);
                }
                Ok(LockChange::Unreadable(path, why))
            }
        }
    }

    /// The closure digest the marker of the image `owner` builds recorded, when that
    /// marker is at `base` and of this fingerprint recipe.
    fn recorded_closure(&self, base: ObjectId, owner: &Service) -> Option<String> {
        let container =
            topo_core::naming::container_name(&self.request.topology.project, &owner.role);
        let (marker, digests) = self.recorded(&container)?;
        (ObjectId::from_hex(marker.commit.as_bytes()).ok() == Some(base)
            && !digests.closure_key.is_empty())
        .then(|| digests.closure.clone())
    }

    /// What the lockfile adds to the fingerprint of the image `owner` builds: its closure
    /// at head, one line per package (the lockfile's blob when it cannot be read).
    pub(super) fn lockfile_key(&mut self, owner: &Service) -> Result<String, PlanError> {
        let deps = self.image_deps(owner)?;
        let Some((path, kind)) = deps.lockfile.clone() else {
            return Ok(String::new());
        };
        let mut key = String::new();
        let patches = self.patches_of(self.head_tree, &deps)?;
        match self.lockfile_in(self.head_tree, &path, kind)? {
            None => {}
            Some((id, parsed)) => match parsed.as_ref() {
                Ok(lockfile) => {
                    for r in self
                        .closure_of(id, lockfile, &deps, patches.as_ref())
                        .iter()
                    {
                        key.push_str(&format!(
                            "dependency {} {} {}\n",
                            r.name, r.version, r.integrity
                        ));
                    }
                }
                Err(_) => {
                    let id = self.repo.entry_at(self.head_tree, &path)?.map(|e| e.id);
                    key.push_str(&format!(
                        "lockfile {path} {}\n",
                        id.unwrap_or(ObjectId::null(gix::hash::Kind::Sha1))
                    ));
                }
            },
        }
        Ok(key)
    }

    /// The closure of the image `deps` describes in the parsed lockfile `blob`, with the
    /// packages `patches` patch carrying them, walked once per plan.
    pub(super) fn closure_of(
        &mut self,
        blob: ObjectId,
        lockfile: &Lockfile,
        deps: &ImageDeps,
        patches: Option<&Patches>,
    ) -> Rc<Closure> {
        let closures = &mut self.deps.closures;
        let plain = closures
            .entry((blob, deps.roots_key.clone()))
            .or_insert_with(|| Rc::new(lockfile.closure(&deps.roots)))
            .clone();
        let Some((dir, patches)) = patches.filter(|(_, patches)| !patches.is_empty()) else {
            return plain;
        };
        let at = deps.patches.as_deref().unwrap_or_default();
        let key = format!("{}patches {at} {dir}\n", deps.roots_key);
        closures
            .entry((blob, key))
            .or_insert_with(|| Rc::new(plain.patched(patches)))
            .clone()
    }

    /// Whether each file declaring a workspace the image `owner` builds is in is the same
    /// blob at `base` as at head (a recorded fingerprint is reused only then: the graph
    /// decides what is hashed).
    pub(super) fn same_workspace(
        &mut self,
        base: ObjectId,
        owner: &Service,
    ) -> Result<bool, PlanError> {
        let deps = self.image_deps(owner)?;
        let base_tree = self.repo.tree_of(base)?;
        for file in &deps.declared_in {
            if self.repo.entry_at(base_tree, file)? != self.repo.entry_at(self.head_tree, file)? {
                return Ok(false);
            }
        }
        Ok(true)
    }

    /// A root lockfile kept in `[ci] global_files` redeploys everything: say what reading
    /// it instead would do.
    pub(super) fn note_global_lockfile(
        &mut self,
        scope: &Scope,
        found: &Found,
    ) -> Result<(), PlanError> {
        let head = self.head_tree;
        // The workspaces read at head so far, in a stable order (notes are output).
        let mut workspaces: Vec<Rc<Workspace>> = (self.deps.known.iter())
            .filter(|((tree, _, _), _)| *tree == head)
            .filter_map(|(_, workspace)| workspace.clone())
            .collect();
        workspaces.sort_by(|a, b| a.declared_in().cmp(b.declared_in()));
        for workspace in workspaces {
            let Some((path, _)) = workspace.lockfile() else {
                continue;
            };
            if found.files.iter().any(|f| f == path) && scope.classify(path) == Match::Global {
                let note = format!(
                    "{path} is in `[ci] global_files`, so its change redeploys every service; without it, topo-ci reads the lockfile and redeploys only the services whose resolved dependencies changed"
                );
                if !self.notes.contains(&note) {
                    self.notes.push(note);
                }
            }
        }
        Ok(())
    }
}

/// The decision for files of workspace dependencies only.
/// `deps` are the image's: a package it depends on through another is named with the
/// chain of dependencies that reaches it.
pub(super) fn workspace_changed(
    plan: &mut ServicePlan,
    found: &Found,
    deps: &ImageDeps,
    range: &str,
) {
    let mut packages: Vec<&str> = found.workspace.iter().map(|(p, _)| p.as_str()).collect();
    packages.dedup();
    let chain = match packages[..] {
        [only] => (deps.packages.iter())
            .find(|(_, name)| name == only)
            .and_then(|(dir, _)| deps.chains().remove(dir))
            .filter(|chain| chain.len() > 2)
            .map(|chain| format!(" ({})", chain.join(" → "))),
        _ => None,
    };
    let first = found
        .workspace
        .first()
        .map_or("", |(_, path)| path.as_str());
    let more = match found.files.len() {
        0 | 1 => String::new(),
        n => format!(" and {}", plural(n - 1, "more file")),
    };
    let names = packages
        .iter()
        .map(|p| format!("`{p}`"))
        .collect::<Vec<_>>()
        .join(", ");
    let noun = if packages.len() == 1 {
        "package"
    } else {
        "packages"
    };
    plan.reason = Reason::WorkspaceDependencyChanged;
    let chain = chain.unwrap_or_default();
    plan.detail = format!("workspace {noun} {names}{chain} changed: {first}{more} ({range})");
}

/// The decision for a changed lockfile closure (`owner`: the container whose image the
/// service runs, when not its own). Whether it applied.
pub(super) fn lockfile_changed(
    plan: &mut ServicePlan,
    change: &LockChange,
    owner: Option<&str>,
    range: &str,
) -> bool {
    let (path, what) = match change {
        LockChange::Changed(path, changes) => {
            let mut listed: Vec<String> = changes.iter().take(LISTED_CHANGES).cloned().collect();
            if changes.len() > LISTED_CHANGES {
                listed.push(format!("… {} more", changes.len() - LISTED_CHANGES));
            }
            (path, listed.join(", "))
        }
        LockChange::Unreadable(path, why) => (path, format!("cannot be compared: {why}")),
        LockChange::None | LockChange::Same(_) => return false,
    };
    plan.changed_files = vec![path.clone()];
    plan.changed_count = 1;
    if let LockChange::Changed(_, changes) = change {
        plan.changed_dependencies = changes.clone();
    }
    match owner {
        Some(owner) => {
            plan.reason = Reason::DependencyChanged;
            plan.detail =
                format!("runs the image of {owner}, whose locked dependencies changed in {path}: {what} ({range})");
        }
        None => {
            plan.reason = Reason::LockfileChanged;
            plan.detail = format!("{path}: {what} ({range})");
        }
    }
    true
}
