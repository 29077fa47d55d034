//! Docker Swarm, for real: two namespaced engines (a manager and a worker) joined into one
//! Swarm by the test ([`cluster::SwarmCluster`]), and what topo will rely on when it deploys a
//! topology there (issue 18): a stack with an overlay network, DNS round-robin services,
//! secrets, configs, placement by node label, host-mode published ports; a failing update
//! rolled back while the old tasks serve; a drained node's tasks moved; which of the
//! hardening keys `docker stack deploy` honours on this engine; that a config cannot change
//! under its name, and that without IPVS a virtual IP does not answer.
//! And the stack file topo renders for `engine = "swarm"`, deployed as it is ([`rendered`]).
//!
//! Each test makes its own cluster and removes it, also when it fails: 15 to 30 seconds for
//! two nodes with the three test images (nearly all of it `docker load`), 1 to 2 seconds for
//! one node with busybox only.
//! Without root, `ip` or a Docker engine a test says it is skipped and why; with `CI=true` it
//! fails instead.

#[path = "swarm/cluster.rs"]
mod cluster;
mod common;
use common::Load;
#[path = "swarm/deploy.rs"]
mod deploy;
#[path = "swarm/keys.rs"]
mod keys;
#[path = "swarm/rendered.rs"]
mod rendered;
#[path = "swarm/stack.rs"]
mod stack;

use std::time::{Duration, Instant};

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// Calls `check` every 200 ms until it gives something or `timeout` passes (then panics
/// with `what` and the last `describe()`).
fn wait_for<T>(
    what: &str,
    timeout: Duration,
    mut check: impl FnMut() -> Option<T>,
    describe: impl Fn() -> String,
) -> T {
    let deadline = Instant::now() + timeout;
    loop {
        if let Some(value) = check() {
            return value;
        }
        assert!(
            Instant::now() < deadline,
            "{what}: not within {timeout:?}: {}",
            describe()
        );
        std::thread::sleep(Duration::from_millis(200));
    }
}

/// `GET url` on a new connection: the status, or `None` (no answer within 3 s).
fn get(url: &str) -> Option<u16> {
    let agent: ureq::Agent = ureq::Agent::config_builder()
        .max_idle_connections(0)
        .http_status_as_error(false)
        .timeout_global(Some(Duration::from_secs(3)))
        .build()
        .new_agent();
    agent.get(url).call().ok().map(|r| r.status().as_u16())
}

/// The cluster tests' client: `GET url`, one connection per request (no answer, or not
/// 200, fails).
impl Load {
    fn start(url: &str, threads: usize, pause: Duration) -> Load {
        let url = url.to_owned();
        Load::with(threads, pause, move || get(&url) == Some(200))
    }
}
