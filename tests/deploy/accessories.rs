//! An accessory on a deploy target: Redis 7 from a pinned image (built offline from Debian's
//! redis-server), created by `--setup`, its major asked of the server, never restarted by an
//! application deploy, replaced by `--accessory` with its data kept, and refused when the
//! server runs another major than the pin. RabbitMQ 3 (Debian's 3.10): its major asked of
//! the server, its data kept by a replacement when its node name is fixed.

use serde_json::Value;

use crate::{common, text_of, Target};

/// The accessory the tests add: Redis, which the worker waits for.
const CACHE: &str = "\n[[accessories]]\nrole = \"cache\"\nimage = \"topo-test/redis:7\"\nhealth = { interval = \"1s\", timeout = \"2s\", retries = 20, start_period = \"1s\" }\n";

fn with_cache(topology: String) -> String {
    topology
        .replace("[proxy]\n", &format!("{CACHE}\n[proxy]\n"))
        .replace(
            "depends_on = { web = \"healthy\" }",
            "depends_on = { web = \"healthy\", cache = \"healthy\" }",
        )
}

fn check<'a>(summary: &'a Value, name: &str) -> Option<&'a Value> {
    summary["checks"]
        .as_array()
        .expect("checks")
        .iter()
        .find(|c| c["name"] == name)
}

/// The summary's check `name` exists and its detail contains `expected`.
fn check_says(summary: &Value, name: &str, expected: &str) {
    let found = check(summary, name).unwrap_or_else(|| panic!("no check `{name}`"));
    assert!(
        found["detail"].as_str().expect("detail").contains(expected),
        "{found}"
    );
}

fn redis(target: &Target, args: &[&str]) -> String {
    let name = target.container("cache");
    let mut all = vec!["exec", name.as_str(), "redis-cli"];
    all.extend_from_slice(args);
    common::docker(&all).trim().to_owned()
}

#[test]
fn an_accessory_is_set_up_verified_kept_and_upgraded_on_purpose() {
    let Some(target) = Target::new("accessories", "dacc", with_cache) else {
        return;
    };
    target.derive("v2", "v1", "RUN echo v2 > /srv/www/version.txt");
    let deploy = |args: &[&str]| target.deploy_ok(args);

    // --setup creates it (healthy, confined) before the application; its major is asked.
    let first = deploy(&["--setup", "--tag", "v1"]);
    check_says(&first, "accessory cache", "running and healthy");
    check_says(&first, "accessory dacc-cache major", "redis major 7");
    let info = common::inspect("container", "dacc-cache");
    assert_eq!(info["HostConfig"]["ReadonlyRootfs"], true);
    assert_eq!(info["HostConfig"]["CapDrop"], serde_json::json!(["ALL"]));
    assert_eq!(redis(&target, &["SET", "greeting", "kept"]), "OK");
    let before = target.identity("cache");

    // An application deploy never restarts it.
    deploy(&["--tag", "v2"]);
    assert_eq!(
        target.identity("cache"),
        before,
        "an application deploy restarted the accessory"
    );

    let changed = upgraded_on_purpose_with_its_data(&target, &deploy, &before);

    // A pin of another major than the server runs is refused before anything changes.
    common::docker(&["tag", "topo-test/redis:7", "topo-test/redis:6.2"]);
    let pinned_six = changed.replace("topo-test/redis:7", "topo-test/redis:6.2");
    std::fs::write(target.topology(), pinned_six).expect("write");
    let replaced = target.identity("cache");
    let output = target.sim(&["deploy", "--tag", "v2"]);
    assert_eq!(target.identity("cache"), replaced);
    common::docker(&["rmi", "topo-test/redis:6.2"]);
    assert!(!output.status.success(), "a major mismatch was deployed");
    let said = text_of(&output.stderr);
    assert!(
        said.contains("runs redis major 7, but the topology pins major 6"),
        "{said}"
    );
}

/// Its configuration changes: a deploy says so and leaves it; `--accessory` replaces it,
/// with its data. Returns the changed topology.
fn upgraded_on_purpose_with_its_data(
    target: &Target,
    deploy: &dyn Fn(&[&str]) -> Value,
    before: &(String, String),
) -> String {
    let topology = std::fs::read_to_string(target.topology()).expect("topology");
    let changed = topology.replace(
        "image = \"topo-test/redis:7\"\n",
        "image = \"topo-test/redis:7\"\ncommand = [\"redis-server\", \"--protected-mode\", \"no\", \"--dir\", \"/data\", \"--maxmemory\", \"64mb\"]\n",
    );
    std::fs::write(target.topology(), &changed).expect("write");
    let left = deploy(&["--tag", "v2"]);
    let notes = left["notes"].to_string();
    assert!(notes.contains("--accessory cache"), "{notes}");
    assert_eq!(
        target.identity("cache"),
        *before,
        "a deploy replaced the accessory unasked"
    );
    let upgraded = deploy(&["--tag", "v2", "--accessory", "cache"]);
    assert!(
        upgraded["notes"]
            .to_string()
            .contains("dacc-cache: replaced"),
        "{}",
        upgraded["notes"]
    );
    assert_ne!(
        target.identity("cache"),
        *before,
        "--accessory did not replace it"
    );
    assert_eq!(
        redis(target, &["CONFIG", "GET", "maxmemory"])
            .lines()
            .last(),
        Some("67108864")
    );
    assert_eq!(
        redis(target, &["GET", "greeting"]),
        "kept",
        "the data volume was not kept"
    );

    changed
}

/// The queue the RabbitMQ test adds: the user its image creates from the environment. Its
/// node name is `rabbit@<hostname>`, and topo gives an accessory its container name as host
/// name, so a replaced container finds the data the old one left.
const QUEUE: &str = "\n[[accessories]]\nrole = \"queue\"\nimage = \"topo-test/rabbitmq:3\"\nhealth = { interval = \"2s\", timeout = \"10s\", retries = 10, start_period = \"60s\" }\n\n[accessories.env]\nRABBITMQ_DEFAULT_USER = \"shop\"\nRABBITMQ_DEFAULT_PASS = { secret = \"MQ_PASSWORD\" }\n";

/// The queue's password in production.
const MQ_PASSWORD: &str = "production-mq-password";

/// `topo-sim deploy --format json ARGS` with the queue's secret set, which must succeed.
fn deploy_queue(target: &Target, args: &[&str]) -> Value {
    let output = target
        .sim_command(&[&["deploy", "--format", "json"], args].concat())
        .env("MQ_PASSWORD", MQ_PASSWORD)
        .output()
        .expect("topo-sim runs");
    assert!(
        output.status.success(),
        "{}\n{}",
        text_of(&output.stdout),
        text_of(&output.stderr)
    );
    serde_json::from_slice(&output.stdout).expect("a JSON summary")
}

fn rabbitmqctl(target: &Target, args: &[&str]) -> String {
    let name = target.container("queue");
    let mut all = vec!["exec", name.as_str(), "rabbitmqctl", "-q"];
    all.extend_from_slice(args);
    common::docker(&all).trim().to_owned()
}

/// RabbitMQ 3 (Debian's 3.10): `--setup` creates it with the production password, asks the
/// server its major; `--accessory` replaces it after a configuration change, its data kept.
#[test]
fn a_queue_is_set_up_at_its_major_and_replaced_with_its_data() {
    let Some(target) = Target::new("rabbitmq accessory", "dmq", |topology| {
        topology.replace("[proxy]\n", &format!("{QUEUE}\n[proxy]\n"))
    }) else {
        return;
    };
    let first = deploy_queue(&target, &["--setup", "--tag", "v1"]);
    check_says(&first, "accessory queue", "running and healthy");
    check_says(&first, "accessory dmq-queue major", "rabbitmq major 3");
    assert_eq!(
        rabbitmqctl(&target, &["authenticate_user", "shop", MQ_PASSWORD]),
        "Success",
        "the production password did not reach the server"
    );
    rabbitmqctl(&target, &["add_vhost", "kept"]);
    let before = target.identity("queue");

    // A configuration change (RabbitMQ 3.10 sizes its memory alarm from the host's memory,
    // not the container's limit): replaced on purpose, the vhost still there.
    let topology = std::fs::read_to_string(target.topology()).expect("topology");
    let changed = topology.replace(
        "RABBITMQ_DEFAULT_USER = ",
        "RABBITMQ_SERVER_ADDITIONAL_ERL_ARGS = \"-rabbit total_memory_available_override_value 1073741824\"\nRABBITMQ_DEFAULT_USER = ",
    );
    std::fs::write(target.topology(), changed).expect("write");
    let replaced = deploy_queue(&target, &["--tag", "v1", "--accessory", "queue"]);
    assert!(
        replaced["notes"]
            .to_string()
            .contains("dmq-queue: replaced"),
        "{}",
        replaced["notes"]
    );
    assert_ne!(target.identity("queue"), before, "not replaced");
    let vhosts = rabbitmqctl(&target, &["list_vhosts", "--no-table-headers"]);
    assert!(
        vhosts.lines().any(|l| l.trim() == "kept"),
        "the data volume was not kept: {vhosts}"
    );
    let logs = common::docker(&["logs", &target.container("queue")]);
    assert!(
        logs.contains("of 1024 MiB (1073741824 bytes) total"),
        "the memory override was not applied"
    );
}
