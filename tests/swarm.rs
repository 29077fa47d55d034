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
#[path = "swarm/keys.rs"]
mod keys;
#[path = "swarm/rendered.rs"]
mod rendered;
#[path = "swarm/stack.rs"]
mod stack;

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;
use std::thread::JoinHandle;
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

/// An independent HTTP client: `threads` loops sending `GET url` (one connection each) until
/// stopped; it counts what it sent and what failed (no answer, or not 200).
struct Load {
    stop: Arc<AtomicBool>,
    sent: Arc<AtomicUsize>,
    failed: Arc<AtomicUsize>,
    threads: Vec<JoinHandle<()>>,
}

impl Load {
    fn start(url: &str, threads: usize, pause: Duration) -> Load {
        let stop = Arc::new(AtomicBool::new(false));
        let (sent, failed) = (Arc::new(AtomicUsize::new(0)), Arc::new(AtomicUsize::new(0)));
        let threads = (0..threads)
            .map(|_| {
                let (stop, sent, failed) = (stop.clone(), sent.clone(), failed.clone());
                let url = url.to_owned();
                std::thread::spawn(move || {
                    while !stop.load(Ordering::Relaxed) {
                        sent.fetch_add(1, Ordering::Relaxed);
                        if get(&url) != Some(200) {
                            failed.fetch_add(1, Ordering::Relaxed);
                        }
                        std::thread::sleep(pause);
                    }
                })
            })
            .collect();
        Load {
            stop,
            sent,
            failed,
            threads,
        }
    }

    /// Stops the client: requests sent and failed.
    fn finish(mut self) -> (usize, usize) {
        self.stop.store(true, Ordering::Relaxed);
        for thread in self.threads.drain(..) {
            thread.join().expect("a load thread ends");
        }
        (
            self.sent.load(Ordering::Relaxed),
            self.failed.load(Ordering::Relaxed),
        )
    }
}

impl Drop for Load {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
    }
}
