//! topo-sim creates the containers Compose creates from the rendered prod-sim file, from a
//! prod target only BuildKit builds (a cache mount): both must build it.

use std::process::Command;

use assert_cmd::cargo::CommandCargoExt as _;
use serde_json::{json, Value};

use crate::{common, text, Stack};

/// What must be identical between a container Compose created from the rendered file and
/// the one topo-sim created from the spec.
fn container_facts(name: &str) -> Value {
    let c = common::inspect("container", name);
    let id = c["Id"].as_str().expect("id");
    let mut env: Vec<Value> = c["Config"]["Env"].as_array().cloned().unwrap_or_default();
    env.sort_by_key(|v| v.to_string());
    let image = common::inspect("image", c["Config"]["Image"].as_str().expect("image"));
    // The container's own labels: not Compose's, not those inherited from its image (topo
    // labels its images with their source digest and revision; the images are compared
    // by their build target and command below).
    let labels: serde_json::Map<String, Value> = c["Config"]["Labels"]
        .as_object()
        .expect("labels")
        .iter()
        .filter(|(k, _)| {
            let topo_own = [
                "topo.project",
                "topo.mode",
                "topo.service",
                "topo.config-hash",
            ];
            let from_image = image["Config"]["Labels"].get(k.as_str()).is_some();
            !k.starts_with("com.docker.compose.") && (topo_own.contains(&k.as_str()) || !from_image)
        })
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect();
    // Secret files arrive differently: Compose bind-mounts each file `topo secrets` wrote,
    // topo-sim uploads them into a volume of their own. What the process reads is compared
    // instead: each file's permissions and contents.
    let secrets = "/run/secrets";
    let mut mounts: Vec<Value> = c["Mounts"]
        .as_array()
        .expect("mounts")
        .iter()
        .filter(|m| {
            !m["Destination"]
                .as_str()
                .is_some_and(|d| d.starts_with(secrets))
        })
        .map(|m| json!([m["Type"], m["Name"], m["Destination"], m["RW"]]))
        .collect();
    let secret_files = if c["State"]["Running"] == json!(true) {
        common::docker(&[
            "exec",
            name,
            "sh",
            "-c",
            "cd /run/secrets 2>/dev/null && for f in *; do [ -f \"$f\" ] && echo \"$f $(stat -c %a \"$f\") $(cat \"$f\")\"; done; true",
        ])
    } else {
        "(not running)".to_owned()
    };
    mounts.sort_by_key(|v| v.to_string());
    let networks: serde_json::Map<String, Value> = c["NetworkSettings"]["Networks"]
        .as_object()
        .expect("networks")
        .iter()
        .map(|(network, endpoint)| {
            let mut aliases: Vec<String> = endpoint["Aliases"]
                .as_array()
                .into_iter()
                .flatten()
                .filter_map(Value::as_str)
                // The engine adds the short container id on its own.
                .filter(|a| !id.starts_with(a))
                .map(str::to_owned)
                .collect();
            aliases.sort();
            aliases.dedup();
            (network.clone(), json!(aliases))
        })
        .collect();
    json!({
        "name": c["Name"],
        "image": c["Config"]["Image"],
        "image_stage": image["Config"]["Labels"]["topo.test.stage"],
        "image_cmd": image["Config"]["Cmd"],
        "cmd": c["Config"]["Cmd"],
        "entrypoint": c["Config"]["Entrypoint"],
        "env": env,
        "labels": labels,
        "mounts": mounts,
        "networks": networks,
        "healthcheck": c["Config"]["Healthcheck"],
        "restart": c["HostConfig"]["RestartPolicy"],
        "ports": c["HostConfig"]["PortBindings"],
        "exposed": c["Config"]["ExposedPorts"],
        "security_opt": c["HostConfig"]["SecurityOpt"],
        "log_config": c["HostConfig"]["LogConfig"],
        // The confinement of prod-sim: the same limits, capabilities and filesystem.
        "read_only": c["HostConfig"]["ReadonlyRootfs"],
        "tmpfs": c["HostConfig"]["Tmpfs"],
        "cap_drop": c["HostConfig"]["CapDrop"],
        "cap_add": c["HostConfig"]["CapAdd"],
        "memory": c["HostConfig"]["Memory"],
        "nano_cpus": c["HostConfig"]["NanoCpus"],
        "pids_limit": c["HostConfig"]["PidsLimit"],
        "stop_timeout": c["Config"]["StopTimeout"],
        "secret_files": secret_files,
    })
}

#[test]
fn parity_with_compose_on_the_rendered_prod_sim_file() {
    let Some(stack) = Stack::new("parity with compose", "simparity", |t| t) else {
        return;
    };
    if !common::compose_v2_available("parity with compose") {
        return;
    }
    let dockerfile = stack.dir.path().join("apps/web/Dockerfile");
    let original = std::fs::read_to_string(&dockerfile).expect("Dockerfile");
    std::fs::write(
        &dockerfile,
        original.replace(
            "COPY www /srv/www",
            "COPY www /srv/www\nRUN --mount=type=cache,target=/cache echo built >> /cache/log && cp /cache/log /srv/www/builds.txt",
        ),
    )
    .expect("write");
    let render = Command::cargo_bin("topo")
        .expect("topo")
        .args(["render", "--mode", "prod-sim", "-t"])
        .arg(stack.topology())
        .output()
        .expect("topo runs");
    assert!(render.status.success(), "{}", text(&render.stderr));
    // The secret files the rendered file reads, from the local defaults.
    let secrets = Command::cargo_bin("topo")
        .expect("topo")
        .args(["secrets", "--mode", "prod-sim", "-t"])
        .arg(stack.topology())
        .env_remove("SHOP_DB_PASSWORD")
        .env_remove("TOPO_SECRETS_DIR")
        .output()
        .expect("topo runs");
    assert!(secrets.status.success(), "{}", text(&secrets.stderr));
    assert!(
        text(&secrets.stdout).contains("SHOP_DB_PASSWORD (444, from its local default)"),
        "{}",
        text(&secrets.stdout)
    );
    let roles = ["db", "migrate", "web", "worker"];
    let compose = |args: &[&str]| {
        let output = Command::new("docker")
            .args(["compose", "-f", "docker-compose.prod-sim.yml"])
            .args(args)
            .current_dir(stack.dir.path())
            .env_remove("SHOP_DB_PASSWORD")
            .output()
            .expect("docker compose runs");
        assert!(
            output.status.success(),
            "docker compose {args:?}: {}",
            text(&output.stderr)
        );
    };
    compose(&["up", "-d", "--build", "--wait"]);
    let by_compose: Vec<Value> = roles
        .iter()
        .map(|r| container_facts(&stack.container(r)))
        .collect();
    compose(&["down", "-v"]);
    assert_eq!(
        stack.leftovers(),
        Vec::<String>::new(),
        "compose down left objects"
    );

    let output = stack.sim(&["up"]);
    assert!(output.status.success(), "{}", text(&output.stdout));
    let by_topo: Vec<Value> = roles
        .iter()
        .map(|r| container_facts(&stack.container(r)))
        .collect();
    for (compose, topo) in by_compose.iter().zip(&by_topo) {
        assert_eq!(
            compose,
            topo,
            "compose (left) and topo-sim (right) differ:\n{}",
            diff(compose, topo)
        );
    }
}

/// The keys whose values differ, for a readable failure.
fn diff(left: &Value, right: &Value) -> String {
    let (Some(left), Some(right)) = (left.as_object(), right.as_object()) else {
        return String::new();
    };
    left.iter()
        .filter(|(k, v)| right.get(*k) != Some(v))
        .map(|(k, v)| format!("{k}: {v} != {}", right.get(k).unwrap_or(&Value::Null)))
        .collect::<Vec<_>>()
        .join("\n")
}
