//! The production path across machines: CI's engine builds and pushes to a registry over
//! TLS (its CA trusted through `/etc/docker/certs.d`), the namespaced "production host"
//! pulls by digest with the credentials `topo deploy` passes, over mutual TLS.

use super::remote::RemoteEngine;
use super::text;
use crate::common;

#[test]
fn the_remote_engine_pulls_by_digest_what_ci_pushed() {
    let test = "the_remote_engine_pulls_by_digest_what_ci_pushed";
    if !common::docker_available(test) {
        return;
    }
    let Some((remote, registry)) = RemoteEngine::start_with_registry(test) else {
        return;
    };
    common::ensure_test_images();
    let repo = super::push::repo_for(&registry, "relpull");
    let config = registry.docker_config().display().to_string();
    let report = repo.build_with(
        &[("DOCKER_CONFIG", config.as_str())],
        &["--push", "--report", "build.json"],
    );
    let digest = report.images[0].digest.clone().expect("pushed");
    // The host has the fixed images (database, proxy) but not the application's.
    remote.load(&["topo-test/postgres:17", "topo-test/nginx:latest"]);
    let certs = remote.cert_path("client").display().to_string();
    let host = remote.host();
    let deploy = |docker_config: &str| {
        repo.topo_with(
            &[
                ("DOCKER_CONFIG", docker_config),
                ("DOCKER_TLS_VERIFY", "1"),
                ("DOCKER_CERT_PATH", certs.as_str()),
                ("SHOP_DB_PASSWORD", "production-secret"),
            ],
            &[
                "deploy",
                "--host",
                &host,
                "--setup",
                "--images",
                "build.json",
            ],
        )
    };
    // Without credentials the host cannot pull: refused before any change, the image named.
    let empty = tempfile::tempdir().expect("tempdir");
    let output = deploy(&empty.path().display().to_string());
    let stderr = text(&output.stderr);
    assert_eq!(output.status.code(), Some(1), "{stderr}");
    assert!(
        stderr.contains("cannot be had") && stderr.contains(&digest),
        "{stderr}"
    );
    let none = text(
        &remote
            .docker(&["ps", "-aq", "--filter", "label=topo.project=relpull"])
            .stdout,
    );
    assert!(none.trim().is_empty(), "a refused deploy created {none}");
    // With them, it pulls the digest CI pushed and runs it.
    let output = deploy(&config);
    assert!(output.status.success(), "{}", text(&output.stderr));
    let image = text(
        &remote
            .docker(&["inspect", "-f", "{{.Config.Image}}", "relpull-web"])
            .stdout,
    );
    assert!(image.trim().ends_with(&format!("@{digest}")), "{image}");
    let pulled = text(
        &remote
            .docker(&[
                "image",
                "inspect",
                "-f",
                "{{json .RepoDigests}}",
                image.trim(),
            ])
            .stdout,
    );
    assert!(pulled.contains(&digest), "{pulled}");
}
