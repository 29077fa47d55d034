//! The nodes' engines: started (overlay2, or vfs), stopped, joined into one Swarm, and given
//! this machine's images.

use std::io::{Read as _, Write as _};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use super::{text, SwarmCluster};

impl SwarmCluster {
    /// Starts every node's engine (all at once) and waits for each to answer; overlay2
    /// first, vfs for all where overlay2 does not start.
    pub(super) fn start_engines(&mut self) {
        for driver in ["overlay2", "vfs"] {
            self.storage_driver = driver.to_owned();
            for i in 0..self.nodes.len() {
                self.spawn_engine(i);
            }
            let failed: Vec<String> = (0..self.nodes.len())
                .filter_map(|i| self.await_engine(i).err())
                .collect();
            if failed.is_empty() {
                return;
            }
            assert!(
                driver == "overlay2",
                "the engines did not start: {failed:?}"
            );
            eprintln!("overlay2 engines did not start ({failed:?}); trying vfs");
            self.stop_engines();
            self.remains.unmount();
            for node in &self.nodes {
                let _ = std::fs::remove_dir_all(node.dir.join("data"));
            }
        }
    }

    fn spawn_engine(&mut self, i: usize) {
        let cgroup_parent = format!("/{}-{}", self.remains.prefix, self.nodes[i].role);
        let driver = self.storage_driver.clone();
        let node = &mut self.nodes[i];
        let p = |name: &str| node.dir.join(name).display().to_string();
        std::fs::write(p("daemon.json"), "{}").expect("write daemon.json");
        let log = std::fs::File::create(p("dockerd.log")).expect("the engine's log");
        // nsenter and unshare exec (no fork), and so does sh: the child is dockerd itself.
        let engine = Command::new("nsenter")
            .arg(format!("--net=/var/run/netns/{}", node.netns))
            .args([
                "unshare",
                "--uts",
                "sh",
                "-c",
                "hostname \"$0\" && exec \"$@\"",
            ])
            .arg(&node.hostname)
            .args([
                "dockerd",
                "--config-file",
                &p("daemon.json"),
                "--data-root",
                &p("data"),
                "--exec-root",
                &p("exec"),
                "--pidfile",
                &p("dockerd.pid"),
                "-H",
                &format!("unix://{}", p("docker.sock")),
                "--storage-driver",
                &driver,
                "--bridge",
                "none",
                "--iptables=false",
                "--cgroup-parent",
                &cgroup_parent,
            ])
            .stdin(Stdio::null())
            .stdout(log.try_clone().expect("log"))
            .stderr(log)
            .spawn()
            .expect("dockerd starts");
        node.engine = Some(engine);
    }

    fn await_engine(&mut self, i: usize) -> Result<(), String> {
        let node = &mut self.nodes[i];
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            if node.docker(&["info"]).status.success() {
                return Ok(());
            }
            let exited = node
                .engine
                .as_mut()
                .and_then(|e| e.try_wait().ok().flatten());
            if exited.is_some() || Instant::now() > deadline {
                let log = node.log();
                let tail: Vec<&str> = log.lines().rev().take(5).collect();
                return Err(format!("{}: {}", node.role, tail.join(" | ")));
            }
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    /// SIGTERM to every engine, then waits (SIGKILL after 30 s).
    pub(super) fn stop_engines(&mut self) {
        for node in &self.nodes {
            if let Some(engine) = &node.engine {
                let _ = Command::new("kill").arg(engine.id().to_string()).output();
            }
        }
        let deadline = Instant::now() + Duration::from_secs(30);
        for node in &mut self.nodes {
            if let Some(mut engine) = node.engine.take() {
                while engine.try_wait().ok().flatten().is_none() && Instant::now() < deadline {
                    std::thread::sleep(Duration::from_millis(50));
                }
                let _ = engine.kill();
                let _ = engine.wait();
            }
        }
    }

    /// `swarm init` on the manager, `swarm join` on each worker; waits for every node to be
    /// ready, and labels each `topo.node=ROLE`.
    pub(super) fn form_swarm(&mut self) {
        let manager = &self.nodes[0];
        manager.docker_ok(&["swarm", "init", "--advertise-addr", &manager.address]);
        let token = manager
            .docker_ok(&["swarm", "join-token", "-q", "worker"])
            .trim()
            .to_owned();
        let join = format!("{}:2377", manager.address);
        for worker in &self.nodes[1..] {
            worker.docker_ok(&[
                "swarm",
                "join",
                "--token",
                &token,
                "--advertise-addr",
                &worker.address,
                &join,
            ]);
        }
        for i in 0..self.nodes.len() {
            let id = self.nodes[i]
                .docker_ok(&["info", "--format", "{{.Swarm.NodeID}}"])
                .trim()
                .to_owned();
            assert!(!id.is_empty(), "{} has no node id", self.nodes[i].role);
            self.nodes[i].id = id;
        }
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            let listed = self.docker_ok(&["node", "ls", "--format", "{{.ID}} {{.Status}}"]);
            let ready = listed.lines().filter(|l| l.ends_with(" Ready")).count();
            if ready == self.nodes.len() {
                break;
            }
            assert!(
                Instant::now() < deadline,
                "the nodes are not all ready: {listed}"
            );
            std::thread::sleep(Duration::from_millis(200));
        }
        for i in 0..self.nodes.len() {
            let role = self.nodes[i].role.clone();
            self.label(i, "topo.node", &role);
        }
    }

    /// Carries `images` over from this machine's engine to every node: one `docker save`,
    /// its stream copied to every node's `docker load`.
    pub fn load(&self, images: &[&str]) {
        if images.is_empty() {
            return;
        }
        let mut save = Command::new("docker")
            .arg("save")
            .args(images)
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("docker save");
        let mut loads: Vec<Child> = self
            .nodes
            .iter()
            .map(|node| {
                Command::new("docker")
                    .arg("-H")
                    .arg(format!("unix://{}", node.dir.join("docker.sock").display()))
                    .args(["load", "-q"])
                    .stdin(Stdio::piped())
                    .stdout(Stdio::piped())
                    .stderr(Stdio::piped())
                    .spawn()
                    .expect("docker load")
            })
            .collect();
        {
            let mut from = save.stdout.take().expect("piped");
            // A load that stops reading (it failed) is left out; its status says why below.
            let mut into: Vec<_> = loads.iter_mut().map(|l| l.stdin.take()).collect();
            let mut buffer = vec![0; 1 << 20];
            loop {
                let read = from.read(&mut buffer).expect("docker save's stream");
                if read == 0 {
                    break;
                }
                for stdin in &mut into {
                    if stdin
                        .as_mut()
                        .is_some_and(|s| s.write_all(&buffer[..read]).is_err())
                    {
                        *stdin = None;
                    }
                }
            }
        }
        let saved = save.wait_with_output().expect("docker save ends");
        assert!(
            saved.status.success(),
            "docker save: {}",
            text(&saved.stderr)
        );
        for (node, load) in self.nodes.iter().zip(loads) {
            let loaded = load.wait_with_output().expect("docker load ends");
            assert!(
                loaded.status.success(),
                "docker load on {}: {}",
                node.role,
                text(&loaded.stderr)
            );
        }
    }
}
