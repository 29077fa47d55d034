//! The git repository, through gix only: commits, trees, paths and tree diffs.
//!
//! Every path here is relative to the repository root, `/`-separated, without a leading
//! or trailing slash; `""` is the root itself.

use gix::bstr::ByteSlice;
use gix::objs::tree::EntryKind;
use gix::ObjectId;

/// A failed git operation: what was being done, and gix's reason.
#[derive(Debug, thiserror::Error)]
#[error("{context}: {message}")]
pub struct GitError {
    /// What topo was doing.
    pub context: String,
    /// What gix said.
    pub message: String,
}

impl GitError {
    pub(crate) fn new(context: impl Into<String>, error: impl std::fmt::Display) -> Self {
        GitError {
            context: context.into(),
            message: error.to_string(),
        }
    }
}

/// One entry found at a path: a tree (directory), a blob (file, symlink) or a commit
/// (submodule).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct PathEntry {
    /// The object id.
    pub id: ObjectId,
    /// What it is: a directory, a file, an executable, a symlink or a submodule.
    pub kind: EntryKind,
}

impl PathEntry {
    /// Whether it is a directory.
    pub fn is_tree(&self) -> bool {
        self.kind == EntryKind::Tree
    }
}

/// A file changed between two trees; renames are never paired, so a move is a deletion
/// and an addition.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct ChangedPath {
    /// The path, from the repository root.
    pub path: String,
    /// What happened to it.
    pub kind: ChangeKind,
    /// What it held on the old side, if it existed there.
    pub old: Option<PathEntry>,
    /// What it holds on the new side, if it exists there.
    pub new: Option<PathEntry>,
}

/// How a path changed.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum ChangeKind {
    /// It exists only on the new side.
    Added,
    /// It exists on both sides with another id or mode (a submodule bump is one).
    Modified,
    /// It exists only on the old side.
    Deleted,
}

/// A repository opened for planning.
pub struct Repo {
    repo: gix::Repository,
}

impl Repo {
    /// Finds the repository holding `directory`.
    pub fn discover(directory: &std::path::Path) -> Result<Repo, GitError> {
        let mut repo = gix::discover(directory).map_err(|e| {
            GitError::new(
                format!("no git repository at or above {}", directory.display()),
                e,
            )
        })?;
        // Trees are read many times over (every service's roots, both sides of a diff):
        // a small object cache pays for itself.
        repo.object_cache_size_if_unset(16 * 1024 * 1024);
        // Trees in a pack are deltas against other trees: without a cache of delta bases,
        // every tree read inflates its whole chain again (gix only sets one up by itself
        // with its `max-performance` feature, which brings threads we do not use).
        repo.objects.set_pack_cache(|| {
            Box::new(gix::odb::pack::cache::lru::StaticLinkedList::<64>::default())
        });
        Ok(Repo { repo })
    }

    /// The gix repository.
    pub fn inner(&self) -> &gix::Repository {
        &self.repo
    }

    /// The work tree's root, if the repository has one.
    pub fn workdir(&self) -> Option<&std::path::Path> {
        self.repo.workdir()
    }

    /// The commit a revision names (`HEAD`, a branch, a tag, a SHA).
    pub fn resolve(&self, revision: &str) -> Result<ObjectId, GitError> {
        let id = self
            .repo
            .rev_parse_single(revision)
            .map_err(|e| GitError::new(format!("cannot resolve `{revision}`"), e))?;
        let commit = id
            .object()
            .and_then(|object| object.peel_to_commit())
            .map_err(|e| GitError::new(format!("`{revision}` is not a commit"), e))?;
        Ok(commit.id)
    }

    /// The best common ancestor of two commits (`git merge-base`), if they share history.
    pub fn merge_base(&self, one: ObjectId, two: ObjectId) -> Result<Option<ObjectId>, GitError> {
        self.repo
            .merge_base(one, two)
            .map(|id| id.map(|id| id.detach()))
            .map_err(|e| GitError::new(format!("cannot find the merge-base of {one} and {two}"), e))
    }

    /// Whether `commit` exists in this clone (it may be missing from a shallow clone, or
    /// gone after history was rewritten and garbage-collected).
    pub fn has_commit(&self, commit: &str) -> Option<ObjectId> {
        let id = ObjectId::from_hex(commit.as_bytes()).ok()?;
        let object = self.repo.find_object(id).ok()?;
        object.try_into_commit().ok().map(|commit| commit.id)
    }

    /// The root tree of a commit.
    pub fn tree_of(&self, commit: ObjectId) -> Result<ObjectId, GitError> {
        let commit = self
            .repo
            .find_commit(commit)
            .map_err(|e| GitError::new(format!("cannot read commit {commit}"), e))?;
        commit
            .tree_id()
            .map(|id| id.detach())
            .map_err(|e| GitError::new(format!("commit {} has no tree", commit.id), e))
    }

    /// The full message of a commit.
    pub fn message_of(&self, commit: ObjectId) -> Result<String, GitError> {
        let commit = self
            .repo
            .find_commit(commit)
            .map_err(|e| GitError::new(format!("cannot read commit {commit}"), e))?;
        Ok(commit.message_raw_sloppy().to_str_lossy().into_owned())
    }

    /// What is at `path` in the tree `root`, if anything.
    pub fn entry_at(&self, root: ObjectId, path: &str) -> Result<Option<PathEntry>, GitError> {
        if path.is_empty() {
            return Ok(Some(PathEntry {
                id: root,
                kind: EntryKind::Tree,
            }));
        }
        let tree = self.find_tree(root)?;
        let entry = tree
            .lookup_entry_by_path(path)
            .map_err(|e| GitError::new(format!("cannot look up `{path}`"), e))?;
        Ok(entry.map(|entry| PathEntry {
            id: entry.object_id(),
            kind: entry.mode().kind(),
        }))
    }

    /// The contents of the file at `path` in the tree `root`, if it is one.
    pub fn read_file(&self, root: ObjectId, path: &str) -> Result<Option<Vec<u8>>, GitError> {
        match self.entry_at(root, path)? {
            Some(entry) if !entry.is_tree() => self.read_blob(entry.id, path).map(Some),
            _ => Ok(None),
        }
    }

    /// The contents of the blob `id`, found at `path` (for the error): for a caller that has
    /// looked its entry up already.
    pub fn read_blob(&self, id: ObjectId, path: &str) -> Result<Vec<u8>, GitError> {
        let mut blob = self
            .repo
            .find_blob(id)
            .map_err(|e| GitError::new(format!("cannot read `{path}`"), e))?;
        // Taken, not copied: a lockfile is megabytes.
        Ok(blob.take_data())
    }

    fn find_tree(&self, id: ObjectId) -> Result<gix::Tree<'_>, GitError> {
        self.repo
            .find_tree(id)
            .map_err(|e| GitError::new(format!("cannot read tree {id}"), e))
    }

    /// Every file (blob, symlink or submodule) that differs between what `path` holds on
    /// the two sides. `None` on a side means the path does not exist there. Equal ids are
    /// answered at once without reading anything: that is the fast path.
    pub fn diff_at(
        &self,
        path: &str,
        old: Option<PathEntry>,
        new: Option<PathEntry>,
    ) -> Result<Vec<ChangedPath>, GitError> {
        if old == new {
            return Ok(Vec::new());
        }
        let tree_or_empty = |entry: Option<PathEntry>| match entry {
            Some(entry) if entry.is_tree() => self.find_tree(entry.id),
            _ => Ok(self.repo.empty_tree()),
        };
        let mut out = Vec::new();
        // A file (or submodule) at the path itself, on either side.
        let held = |entry: Option<PathEntry>| entry.filter(|e| !e.is_tree());
        match (held(old), held(new)) {
            (Some(o), Some(n)) => {
                out.push(changed(path, ChangeKind::Modified, Some(o), Some(n)));
                return Ok(out);
            }
            (Some(o), None) => out.push(changed(path, ChangeKind::Deleted, Some(o), None)),
            (None, Some(n)) => out.push(changed(path, ChangeKind::Added, None, Some(n))),
            (None, None) => {}
        }
        let old_tree = tree_or_empty(old)?;
        let new_tree = tree_or_empty(new)?;
        let mut recorder = gix::diff::tree::Recorder::default();
        gix::diff::tree(
            gix::objs::TreeRefIter::from_bytes(&old_tree.data, old_tree.id.kind()),
            gix::objs::TreeRefIter::from_bytes(&new_tree.data, new_tree.id.kind()),
            &mut gix::diff::tree::State::default(),
            &self.repo.objects,
            &mut recorder,
        )
        .map_err(|e| GitError::new(format!("cannot diff `{path}`"), e))?;
        use gix::diff::tree::recorder::Change;
        // A path that changes between a file and a directory comes as a deletion and an
        // addition (gix-diff pairs a modification only when both sides are files or both
        // directories); directories themselves are not reported, their files are.
        for change in recorder.records {
            let held = |mode: &gix::objs::tree::EntryMode, id: &ObjectId| {
                (!mode.is_tree()).then(|| PathEntry {
                    kind: mode.kind(),
                    id: *id,
                })
            };
            let (sub, old, new) = match &change {
                Change::Addition {
                    entry_mode,
                    oid,
                    path,
                    ..
                } => (path, None, held(entry_mode, oid)),
                Change::Deletion {
                    entry_mode,
                    oid,
                    path,
                    ..
                } => (path, held(entry_mode, oid), None),
                Change::Modification {
                    previous_entry_mode,
                    previous_oid,
                    entry_mode,
                    oid,
                    path,
                } => (
                    path,
                    held(previous_entry_mode, previous_oid),
                    held(entry_mode, oid),
                ),
            };
            let kind = match (old, new) {
                (Some(_), Some(_)) => ChangeKind::Modified,
                (Some(_), None) => ChangeKind::Deleted,
                (None, Some(_)) => ChangeKind::Added,
                (None, None) => continue,
            };
            out.push(changed(&join(path, &sub.to_str_lossy()), kind, old, new));
        }
        Ok(out)
    }

    /// The files named one of `names` in each directory from the root of the tree `root`
    /// down to `path`, root first: (directory, file name). Stops where `path` is no longer
    /// a directory of the tree; each directory's tree is read once.
    pub fn files_along(
        &self,
        root: ObjectId,
        path: &str,
        names: &[&'static str],
    ) -> Result<Vec<(String, &'static str)>, GitError> {
        let parts: Vec<&str> = path.split('/').filter(|p| !p.is_empty()).collect();
        let mut found = Vec::new();
        let mut dir = String::new();
        let mut id = root;
        for depth in 0..=parts.len() {
            let tree = self.find_tree(id)?;
            let decoded = tree
                .decode()
                .map_err(|e| GitError::new(format!("cannot decode tree {id}"), e))?;
            let mut next = None;
            for entry in &decoded.entries {
                let filename: &[u8] = entry.filename.as_ref();
                if entry.mode.is_tree() {
                    if parts
                        .get(depth)
                        .is_some_and(|part| part.as_bytes() == filename)
                    {
                        next = Some(entry.oid.to_owned());
                    }
                } else if let Some(name) = names.iter().find(|n| n.as_bytes() == filename) {
                    found.push((dir.clone(), *name));
                }
            }
            let (Some(child), Some(part)) = (next, parts.get(depth)) else {
                break;
            };
            id = child;
            dir = join(&dir, part);
        }
        Ok(found)
    }

    /// Walks the tree `root` (found at `path`) depth-first in git's order, calling `visit`
    /// for every entry. `visit` returns whether to descend into a directory.
    pub fn walk(
        &self,
        path: &str,
        root: ObjectId,
        visit: &mut dyn FnMut(&str, EntryKind, &gix::oid) -> bool,
    ) -> Result<(), GitError> {
        let tree = self.find_tree(root)?;
        let decoded = tree
            .decode()
            .map_err(|e| GitError::new(format!("cannot decode tree {root}"), e))?;
        for entry in &decoded.entries {
            let child = join(path, &entry.filename.to_str_lossy());
            let kind = entry.mode.kind();
            if visit(&child, kind, entry.oid) && kind == EntryKind::Tree {
                self.walk(&child, entry.oid.to_owned(), visit)?;
            }
        }
        Ok(())
    }
}

fn changed(
    path: &str,
    kind: ChangeKind,
    old: Option<PathEntry>,
    new: Option<PathEntry>,
) -> ChangedPath {
    ChangedPath {
        path: path.to_owned(),
        kind,
        old,
        new,
    }
}

/// The first ten hex digits of a commit id, as messages show it.
pub fn short(sha: &str) -> &str {
    &sha[..sha.len().min(10)]
}

/// `parent/child`, or `child` at the root.
pub fn join(parent: &str, child: &str) -> String {
    if parent.is_empty() {
        child.to_owned()
    } else {
        format!("{parent}/{child}")
    }
}
