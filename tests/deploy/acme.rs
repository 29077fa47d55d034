//! Certificates from an ACME server: Debian's `pebble` (Let's Encrypt's test server) as the
//! CA, its `pebble-challtestsrv` as the DNS that sends every name to this host, and the real
//! HTTP-01 challenge answered by the deployed proxy. The first deploy issues, a no-op deploy
//! keeps, renewals and blue-green switches under HTTPS load drop no request, the certificate
//! outlives the proxy's container (a named volume), and a failed issuance keeps serving the
//! previous certificate and says so.

use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;

use crate::https::{certificate, client};
use crate::{common, Load, Target};

/// pebble and its DNS, stopped when dropped.
struct Pebble {
    processes: Vec<Child>,
    directory: String,
    management: u16,
}

impl Pebble {
    /// Starts the DNS (every name → 127.0.0.1) and pebble, validating HTTP-01 on
    /// `http_port` (the proxy's), its own HTTPS from `dir/cert.pem` (signed by `dir/ca.pem`).
    fn start(dir: &std::path::Path, http_port: u16) -> Pebble {
        let (dns, listen, management) = (
            common::free_port(),
            common::free_port(),
            common::free_port(),
        );
        let config = serde_json::json!({ "pebble": {
            "listenAddress": format!("127.0.0.1:{listen}"),
            "managementListenAddress": format!("127.0.0.1:{management}"),
            "certificate": dir.join("cert.pem"),
            "privateKey": dir.join("key.pem"),
            "httpPort": http_port,
            "tlsPort": common::free_port(),
            "ocspResponderURL": "",
            "externalAccountBindingRequired": false
        }});
        std::fs::write(dir.join("pebble.json"), config.to_string()).expect("pebble config");
        let quiet = || Stdio::null();
        let challtestsrv = Command::new("pebble-challtestsrv")
            .args(["-defaultIPv4", "127.0.0.1", "-defaultIPv6", ""])
            .args(["-dns01", &format!("127.0.0.1:{dns}")])
            .args(["-http01", "", "-https01", "", "-tlsalpn01", ""])
            .args(["-management", &format!("127.0.0.1:{}", common::free_port())])
            .stdout(quiet())
            .stderr(quiet())
            .spawn()
            .expect("pebble-challtestsrv runs (Debian's pebble package)");
        let pebble = Command::new("pebble")
            .arg("-config")
            .arg(dir.join("pebble.json"))
            .args(["-dnsserver", &format!("127.0.0.1:{dns}")])
            // Every order is validated (no reused authorization), at once, without
            // rejected nonces: each deploy's challenge really reaches the proxy.
            .env("PEBBLE_VA_NOSLEEP", "1")
            .env("PEBBLE_WFE_NONCEREJECT", "0")
            .env("PEBBLE_AUTHZREUSE", "0")
            .stdout(Stdio::from(
                std::fs::File::create(dir.join("pebble.log")).expect("log"),
            ))
            .stderr(Stdio::from(
                std::fs::File::create(dir.join("pebble.err")).expect("log"),
            ))
            .spawn()
            .expect("pebble runs");
        let started = Pebble {
            processes: vec![challtestsrv, pebble],
            directory: format!("https://localhost:{listen}/dir"),
            management,
        };
        let ca = std::fs::read_to_string(dir.join("ca.pem")).expect("CA");
        let agent = client(&ca);
        let deadline = Instant::now() + Duration::from_secs(20);
        while agent.get(&started.directory).call().is_err() {
            assert!(
                Instant::now() < deadline,
                "pebble did not answer at {}",
                started.directory
            );
            std::thread::sleep(Duration::from_millis(200));
        }
        started
    }

    /// The root pebble signs its certificates with (made when it started).
    fn issuing_root(&self, ca: &str) -> String {
        client(ca)
            .get(&format!("https://localhost:{}/roots/0", self.management))
            .call()
            .expect("pebble's management API answers")
            .into_body()
            .read_to_string()
            .expect("a PEM root")
    }

    fn stop(&mut self) {
        for process in &mut self.processes {
            let _ = process.kill();
            let _ = process.wait();
        }
    }
}

impl Drop for Pebble {
    fn drop(&mut self) {
        self.stop();
    }
}

/// The certificate the proxy serves (PEM), read from its volume.
fn served(target: &Target) -> String {
    common::docker(&[
        "exec",
        &target.container("proxy"),
        "cat",
        "/etc/nginx/topo-acme/certificate.pem",
    ])
}

#[test]
fn acme_issues_renews_under_load_persists_and_survives_a_failed_issuance() {
    if Command::new("pebble").arg("-help").output().is_err() {
        assert!(
            std::env::var("CI").is_err(),
            "pebble is missing (.ci/run installs Debian's pebble)"
        );
        eprintln!("skipped: no pebble (apt-get install pebble)");
        return;
    }
    let https_port = common::free_port();
    let Some(target) = Target::new("acme", "dacme", |t| {
        t.replace(
            "[proxy]\n",
            &format!("[proxy]\nhttps_port = {https_port}\ntls = {{ acme = {{ email = \"ops@shop.test\", domains = [\"localhost\"], directory = \"https://localhost:1/dir\", ca_certificate = \"tls/ca.pem\" }} }}\n"),
        )
    }) else {
        return;
    };
    let tls_dir = target.dir.path().join("tls");
    std::fs::create_dir_all(&tls_dir).expect("tls dir");
    let (pebble_ca, _) = certificate(&tls_dir);
    let mut pebble = Pebble::start(&tls_dir, target.port);
    let topology = std::fs::read_to_string(target.topology()).expect("topology");
    std::fs::write(
        target.topology(),
        topology.replace("https://localhost:1/dir", &pebble.directory),
    )
    .expect("write");
    let deploy = |args: &[&str]| target.deploy_ok(args);

    // The first deploy: nginx starts on the placeholder, then the certificate is issued
    // over a real HTTP-01 challenge and served, signed by pebble's root.
    let first = deploy(&["--setup", "--tag", "v1"]);
    assert_eq!(
        first["certificate"]["action"], "issued",
        "{}",
        first["certificate"]
    );
    let root = pebble.issuing_root(&pebble_ca);
    let agent = client(&root);
    let url = format!("https://localhost:{https_port}/health");
    assert_eq!(
        agent
            .get(&url)
            .call()
            .expect("HTTPS with the issued certificate")
            .status(),
        200
    );
    let issued = served(&target);

    kept_by_no_op_dry_run_and_a_new_proxy(&target, &deploy, &issued);

    let current = renewals_under_load_fail_no_request(&target, &deploy, &root, &url, &issued);

    // The CA is gone: the renewal fails, is reported, and the last certificate is served.
    pebble.stop();
    let refused = deploy(&["--tag", "a2", "--renew-certificate"]);
    assert_eq!(
        refused["certificate"]["action"], "failed",
        "{}",
        refused["certificate"]
    );
    let detail = refused["certificate"]["detail"].as_str().expect("a detail");
    assert!(
        detail.contains("still serving the certificate valid until"),
        "{detail}"
    );
    assert_eq!(served(&target), current);
    assert_eq!(agent.get(&url).call().expect("still HTTPS").status(), 200);
    assert_eq!(refused["ok"], true, "a failed renewal fails no service");
}

/// Two renewals and two blue-green switches under HTTPS load: not one request fails, and
/// the certificate served changed. Returns it.
fn renewals_under_load_fail_no_request(
    target: &Target,
    deploy: &dyn Fn(&[&str]) -> Value,
    root: &str,
    url: &str,
    issued: &str,
) -> String {
    for tag in ["a1", "a2"] {
        target.derive(tag, "v1", &format!("RUN echo {tag} > /srv/www/version.txt"));
    }
    let load = {
        let (agent, url) = (client(root), url.to_owned());
        Load::with(2, Duration::from_millis(5), move || {
            agent.get(&url).call().map(|r| r.status().as_u16()).ok() == Some(200)
        })
    };
    let started = Instant::now();
    let renewed = deploy(&["--tag", "v1", "--renew-certificate"]);
    let renewal = started.elapsed();
    assert_eq!(
        renewed["certificate"]["action"], "renewed",
        "{}",
        renewed["certificate"]
    );
    deploy(&["--tag", "a1", "web"]);
    let both = deploy(&["--tag", "a2", "--renew-certificate", "web"]);
    assert_eq!(
        both["certificate"]["action"], "renewed",
        "{}",
        both["certificate"]
    );
    let (sent, failed) = load.finish();
    eprintln!(
        "ACME: 2 renewals and 2 blue-green deploys under HTTPS load: {sent} requests, {failed} failed; a renewing no-op deploy took {:.1} s",
        renewal.as_secs_f64()
    );
    assert!(sent > 100, "the load ran ({sent})");
    assert_eq!(
        failed, 0,
        "HTTPS requests failed during renewals ({failed} of {sent})"
    );
    let current = served(target);
    assert_ne!(current, issued, "renewal changed nothing");
    current
}

/// A no-op deploy keeps the certificate, a dry run only says it is due (when asked to
/// renew), and a new proxy container serves the same one (it is in a volume).
fn kept_by_no_op_dry_run_and_a_new_proxy(
    target: &Target,
    deploy: &dyn Fn(&[&str]) -> Value,
    issued: &str,
) {
    let again = deploy(&["--tag", "v1"]);
    assert_eq!(
        again["certificate"]["action"], "kept",
        "{}",
        again["certificate"]
    );
    // A dry run says what a deploy would do, and orders nothing.
    let preview = deploy(&["--dry-run", "--tag", "v1", "--renew-certificate"]);
    assert_eq!(
        preview["certificate"]["action"], "due",
        "{}",
        preview["certificate"]
    );
    assert_eq!(served(target), issued, "a dry run changed the certificate");
    common::docker(&["rm", "-f", &target.container("proxy")]);
    let recreated = deploy(&["--setup", "--tag", "v1"]);
    assert_eq!(
        recreated["certificate"]["action"], "kept",
        "{}",
        recreated["certificate"]
    );
    assert_eq!(
        served(target),
        issued,
        "the proxy's new container lost the certificate"
    );
}
