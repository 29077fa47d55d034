//! A real Docker Swarm of namespaced engines, made and unmade by the test.
//!
//! Each node is a Docker engine (`dockerd`) in a network namespace and a UTS namespace of its
//! own (its hostname names its role), with its own data root, exec root, cgroup parent and
//! socket under one directory, `/tmp/tsw-PID-N`. The nodes share one layer-2 segment: a bridge
//! in a namespace of its own (the "lan"), into which each node's `eth0` and one veth from this
//! machine are plugged:
//!
//! ```text
//!   this machine: tswPIDxN 10.A.B.1 ──┐
//!                                     ├── ns tsw-PID-N-lan: bridge br0
//!   ns tsw-PID-N-manager: eth0 10.A.B.2 ──┤
//!   ns tsw-PID-N-worker1: eth0 10.A.B.3 ──┘
//! ```
//!
//! The bridge lives outside this machine's namespace because here `br_netfilter` sends bridged
//! frames through iptables, whose FORWARD policy (Docker's) is DROP; in the lan namespace
//! iptables is empty. Test traffic goes only to loopback and to these namespaces. The engines
//! store images with overlay2 (vfs where overlay2 does not start: slower, and a copy of the
//! image per container). The manager runs `swarm init --advertise-addr` on its address, each
//! worker joins with the worker token, and the images are carried over from this machine's
//! engine (`docker save`, one stream fed to every node's `docker load`).
//!
//! Teardown (on drop, so also when a test panics; or [`SwarmCluster::stop`], which says what
//! it could not remove): the containers are killed (SIGKILL to the nodes' cgroups: nothing of
//! a test cluster needs a graceful stop), the engines get SIGTERM and SIGKILL after 30 s,
//! whatever still runs in the nodes' namespaces or cgroups or names the directory is killed,
//! the cgroups removed, everything mounted under the directory unmounted, the veth and the
//! namespaces deleted, the directory removed. No node leaves the Swarm first: its state lives
//! in the data root, which goes, and `swarm leave --force` on the manager stops every task
//! gracefully (seconds for nothing). What a killed test process left (its pid is gone) is
//! cleared the same way when the next cluster starts.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{Duration, Instant};

use serde_json::Value;

use crate::common;
use network::{can_make_namespaced_engines, free_subnet};
use teardown::{sweep_stale, Remains};

#[path = "engines.rs"]
mod engines;
#[path = "network.rs"]
mod network;
#[path = "teardown.rs"]
mod teardown;

/// The offline test images every node gets (built by `tests/images/build.sh`).
pub const IMAGES: [&str; 3] = [
    "topo-test/busybox:latest",
    "topo-test/nginx:latest",
    "topo-test/postgres:17",
];

/// How a cluster is made: how many workers, which images each node gets.
pub struct Options<'a> {
    pub workers: usize,
    pub images: &'a [&'a str],
}

impl Default for Options<'_> {
    fn default() -> Self {
        Options {
            workers: 1,
            images: &IMAGES,
        }
    }
}

/// One engine of the cluster.
pub struct Node {
    /// `manager`, `worker1`, …: also the end of its namespace's name and of its hostname.
    pub role: String,
    /// Its hostname (what `docker node ls` and `{{.Node}}` show).
    pub hostname: String,
    /// Its network namespace.
    pub netns: String,
    /// Its address on the cluster's segment (reachable from this machine).
    pub address: String,
    /// Its Swarm node id.
    pub id: String,
    dir: PathBuf,
    engine: Option<Child>,
}

impl Node {
    /// `docker ARGS` against this node's engine.
    pub fn docker(&self, args: &[&str]) -> Output {
        self.command().args(args).output().expect("docker runs")
    }

    /// Its engine's address, as `--host` and DOCKER_HOST take it.
    pub fn socket(&self) -> String {
        format!("unix://{}", self.dir.join("docker.sock").display())
    }

    /// `docker -H SOCKET`, against this node's engine, to add arguments, an environment or a
    /// working directory to.
    pub fn command(&self) -> Command {
        let mut command = Command::new("docker");
        command.arg("-H").arg(self.socket());
        command
    }

    /// `docker ARGS` against this node's engine, which must succeed: its stdout.
    pub fn docker_ok(&self, args: &[&str]) -> String {
        let output = self.docker(args);
        assert!(
            output.status.success(),
            "docker {args:?} on {}: {}{}",
            self.role,
            text(&output.stdout),
            text(&output.stderr)
        );
        text(&output.stdout)
    }

    /// `ip netns exec NS ARGS`: a command in this node's network namespace (not for
    /// `dockerd`: `ip netns exec` remounts /sys).
    pub fn inside(&self, args: &[&str]) -> Output {
        Command::new("ip")
            .args(["netns", "exec", &self.netns])
            .args(args)
            .output()
            .expect("ip netns exec runs")
    }

    /// The engine's log so far.
    pub fn log(&self) -> String {
        std::fs::read_to_string(self.dir.join("dockerd.log")).unwrap_or_default()
    }
}

/// How long each phase of [`SwarmCluster::start`] took.
#[derive(Debug, Clone, Copy, Default)]
pub struct StartTimes {
    pub network: Duration,
    pub engines: Duration,
    pub swarm: Duration,
    pub images: Duration,
    pub total: Duration,
}

/// A Swarm of namespaced engines: `nodes[0]` the manager, the others workers.
pub struct SwarmCluster {
    remains: Remains,
    /// The first three octets of the segment's addresses (`10.A.B`).
    subnet: String,
    pub nodes: Vec<Node>,
    /// The storage driver the engines run (`overlay2`, or `vfs` where overlay2 fails).
    pub storage_driver: String,
    pub times: StartTimes,
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

fn run(program: &str, args: &[&str]) -> String {
    let output = Command::new(program)
        .args(args)
        .output()
        .unwrap_or_else(|e| panic!("{program} runs: {e}"));
    assert!(
        output.status.success(),
        "{program} {args:?}: {}",
        text(&output.stderr)
    );
    text(&output.stdout)
}

fn quietly(program: &str, args: &[&str]) -> bool {
    Command::new(program)
        .args(args)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
}

fn in_ci() -> bool {
    std::env::var("CI").is_ok_and(|v| v == "true")
}

impl SwarmCluster {
    /// A manager and one worker with the three test images. `None` (after saying why) where
    /// this machine cannot make one: no engine, not root, no `ip`/`nsenter`/`unshare`/
    /// `dockerd`. In CI (`CI=true`) that fails the test instead.
    pub fn start(test: &str) -> Option<SwarmCluster> {
        SwarmCluster::start_with(test, Options::default())
    }

    /// A manager and `options.workers` workers, each with `options.images`.
    pub fn start_with(test: &str, options: Options) -> Option<SwarmCluster> {
        if !common::docker_available(test) || !can_make_namespaced_engines(test) {
            return None;
        }
        common::ensure_test_images();
        sweep_stale();
        static COUNT: AtomicU32 = AtomicU32::new(0);
        let n = COUNT.fetch_add(1, Ordering::SeqCst);
        let pid = std::process::id();
        let prefix = format!("tsw-{pid}-{n}");
        let root = std::env::temp_dir().join(&prefix);
        let t0 = Instant::now();
        let mut cluster = SwarmCluster {
            remains: Remains {
                prefix: prefix.clone(),
                root: root.clone(),
                host_link: format!("tsw{pid}x{n}"),
                cleared: false,
            },
            subnet: free_subnet(220 + n % 20, pid),
            nodes: Vec::new(),
            storage_driver: "overlay2".to_owned(),
            times: StartTimes::default(),
        };
        std::fs::create_dir_all(&root).expect("the cluster's directory");
        let roles: Vec<String> = std::iter::once("manager".to_owned())
            .chain((1..=options.workers).map(|i| format!("worker{i}")))
            .collect();
        cluster.network(&roles);
        cluster.times.network = t0.elapsed();

        let t = Instant::now();
        cluster.start_engines();
        cluster.times.engines = t.elapsed();

        let t = Instant::now();
        cluster.form_swarm();
        cluster.times.swarm = t.elapsed();

        let t = Instant::now();
        cluster.load(options.images);
        cluster.times.images = t.elapsed();
        cluster.times.total = t0.elapsed();
        let times = cluster.times;
        eprintln!(
            "swarm cluster {prefix} ({} nodes, {}): started in {:.1} s (network {:.1} s, \
             engines {:.1} s, swarm {:.1} s, images {:.1} s)",
            cluster.nodes.len(),
            cluster.storage_driver,
            times.total.as_secs_f64(),
            times.network.as_secs_f64(),
            times.engines.as_secs_f64(),
            times.swarm.as_secs_f64(),
            times.images.as_secs_f64(),
        );
        Some(cluster)
    }

    /// The manager.
    pub fn manager(&self) -> &Node {
        &self.nodes[0]
    }

    /// The first worker.
    pub fn worker(&self) -> &Node {
        &self.nodes[1]
    }

    /// The node whose Swarm id is `id`.
    pub fn node_by_id(&self, id: &str) -> Option<&Node> {
        self.nodes.iter().find(|n| n.id == id)
    }

    /// A file under the cluster's directory (for stack files, secrets, configs).
    pub fn path(&self, name: &str) -> PathBuf {
        self.remains.root.join(name)
    }

    /// `docker ARGS` against the manager.
    pub fn docker(&self, args: &[&str]) -> Output {
        self.manager().docker(args)
    }

    /// `docker ARGS` against the manager, which must succeed: its stdout.
    pub fn docker_ok(&self, args: &[&str]) -> String {
        self.manager().docker_ok(args)
    }

    /// `docker stack deploy --resolve-image never -c FILE NAME` (the images are local to each
    /// node: no registry to ask for digests), which must succeed: its stderr (warnings such
    /// as "Ignoring unsupported options").
    pub fn deploy(&self, stack: &str, file: &Path) -> String {
        let output = self.docker(&[
            "stack",
            "deploy",
            "--resolve-image",
            "never",
            "-c",
            &file.display().to_string(),
            stack,
        ]);
        assert!(
            output.status.success(),
            "docker stack deploy {stack}: {}{}",
            text(&output.stdout),
            text(&output.stderr)
        );
        text(&output.stderr)
    }

    /// Sets the label `key=value` on node `i` (0: the manager).
    pub fn label(&self, i: usize, key: &str, value: &str) {
        self.docker_ok(&[
            "node",
            "update",
            "--label-add",
            &format!("{key}={value}"),
            &self.nodes[i].id,
        ]);
    }

    /// Sets node `i`'s availability (`active`, `pause`, `drain`).
    pub fn availability(&self, i: usize, availability: &str) {
        self.docker_ok(&[
            "node",
            "update",
            "--availability",
            availability,
            &self.nodes[i].id,
        ]);
    }

    /// Drains node `i`: Swarm moves its tasks elsewhere.
    pub fn drain(&self, i: usize) {
        self.availability(i, "drain");
    }

    /// Makes node `i` schedulable again.
    pub fn activate(&self, i: usize) {
        self.availability(i, "active");
    }

    /// `docker inspect` of a Swarm object on the manager (a service, a task, a node), as JSON.
    pub fn inspect(&self, what: &str) -> Value {
        let listed: Value =
            serde_json::from_str(&self.docker_ok(&["inspect", what])).expect("inspect is JSON");
        listed[0].clone()
    }

    /// The tasks of `service` that should run, as JSON (`NodeID`, `Status.State`, …).
    pub fn tasks(&self, service: &str) -> Vec<Value> {
        let ids = self.docker_ok(&[
            "service",
            "ps",
            "-q",
            "--no-trunc",
            "--filter",
            "desired-state=running",
            service,
        ]);
        let ids: Vec<&str> = ids.lines().filter(|l| !l.is_empty()).collect();
        if ids.is_empty() {
            return Vec::new();
        }
        let mut args = vec!["inspect"];
        args.extend(ids);
        // A task removed meanwhile (Swarm keeps a few per slot) is left out: `docker inspect`
        // still prints the others.
        let output = self.docker(&args);
        let listed: Value = serde_json::from_str(&text(&output.stdout)).unwrap_or_default();
        listed.as_array().cloned().unwrap_or_default()
    }

    /// The node and id of each container of `service` running now, from the tasks.
    pub fn containers(&self, service: &str) -> Vec<(String, String)> {
        self.tasks(service)
            .iter()
            .filter(|t| t["Status"]["State"] == "running")
            .map(|t| {
                (
                    t["NodeID"].as_str().unwrap_or_default().to_owned(),
                    t["Status"]["ContainerStatus"]["ContainerID"]
                        .as_str()
                        .unwrap_or_default()
                        .to_owned(),
                )
            })
            .collect()
    }

    /// Removes the cluster and says what it could not remove (nothing, normally).
    pub fn stop(mut self) -> Vec<String> {
        self.teardown()
    }
}
