//! The cluster's network: a lan namespace with a bridge, this machine's link into it, one
//! namespace per node; the checks that this machine can make one, and a free subnet.

use std::process::Command;

use super::{in_ci, quietly, run, text, Node, SwarmCluster};

impl SwarmCluster {
    /// The lan namespace with its bridge, this machine's link into it, and one namespace per
    /// node plugged into it.
    pub(super) fn network(&mut self, roles: &[String]) {
        let lan = format!("{}-lan", self.remains.prefix);
        run("ip", &["netns", "add", &lan]);
        run("ip", &["-n", &lan, "link", "set", "lo", "up"]);
        run("ip", &["-n", &lan, "link", "add", "br0", "type", "bridge"]);
        run("ip", &["-n", &lan, "link", "set", "br0", "up"]);
        let host_link = self.remains.host_link.clone();
        run(
            "ip",
            &[
                "link", "add", &host_link, "type", "veth", "peer", "name", "host", "netns", &lan,
            ],
        );
        run("ip", &["-n", &lan, "link", "set", "host", "master", "br0"]);
        run("ip", &["-n", &lan, "link", "set", "host", "up"]);
        run(
            "ip",
            &[
                "addr",
                "add",
                &format!("{}.1/24", self.subnet),
                "dev",
                &host_link,
            ],
        );
        run("ip", &["link", "set", &host_link, "up"]);
        for (i, role) in roles.iter().enumerate() {
            let netns = format!("{}-{role}", self.remains.prefix);
            let port = format!("n{i}");
            let address = format!("{}.{}", self.subnet, i + 2);
            run("ip", &["netns", "add", &netns]);
            run(
                "ip",
                &[
                    "-n", &lan, "link", "add", &port, "type", "veth", "peer", "name", "eth0",
                    "netns", &netns,
                ],
            );
            run("ip", &["-n", &lan, "link", "set", &port, "master", "br0"]);
            run("ip", &["-n", &lan, "link", "set", &port, "up"]);
            run(
                "ip",
                &[
                    "-n",
                    &netns,
                    "addr",
                    "add",
                    &format!("{address}/24"),
                    "dev",
                    "eth0",
                ],
            );
            run("ip", &["-n", &netns, "link", "set", "eth0", "up"]);
            run("ip", &["-n", &netns, "link", "set", "lo", "up"]);
            let dir = self.remains.root.join(role);
            std::fs::create_dir_all(&dir).expect("the node's directory");
            self.nodes.push(Node {
                role: role.clone(),
                hostname: netns.clone(),
                netns,
                address,
                id: String::new(),
                dir,
                engine: None,
            });
        }
    }
}

/// Root and the tools a namespaced engine needs; otherwise the test is skipped (and fails in
/// CI).
pub(super) fn can_make_namespaced_engines(test: &str) -> bool {
    let root = Command::new("id")
        .arg("-u")
        .output()
        .is_ok_and(|o| text(&o.stdout).trim() == "0");
    let missing: Vec<&str> = ["ip", "nsenter", "unshare", "hostname", "dockerd"]
        .into_iter()
        .filter(|t| !quietly("sh", &["-c", &format!("command -v {t}")]))
        .collect();
    if root && missing.is_empty() {
        return true;
    }
    let why = if root {
        format!("no {}", missing.join(", "))
    } else {
        "not root".to_owned()
    };
    assert!(
        !in_ci(),
        "{test}: a Swarm of namespaced engines needs root, ip, nsenter, unshare, hostname and \
         dockerd in CI ({why})"
    );
    eprintln!("SKIPPED {test}: a Swarm of namespaced engines needs root and ip, nsenter, unshare, hostname, dockerd ({why})");
    false
}

/// `10.A.B` for a `/24` no address or route of this machine is in (B from the pid).
pub(super) fn free_subnet(a: u32, pid: u32) -> String {
    let used = format!(
        "{}{}",
        Command::new("ip")
            .args(["-4", "-o", "addr"])
            .output()
            .map(|o| text(&o.stdout))
            .unwrap_or_default(),
        Command::new("ip")
            .args(["-4", "route"])
            .output()
            .map(|o| text(&o.stdout))
            .unwrap_or_default(),
    );
    (0..250)
        .map(|i| format!("10.{a}.{}", (pid + i) % 250))
        .find(|subnet| !used.contains(&format!("{subnet}.")))
        .expect("a free 10.A.B.0/24")
}
