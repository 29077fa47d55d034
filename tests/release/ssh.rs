//! Deploys to the namespaced engine over SSH (`--host ssh://root@ADDRESS`): Debian's sshd
//! in the namespace, keys made by the test, `docker system dial-stdio` on the far side as
//! bollard's transport runs it. The deploying `topo` runs in a mount namespace of its own
//! whose home directory is a fresh tmpfs: its `~/.ssh` holds only the test's key and
//! known hosts, and the machine's own is neither read nor written.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use super::remote::RemoteEngine;
use super::{text, Repo};
use crate::common;

/// sshd in the engine's namespace, its user's `docker` pointed at that engine.
struct Sshd {
    dir: tempfile::TempDir,
}

impl Sshd {
    fn start(remote: &RemoteEngine) -> Sshd {
        let dir = tempfile::tempdir().expect("tempdir");
        let keygen = |name: &str| {
            let output = Command::new("ssh-keygen")
                .args(["-q", "-t", "ed25519", "-N", "", "-f"])
                .arg(dir.path().join(name))
                .output()
                .expect("ssh-keygen runs");
            assert!(
                output.status.success(),
                "ssh-keygen: {}",
                text(&output.stderr)
            );
        };
        for key in ["host_key", "deploy_key", "stranger_key"] {
            keygen(key);
        }
        std::fs::copy(
            dir.path().join("deploy_key.pub"),
            dir.path().join("authorized_keys"),
        )
        .expect("copy");
        let (netns, address) = remote.namespace();
        let p = |name: &str| dir.path().join(name).display().to_string();
        let config = format!(
            "ListenAddress {address}\nHostKey {}\nAuthorizedKeysFile {}\nPermitRootLogin prohibit-password\nPasswordAuthentication no\nKbdInteractiveAuthentication no\nStrictModes no\nUsePAM no\nPidFile {}\nSetEnv DOCKER_HOST=unix://{}\n",
            p("host_key"),
            p("authorized_keys"),
            p("sshd.pid"),
            remote.path("docker.sock").display()
        );
        std::fs::write(dir.path().join("sshd_config"), config).expect("write");
        std::fs::create_dir_all("/run/sshd").expect("sshd's privilege separation directory");
        let started = Command::new("nsenter")
            .arg(format!("--net=/var/run/netns/{netns}"))
            .args([
                "/usr/sbin/sshd",
                "-f",
                &p("sshd_config"),
                "-E",
                &p("sshd.log"),
            ])
            .output()
            .expect("sshd runs");
        assert!(started.status.success(), "sshd: {}", text(&started.stderr));
        // Its host key as a known_hosts line for the address, and a stranger's.
        let key = |name: &str| {
            let public = std::fs::read_to_string(dir.path().join(name)).expect("key");
            let mut fields = public.split_whitespace();
            format!(
                "{address} {} {}\n",
                fields.next().unwrap_or_default(),
                fields.next().unwrap_or_default()
            )
        };
        std::fs::write(dir.path().join("known_hosts"), key("host_key.pub")).expect("write");
        std::fs::write(dir.path().join("wrong_hosts"), key("stranger_key.pub")).expect("write");
        Sshd { dir }
    }

    fn file(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }
}

impl Drop for Sshd {
    fn drop(&mut self) {
        if let Ok(pid) = std::fs::read_to_string(self.file("sshd.pid")) {
            let _ = Command::new("kill").arg(pid.trim()).output();
        }
    }
}

/// `topo ARGS` in `repo`, in a mount namespace whose home holds `key` as the SSH identity
/// and `known_hosts` as the known hosts.
fn topo_over_ssh(repo: &Repo, key: &Path, known_hosts: &Path, args: &[&str]) -> Output {
    const SCRIPT: &str = r#"
        home=$(getent passwd "$(id -u)" | cut -d: -f6)
        mount -t tmpfs tmpfs "$home"
        mkdir -m 700 "$home/.ssh"
        cp "$KEY" "$home/.ssh/id_ed25519" && chmod 600 "$home/.ssh/id_ed25519"
        cp "$KNOWN" "$home/.ssh/known_hosts"
        exec "$@"
    "#;
    Command::new("unshare")
        .args([
            "--mount",
            "--propagation",
            "private",
            "sh",
            "-ec",
            SCRIPT,
            "sh",
        ])
        .arg(assert_cmd::cargo::cargo_bin("topo"))
        .args(args)
        .current_dir(repo.path())
        .env("KEY", key)
        .env("KNOWN", known_hosts)
        .env("SHOP_DB_PASSWORD", "production-secret")
        .env("NO_COLOR", "1")
        .env_remove("SSH_AUTH_SOCK")
        .env_remove("DOCKER_HOST")
        .output()
        .expect("unshare runs")
}

#[test]
fn deploy_over_ssh_reaches_the_remote_engine_and_refuses_strangers() {
    let test = "deploy_over_ssh_reaches_the_remote_engine_and_refuses_strangers";
    if !common::docker_available(test) {
        return;
    }
    let Some(remote) = RemoteEngine::start(test) else {
        return;
    };
    let sshd_installed = Path::new("/usr/sbin/sshd").exists()
        && Command::new("unshare").arg("--help").output().is_ok();
    if !sshd_installed {
        assert!(
            std::env::var("CI").map_or(true, |v| v != "true"),
            "{test}: sshd (openssh-server) and unshare are required in CI"
        );
        eprintln!("SKIPPED {test}: no /usr/sbin/sshd (apt-get install openssh-server)");
        return;
    }
    common::ensure_test_images();
    let sshd = Sshd::start(&remote);
    let (repo, tag) = remote.stack("relssh");
    let host = format!("ssh://root@{}", remote.namespace().1);
    let deploy = |key: &str, known: &str, extra: &[&str]| {
        let mut args = vec!["deploy", "--host", host.as_str(), "--tag", tag.as_str()];
        args.extend_from_slice(extra);
        topo_over_ssh(&repo, &sshd.file(key), &sshd.file(known), &args)
    };
    let output = deploy("deploy_key", "known_hosts", &["--setup"]);
    assert!(output.status.success(), "{}", text(&output.stderr));
    let names = text(&remote.docker(&["ps", "--format", "{{.Names}}"]).stdout);
    for name in ["relssh-db", "relssh-web", "relssh-worker", "relssh-proxy"] {
        assert!(
            names.lines().any(|n| n == name),
            "{name} not on the remote: {names}"
        );
    }
    let web_id = || {
        text(
            &remote
                .docker(&["inspect", "-f", "{{.Id}}", "relssh-web"])
                .stdout,
        )
    };
    let before = web_id();
    for (key, known, expect) in [
        ("deploy_key", "wrong_hosts", "host key of"),
        ("stranger_key", "known_hosts", "refused the SSH login"),
    ] {
        let output = deploy(key, known, &[]);
        let stderr = text(&output.stderr);
        assert_eq!(output.status.code(), Some(1), "{stderr}");
        assert!(
            stderr.contains(&host) && stderr.contains(expect),
            "{key} {known}: {stderr}"
        );
    }
    assert_eq!(web_id(), before, "a refused deploy changed nothing");
}
