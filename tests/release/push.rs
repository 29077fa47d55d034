//! `topo build --push` against a real registry (Debian's `docker-registry`, started by the
//! test on a loopback port with basic auth): pushed by fingerprint and short commit, the
//! registry's digest in the report, "already pushed" on the next run, and refusals that
//! name the registry and change nothing.

use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command};
use std::time::{Duration, Instant};

use topo_core::release::BuildOutcome;

use super::{text, Repo};
use crate::common;

/// A registry of the test's own: `docker-registry serve` with an htpasswd file, or with
/// the token (bearer) flow of a token service the test runs (tests/release/token_server.py).
pub struct Registry {
    dir: tempfile::TempDir,
    address: String,
    port: u16,
    child: Child,
    token_service: Option<Child>,
    /// `/etc/docker/certs.d/HOST:PORT`, written for a TLS registry and removed after.
    trusted: Option<PathBuf>,
}

/// A certificate and key the registry serves, and the CA that signed them.
pub struct Tls {
    pub certificate: PathBuf,
    pub key: PathBuf,
    pub ca: PathBuf,
}

impl Registry {
    /// Starts one whose only user is `ci` / `secret`; `None` (after saying why) when the
    /// registry is not installed outside CI.
    pub fn start(test: &str) -> Option<Registry> {
        Registry::start_on(test, "127.0.0.1", None)
    }

    /// One listening on `address`, serving `tls` when given (the engines of this machine
    /// then trust its CA through `/etc/docker/certs.d`, read per request).
    pub fn start_on(test: &str, address: &str, tls: Option<Tls>) -> Option<Registry> {
        Registry::start_with(test, address, tls, false)
    }

    /// One on loopback whose clients get a bearer token from the test's token service
    /// (user `ci` / `secret`), as Docker Hub, GHCR and most hosted registries work.
    pub fn start_token(test: &str) -> Option<Registry> {
        Registry::start_with(test, "127.0.0.1", None, true)
    }

    fn start_with(test: &str, address: &str, tls: Option<Tls>, token: bool) -> Option<Registry> {
        let installed = Command::new("docker-registry").arg("--version").output();
        if !installed.is_ok_and(|o| o.status.success()) {
            assert!(
                std::env::var("CI").map_or(true, |v| v != "true"),
                "{test}: docker-registry is required in CI (.ci/run installs Debian's docker-registry)"
            );
            eprintln!("SKIPPED {test}: no docker-registry (apt-get install docker-registry apache2-utils)");
            return None;
        }
        let dir = tempfile::tempdir().expect("tempdir");
        let htpasswd = Command::new("htpasswd")
            .args(["-Bbn", "ci", "secret"])
            .output()
            .expect("htpasswd runs (apache2-utils)");
        assert!(
            htpasswd.status.success(),
            "htpasswd: {}",
            text(&htpasswd.stderr)
        );
        std::fs::write(dir.path().join("htpasswd"), &htpasswd.stdout).expect("write");
        let port = common::free_port();
        let served = tls.as_ref().map_or(String::new(), |tls| {
            format!(
                "  tls:\n    certificate: {}\n    key: {}\n",
                tls.certificate.display(),
                tls.key.display()
            )
        });
        let (auth, token_service) = if token {
            let (realm, child) = start_token_service(dir.path());
            (
                format!(
                    "  token:\n    realm: {realm}\n    service: topo-test-registry\n    issuer: topo-test-issuer\n    rootcertbundle: {}\n",
                    dir.path().join("token.crt").display()
                ),
                Some(child),
            )
        } else {
            (
                format!(
                    "  htpasswd:\n    realm: topo-test\n    path: {}\n",
                    dir.path().join("htpasswd").display()
                ),
                None,
            )
        };
        let config = format!(
            "version: 0.1\nlog:\n  level: error\nstorage:\n  filesystem:\n    rootdirectory: {data}\nhttp:\n  addr: {address}:{port}\n  secret: topo-test\n{served}auth:\n{auth}",
            data = dir.path().join("data").display(),
        );
        std::fs::write(dir.path().join("config.yml"), config).expect("write");
        let log = std::fs::File::create(dir.path().join("registry.log")).expect("log");
        let child = Command::new("docker-registry")
            .arg("serve")
            .arg(dir.path().join("config.yml"))
            .stdout(log.try_clone().expect("log"))
            .stderr(log)
            .spawn()
            .expect("docker-registry starts");
        let trusted = tls.map(|tls| {
            let trusted = PathBuf::from(format!("/etc/docker/certs.d/{address}:{port}"));
            std::fs::create_dir_all(&trusted).expect("certs.d");
            std::fs::copy(&tls.ca, trusted.join("ca.crt")).expect("the registry's CA");
            trusted
        });
        let registry = Registry {
            dir,
            address: address.to_owned(),
            port,
            child,
            token_service,
            trusted,
        };
        let deadline = Instant::now() + Duration::from_secs(20);
        while TcpStream::connect((address, port)).is_err() {
            assert!(Instant::now() < deadline, "the registry did not start");
            std::thread::sleep(Duration::from_millis(50));
        }
        // The docker CLI's config, as `docker login` writes it.
        std::fs::write(
            registry.dir.path().join("config.json"),
            format!(
                "{{\"auths\": {{\"{}\": {{\"auth\": \"Y2k6c2VjcmV0\"}}}}}}",
                registry.host()
            ),
        )
        .expect("write");
        Some(registry)
    }

    pub fn host(&self) -> String {
        format!("{}:{}", self.address, self.port)
    }

    /// A `DOCKER_CONFIG` directory holding the registry's credentials.
    pub fn docker_config(&self) -> &Path {
        self.dir.path()
    }

    /// Whether the registry has `repository:tag` (asked through the engine, logged in).
    pub fn has(&self, repository: &str, tag: &str) -> bool {
        Command::new("docker")
            .env("DOCKER_CONFIG", self.docker_config())
            .args(["manifest", "inspect", "--insecure"])
            .arg(format!("{}/{repository}:{tag}", self.host()))
            .output()
            .expect("docker runs")
            .status
            .success()
    }
}

impl Drop for Registry {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        if let Some(token_service) = &mut self.token_service {
            let _ = token_service.kill();
            let _ = token_service.wait();
        }
        if let Some(trusted) = &self.trusted {
            let _ = std::fs::remove_dir_all(trusted);
        }
    }
}

/// Starts tests/release/token_server.py on a free loopback port with a key and certificate
/// made in `dir` (`token.crt`, the registry's `rootcertbundle`): its realm, and the process.
fn start_token_service(dir: &Path) -> (String, Child) {
    let key = dir.join("token.key");
    let certificate = dir.join("token.crt");
    let made = Command::new("openssl")
        .args([
            "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1",
        ])
        .args(["-subj", "/CN=topo-test-token"])
        .arg("-keyout")
        .arg(&key)
        .arg("-out")
        .arg(&certificate)
        .output()
        .expect("openssl runs");
    assert!(made.status.success(), "openssl: {}", text(&made.stderr));
    // x5c holds the certificate's DER in standard base64.
    for args in [
        vec![
            "x509",
            "-outform",
            "DER",
            "-in",
            "token.crt",
            "-out",
            "token.der",
        ],
        vec!["base64", "-A", "-in", "token.der", "-out", "token.x5c"],
    ] {
        let done = Command::new("openssl")
            .args(&args)
            .current_dir(dir)
            .output()
            .expect("openssl runs");
        assert!(done.status.success(), "openssl: {}", text(&done.stderr));
    }
    let port = common::free_port();
    let child = Command::new("python3")
        .arg(common::root().join("tests/release/token_server.py"))
        .arg(&key)
        .arg(dir.join("token.x5c"))
        .arg(port.to_string())
        .args(["topo-test-issuer", "topo-test-registry"])
        .spawn()
        .expect("python3 runs the token service");
    let deadline = Instant::now() + Duration::from_secs(20);
    while TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(Instant::now() < deadline, "the token service did not start");
        std::thread::sleep(Duration::from_millis(50));
    }
    (format!("http://127.0.0.1:{port}/token"), child)
}

/// The deploy fixture publishing to `registry` (its proxy on a free port).
pub fn repo_for(registry: &Registry, project: &str) -> Repo {
    let repo = Repo::new(project);
    let path: PathBuf = repo.path().join("topology.toml");
    let topology = std::fs::read_to_string(&path)
        .expect("topology")
        .replace(
            "[production]\n",
            &format!("[production]\nregistry = \"{}/acme\"\n", registry.host()),
        )
        .replace("18090", &common::free_port().to_string());
    std::fs::write(&path, topology).expect("write");
    repo.commit("registry");
    repo
}

#[test]
fn push_sends_each_image_once_and_names_its_digest() {
    let test = "push_sends_each_image_once_and_names_its_digest";
    if !common::docker_available(test) {
        return;
    }
    let Some(registry) = Registry::start(test) else {
        return;
    };
    common::ensure_test_images();
    let repo = repo_for(&registry, "relpush");
    let config = registry.docker_config().display().to_string();
    let report = repo.build_with(&[("DOCKER_CONFIG", config.as_str())], &["--push"]);
    let image = &report.images[0];
    assert_eq!(image.outcome, BuildOutcome::Built);
    assert!(image.pushed);
    let digest = image.digest.clone().expect("the registry's digest");
    assert!(digest.starts_with("sha256:"), "{digest}");
    // The engine agrees on the digest it pushed.
    let repo_digests = common::inspect("image", &image.image)["RepoDigests"].to_string();
    assert!(repo_digests.contains(&digest), "{repo_digests}");
    // Both tags are in the registry: the short commit's and the fingerprint's.
    let head = repo.git(&["rev-parse", "HEAD"]);
    assert!(registry.has("acme/relpush-web", &image.fingerprint));
    assert!(registry.has("acme/relpush-web", &head[..10]));
    // The next run finds the fingerprint tag in the registry: neither built nor pushed.
    let again = repo.build_with(&[("DOCKER_CONFIG", config.as_str())], &["--push"]);
    assert_eq!(again.images[0].outcome, BuildOutcome::AlreadyPushed);
    assert!(!again.images[0].pushed);
    assert_eq!(again.images[0].digest.as_deref(), Some(digest.as_str()));
    assert_eq!(again.images[0].bytes_pushed, 0);
}

#[test]
fn registry_refusals_name_the_registry_and_push_nothing() {
    let test = "registry_refusals_name_the_registry_and_push_nothing";
    if !common::docker_available(test) {
        return;
    }
    let Some(registry) = Registry::start(test) else {
        return;
    };
    common::ensure_test_images();
    let repo = repo_for(&registry, "relrefuse");
    let empty = tempfile::tempdir().expect("tempdir");
    let empty = empty.path().display().to_string();
    // A wrong password: refused before anything is built or pushed.
    let output = repo.topo_with(
        &[
            ("DOCKER_CONFIG", empty.as_str()),
            ("REGISTRY_PASSWORD", "wrong"),
        ],
        &["build", "--push", "--registry-user", "ci"],
    );
    let stderr = text(&output.stderr);
    assert_eq!(output.status.code(), Some(1), "{stderr}");
    assert!(stderr.contains(&registry.host()), "{stderr}");
    assert!(stderr.contains("refused the credentials"), "{stderr}");
    assert!(!registry.has(
        "acme/relrefuse-web",
        &repo.git(&["rev-parse", "HEAD"])[..10]
    ));
    // No credentials at all.
    let output = repo.topo_with(&[("DOCKER_CONFIG", empty.as_str())], &["build", "--push"]);
    let stderr = text(&output.stderr);
    assert_eq!(output.status.code(), Some(1), "{stderr}");
    assert!(stderr.contains("docker login"), "{stderr}");
    // --registry-user without its password is a usage error.
    let output = repo.topo_with(
        &[("DOCKER_CONFIG", empty.as_str()), ("REGISTRY_PASSWORD", "")],
        &["build", "--push", "--registry-user", "ci"],
    );
    assert_eq!(output.status.code(), Some(2), "{}", text(&output.stderr));
    // A registry nobody answers at.
    let gone = registry.host();
    drop(registry);
    let output = repo.topo_with(&[("DOCKER_CONFIG", empty.as_str())], &["build", "--push"]);
    let stderr = text(&output.stderr);
    assert_eq!(output.status.code(), Some(1), "{stderr}");
    assert!(
        stderr.contains(&gone) && stderr.contains("cannot reach"),
        "{stderr}"
    );
}
