//! HTTPS at the proxy from a certificate file and a key held by a variable: HTTP redirects,
//! HTTPS answers with HSTS and offers HTTP/2, and blue-green deploys under HTTPS load drop
//! no request. The certificate is made by the test with openssl (no CA can be reached).

use std::process::Command;
use std::time::Duration;

use crate::{common, text_of, Load, Target};

/// A test CA and a certificate it signed for localhost: (CA PEM, key PEM); the chain is
/// written to `dir/cert.pem`.
pub(crate) fn certificate(dir: &std::path::Path) -> (String, String) {
    const SCRIPT: &str = r#"
        set -e
        openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj "/CN=topo test CA" \
          -keyout ca-key.pem -out ca.pem 2>/dev/null
        openssl req -newkey rsa:2048 -nodes -subj "/CN=localhost" -keyout key.pem -out leaf.csr 2>/dev/null
        printf 'subjectAltName=DNS:localhost,IP:127.0.0.1\nextendedKeyUsage=serverAuth\n' > leaf.ext
        openssl x509 -req -in leaf.csr -CA ca.pem -CAkey ca-key.pem -CAcreateserial -days 2 \
          -extfile leaf.ext -out cert.pem 2>/dev/null
    "#;
    let output = Command::new("sh")
        .args(["-c", SCRIPT])
        .current_dir(dir)
        .output()
        .expect("openssl runs");
    assert!(output.status.success(), "{}", text_of(&output.stderr));
    (
        std::fs::read_to_string(dir.join("ca.pem")).expect("CA certificate"),
        std::fs::read_to_string(dir.join("key.pem")).expect("key"),
    )
}

/// An HTTPS client trusting only `certificate`, one new connection per request.
pub(crate) fn client(certificate: &str) -> ureq::Agent {
    let root = ureq::tls::Certificate::from_pem(certificate.as_bytes()).expect("a PEM certificate");
    let tls = ureq::tls::TlsConfig::builder()
        .root_certs(ureq::tls::RootCerts::new_with_certs(&[root]))
        .build();
    ureq::Agent::config_builder()
        .tls_config(tls)
        .max_idle_connections(0)
        .http_status_as_error(false)
        .timeout_global(Some(Duration::from_secs(5)))
        .build()
        .new_agent()
}

#[test]
fn https_redirects_serves_with_hsts_and_h2_and_switches_without_a_failed_request() {
    let https_port = common::free_port();
    let Some(target) = Target::new("https", "dhttps", |t| {
        t.replace(
            "[proxy]\n",
            &format!("[proxy]\nhttps_port = {https_port}\ntls = {{ certificate = \"tls/cert.pem\", key = {{ secret = \"SHOP_TLS_KEY\" }} }}\n"),
        )
    }) else {
        return;
    };
    let tls_dir = target.dir.path().join("tls");
    std::fs::create_dir_all(&tls_dir).expect("tls dir");
    let (certificate, key) = certificate(&tls_dir);
    let deploy = |args: &[&str]| {
        let mut all = vec!["deploy", "--format", "json"];
        all.extend_from_slice(args);
        let output = target
            .sim_command(&all)
            .env("SHOP_TLS_KEY", &key)
            .output()
            .expect("topo-sim runs");
        assert!(
            output.status.success(),
            "{}\n{}",
            text_of(&output.stdout),
            text_of(&output.stderr)
        );
    };
    deploy(&["--setup", "--tag", "v1"]);

    serves_https(&target, &certificate, https_port);
    let agent = client(&certificate);
    let url = format!("https://localhost:{https_port}/health");

    // Five blue-green deploys under HTTPS load: not one request fails.
    let tags = ["h1", "h2", "h3", "h4", "h5"];
    for tag in tags {
        target.derive(tag, "v1", &format!("RUN echo {tag} > /srv/www/version.txt"));
    }
    let load = {
        let (agent, url) = (client(&certificate), url.clone());
        Load::with(2, Duration::from_millis(5), move || {
            agent.get(&url).call().map(|r| r.status().as_u16()).ok() == Some(200)
        })
    };
    for tag in tags {
        deploy(&["--tag", tag, "web"]);
    }
    let (sent, failed) = load.finish();
    eprintln!("HTTPS: 5 blue-green deploys, {sent} requests, {failed} failed");
    assert!(sent > 100, "the load ran ({sent})");
    assert_eq!(
        failed, 0,
        "HTTPS requests failed during blue-green deploys ({failed} of {sent})"
    );
    let answer = agent
        .get(&format!("https://localhost:{https_port}/version.txt"))
        .call()
        .expect("an answer");
    assert_eq!(
        answer.into_body().read_to_string().expect("body").trim(),
        "h5"
    );
}

/// HTTP only redirects, to the HTTPS port; HTTPS serves with HSTS and offers HTTP/2; the key
/// is in no container configuration and readable by its owner only.
fn serves_https(target: &Target, certificate: &str, https_port: u16) {
    // HTTP only redirects, to the HTTPS port.
    let response = crate::raw_get(target.port, "/health");
    assert!(response.starts_with("HTTP/1.1 301"), "{response}");
    assert!(
        response.contains(&format!("Location: https://localhost:{https_port}/health")),
        "{response}"
    );
    // HTTPS serves, with HSTS, and offers HTTP/2.
    let agent = client(certificate);
    let url = format!("https://localhost:{https_port}/health");
    let answer = agent.get(&url).call().expect("an HTTPS answer");
    assert_eq!(answer.status(), 200);
    assert_eq!(
        answer
            .headers()
            .get("strict-transport-security")
            .and_then(|v| v.to_str().ok()),
        Some("max-age=31536000")
    );
    let alpn = Command::new("sh")
        .arg("-c")
        .arg(format!(
            "openssl s_client -alpn h2 -connect 127.0.0.1:{https_port} </dev/null 2>&1"
        ))
        .output()
        .expect("openssl s_client runs");
    assert!(
        text_of(&alpn.stdout).contains("ALPN protocol: h2"),
        "{}",
        text_of(&alpn.stdout)
    );
    // The key is never in a container's configuration, and is readable by its owner only.
    let proxy = common::inspect("container", "dhttps-proxy");
    assert!(!proxy.to_string().contains("PRIVATE KEY"));
    let mode = common::docker(&[
        "exec",
        "dhttps-proxy",
        "stat",
        "-c",
        "%a",
        "/etc/nginx/topo-tls-key.pem",
    ]);
    assert_eq!(mode.trim(), "400");
}
