//! `topo deploy --images build.json`: production containers created from
//! `<repository>@sha256:…`, the tag kept in labels, "unchanged" decided by the image the
//! container runs (a tag pushed again changes nothing), and images that cannot be had
//! refused together before any change.

use std::process::{Command, Output};

use serde_json::Value;

use super::push::Registry;
use super::{text, Repo};
use crate::common;

/// Removes the project's containers, network and volumes (its images go with the repo).
struct Stack(String);

impl Drop for Stack {
    fn drop(&mut self) {
        common::remove_project(&self.0);
    }
}

fn deploy(repo: &Repo, registry: &Registry, args: &[&str]) -> (Output, Value) {
    let config = registry.docker_config().display().to_string();
    let mut all = vec!["deploy", "--format", "json"];
    all.extend_from_slice(args);
    let output = repo.topo_with(
        &[
            ("DOCKER_CONFIG", config.as_str()),
            ("SHOP_DB_PASSWORD", "production-secret"),
            ("CI", "true"),
        ],
        &all,
    );
    let summary = serde_json::from_slice(&output.stdout).unwrap_or(Value::Null);
    (output, summary)
}

fn identity(container: &str) -> (String, String) {
    let info = common::inspect("container", container);
    (
        info["Id"].as_str().unwrap_or_default().to_owned(),
        info["State"]["StartedAt"]
            .as_str()
            .unwrap_or_default()
            .to_owned(),
    )
}

#[test]
fn deploy_runs_the_pushed_digest_and_a_tag_pushed_again_changes_nothing() {
    let test = "deploy_runs_the_pushed_digest_and_a_tag_pushed_again_changes_nothing";
    if !common::docker_available(test) {
        return;
    }
    let Some(registry) = Registry::start(test) else {
        return;
    };
    common::ensure_test_images();
    let repo = super::push::repo_for(&registry, "reldigest");
    let _stack = Stack("reldigest".to_owned());
    let config = registry.docker_config().display().to_string();
    let report = repo.build_with(
        &[("DOCKER_CONFIG", config.as_str())],
        &["--push", "--report", "build.json"],
    );
    let image = &report.images[0];
    let digest = image.digest.clone().expect("pushed");
    let (output, summary) = deploy(&repo, &registry, &["--setup", "--images", "build.json"]);
    assert!(output.status.success(), "{}", text(&output.stderr));
    assert_eq!(summary["ok"], true, "{summary}");
    // Created from the digest; the tag and the digest in its labels.
    let web = common::inspect("container", "reldigest-web");
    let repository = image.image.rsplit_once(':').expect("tagged").0;
    assert_eq!(
        web["Config"]["Image"],
        format!("{repository}@{digest}").as_str()
    );
    assert_eq!(web["Config"]["Labels"]["topo.image"], image.image.as_str());
    assert_eq!(web["Config"]["Labels"]["topo.digest"], digest.as_str());
    let before = identity("reldigest-web");

    // Someone pushes another image under the same tag: the report's digest still decides.
    let other = format!("{}:{}", repository, image.fingerprint);
    let build = Command::new("docker")
        .args(["build", "-q", "-t", &other, "-"])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .and_then(|mut child| {
            use std::io::Write as _;
            child
                .stdin
                .take()
                .expect("stdin")
                .write_all(b"FROM topo-test/busybox:latest\nLABEL other=yes\n")?;
            child.wait_with_output()
        })
        .expect("docker build");
    assert!(build.status.success());
    let pushed = Command::new("docker")
        .env("DOCKER_CONFIG", &config)
        .args(["push", &other])
        .output()
        .expect("docker push");
    assert!(pushed.status.success(), "{}", text(&pushed.stderr));
    let (output, summary) = deploy(&repo, &registry, &["--images", "build.json"]);
    assert!(output.status.success(), "{}", text(&output.stderr));
    for service in summary["services"].as_array().expect("services") {
        assert_eq!(service["action"], "unchanged", "{service}");
    }
    assert_eq!(identity("reldigest-web"), before, "not restarted");

    // A digest the registry does not have: refused with every image listed, nothing changed.
    let mut missing = report.clone();
    missing.images[0].digest = Some(format!("sha256:{}", "0".repeat(64)));
    std::fs::write(repo.path().join("missing.json"), missing.to_json()).expect("write");
    let (output, _) = deploy(&repo, &registry, &["--images", "missing.json"]);
    let stderr = text(&output.stderr);
    assert_eq!(output.status.code(), Some(1), "{stderr}");
    assert!(
        stderr.contains("cannot be had, nothing was changed"),
        "{stderr}"
    );
    assert!(stderr.contains(&"0".repeat(64)), "{stderr}");
    assert_eq!(identity("reldigest-web"), before);
}
