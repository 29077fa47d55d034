//! Removing a cluster: on drop, on [`SwarmCluster::stop`], and what a killed test's cluster
//! left (by name, from another process).

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use super::{quietly, text, SwarmCluster};

/// What one cluster makes on this machine, by name: enough to remove it, also from another
/// process (a killed test's cluster).
pub(super) struct Remains {
    /// `tsw-PID-N`: the prefix of the namespaces, cgroups and hostnames.
    pub(super) prefix: String,
    /// `/tmp/tsw-PID-N`: the engines' directories.
    pub(super) root: PathBuf,
    /// This machine's end of the link to the segment.
    pub(super) host_link: String,
    pub(super) cleared: bool,
}

impl SwarmCluster {
    pub(super) fn teardown(&mut self) -> Vec<String> {
        if self.remains.cleared {
            return Vec::new();
        }
        let t = Instant::now();
        // The containers first, at once (SIGKILL to their cgroups): a graceful stop waits
        // out each one's grace period, and Swarm restarts a task only after its restart
        // delay (5 s), by when the engines are stopping.
        self.remains.kill_containers();
        let killed = t.elapsed();
        self.stop_engines();
        let stopped = t.elapsed();
        let left = self.remains.clear();
        eprintln!(
            "swarm cluster {}: removed in {:.1} s (containers killed {:.1} s, engines stopped \
             {:.1} s, the rest {:.1} s)",
            self.remains.prefix,
            t.elapsed().as_secs_f64(),
            killed.as_secs_f64(),
            (stopped - killed).as_secs_f64(),
            (t.elapsed() - stopped).as_secs_f64(),
        );
        left
    }
}

impl Drop for SwarmCluster {
    fn drop(&mut self) {
        let left = self.teardown();
        if !left.is_empty() {
            eprintln!(
                "swarm cluster {}: left behind: {left:?}",
                self.remains.prefix
            );
        }
    }
}

impl Remains {
    /// Removes all of it, whatever runs: the engines (by pidfile), what runs in the nodes'
    /// namespaces or cgroups, the cgroups, the mounts, the veth and namespaces, the
    /// directory. What it could not remove, described.
    fn clear(&mut self) -> Vec<String> {
        self.cleared = true;
        let namespaces = self.namespaces();
        // Engines still running (a killed test's): SIGTERM by pidfile, SIGKILL later.
        let pidfiles: Vec<PathBuf> = std::fs::read_dir(&self.root)
            .map(|dir| {
                dir.filter_map(Result::ok)
                    .map(|e| e.path().join("dockerd.pid"))
                    .filter(|p| p.exists())
                    .collect()
            })
            .unwrap_or_default();
        let engines: Vec<String> = pidfiles
            .iter()
            .filter_map(|p| std::fs::read_to_string(p).ok())
            .map(|p| p.trim().to_owned())
            .filter(|p| Path::new(&format!("/proc/{p}")).exists())
            .collect();
        for pid in &engines {
            let _ = Command::new("kill").arg(pid).output();
        }
        let deadline = Instant::now() + Duration::from_secs(30);
        while engines
            .iter()
            .any(|p| Path::new(&format!("/proc/{p}")).exists())
            && Instant::now() < deadline
        {
            std::thread::sleep(Duration::from_millis(100));
        }
        // Then anything of the cluster still running: SIGKILL until none is left.
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            let pids = self.processes(&namespaces);
            if pids.is_empty() || Instant::now() > deadline {
                break;
            }
            let mut kill = vec!["-KILL".to_owned()];
            kill.extend(pids);
            let _ = Command::new("kill").args(&kill).output();
            std::thread::sleep(Duration::from_millis(100));
        }
        for cgroup in self.cgroups() {
            let _ = std::fs::remove_dir(&cgroup);
        }
        self.unmount();
        quietly("ip", &["link", "del", &self.host_link]);
        for netns in &namespaces {
            quietly("ip", &["netns", "del", netns]);
        }
        if self.mounts().is_empty() {
            let _ = std::fs::remove_dir_all(&self.root);
        }
        self.left_behind()
    }

    /// Unmounts everything mounted under the directory (lazily: also what is busy).
    pub(super) fn unmount(&self) {
        for mount in self.mounts() {
            let _ = Command::new("umount").args(["-l", &mount]).output();
        }
    }

    /// SIGKILL to every process in the cluster's cgroups (the containers).
    fn kill_containers(&self) {
        let mut pids: Vec<String> = Vec::new();
        for cgroup in self.cgroups() {
            if let Ok(procs) = std::fs::read_to_string(cgroup.join("cgroup.procs")) {
                pids.extend(procs.split_whitespace().map(str::to_owned));
            }
        }
        pids.sort();
        pids.dedup();
        if !pids.is_empty() {
            let _ = Command::new("kill").arg("-KILL").args(&pids).output();
        }
    }

    /// The cluster's namespaces that exist (the lan's and the nodes').
    fn namespaces(&self) -> Vec<String> {
        let listed = Command::new("ip")
            .args(["netns", "list"])
            .output()
            .map(|o| text(&o.stdout))
            .unwrap_or_default();
        let own = format!("{}-", self.prefix);
        listed
            .lines()
            .filter_map(|l| l.split_whitespace().next())
            .filter(|name| name.starts_with(&own))
            .map(str::to_owned)
            .collect()
    }

    /// The cluster's cgroups (each node's cgroup parent, in every hierarchy), deepest first.
    fn cgroups(&self) -> Vec<PathBuf> {
        let own = format!("{}-", self.prefix);
        let mut found = Vec::new();
        let Ok(hierarchies) = std::fs::read_dir("/sys/fs/cgroup") else {
            return found;
        };
        for hierarchy in hierarchies.filter_map(Result::ok) {
            let Ok(children) = std::fs::read_dir(hierarchy.path()) else {
                continue;
            };
            for child in children.filter_map(Result::ok) {
                if child.file_name().to_string_lossy().starts_with(&own) {
                    collect_dirs(&child.path(), &mut found);
                }
            }
        }
        found.sort_by_key(|p| std::cmp::Reverse(p.components().count()));
        found
    }

    /// Processes of the cluster: in its namespaces, in its cgroups, or with its directory on
    /// their command line (containerd, its shims).
    fn processes(&self, namespaces: &[String]) -> Vec<String> {
        let mut pids: Vec<String> = Vec::new();
        for netns in namespaces {
            if let Ok(o) = Command::new("ip").args(["netns", "pids", netns]).output() {
                pids.extend(text(&o.stdout).split_whitespace().map(str::to_owned));
            }
        }
        for cgroup in self.cgroups() {
            if let Ok(procs) = std::fs::read_to_string(cgroup.join("cgroup.procs")) {
                pids.extend(procs.split_whitespace().map(str::to_owned));
            }
        }
        let root = format!("{}/", self.root.display());
        if let Ok(all) = std::fs::read_dir("/proc") {
            for entry in all.filter_map(Result::ok) {
                let name = entry.file_name().to_string_lossy().into_owned();
                if !name.bytes().all(|b| b.is_ascii_digit()) {
                    continue;
                }
                let cmdline = std::fs::read(entry.path().join("cmdline")).unwrap_or_default();
                if text(&cmdline).replace('\0', " ").contains(&root) {
                    pids.push(name);
                }
            }
        }
        let me = std::process::id().to_string();
        pids.retain(|p| *p != me);
        pids.sort();
        pids.dedup();
        pids
    }

    /// Mount points under the directory, deepest first.
    fn mounts(&self) -> Vec<String> {
        let mounts = std::fs::read_to_string("/proc/self/mountinfo").unwrap_or_default();
        let root = format!("{}/", self.root.display());
        let mut inside: Vec<String> = mounts
            .lines()
            .filter_map(|l| l.split_whitespace().nth(4))
            .filter(|m| m.starts_with(&root))
            .map(str::to_owned)
            .collect();
        inside.sort_by_key(|m| std::cmp::Reverse(m.len()));
        inside.dedup();
        inside
    }

    /// What is still there: namespaces, the host's link, processes, cgroups, mounts, the
    /// directory.
    fn left_behind(&self) -> Vec<String> {
        let mut left: Vec<String> = Vec::new();
        let namespaces = self.namespaces();
        left.extend(namespaces.iter().map(|n| format!("network namespace {n}")));
        if quietly("ip", &["link", "show", &self.host_link]) {
            left.push(format!("link {}", self.host_link));
        }
        left.extend(
            self.processes(&namespaces)
                .into_iter()
                .map(|p| format!("process {p}")),
        );
        left.extend(
            self.cgroups()
                .into_iter()
                .map(|c| format!("cgroup {}", c.display())),
        );
        left.extend(self.mounts().into_iter().map(|m| format!("mount {m}")));
        if self.root.exists() {
            left.push(format!("directory {}", self.root.display()));
        }
        left
    }
}

fn collect_dirs(dir: &Path, found: &mut Vec<PathBuf>) {
    found.push(dir.to_path_buf());
    if let Ok(children) = std::fs::read_dir(dir) {
        for child in children.filter_map(Result::ok) {
            if child.file_type().is_ok_and(|t| t.is_dir()) {
                collect_dirs(&child.path(), found);
            }
        }
    }
}

/// Clears what clusters of test processes that no longer run left behind (a killed test
/// cannot run its teardown): once per process, before the first cluster.
pub(super) fn sweep_stale() {
    static SWEPT: std::sync::OnceLock<()> = std::sync::OnceLock::new();
    SWEPT.get_or_init(|| {
        let mut prefixes: Vec<String> = Vec::new();
        let listed = Command::new("ip")
            .args(["netns", "list"])
            .output()
            .map(|o| text(&o.stdout))
            .unwrap_or_default();
        for name in listed.lines().filter_map(|l| l.split_whitespace().next()) {
            prefixes.extend(stale_prefix(name));
        }
        if let Ok(dir) = std::fs::read_dir(std::env::temp_dir()) {
            for entry in dir.filter_map(Result::ok) {
                prefixes.extend(stale_prefix(&entry.file_name().to_string_lossy()));
            }
        }
        prefixes.sort();
        prefixes.dedup();
        for prefix in prefixes {
            let (pid, n) = prefix["tsw-".len()..].split_once('-').expect("tsw-PID-N");
            let mut remains = Remains {
                root: std::env::temp_dir().join(&prefix),
                host_link: format!("tsw{pid}x{n}"),
                prefix: prefix.clone(),
                cleared: false,
            };
            let left = remains.clear();
            eprintln!(
                "cleared the remains of an earlier test's swarm cluster {prefix}: left {left:?}"
            );
        }
    });
}

/// `tsw-PID-N` of a name `tsw-PID-N[-…]` whose process no longer runs.
fn stale_prefix(name: &str) -> Option<String> {
    let rest = name.strip_prefix("tsw-")?;
    let mut parts = rest.splitn(3, '-');
    let pid: u32 = parts.next()?.parse().ok()?;
    let n: u32 = parts.next()?.parse().ok()?;
    let alive = Path::new(&format!("/proc/{pid}")).exists();
    (!alive).then(|| format!("tsw-{pid}-{n}"))
}
