//! topo-ci: what is deployed where, and (to come) what must be deployed next.
//!
//! Status: only the marker file store exists yet ([`markers`]). Change detection with gix,
//! fingerprints, decisions with reasons, release gating, the git-ref store and the
//! `topo-ci` binary are still to be built (issue 3).
//!
//! topo-ci knows nothing about Docker.
#![deny(missing_docs)]

pub mod markers;
