//! `docker compose config` (Compose v2) accepts every rendered file.

mod common;

use std::process::Command;

use topo_core::RenderOptions;

#[test]
fn docker_compose_accepts_every_rendered_file() {
    if !common::compose_v2_available("docker_compose_accepts_every_rendered_file") {
        return;
    }
    let directory = tempfile::tempdir().expect("a temporary directory");
    for (name, text) in common::valid_fixtures() {
        let topology = common::load_valid(&name, &text);
        for file in topo_core::render_all(&topology, &RenderOptions::default()) {
            let path = directory.path().join(format!("{name}-{}", file.file_name));
            std::fs::write(&path, &file.contents).expect("write the rendered file");
            let spec =
                topo_core::runtime_spec(&topology, file.mode, &topo_core::SpecOptions::default());
            if spec.swarm {
                stack_config_accepts(&name, &path, &spec);
                continue;
            }
            // Production needs its tag and secrets from the environment, as on a real host.
            let output = Command::new("docker")
                .args(["compose", "-f"])
                .arg(&path)
                .args(["config", "--format", "json"])
                .envs([
                    ("TAG", "1.0.0"),
                    ("RELEASE", "1.0.0"),
                    ("DB_PASSWORD", "s"),
                    ("PG_PASSWORD", "s"),
                    ("SUPERADMIN_PASSWORD", "s"),
                    ("COOKIE_SECRET", "s"),
                    ("STRIPE_KEY", "s"),
                    ("SESSION_SECRET", "s"),
                ])
                .output()
                .expect("docker compose runs");
            assert!(
                output.status.success(),
                "{name}/{}: docker compose config failed:\n{}",
                file.file_name,
                String::from_utf8_lossy(&output.stderr)
            );
            // Compose read what we meant: container names and the network survive normalisation.
            let normalised: serde_json::Value =
                serde_json::from_slice(&output.stdout).expect("compose prints JSON");
            for container in &spec.containers {
                let service = &normalised["services"][&container.name];
                assert_eq!(
                    service["container_name"],
                    container.name.as_str(),
                    "{name}/{}",
                    file.file_name
                );
                assert!(
                    service["networks"].get(&spec.network.name).is_some(),
                    "{name}/{}: {} not on {}",
                    file.file_name,
                    container.name,
                    spec.network.name
                );
            }
            assert_eq!(
                normalised["networks"][&spec.network.name]["name"],
                spec.network.name.as_str()
            );
        }
    }
}

/// `docker stack config` (the stack loader of `docker stack deploy`) accepts a Swarm
/// production file, and reads each service's replicas and the overlay network from it.
fn stack_config_accepts(name: &str, path: &std::path::Path, spec: &topo_core::RuntimeSpec) {
    let output = Command::new("docker")
        .args(["stack", "config", "-c"])
        .arg(path)
        .envs([("TAG", "1.0.0"), ("DB_PASSWORD", "s")])
        .output()
        .expect("docker stack config runs");
    assert!(
        output.status.success(),
        "{name}: docker stack config failed:\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let normalised: serde_json::Value =
        serde_saphyr::from_str(&String::from_utf8_lossy(&output.stdout))
            .expect("docker stack config prints YAML");
    for container in &spec.containers {
        let service = &normalised["services"][&container.name];
        assert_eq!(
            service["deploy"]["replicas"].as_u64(),
            Some(u64::from(container.replicas)),
            "{name}: {}",
            container.name
        );
        assert_eq!(service["deploy"]["endpoint_mode"], "dnsrr", "{name}");
    }
    assert_eq!(
        normalised["networks"][&spec.network.name]["driver"],
        "overlay"
    );
    // Without its tag, the stack is refused before anything is deployed.
    let output = Command::new("docker")
        .args(["stack", "config", "-c"])
        .arg(path)
        .env_remove("TAG")
        .env("DB_PASSWORD", "s")
        .output()
        .expect("docker stack config runs");
    assert!(!output.status.success(), "{name}: accepted without TAG");
}

#[test]
fn production_refuses_to_start_without_its_tag_and_secrets() {
    if !common::compose_v2_available("production_refuses_to_start_without_its_tag_and_secrets") {
        return;
    }
    let directory = tempfile::tempdir().expect("a temporary directory");
    let topology = common::load_valid("vendure", topo_core::example::VENDURE);
    let file = topo_core::render(
        &topology,
        topo_core::Mode::Production,
        &RenderOptions::default(),
    );
    let path = directory.path().join(&file.file_name);
    std::fs::write(&path, &file.contents).expect("write");
    let output = Command::new("docker")
        .args(["compose", "-f"])
        .arg(&path)
        .args(["config", "-q"])
        .env_remove("TAG")
        .env_remove("DB_PASSWORD")
        .output()
        .expect("docker compose runs");
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("must be set") || stderr.contains("to the image tag"),
        "{stderr}"
    );
}
