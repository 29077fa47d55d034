//! What `docker stack deploy` does with a stack file on this engine (Docker 20.10, the
//! CLI's stack loader), checked on a one-node Swarm: which hardening keys it carries to
//! Swarm, drops with a warning, drops silently or refuses; that a config's content cannot
//! change under its name; that without IPVS a virtual IP resolves but does not answer, and a
//! routing-mesh port cannot go with DNS round-robin.

use std::path::PathBuf;
use std::time::Duration;

use serde_json::json;

use crate::cluster::{Options, SwarmCluster};
use crate::{text, wait_for};

/// A service with the hardening keys a production Compose file may carry.
const HARDENED: &str = r#"version: "3.8"
services:
  h:
    image: topo-test/busybox:latest
    command: ["sh", "-c", "sleep 3600"]
    user: "65534:65534"
    init: true
    cap_drop: [ALL]
    cap_add: [NET_BIND_SERVICE]
    read_only: true
    tmpfs: ["/run:size=1m"]
    volumes:
      - type: tmpfs
        target: /tmp
        tmpfs: { size: 1048576 }
    security_opt: ["no-new-privileges:true"]
    ulimits: { nofile: { soft: 1024, hard: 2048 } }
    sysctls: { net.core.somaxconn: "1024" }
    logging:
      driver: json-file
      options: { max-size: "1m", max-file: "2" }
    stop_signal: SIGTERM
    stop_grace_period: 3s
    restart: unless-stopped
    deploy:
      endpoint_mode: dnsrr
      resources:
        limits: { memory: 64M, cpus: "0.5" }
"#;

/// A service with a process limit, written the two ways Compose knows: `(service-level key,
/// deploy key)`.
fn pids(version: &str, (service, deploy): (&str, &str)) -> String {
    format!(
        r#"version: "{version}"
services:
  p:
    image: topo-test/busybox:latest
    command: ["sh", "-c", "sleep 3600"]
{service}
    deploy:
      endpoint_mode: dnsrr
{deploy}
"#
    )
}

const PIDS_LIMIT: (&str, &str) = ("    pids_limit: 64", "");
const DEPLOY_PIDS: (&str, &str) = ("", "      resources:\n        limits: { pids: 64 }");

#[test]
fn stack_deploy_honours_drops_or_refuses_each_hardening_key() {
    let test = "stack_deploy_honours_drops_or_refuses_each_hardening_key";
    let options = Options {
        workers: 0,
        images: &["topo-test/busybox:latest"],
    };
    let Some(cluster) = SwarmCluster::start_with(test, options) else {
        return;
    };
    the_hardened_spec_has_what_stack_deploy_honours(&cluster);
    the_hardened_container_agrees(&cluster);
    a_process_limit_is_a_deploy_key_from_version_3_9(&cluster);

    let left = cluster.stop();
    assert!(left.is_empty(), "left behind: {left:?}");
}

/// Writes `content` into the cluster's directory as `name`: its path.
fn write(cluster: &SwarmCluster, name: &str, content: &str) -> PathBuf {
    let path = cluster.path(name);
    std::fs::write(&path, content).expect("write");
    path
}

/// The hardened service deployed: what its spec keeps, what was dropped (with a warning or
/// silently).
fn the_hardened_spec_has_what_stack_deploy_honours(cluster: &SwarmCluster) {
    // Dropped with a warning: security_opt (no-new-privileges) and restart.
    let warnings = cluster.deploy("hard", &write(cluster, "hardened.yml", HARDENED));
    let ignoring = warnings
        .lines()
        .find(|l| l.starts_with("Ignoring unsupported options:"))
        .unwrap_or_else(|| panic!("a warning: {warnings}"));
    assert!(
        ignoring.contains("security_opt") && ignoring.contains("restart"),
        "{ignoring}"
    );
    let spec = cluster.inspect("hard_h")["Spec"]["TaskTemplate"].clone();
    let container = &spec["ContainerSpec"];
    // Honoured: capabilities, read-only root, init, user, ulimits, sysctls, a tmpfs volume,
    // the log driver, stop signal and grace period, resources.
    assert_eq!(container["CapabilityDrop"], json!(["ALL"]));
    assert_eq!(container["CapabilityAdd"], json!(["CAP_NET_BIND_SERVICE"]));
    assert_eq!(container["ReadOnly"], true);
    assert_eq!(container["Init"], true);
    assert_eq!(container["User"], "65534:65534");
    assert_eq!(
        container["Ulimits"],
        json!([{ "Name": "nofile", "Soft": 1024, "Hard": 2048 }])
    );
    assert_eq!(
        container["Sysctls"],
        json!({ "net.core.somaxconn": "1024" })
    );
    assert_eq!(container["StopSignal"], "SIGTERM");
    assert_eq!(container["StopGracePeriod"], 3_000_000_000_u64);
    assert_eq!(spec["LogDriver"]["Name"], "json-file");
    assert_eq!(spec["LogDriver"]["Options"]["max-size"], "1m");
    assert_eq!(spec["Resources"]["Limits"]["MemoryBytes"], 64 * 1024 * 1024);
    assert_eq!(spec["Resources"]["Limits"]["NanoCPUs"], 500_000_000);
    // Dropped silently: the service-level `tmpfs:` (only the tmpfs volume is there), and
    // no-new-privileges.
    assert_eq!(
        container["Mounts"],
        json!([{ "Type": "tmpfs", "Target": "/tmp", "TmpfsOptions": { "SizeBytes": 1048576 } }]),
        "the service-level tmpfs /run is not carried over"
    );
    assert_ne!(
        container["Privileges"]["NoNewPrivileges"], true,
        "{}",
        container["Privileges"]
    );
}

/// The running hardened container agrees with its spec.
fn the_hardened_container_agrees(cluster: &SwarmCluster) {
    let id = wait_for(
        "the hardened task runs",
        Duration::from_secs(60),
        || cluster.containers("hard_h").pop().map(|(_, id)| id),
        || {
            text(
                &cluster
                    .docker(&["service", "ps", "--no-trunc", "hard_h"])
                    .stdout,
            )
        },
    );
    let inside = cluster.docker_ok(&[
        "exec",
        &id,
        "sh",
        "-c",
        "grep -E '^(CapBnd|NoNewPrivs)' /proc/1/status; id -u; \
         grep '^Max open files' /proc/1/limits | tr -s ' '; touch /x 2>/dev/null && echo writable-root; mount | grep -E ' /(tmp|run) ' | cut -d' ' -f3,5",
    ]);
    // The bounding set is NET_BIND_SERVICE alone (the effective set of a non-root user is
    // empty anyway). The open-file limits are read off the task's first process, not with
    // `ulimit -n` in the exec: runc exec sets a new process's limits racily, and the Go
    // runtime of `runc init` may raise the soft limit to the hard one first
    // (opencontainers/runc#4195, fixed in runc 1.1.13), as seen once here under load.
    assert!(
        inside.contains("CapBnd:\t0000000000000400")
            && inside.contains("NoNewPrivs:\t0")
            && inside.contains("65534\nMax open files 1024 2048 files")
            && !inside.contains("writable-root")
            && inside.contains("/tmp tmpfs")
            && !inside.contains("/run tmpfs"),
        "{inside}"
    );
}

/// A process limit: `pids_limit` is refused by the schema in every version, the deploy
/// key `resources.limits.pids` from version 3.9 only (and honoured there).
fn a_process_limit_is_a_deploy_key_from_version_3_9(cluster: &SwarmCluster) {
    let deploy = |stack: &str, name: &str, content: &str| {
        cluster.docker(&[
            "stack",
            "deploy",
            "--resolve-image",
            "never",
            "-c",
            &write(cluster, name, content).display().to_string(),
            stack,
        ])
    };

    for (version, limit, expect) in [
        (
            "3.8",
            PIDS_LIMIT,
            "Additional property pids_limit is not allowed",
        ),
        (
            "3.9",
            PIDS_LIMIT,
            "Additional property pids_limit is not allowed",
        ),
        (
            "3.8",
            DEPLOY_PIDS,
            "Additional property pids is not allowed",
        ),
    ] {
        let refused = deploy("pids", "pids.yml", &pids(version, limit));
        let stderr = text(&refused.stderr);
        assert!(
            !refused.status.success() && stderr.contains(expect),
            "{version} {limit:?}: {stderr}"
        );
    }
    let accepted = deploy("pids", "pids.yml", &pids("3.9", DEPLOY_PIDS));
    assert!(accepted.status.success(), "{}", text(&accepted.stderr));
    assert_eq!(
        cluster.inspect("pids_p")["Spec"]["TaskTemplate"]["Resources"]["Limits"]["Pids"],
        64
    );
    let id = wait_for(
        "the limited task runs",
        Duration::from_secs(60),
        || cluster.containers("pids_p").pop().map(|(_, id)| id),
        || {
            text(
                &cluster
                    .docker(&["service", "ps", "--no-trunc", "pids_p"])
                    .stdout,
            )
        },
    );
    assert_eq!(
        cluster
            .docker_ok(&["inspect", "-f", "{{.HostConfig.PidsLimit}}", &id])
            .trim(),
        "64"
    );
}

/// Two services on one overlay network: `vip` in Swarm's default endpoint mode (a virtual
/// IP), `client` in DNS round-robin; `client` reads the config `conf` (named `conf_name`).
fn addressing(conf_name: &str) -> String {
    format!(
        r#"version: "3.8"
networks:
  app:
    driver: overlay
configs:
  conf:
    file: ./conf.txt
    name: {conf_name}
services:
  vip:
    image: topo-test/busybox:latest
    command: ["httpd", "-f", "-p", "8080", "-h", "/www"]
    init: true
    networks: [app]
  client:
    image: topo-test/busybox:latest
    command: ["sh", "-c", "sleep 3600"]
    init: true
    networks: [app]
    configs: [{{ source: conf, target: /conf.txt }}]
    deploy:
      endpoint_mode: dnsrr
"#
    )
}

#[test]
fn configs_are_immutable_and_virtual_ips_do_not_answer_here() {
    let test = "configs_are_immutable_and_virtual_ips_do_not_answer_here";
    let options = Options {
        workers: 0,
        images: &["topo-test/busybox:latest"],
    };
    let Some(cluster) = SwarmCluster::start_with(test, options) else {
        return;
    };
    let file = cluster.path("addressing.yml");
    let conf = cluster.path("conf.txt");
    let deploy = |conf_name: &str, content: &str| {
        std::fs::write(&conf, content).expect("write");
        std::fs::write(&file, addressing(conf_name)).expect("write");
        cluster.docker(&[
            "stack",
            "deploy",
            "--resolve-image",
            "never",
            "-c",
            &file.display().to_string(),
            "addr",
        ])
    };
    let first = deploy("addr_conf_1", "one\n");
    assert!(first.status.success(), "{}", text(&first.stderr));
    let client = |content: &str| {
        wait_for(
            "the client runs with the config",
            Duration::from_secs(60),
            || {
                let (_, id) = cluster.containers("addr_client").pop()?;
                let read = cluster.docker(&["exec", &id, "cat", "/conf.txt"]);
                (text(&read.stdout) == content).then_some(id)
            },
            || {
                text(
                    &cluster
                        .docker(&["stack", "ps", "--no-trunc", "addr"])
                        .stdout,
                )
            },
        )
    };
    let id = client("one\n");

    // A config's content cannot change under the same name: the deploy fails.
    let changed = deploy("addr_conf_1", "two\n");
    let stderr = text(&changed.stderr);
    assert!(
        !changed.status.success() && stderr.contains("only updates to Labels are allowed"),
        "{stderr}"
    );
    // Under a new name it can: the task is replaced with the new content; the old config
    // stays until the stack is removed.
    let renamed = deploy("addr_conf_2", "two\n");
    assert!(renamed.status.success(), "{}", text(&renamed.stderr));
    let replaced = client("two\n");
    assert_ne!(replaced, id, "a new task");
    let configs = cluster.docker_ok(&["config", "ls", "--format", "{{.Name}}"]);
    assert!(
        configs.contains("addr_conf_1") && configs.contains("addr_conf_2"),
        "{configs}"
    );

    a_virtual_ip_resolves_but_does_not_answer(&cluster, &replaced);
    a_routing_mesh_port_is_refused_with_dnsrr(&cluster);

    let left = cluster.stop();
    assert!(left.is_empty(), "left behind: {left:?}");
}

/// No IPVS here: the virtual IP resolves but does not answer; tasks.NAME (its tasks'
/// own addresses) does.
fn a_virtual_ip_resolves_but_does_not_answer(cluster: &SwarmCluster, replaced: &str) {
    let fetch = |host: &str| {
        cluster.docker(&[
            "exec",
            replaced,
            "wget",
            "-T",
            "3",
            "-q",
            "-O",
            "-",
            &format!("http://{host}:8080/"),
        ])
    };
    wait_for(
        "tasks.vip answers",
        Duration::from_secs(30),
        || fetch("tasks.vip").status.success().then_some(()),
        || text(&fetch("tasks.vip").stderr),
    );
    let vip = cluster.inspect("addr_vip")["Endpoint"]["VirtualIPs"].clone();
    assert_eq!(vip.as_array().map(Vec::len), Some(1), "{vip}");
    let address = vip[0]["Addr"]
        .as_str()
        .and_then(|a| a.split('/').next())
        .expect("an address")
        .to_owned();
    let resolved = cluster.docker_ok(&["exec", replaced, "nslookup", "vip", "127.0.0.11"]);
    assert!(
        resolved.contains(&format!("Address: {address}")),
        "vip resolves to its virtual IP {address}: {resolved}"
    );
    let through_vip = fetch("vip");
    assert!(
        !through_vip.status.success(),
        "the virtual IP answered: {}",
        text(&through_vip.stdout)
    );
}

/// A port published through the routing mesh (the default mode) is refused with dnsrr.
fn a_routing_mesh_port_is_refused_with_dnsrr(cluster: &SwarmCluster) {
    let ingress = cluster.path("ingress.yml");
    std::fs::write(
        &ingress,
        "version: \"3.8\"\nservices:\n  i:\n    image: topo-test/busybox:latest\n    \
         ports: [\"18099:8080\"]\n    deploy: { endpoint_mode: dnsrr }\n",
    )
    .expect("write");
    let refused = cluster.docker(&[
        "stack",
        "deploy",
        "--resolve-image",
        "never",
        "-c",
        &ingress.display().to_string(),
        "ing",
    ]);
    let stderr = text(&refused.stderr);
    assert!(
        stderr.contains("port published with ingress mode can't be used with dnsrr mode"),
        "{stderr}"
    );
}
