//! The scope digest: which files a scope holds in a tree, as a sum of one hash per element
//! (a file, a directory whose every file is in the scope, an absent root).
//!
//! A sum (four 64-bit lanes, wrapping) does not depend on the order elements are added in,
//! so a digest is updated from a diff: subtract the element a changed path held on the old
//! side, add the one it holds on the new side. The elements are those a walk from the
//! scope's roots meets, and an update meets the same ones: for a changed file, its element
//! is the shallowest directory above it that the scope covers whole, else the file itself.

use std::collections::BTreeSet;

use gix::objs::tree::EntryKind;
use gix::ObjectId;
use sha2::{Digest, Sha256};

use crate::repo::{ChangedPath, GitError, PathEntry, Repo};
use crate::scope::{Match, Scope};

/// The digest of a scope's files in one tree.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct ScopeDigest([u64; 4]);

/// Whether an element joins or leaves the sum.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Sign {
    Add,
    Subtract,
}

impl ScopeDigest {
    /// The digest of `scope`'s files in the tree `tree`, from scratch: every root walked.
    pub fn compute(repo: &Repo, tree: ObjectId, scope: &Scope) -> Result<ScopeDigest, GitError> {
        let mut digest = ScopeDigest::default();
        for root in scope.roots() {
            let entry = repo.entry_at(tree, root)?;
            digest.root(repo, scope, root, entry, Sign::Add)?;
        }
        Ok(digest)
    }

    /// The digest of the same scope on the new side of a diff of one of its roots: `old`
    /// and `new` are what the root holds on each side, `changes` the files that differ
    /// under it ([`Repo::diff_at`]'s answer). `new_tree`/`old_tree` are the trees the
    /// entries were read from.
    pub fn update(
        &mut self,
        repo: &Repo,
        scope: &Scope,
        root: &str,
        (old_tree, old): (ObjectId, Option<PathEntry>),
        (new_tree, new): (ObjectId, Option<PathEntry>),
        changes: &[ChangedPath],
    ) -> Result<(), GitError> {
        if old == new {
            return Ok(());
        }
        let both_trees = old.is_some_and(|e| e.is_tree()) && new.is_some_and(|e| e.is_tree());
        if !both_trees || scope.covers_whole(root) {
            // A root that appears, disappears, is a file, or stands whole for its files:
            // its element(s) on each side, from scratch (a walk only when it is a directory
            // that appeared or disappeared).
            self.root(repo, scope, root, old, Sign::Subtract)?;
            return self.root(repo, scope, root, new, Sign::Add);
        }
        let mut whole_dirs = BTreeSet::new();
        for change in changes {
            match covering_dir(scope, root, &change.path) {
                Some(dir) => {
                    whole_dirs.insert(dir);
                }
                None if counts(scope, &change.path) => {
                    if let Some(entry) = change.old {
                        self.file(&change.path, entry, Sign::Subtract);
                    }
                    if let Some(entry) = change.new {
                        self.file(&change.path, entry, Sign::Add);
                    }
                }
                None => {}
            }
        }
        for dir in whole_dirs {
            for (tree, sign) in [(old_tree, Sign::Subtract), (new_tree, Sign::Add)] {
                if let Some(entry) = repo.entry_at(tree, dir)?.filter(|e| e.is_tree()) {
                    self.element("tree ", dir, " ", Some(&entry.id), sign);
                }
            }
        }
        Ok(())
    }

    /// The digest as 64 hex digits.
    pub fn to_hex(self) -> String {
        self.0.iter().map(|lane| format!("{lane:016x}")).collect()
    }

    /// A digest written by [`ScopeDigest::to_hex`].
    pub fn from_hex(text: &str) -> Option<ScopeDigest> {
        if text.len() != 64 || !text.is_ascii() {
            return None;
        }
        let mut lanes = [0u64; 4];
        for (i, lane) in lanes.iter_mut().enumerate() {
            *lane = u64::from_str_radix(&text[i * 16..(i + 1) * 16], 16).ok()?;
        }
        Some(ScopeDigest(lanes))
    }

    /// The elements of one root holding `entry`.
    fn root(
        &mut self,
        repo: &Repo,
        scope: &Scope,
        root: &str,
        entry: Option<PathEntry>,
        sign: Sign,
    ) -> Result<(), GitError> {
        match entry {
            None => self.element("absent ", root, "", None, sign),
            Some(entry) if !entry.is_tree() => {
                if counts(scope, root) {
                    self.file(root, entry, sign);
                }
            }
            Some(entry) if scope.covers_whole(root) => {
                self.element("tree ", root, " ", Some(&entry.id), sign);
            }
            Some(entry) => {
                repo.walk(root, entry.id, &mut |path, kind, id| {
                    if kind == EntryKind::Tree {
                        if scope.skips(path) {
                            return false;
                        }
                        if scope.covers_whole(path) {
                            self.element("tree ", path, " ", Some(id), sign);
                            return false;
                        }
                        return true;
                    }
                    if counts(scope, path) {
                        let entry = PathEntry {
                            kind,
                            id: id.to_owned(),
                        };
                        self.file(path, entry, sign);
                    }
                    false
                })?;
            }
        }
        Ok(())
    }

    fn file(&mut self, path: &str, entry: PathEntry, sign: Sign) {
        self.element("file ", path, kind_name(entry.kind), Some(&entry.id), sign);
    }

    /// One element: `<what><path><separator><id in hex>`, hashed, added or subtracted.
    fn element(
        &mut self,
        what: &str,
        path: &str,
        separator: &str,
        id: Option<&gix::oid>,
        sign: Sign,
    ) {
        let mut hasher = Sha256::new();
        hasher.update(what.as_bytes());
        hasher.update(path.as_bytes());
        hasher.update(separator.as_bytes());
        if let Some(id) = id {
            let mut buffer = [0u8; 64];
            hasher.update(id.hex_to_buf(&mut buffer).as_bytes());
        }
        let hash = hasher.finalize();
        for (lane, bytes) in self.0.iter_mut().zip(hash.chunks_exact(8)) {
            let value = u64::from_le_bytes(bytes.try_into().expect("a chunk of 8 bytes"));
            *lane = match sign {
                Sign::Add => lane.wrapping_add(value),
                Sign::Subtract => lane.wrapping_sub(value),
            };
        }
    }
}

/// The files `scope` holds in the tree `tree`, in path order, each with what makes it the
/// scope's ([`Match::Own`], [`Match::Workspace`] or [`Match::Global`]): what a digest stands
/// for, file by file (a directory the digest hashes whole is listed by its files).
pub fn scope_files(
    repo: &Repo,
    tree: ObjectId,
    scope: &Scope,
) -> Result<Vec<(String, PathEntry, Match)>, GitError> {
    let mut files = Vec::new();
    for root in scope.roots() {
        match repo.entry_at(tree, root)? {
            Some(entry) if entry.is_tree() => {
                repo.walk(root, entry.id, &mut |path, kind, id| {
                    if kind == EntryKind::Tree {
                        return !scope.skips(path);
                    }
                    let entry = PathEntry {
                        kind,
                        id: id.to_owned(),
                    };
                    files.extend(scope_file(scope, path, entry));
                    false
                })?
            }
            Some(entry) => files.extend(scope_file(scope, root, entry)),
            None => {}
        }
    }
    files.sort_by(|a, b| a.0.cmp(&b.0));
    Ok(files)
}

/// The file at `path` as [`scope_files`] lists it, if it is one of the scope's.
fn scope_file(scope: &Scope, path: &str, entry: PathEntry) -> Option<(String, PathEntry, Match)> {
    let matched = scope.classify(path);
    matches!(matched, Match::Own | Match::Workspace | Match::Global)
        .then(|| (path.to_owned(), entry, matched))
}

/// Whether a file at `path` is one of the scope's.
fn counts(scope: &Scope, path: &str) -> bool {
    matches!(
        scope.classify(path),
        Match::Own | Match::Workspace | Match::Global
    )
}

/// The shallowest directory strictly above `path` and under (or at) `root` that the scope
/// covers whole: a walk from the root stops there, so that directory's element stands for
/// the file.
fn covering_dir<'p>(scope: &Scope, root: &str, path: &'p str) -> Option<&'p str> {
    let start = if root.is_empty() { 0 } else { root.len() + 1 };
    let mut end = start;
    while let Some(slash) = path[end..].find('/') {
        let dir = &path[..end + slash];
        if scope.covers_whole(dir) {
            return Some(dir);
        }
        end += slash + 1;
    }
    None
}

/// ` Blob `, ` Tree `…: the kind as the recipe writes it.
fn kind_name(kind: EntryKind) -> &'static str {
    match kind {
        EntryKind::Tree => " Tree ",
        EntryKind::Blob => " Blob ",
        EntryKind::BlobExecutable => " BlobExecutable ",
        EntryKind::Link => " Link ",
        EntryKind::Commit => " Commit ",
    }
}
