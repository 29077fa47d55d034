//! Fingerprints: a content hash per service, from one tree and the topology alone.
//!
//! A fingerprint covers the files of the service's scope (by git object id, so it is the
//! same in every clone and needs no history: a depth-1 clone computes it, a force-push
//! that keeps the content keeps it; the workspace packages it depends on included), the
//! service's configuration (its rendered production spec and its production build), what
//! its lockfile resolves its dependencies to (a service in a JavaScript workspace), and the
//! fingerprints of the images it runs. It is the natural image tag.
//!
//! The files and the closure enter through two digests ([`Digests`]) that a marker keeps:
//! the scope's is a sum of one hash per file, so the next plan updates it from the diff it
//! computes anyway (subtract what a changed path held, add what it holds) instead of
//! visiting every file of the scope; the closure's is reused while what it was computed
//! from (the lockfile's blob, the packages' dependency lists) is the same. Both equal what
//! a computation from scratch gives (`tests/plan/fingerprints.rs` checks it over a random
//! history).

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use topo_core::spec::{labels, ContainerSpec};

mod scope;

pub use scope::{scope_files, ScopeDigest};

/// The version of the fingerprint recipe: bumped when the recipe changes, so fingerprints
/// (and digests) of two recipes never compare equal. 2: files through the scope digest,
/// the closure through its digest. 3: what `.dockerignore` leaves out of a build context
/// leaves the scope; `bun.lock` closures. 4: `.dockerignore` read by moby's rules. 5:
/// `patch-package`'s patches carried by the closure packages they patch; a `.dockerignore`
/// class read as Go reads it (`[[]` was refused).
pub const RECIPE: &str = "topo-fingerprint/5";

/// What a building service's fingerprint is made of besides its configuration, kept in its
/// marker so the next plan updates them instead of recomputing them.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Digests {
    /// The fingerprint recipe they were made by ([`RECIPE`]).
    pub recipe: String,
    /// The scope's definition (directory, globs, workspace packages), hashed: the scope
    /// digest is updated only while the scope is the same.
    pub scope_key: String,
    /// The scope's files at the commit: a sum of one hash per file (or per directory whose
    /// every file is in the scope), in hex.
    pub scope: String,
    /// What the lockfile closure was computed from (the lockfile's path and blob, the
    /// packages' dependency lists), hashed; empty without a lockfile.
    pub closure_key: String,
    /// The closure (one line per resolved package), hashed; empty without a lockfile.
    pub closure: String,
}

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

/// The fingerprint of a service: its configuration (`config_key`, [`config_key`]'s), the
/// fingerprints of the images it runs but does not build (the worker gives the server's),
/// and, for a service that builds, its files and closure (`digests`).
pub fn fingerprint(config_key: &str, images: &[&str], digests: Option<&Digests>) -> String {
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
    if let Some(digests) = digests {
        line(&[b"closure ", digests.closure.as_bytes()]);
        line(&[b"scope ", digests.scope.as_bytes()]);
    }
    hex16(&hasher.finalize())
}

/// A short hash of a text (a scope's definition, a closure's lines).
pub fn hash_text(text: &str) -> String {
    hex16(&Sha256::digest(text.as_bytes()))
}

fn hex16(digest: &[u8]) -> String {
    digest[..8].iter().map(|b| format!("{b:02x}")).collect()
}
