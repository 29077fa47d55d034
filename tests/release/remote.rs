//! Deploys to a remote engine over TCP with mutual TLS: a second Docker engine in a network
//! namespace the test creates (its own data root, reachable only on the namespace's
//! address), certificates made by the test with openssl, the images carried over with
//! `docker save | docker load`. Refusals (no TLS, another CA, an expired client
//! certificate) change nothing there.

use std::path::PathBuf;
use std::process::{Command, Output, Stdio};
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{Duration, Instant};

use super::{text, Repo};
use crate::common;

/// A Docker engine in a network namespace of its own, serving TLS on `address:2376`.
pub struct RemoteEngine {
    dir: tempfile::TempDir,
    engine: Option<std::process::Child>,
    netns: String,
    host_link: String,
    address: String,
}

fn run(program: &str, args: &[&str]) -> Output {
    let output = Command::new(program)
        .args(args)
        .output()
        .unwrap_or_else(|e| panic!("{program} runs: {e}"));
    assert!(
        output.status.success(),
        "{program} {args:?}: {}",
        text(&output.stderr)
    );
    output
}

impl RemoteEngine {
    /// Starts one; `None` (after saying why) where this machine cannot (not root, no `ip`),
    /// which fails the test in CI.
    pub fn start(test: &str) -> Option<RemoteEngine> {
        let root = Command::new("id")
            .arg("-u")
            .output()
            .is_ok_and(|o| text(&o.stdout).trim() == "0");
        let tools = ["ip", "nsenter", "openssl", "dockerd"].iter().all(|t| {
            Command::new("sh")
                .args(["-c", &format!("command -v {t}")])
                .output()
                .is_ok_and(|o| o.status.success())
        });
        if !root || !tools {
            assert!(
                std::env::var("CI").map_or(true, |v| v != "true"),
                "{test}: a namespaced engine needs root, ip, nsenter, openssl and dockerd in CI"
            );
            eprintln!("SKIPPED {test}: not root, or no ip/nsenter/openssl/dockerd");
            return None;
        }
        static COUNT: AtomicU32 = AtomicU32::new(0);
        let n = COUNT.fetch_add(1, Ordering::SeqCst);
        let pid = std::process::id();
        let dir = tempfile::tempdir().expect("tempdir");
        let subnet = format!("10.{}.{}", 240 + n % 10, pid % 250);
        let mut remote = RemoteEngine {
            dir,
            engine: None,
            netns: format!("topo-{pid}-{n}"),
            host_link: format!("tp{}{n}h", pid % 100_000),
            address: format!("{subnet}.2"),
        };
        remote.certificates();
        let peer = format!("tp{}{n}n", pid % 100_000);
        run("ip", &["netns", "add", &remote.netns]);
        run(
            "ip",
            &[
                "link",
                "add",
                &remote.host_link,
                "type",
                "veth",
                "peer",
                "name",
                &peer,
            ],
        );
        run("ip", &["link", "set", &peer, "netns", &remote.netns]);
        run(
            "ip",
            &[
                "addr",
                "add",
                &format!("{subnet}.1/24"),
                "dev",
                &remote.host_link,
            ],
        );
        run("ip", &["link", "set", &remote.host_link, "up"]);
        let inside = |args: &[&str]| {
            let mut all = vec!["netns", "exec", remote.netns.as_str()];
            all.extend_from_slice(args);
            run("ip", &all);
        };
        inside(&[
            "ip",
            "addr",
            "add",
            &format!("{}/24", remote.address),
            "dev",
            &peer,
        ]);
        inside(&["ip", "link", "set", &peer, "up"]);
        inside(&["ip", "link", "set", "lo", "up"]);
        remote.start_engine();
        Some(remote)
    }

    /// The address of this machine's end of the namespace's link (what the engine reaches
    /// it by).
    pub fn host_address(&self) -> String {
        let (subnet, _) = self.address.rsplit_once('.').expect("an IPv4 address");
        format!("{subnet}.1")
    }

    /// A server certificate for `ip`, signed by the test's CA (which the engine's TLS uses).
    pub fn sign_for(&self, ip: &str) -> super::push::Tls {
        const SCRIPT: &str = r#"
            openssl req -newkey rsa:2048 -nodes -subj "/CN=$IP" -keyout "$IP-key.pem" -out "$IP.csr" 2>/dev/null
            printf 'subjectAltName=IP:%s
extendedKeyUsage=serverAuth
' "$IP" > "$IP.ext"
            openssl x509 -req -in "$IP.csr" -CA client/ca.pem -CAkey ca-key.pem -CAcreateserial -days 2 -extfile "$IP.ext" -out "$IP-cert.pem" 2>/dev/null
        "#;
        let output = Command::new("sh")
            .args(["-ec", SCRIPT])
            .current_dir(self.dir.path())
            .env("IP", ip)
            .output()
            .expect("sh runs");
        assert!(output.status.success(), "sign: {}", text(&output.stderr));
        super::push::Tls {
            certificate: self.path(&format!("{ip}-cert.pem")),
            key: self.path(&format!("{ip}-key.pem")),
            ca: self.path("client/ca.pem"),
        }
    }

    /// The namespace's name and the engine's address in it.
    pub fn namespace(&self) -> (&str, &str) {
        (&self.netns, &self.address)
    }

    pub fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    /// A CA, the engine's certificate for its address, and a client certificate in
    /// `client/` (what DOCKER_CERT_PATH names), plus `other/` (another CA) and `expired/`.
    fn certificates(&self) {
        const SCRIPT: &str = r#"
            req() { openssl req -newkey rsa:2048 -nodes -subj "/CN=$1" -keyout "$2" -out "$3" 2>/dev/null; }
            sign() { openssl x509 -req -in "$1" -CA client/ca.pem -CAkey ca-key.pem -CAcreateserial -days "$2" -extfile "$3" -out "$4" 2>/dev/null; }
            mkdir -p client other expired
            openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj "/CN=topo test CA" -keyout ca-key.pem -out client/ca.pem 2>/dev/null
            printf 'subjectAltName=IP:%s
extendedKeyUsage=serverAuth
' "$ADDRESS" > server.ext
            printf 'extendedKeyUsage=clientAuth
' > client.ext
            req engine server-key.pem server.csr && sign server.csr 2 server.ext server-cert.pem
            req deployer client/key.pem client.csr && sign client.csr 2 client.ext client/cert.pem
            req deployer expired/key.pem expired.csr && sign expired.csr 0 client.ext expired/cert.pem
            cp client/ca.pem expired/ca.pem
            openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj "/CN=another CA" -keyout other-key.pem -out other/ca.pem 2>/dev/null
            cp client/cert.pem client/key.pem other/
        "#;
        let output = Command::new("sh")
            .args(["-ec", SCRIPT])
            .current_dir(self.dir.path())
            .env("ADDRESS", &self.address)
            .output()
            .expect("sh runs");
        assert!(
            output.status.success(),
            "certificates: {}",
            text(&output.stderr)
        );
    }

    fn start_engine(&mut self) {
        std::fs::write(self.path("daemon.json"), "{}").expect("write");
        let log = std::fs::File::create(self.path("dockerd.log")).expect("log");
        let p = |name: &str| self.path(name).display().to_string();
        let engine = Command::new("nsenter")
            .arg(format!("--net=/var/run/netns/{}", self.netns))
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
            ])
            .args([
                "-H",
                &format!("unix://{}", p("docker.sock")),
                "-H",
                &format!("tcp://{}:2376", self.address),
            ])
            .args([
                "--tlsverify",
                "--tlscacert",
                &p("client/ca.pem"),
                "--tlscert",
                &p("server-cert.pem"),
                "--tlskey",
                &p("server-key.pem"),
            ])
            .args([
                "--storage-driver",
                "vfs",
                "--bridge",
                "none",
                "--iptables=false",
            ])
            .stdin(Stdio::null())
            .stdout(log.try_clone().expect("log"))
            .stderr(log)
            .spawn()
            .expect("dockerd starts");
        self.engine = Some(engine);
        let deadline = Instant::now() + Duration::from_secs(60);
        while !self.docker(&["info"]).status.success() {
            assert!(
                Instant::now() < deadline,
                "the namespaced engine did not start: {}",
                std::fs::read_to_string(self.path("dockerd.log")).unwrap_or_default()
            );
            std::thread::sleep(Duration::from_millis(200));
        }
    }

    /// Stops the engine the way a host's shutdown does (SIGTERM: it stops its containers)
    /// and starts it again on the same data root.
    pub fn restart_engine(&mut self) {
        if let Ok(pid) = std::fs::read_to_string(self.path("dockerd.pid")) {
            let _ = Command::new("kill").arg(pid.trim()).output();
        }
        if let Some(mut engine) = self.engine.take() {
            let deadline = Instant::now() + Duration::from_secs(60);
            while engine.try_wait().ok().flatten().is_none() {
                assert!(
                    Instant::now() < deadline,
                    "the namespaced engine did not stop"
                );
                std::thread::sleep(Duration::from_millis(100));
            }
        }
        self.start_engine();
    }

    /// `ip netns exec NS ARGS`: a command inside the engine's network namespace.
    pub fn inside(&self, args: &[&str]) -> Output {
        Command::new("ip")
            .args(["netns", "exec", &self.netns])
            .args(args)
            .output()
            .expect("ip netns exec runs")
    }

    /// The engine, and a registry over TLS on the host's side of its link that both this
    /// machine's engine and the namespaced one trust (`/etc/docker/certs.d`).
    pub fn start_with_registry(test: &str) -> Option<(RemoteEngine, super::push::Registry)> {
        let remote = RemoteEngine::start(test)?;
        let address = remote.host_address();
        let tls = remote.sign_for(&address);
        let registry = super::push::Registry::start_on(test, &address, Some(tls))?;
        Some((remote, registry))
    }

    /// `tcp://ADDRESS:2376`.
    pub fn host(&self) -> String {
        format!("tcp://{}:2376", self.address)
    }

    /// `DOCKER_CERT_PATH` for the client certificates of `which` (`client`, `other`, `expired`).
    pub fn cert_path(&self, which: &str) -> PathBuf {
        self.path(which)
    }

    /// `docker ARGS` against the engine's own socket (outside TLS, for checks).
    pub fn docker(&self, args: &[&str]) -> Output {
        Command::new("docker")
            .arg("-H")
            .arg(format!("unix://{}", self.path("docker.sock").display()))
            .args(args)
            .output()
            .expect("docker runs")
    }

    /// The deploy fixture as `project` (its proxy on a free port), its image built locally
    /// and carried over with the database's and the proxy's: the repository and the tag to
    /// deploy.
    pub fn stack(&self, project: &str) -> (Repo, String) {
        let repo = Repo::new(project);
        let topology = repo.path().join("topology.toml");
        let text_of = std::fs::read_to_string(&topology).expect("topology");
        let port = common::free_port().to_string();
        std::fs::write(&topology, text_of.replace("18090", &port)).expect("write");
        repo.commit("port");
        let report = repo.build(&[]);
        let image = &report.images[0];
        self.load(&[
            "topo-test/postgres:17",
            "topo-test/nginx:latest",
            &image.image,
        ]);
        (repo, image.fingerprint.clone())
    }

    /// Carries `images` over from the local engine.
    pub fn load(&self, images: &[&str]) {
        let mut save = Command::new("docker")
            .arg("save")
            .args(images)
            .stdout(Stdio::piped())
            .spawn()
            .expect("docker save");
        let load = Command::new("docker")
            .arg("-H")
            .arg(format!("unix://{}", self.path("docker.sock").display()))
            .arg("load")
            .stdin(save.stdout.take().expect("piped"))
            .output()
            .expect("docker load");
        let saved = save.wait().expect("docker save ends");
        assert!(
            saved.success() && load.status.success(),
            "docker load: {}",
            text(&load.stderr)
        );
    }
}

impl Drop for RemoteEngine {
    fn drop(&mut self) {
        let ids = self.docker(&["ps", "-aq"]);
        for id in text(&ids.stdout).lines() {
            let _ = self.docker(&["rm", "-f", id]);
        }
        if let Ok(pid) = std::fs::read_to_string(self.path("dockerd.pid")) {
            let _ = Command::new("kill").arg(pid.trim()).output();
        }
        if let Some(mut engine) = self.engine.take() {
            // nsenter waits for dockerd, which stops its containers and exits on TERM.
            let deadline = Instant::now() + Duration::from_secs(30);
            while engine.try_wait().ok().flatten().is_none() && Instant::now() < deadline {
                std::thread::sleep(Duration::from_millis(100));
            }
            let _ = engine.kill();
            let _ = engine.wait();
        }
        // Whatever the engine left mounted under its directories goes before they do.
        let mounts = std::fs::read_to_string("/proc/mounts").unwrap_or_default();
        let root = self.dir.path().display().to_string();
        let mut inside: Vec<&str> = mounts
            .lines()
            .filter_map(|l| l.split_whitespace().nth(1))
            .filter(|m| m.starts_with(&root))
            .collect();
        inside.sort_by_key(|m| std::cmp::Reverse(m.len()));
        for mount in inside {
            let _ = Command::new("umount").args(["-l", mount]).output();
        }
        let _ = Command::new("ip")
            .args(["link", "del", &self.host_link])
            .output();
        let _ = Command::new("ip")
            .args(["netns", "del", &self.netns])
            .output();
    }
}

#[test]
fn deploy_over_mutual_tls_changes_the_remote_engine_only() {
    let test = "deploy_over_mutual_tls_changes_the_remote_engine_only";
    if !common::docker_available(test) {
        return;
    }
    let Some(remote) = RemoteEngine::start(test) else {
        return;
    };
    common::ensure_test_images();
    let (repo, tag) = remote.stack("relremote");
    let certs = remote.cert_path("client").display().to_string();
    let host = remote.host();
    let deploy = |cert_path: Option<&str>, extra: &[&str]| {
        let mut env = vec![("SHOP_DB_PASSWORD", "production-secret")];
        if let Some(path) = cert_path {
            env.extend([("DOCKER_TLS_VERIFY", "1"), ("DOCKER_CERT_PATH", path)]);
        }
        let mut args = vec!["deploy", "--host", host.as_str(), "--tag", tag.as_str()];
        args.extend_from_slice(extra);
        repo.topo_with(&env, &args)
    };
    let output = deploy(Some(&certs), &["--setup"]);
    assert!(output.status.success(), "{}", text(&output.stderr));
    let names = text(&remote.docker(&["ps", "--format", "{{.Names}}"]).stdout);
    for name in [
        "relremote-db",
        "relremote-web",
        "relremote-worker",
        "relremote-proxy",
    ] {
        assert!(
            names.lines().any(|n| n == name),
            "{name} not on the remote: {names}"
        );
    }
    let local = common::docker(&["ps", "-aq", "--filter", "label=topo.project=relremote"]);
    assert!(
        local.trim().is_empty(),
        "the local engine got containers: {local}"
    );
    let web_id = || {
        text(
            &remote
                .docker(&["inspect", "-f", "{{.Id}}", "relremote-web"])
                .stdout,
        )
    };
    let before = web_id();

    // Refusals: each exit 1, one paragraph naming the target and what to do.
    let other = remote.cert_path("other").display().to_string();
    let expired = remote.cert_path("expired").display().to_string();
    for (cert_path, expect) in [
        (None, "wants TLS: set DOCKER_TLS_VERIFY=1"),
        (Some(other.as_str()), "TLS handshake with"),
        // The engine's alert may arrive, or only a closed connection: both say why.
        (Some(expired.as_str()), "refused this client's certificate"),
    ] {
        let output = deploy(cert_path, &[]);
        let stderr = text(&output.stderr);
        assert_eq!(output.status.code(), Some(1), "{stderr}");
        assert!(
            stderr.contains(&host) && stderr.contains(expect),
            "{cert_path:?}: {stderr}"
        );
    }
    assert_eq!(web_id(), before, "a refused deploy changed nothing");
}
