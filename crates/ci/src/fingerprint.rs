//! Fingerprints: a content hash per service, from one tree and the topology alone.
//!
//! A fingerprint covers the files of the service's scope (by git object id, so it is the
//! same in every clone and needs no history: a depth-1 clone computes it, a force-push
//! that keeps the content keeps it; the workspace packages it depends on included), the
//! service's configuration (its rendered production spec and its production build), what
//! its lockfile resolves its dependencies to (a service in a JavaScript workspace), and the
//! fingerprints of the images it runs. It is the natural image tag.

use sha2::{Digest, Sha256};
use topo_core::spec::{labels, ContainerSpec};

use crate::repo::{GitError, PathEntry, Repo};
use crate::scope::{Match, Scope};

/// The version of the fingerprint recipe: bumped when the recipe changes, so fingerprints
/// of two recipes never compare equal.
const RECIPE: &str = "topo-fingerprint/1";

/// What a service's configuration contributes: its production config hash and the build
/// (context, Dockerfile, target) of the image it runs.
pub fn config_key(production: &ContainerSpec, build: Option<&ContainerSpec>) -> String {
    let hash = production
        .labels
        .get(labels::CONFIG_HASH)
        .map_or("", String::as_str);
    let build = build
        .and_then(|spec| spec.build.as_ref())
        .map(|b| serde_json::to_string(b).expect("a build spec always serialises"))
        .unwrap_or_default();
    format!("config {hash}\nbuild {build}\n")
}

/// The fingerprint of a service whose scope is `scope` in the tree `tree` (none for a
/// service that builds nothing: its image's fingerprint stands for the files).
/// `images` are the fingerprints of the images it runs but does not build (the worker
/// gives the server's). `config_key` is [`config_key`]'s, followed by the lines of the
/// service's lockfile closure when it has one.
pub fn fingerprint(
    repo: &Repo,
    tree: gix::ObjectId,
    scope: Option<&Scope>,
    config_key: &str,
    images: &[&str],
) -> Result<String, GitError> {
    let mut hasher = Sha256::new();
    let mut line = |parts: &[&[u8]]| {
        for part in parts {
            hasher.update(part);
        }
        hasher.update(b"\n");
    };
    line(&[RECIPE.as_bytes()]);
    line(&[config_key.as_bytes()]);
    for image in images {
        line(&[b"image ", image.as_bytes()]);
    }
    let Some(scope) = scope else {
        let digest = hasher.finalize();
        return Ok(hex16(&digest));
    };
    for root in scope.roots() {
        match repo.entry_at(tree, root)? {
            None => line(&[b"absent ", root.as_bytes()]),
            Some(PathEntry { id, is_tree: false }) => {
                if matches!(
                    scope.classify(root),
                    Match::Own | Match::Workspace | Match::Global
                ) {
                    line(&[
                        b"file ",
                        root.as_bytes(),
                        b" ",
                        id.to_hex().to_string().as_bytes(),
                    ]);
                }
            }
            Some(PathEntry { id, is_tree: true }) if scope.covers_whole(root) => {
                line(&[
                    b"tree ",
                    root.as_bytes(),
                    b" ",
                    id.to_hex().to_string().as_bytes(),
                ]);
            }
            Some(PathEntry { id, is_tree: true }) => {
                repo.walk(root, id, &mut |path, kind, oid| {
                    if kind == gix::objs::tree::EntryKind::Tree {
                        if scope.covers_whole(path) {
                            line(&[
                                b"tree ",
                                path.as_bytes(),
                                b" ",
                                oid.to_hex().to_string().as_bytes(),
                            ]);
                            return false;
                        }
                        return true;
                    }
                    if matches!(
                        scope.classify(path),
                        Match::Own | Match::Workspace | Match::Global
                    ) {
                        let mut hex = [0u8; 64];
                        line(&[
                            b"file ",
                            path.as_bytes(),
                            kind_name(kind).as_bytes(),
                            oid.hex_to_buf(&mut hex).as_bytes(),
                        ]);
                    }
                    false
                })?;
            }
        }
    }
    let digest = hasher.finalize();
    Ok(hex16(&digest))
}

/// ` Blob `, ` Tree `…: the kind as the recipe writes it (its `Debug` form, without
/// formatting one per file).
fn kind_name(kind: gix::objs::tree::EntryKind) -> &'static str {
    use gix::objs::tree::EntryKind;
    match kind {
        EntryKind::Tree => " Tree ",
        EntryKind::Blob => " Blob ",
        EntryKind::BlobExecutable => " BlobExecutable ",
        EntryKind::Link => " Link ",
        EntryKind::Commit => " Commit ",
    }
}

fn hex16(digest: &[u8]) -> String {
    digest[..8].iter().map(|b| format!("{b:02x}")).collect()
}

#[cfg(test)]
mod tests {
    use gix::objs::tree::EntryKind;

    #[test]
    fn kind_names_are_the_recipes() {
        for kind in [
            EntryKind::Tree,
            EntryKind::Blob,
            EntryKind::BlobExecutable,
            EntryKind::Link,
            EntryKind::Commit,
        ] {
            assert_eq!(super::kind_name(kind), format!(" {kind:?} "));
        }
    }
}
