//! Fault injection for the recovery tests: a deploy that reaches the step boundary named by
//! `TOPO_FAULT_KILL_AT` kills its own process with SIGKILL, which is what a cancelled CI job
//! does to it (no destructor runs, the lock and half-done work stay on the engine).
//!
//! Production never sets that variable; nothing else reads it. The boundaries are listed in
//! [`POINTS`] so a test can kill a deploy at every one of them, and `boundary` refuses (in
//! debug builds) a name missing from the list, so the list cannot fall behind the code.

/// The environment variable naming the boundary to die at.
pub const VARIABLE: &str = "TOPO_FAULT_KILL_AT";

/// Every step boundary a deploy passes, in the order a deploy passes them (for one service
/// of each strategy).
pub const POINTS: &[&str] = &[
    "lock:taken",
    "job:removed",
    "job:created",
    "job:started",
    "blue-green:created",
    "blue-green:started",
    "blue-green:healthy",
    "blue-green:switched",
    "blue-green:set-aside",
    "blue-green:renamed",
    "blue-green:routed",
    "blue-green:stopped-old",
    "recreate:stopped",
    "recreate:set-aside",
    "recreate:created",
    "recreate:started",
    "recreate:ready",
    "recreate:removed-old",
    "deploy:services-done",
];

/// A step boundary: when `TOPO_FAULT_KILL_AT` names it, the process is killed here.
pub(crate) fn boundary(point: &str) {
    debug_assert!(POINTS.contains(&point), "fault point {point} is not listed");
    if std::env::var_os(VARIABLE).is_none_or(|wanted| wanted != point) {
        return;
    }
    eprintln!("topo: {VARIABLE}={point}: killing this process (SIGKILL)");
    let pid = std::process::id().to_string();
    // SIGKILL from outside the process, as a runner cancelling a job sends it; `abort` is
    // the fallback when no `kill` program exists (it too runs no destructor).
    let _ = std::process::Command::new("kill")
        .args(["-KILL", &pid])
        .status();
    std::process::abort();
}
