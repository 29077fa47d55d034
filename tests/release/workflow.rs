//! The example workflow (examples/github-actions/deploy.yml), every `run:` step run by bash
//! with GitHub's environment emulated (tests/release/actions.rs), against a real registry
//! over TLS and a namespaced production engine over mutual TLS: the first release deploys
//! everything; a push to `main` that changes one service builds and pushes exactly its
//! image and deploys nothing; the tag that follows deploys exactly that service (every other
//! container keeps its id and start time) and moves only its registry tag; a tag with no
//! change builds, pushes and restarts nothing.

use std::collections::BTreeMap;
use std::process::Command;

use super::actions::{RunResult, Runner, Trigger};
use super::push::{repo_for, Registry};
use super::remote::RemoteEngine;
use super::{text, Repo};
use crate::common;

const PROJECT: &str = "relflow";

/// The second service with an image of its own, and the release rule of docs/ci.md (a push
/// to main builds, a `v*` tag deploys), appended to the deploy fixture.
const API: &str = r#"
[[services]]
role = "api"
context = "apps/api"
command = { dev = ["true"], prod = ["sh", "-c", "trap 'kill $pid; exit 0' TERM; httpd -f -p 8080 -h /srv/www & pid=$!; wait"] }
depends_on = { db = "healthy" }
health = { http = "/health", port = 8080, interval = "1s", timeout = "1s", retries = 3, start_period = "1s" }

[ci]
deploy_on = ["tag:v*", "manual"]
"#;

/// Each container's id and start time on the production engine.
fn containers(remote: &RemoteEngine) -> BTreeMap<String, String> {
    let listed = remote.docker(&[
        "ps",
        "-a",
        "--filter",
        &format!("label=topo.project={PROJECT}"),
        "--format",
        "{{.Names}}",
    ]);
    text(&listed.stdout)
        .lines()
        .map(|name| {
            let state = remote.docker(&["inspect", "-f", "{{.Id}} {{.State.StartedAt}}", name]);
            (name.to_owned(), text(&state.stdout).trim().to_owned())
        })
        .collect()
}

fn assert_succeeded(run: &RunResult, jobs: &[&str]) {
    for job in jobs {
        assert_eq!(
            run.results.get(*job).map(String::as_str),
            Some("success"),
            "{job}: {:?}\n{}",
            run.results,
            run.failures.join("\n")
        );
    }
}

/// The digest `repository:tag` names in the registry.
fn registry_digest(registry: &Registry, config: &str, repository: &str, tag: &str) -> String {
    let output = Command::new("docker")
        .env("DOCKER_CONFIG", config)
        .args(["manifest", "inspect", "--insecure", "-v"])
        .arg(format!("{}/{repository}:{tag}", registry.host()))
        .output()
        .expect("docker runs");
    let value: serde_json::Value = serde_json::from_slice(&output.stdout)
        .unwrap_or_else(|e| panic!("{repository}:{tag}: {e}: {}", text(&output.stderr)));
    value["Descriptor"]["digest"]
        .as_str()
        .expect("a digest")
        .to_owned()
}

#[test]
fn the_example_workflow_builds_pushes_and_deploys_what_changed() {
    let test = "the_example_workflow_builds_pushes_and_deploys_what_changed";
    if !common::docker_available(test) {
        return;
    }
    let Some((remote, registry)) = RemoteEngine::start_with_registry(test) else {
        return;
    };
    common::ensure_test_images();
    common::remove_project(PROJECT);
    let repo = team_repository(&registry);
    // The production host has the fixed images (database, proxy); the application's come
    // from the registry.
    remote.load(&["topo-test/postgres:17", "topo-test/nginx:latest"]);

    let runner = example_runner(&repo, &remote, &registry);
    let config = registry.docker_config().display().to_string();
    let tag = |name: &str| Trigger {
        ref_type: "tag",
        ref_name: name.to_owned(),
    };

    // 1. The first release: everything is built, pushed and deployed; the tags record it.
    let first = runner.run(&tag("v1.0.0"));
    assert_succeeded(&first, &["plan", "build", "deploy"]);
    let deployed = assert_everything_deployed(&first, &remote, &registry);
    let web_production = registry_digest(&registry, &config, "acme/relflow-web", "production");
    let api_production = registry_digest(&registry, &config, "acme/relflow-api", "production");

    // 2. A push to main changing the api only: its image is built and pushed, nothing is
    //    deployed and no production tag moves.
    std::fs::write(repo.path().join("apps/api/www/version.txt"), "2\n").expect("write");
    repo.commit("api: version 2");
    let push = runner.run(&Trigger {
        ref_type: "branch",
        ref_name: "main".to_owned(),
    });
    assert_succeeded(&push, &["plan", "build"]);
    assert_eq!(push.results["deploy"], "skipped", "{:?}", push.results);
    let images: Vec<String> =
        serde_json::from_str(&push.outputs["plan"]["images"]).expect("the images output");
    assert_eq!(images.len(), 1, "only the api's image is built: {images:?}");
    assert!(
        images[0].starts_with(&format!("{}/acme/relflow-api:", registry.host())),
        "{images:?}"
    );
    assert_eq!(
        containers(&remote),
        deployed,
        "a push to main deploys nothing"
    );
    assert_eq!(
        registry_digest(&registry, &config, "acme/relflow-api", "production"),
        api_production
    );

    // 3. The tag that follows: exactly the api is deployed (its image already pushed, not
    //    rebuilt); every other container keeps its id and start time; only its tag moves.
    repo.git(&["tag", "v1.1.0"]);
    let release = runner.run(&tag("v1.1.0"));
    assert_succeeded(&release, &["plan", "build", "deploy"]);
    assert!(
        release.logs["build"].contains("already pushed"),
        "the api's image is not built again: {}",
        release.logs["build"]
    );
    let after = containers(&remote);
    for (name, state) in &deployed {
        if name == &format!("{PROJECT}-api") {
            assert_ne!(after.get(name), Some(state), "the api was replaced");
        } else {
            assert_eq!(after.get(name), Some(state), "{name} was touched");
        }
    }
    assert_ne!(
        registry_digest(&registry, &config, "acme/relflow-api", "production"),
        api_production,
        "the api's production tag moved"
    );
    assert_eq!(
        registry_digest(&registry, &config, "acme/relflow-web", "production"),
        web_production,
        "the web's production tag did not move"
    );

    // 4. A tag with nothing changed: nothing built, pushed or restarted.
    repo.git(&["tag", "v1.1.1"]);
    let noop = runner.run(&tag("v1.1.1"));
    assert_succeeded(&noop, &["plan"]);
    assert_eq!(noop.results["build"], "skipped", "{:?}", noop.results);
    assert_eq!(noop.results["deploy"], "skipped", "{:?}", noop.results);
    assert_eq!(containers(&remote), after);
    common::remove_project(PROJECT);
}

/// The team's repository: the deploy fixture with a second service of its own image,
/// publishing to the test's registry, its database secret named as the workflow's, tagged
/// `v1.0.0`.
fn team_repository(registry: &Registry) -> Repo {
    let repo = repo_for(registry, PROJECT);
    common::copy_dir(&repo.path().join("apps/web"), &repo.path().join("apps/api"));
    let topology = repo.path().join("topology.toml");
    let text_of = std::fs::read_to_string(&topology).expect("topology");
    std::fs::write(
        &topology,
        format!(
            "{}{API}",
            text_of.replace("SHOP_DB_PASSWORD", "DB_PASSWORD")
        ),
    )
    .expect("write");
    repo.commit("an api service");
    repo.git(&["tag", "v1.0.0"]);
    repo
}

/// The repository's secrets the workflow reads: the registry's user, the production engine's
/// address and certificates, the database password.
fn secrets_of(remote: &RemoteEngine) -> BTreeMap<String, String> {
    let read = |which: &str| {
        std::fs::read_to_string(remote.cert_path("client").join(which)).expect("certificate")
    };
    [
        ("REGISTRY_USER", "ci".to_owned()),
        ("REGISTRY_PASSWORD", "secret".to_owned()),
        ("DEPLOY_HOST", remote.host()),
        ("DEPLOY_CA", read("ca.pem")),
        ("DEPLOY_CERT", read("cert.pem")),
        ("DEPLOY_KEY", read("key.pem")),
        ("DB_PASSWORD", "production-secret".to_owned()),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_owned(), v))
    .collect()
}

/// After the first release: every container is on the host, every service's production tag
/// is in the registry, the deploy's summary on the run's page. The containers' states.
fn assert_everything_deployed(
    first: &RunResult,
    remote: &RemoteEngine,
    registry: &Registry,
) -> BTreeMap<String, String> {
    let deployed = containers(remote);
    for name in ["db", "proxy", "web", "api", "worker", "migrate"] {
        assert!(
            deployed.contains_key(&format!("{PROJECT}-{name}")),
            "{name} is not on the host: {deployed:?}"
        );
    }
    for (repository, tag) in [
        ("acme/relflow-web", "production"),
        ("acme/relflow-web", "production.worker"),
        ("acme/relflow-web", "production.migrate"),
        ("acme/relflow-api", "production"),
    ] {
        assert!(registry.has(repository, tag), "{repository}:{tag}");
    }
    assert!(
        first.summaries["deploy"].contains("relflow-api"),
        "the deploy summary is on the run's page: {}",
        first.summaries["deploy"]
    );
    deployed
}

/// The example workflow, run against `repo` with the secrets and variables of this setup.
fn example_runner<'a>(repo: &'a Repo, remote: &RemoteEngine, registry: &Registry) -> Runner<'a> {
    let bin = assert_cmd::cargo::cargo_bin("topo");
    let example =
        std::fs::read_to_string(common::root().join("examples/github-actions/deploy.yml"))
            .expect("the example workflow");
    Runner {
        workflow: serde_saphyr::from_str(&example).expect("valid YAML"),
        repository: repo.path(),
        secrets: secrets_of(remote),
        vars: [("REGISTRY".to_owned(), registry.host())]
            .into_iter()
            .collect(),
        path: bin.parent().expect("bin dir").display().to_string(),
    }
}
