//! topo-ci: what is deployed where, and what must be deployed next.
//!
//! - [`scope`]: which files matter to which service (context, include/exclude globs,
//!   global files, the workspace packages it depends on).
//! - [`workspace`]: the JavaScript workspace graph (npm, yarn, pnpm) as committed.
//! - [`lockfile`]: what a lockfile resolves a service's dependencies to.
//! - [`repo`]: the repository through gix: trees, tree diffs with renames off.
//! - [`fingerprint`]: a content hash per service that needs no history.
//! - [`markers`] and [`store`]: what was deployed, in a directory, a git ref or the registry
//!   ([`registry`]: a small OCI distribution client and the docker CLI's credentials).
//! - [`release`]: which events deploy, and the overrides.
//! - [`base`]: the merge-base a pull-request plan compares with (`--base`, GitHub's
//!   pull-request variables).
//! - [`plan`]: per service deploy, build or skip, with a reason.
//! - [`report`]: the plan as text, Markdown, JSON or GitHub outputs.
//! - [`load`]: a topology as committed at a revision.
//! - `cli` (feature `cli`): the flags and runs shared by `topo-ci` and `topo plan`.
//!
//! topo-ci knows nothing about the Docker engine (it speaks to registries, over HTTP, only
//! for registry markers), and never runs `git`.
#![deny(missing_docs)]

pub mod base;
#[cfg(feature = "cli")]
pub mod cli;
pub mod fingerprint;
pub mod load;
pub mod lockfile;
pub mod markers;
pub mod plan;
pub mod registry;
pub mod release;
pub mod repo;
pub mod report;
pub mod scope;
pub mod store;
pub mod workspace;
