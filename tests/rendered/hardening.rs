//! The production render judged by 11 checks taken from KICS's Docker Compose queries and
//! section 5 of the CIS Docker Benchmark, on the Vendure example's long-running services
//! (jobs excepted): each must pass at least 10 by default.

use serde_json::Value;

/// The checks, in the order of the table in docs/deploy.md.
const CHECKS: [&str; 11] = [
    "memory limit",
    "CPU limit",
    "pids limit",
    "capabilities: drop ALL",
    "no-new-privileges",
    "health check",
    "user-defined network",
    "ports bound to an interface",
    "read-only root filesystem",
    "not privileged, no docker.sock",
    "no secret in an environment variable",
];

/// Which checks `service` passes (`proxy`: the public proxy may publish on every interface).
fn passes(service: &Value, proxy: bool) -> [bool; 11] {
    let list = |key: &str| -> Vec<String> {
        service[key]
            .as_array()
            .map(|a| {
                a.iter()
                    .filter_map(|v| v.as_str().map(str::to_owned))
                    .collect()
            })
            .unwrap_or_default()
    };
    let limits = &service["deploy"]["resources"]["limits"];
    let secret_name = |name: &str| {
        let upper = name.to_ascii_uppercase();
        ["PASSWORD", "SECRET", "TOKEN", "KEY"]
            .iter()
            .any(|w| upper.contains(w))
            && !upper.ends_with("_FILE")
    };
    let env_secret = service["environment"]
        .as_object()
        .is_some_and(|env| env.keys().any(|k| secret_name(k)));
    let ports_bound = service["ports"].as_array().is_none_or(|ports| {
        proxy
            || ports.iter().all(|p| {
                p["host_ip"]
                    .as_str()
                    .is_some_and(|ip| ip != "0.0.0.0" && ip != "::")
            })
    });
    let docker_sock = service["volumes"]
        .as_array()
        .is_some_and(|v| v.iter().any(|m| m.to_string().contains("docker.sock")));
    [
        !service["mem_limit"].is_null() || !limits["memory"].is_null(),
        !service["cpus"].is_null() || !limits["cpus"].is_null(),
        !service["pids_limit"].is_null() || !limits["pids"].is_null(),
        list("cap_drop")
            .iter()
            .any(|c| c.eq_ignore_ascii_case("ALL")),
        list("security_opt")
            .iter()
            .any(|o| o.starts_with("no-new-privileges") && !o.ends_with("false")),
        service["healthcheck"].is_object() && service["healthcheck"]["disable"] != true,
        service["networks"].is_object() && service["network_mode"].is_null(),
        ports_bound,
        service["read_only"] == true,
        service["privileged"] != true && !docker_sock,
        !env_secret,
    ]
}

#[test]
fn the_production_render_passes_at_least_10_of_11_checks_on_every_long_running_service() {
    let text = std::fs::read_to_string(
        crate::common::root().join("examples/vendure/docker-compose.prod.yml"),
    )
    .expect("the example's production file");
    let document: Value = serde_saphyr::from_str(&text).expect("YAML");
    let services = document["services"].as_object().expect("services");
    let mut table = String::from("| check |");
    let mut columns = Vec::new();
    for (name, service) in services {
        if service["restart"] != "unless-stopped" {
            continue; // a one-shot job
        }
        table.push_str(&format!(" {name} |"));
        columns.push((name, passes(service, name.ends_with("-proxy"))));
    }
    table.push_str(&format!("\n|---|{}\n", "---|".repeat(columns.len())));
    for (i, check) in CHECKS.iter().enumerate() {
        table.push_str(&format!("| {check} |"));
        for (_, passed) in &columns {
            table.push_str(if passed[i] { " yes |" } else { " no |" });
        }
        table.push('\n');
    }
    table.push_str("| passed |");
    for (_, passed) in &columns {
        table.push_str(&format!(" {}/11 |", passed.iter().filter(|p| **p).count()));
    }
    eprintln!("{table}");
    assert!(columns.len() >= 5, "db, server, worker, storefront, proxy");
    for (name, passed) in &columns {
        let count = passed.iter().filter(|p| **p).count();
        assert!(count >= 10, "{name} passes {count} of 11:\n{table}");
    }
}
