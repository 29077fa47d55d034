//! topo-sim: the engine driver. It takes the runtime spec topo-core derives for a mode (the
//! same data the Compose renderer writes) and applies it to a Docker engine through its API:
//! images built inside the engine from the `prod` targets, a fresh stack started in
//! dependency order, health awaited, a verdict per service.
//!
//! Prod-sim and, later, production deploys go through this one code path, so prod-sim
//! validates what production will run.
//!
//! - [`up`](up::up): build, start from scratch, judge ([`Verdict`]);
//! - [`down`](objects::down), [`status`](status::status), [`logs`](status::logs);
//! - `cli` (feature `cli`): the flags shared by `topo-sim`, `topo sim` and `topo deploy`,
//!   and the glue with topo-ci (the source revision, plans in, markers out).
//!
//! Everything created carries the labels `topo.project`, `topo.mode`, `topo.service` and
//! `topo.config-hash` (from the spec); objects without this project's label are never
//! touched. topo-sim's engine modules know nothing about git or Compose.
#![deny(missing_docs)]

pub mod acme;
pub mod build;
pub mod buildkit;
#[cfg(feature = "cli")]
pub mod cli;
pub mod context;
pub mod deploy;
pub mod engine;
pub mod error;
pub mod fault;
mod lifecycle;
pub mod objects;
pub mod progress;
pub mod registry;
pub mod release;
pub mod smoke;
pub mod status;
pub mod swarm;
pub mod translate;
pub mod up;
pub mod verdict;

pub use engine::Engine;
pub use error::SimError;
pub use up::{up, UpOptions};
pub use verdict::Verdict;
