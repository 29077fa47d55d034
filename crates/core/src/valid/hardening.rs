//! How a container of prod-sim and production is confined, with every default filled in.

use serde::Serialize;

/// A memory limit: as written (rendered verbatim) and in bytes (for the engine).
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Memory {
    /// As written: `512m`.
    pub text: String,
    /// In bytes: 536870912.
    pub bytes: u64,
}

/// The confinement of one container in prod-sim and production.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Hardening {
    /// The memory limit; `None`: unlimited.
    pub memory: Option<Memory>,
    /// The CPU limit in thousandths of a CPU; `None`: unlimited.
    pub millicpus: Option<u32>,
    /// The process (and thread) limit; `None`: unlimited.
    pub pids: Option<u32>,
    /// Whether every capability is dropped first.
    pub drop_capabilities: bool,
    /// Capabilities added back (upper case, without `CAP_`), sorted.
    pub capabilities: Vec<String>,
    /// Whether the root filesystem is read-only.
    pub read_only: bool,
    /// Paths given a tmpfs on a read-only root filesystem (`/tmp` and `/run` included),
    /// sorted.
    pub writable: Vec<String>,
}

/// What a kind of container gets when its topology says nothing.
#[derive(Clone, Copy, Debug)]
pub struct HardeningDefaults {
    /// The memory limit, as the engine reads it.
    pub memory: &'static str,
    /// Thousandths of a CPU.
    pub millicpus: u32,
    /// Processes.
    pub pids: u32,
    /// The minimal capabilities the image needs.
    pub capabilities: &'static [&'static str],
    /// Where the image writes besides its volumes.
    pub writable: &'static [&'static str],
    /// Whether its root filesystem is read-only.
    pub read_only: bool,
}

impl HardeningDefaults {
    /// An application service or job built by the project: 1 GiB, one CPU, 512 processes,
    /// no capability.
    pub const SERVICE: HardeningDefaults = HardeningDefaults {
        memory: "1g",
        millicpus: 1000,
        pids: 512,
        capabilities: &[],
        writable: &[],
        read_only: true,
    };

    /// Every container on a read-only root filesystem may write here.
    pub const ALWAYS_WRITABLE: [&'static str; 2] = ["/run", "/tmp"];
}
