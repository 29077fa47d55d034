//! An accessory in prod-sim: `up` starts Redis from its pinned image (never built) before
//! the worker that waits for it, health-gated; `down` removes it with the rest. The worker
//! reads URLs derived from the topology (`url_of`), and they reach the servers for real.
//! RabbitMQ and Memcached run confined by their catalogue entries alone, which are checked
//! against the real servers (tests/images/build.sh builds both from Debian's packages).

use crate::{common, text, Stack};

#[test]
fn up_starts_an_accessory_before_what_waits_for_it() {
    let Some(stack) = Stack::new("accessory up", "simacc", |t| {
        t.replace(
            "[[services]]\nrole = \"web\"",
            "[[accessories]]\nrole = \"cache\"\nimage = \"topo-test/redis:7\"\nhealth = { interval = \"1s\", timeout = \"2s\", retries = 20, start_period = \"1s\" }\n\n[[services]]\nrole = \"web\"",
        )
        .replace(
            "depends_on = { web = \"healthy\" }",
            "depends_on = { web = \"healthy\", cache = \"healthy\" }",
        )
        .replace(
            "file = true }",
            "file = true }\nCACHE_URL = { url_of = \"cache\", path = \"/0\" }\nDATABASE_URL = { url_of = \"db\" }",
        )
    }) else {
        return;
    };
    let (output, verdict) = stack.up_json(&[]);
    assert!(output.status.success(), "{}", text(&output.stderr));
    assert_eq!(verdict["ok"], true, "{verdict}");
    let cache = common::inspect("container", &stack.container("cache"));
    assert_eq!(cache["State"]["Health"]["Status"], "healthy");
    assert_eq!(
        cache["Config"]["Image"], "topo-test/redis:7",
        "run as pinned, not built"
    );
    let pong = common::docker(&["exec", &stack.container("cache"), "redis-cli", "ping"]);
    assert_eq!(pong.trim(), "PONG");
    // Started before the worker that waits for it.
    let started = |role: &str| {
        common::inspect("container", &stack.container(role))["State"]["StartedAt"]
            .as_str()
            .expect("started")
            .to_owned()
    };
    assert!(
        started("cache") < started("worker"),
        "the worker started first"
    );

    // The derived URLs, as the worker got them, reach Redis and PostgreSQL on the network
    // (asked from inside their own containers, which have the clients).
    let worker_env = |name: &str| {
        common::inspect("container", &stack.container("worker"))["Config"]["Env"]
            .as_array()
            .expect("an environment")
            .iter()
            .filter_map(|entry| entry.as_str()?.strip_prefix(&format!("{name}=")))
            .next()
            .unwrap_or_else(|| panic!("the worker has no {name}"))
            .to_owned()
    };
    let cache_url = worker_env("CACHE_URL");
    assert_eq!(
        cache_url,
        format!("redis://{}:6379/0", stack.container("cache"))
    );
    let pong = common::docker(&[
        "exec",
        &stack.container("cache"),
        "redis-cli",
        "-u",
        &cache_url,
        "ping",
    ]);
    assert_eq!(pong.trim(), "PONG", "through {cache_url}");
    let database_url = worker_env("DATABASE_URL");
    assert!(
        database_url.contains(":shop-dev-password@"),
        "the password's local default inside the URL: {database_url}"
    );
    let one = common::docker(&[
        "exec",
        &stack.container("db"),
        "psql",
        &database_url,
        "-tAc",
        "SELECT 1",
    ]);
    assert_eq!(one.trim(), "1", "through {database_url}");

    let down = stack.sim(&["down", "--volumes"]);
    assert!(down.status.success(), "{}", text(&down.stderr));
    assert_eq!(stack.leftovers(), Vec::<String>::new());
}

/// What `up` adds for the RabbitMQ and Memcached test: a queue with the user its image
/// creates from the environment, a session store, and the worker waiting for both.
fn with_queue_and_sessions(topology: String) -> String {
    const ACCESSORIES: &str = r#"[[accessories]]
role = "queue"
image = "topo-test/rabbitmq:3"
# Passing during start_period counts at once: a long one costs nothing and spares a loaded
# machine's slow first boot from counted failures.
health = { interval = "2s", timeout = "10s", retries = 10, start_period = "60s" }

[accessories.env]
RABBITMQ_DEFAULT_USER = "shop"
RABBITMQ_DEFAULT_PASS = { secret = "MQ_PASSWORD", dev = "mq-dev-password" }

[[accessories]]
role = "sessions"
image = "topo-test/memcached:1"

[[services]]
role = "web""#;
    topology
        .replace("[[services]]\nrole = \"web\"", ACCESSORIES)
        .replace(
            "depends_on = { web = \"healthy\" }",
            "depends_on = { web = \"healthy\", queue = \"healthy\", sessions = \"started\" }",
        )
        .replace(
            "file = true }",
            "file = true }\nQUEUE_URL = { url_of = \"queue\" }\nSESSIONS_URL = { url_of = \"sessions\" }",
        )
}

/// The value of `name` in the environment of `role`'s container.
fn env_of(stack: &Stack, role: &str, name: &str) -> String {
    common::inspect("container", &stack.container(role))["Config"]["Env"]
        .as_array()
        .expect("an environment")
        .iter()
        .filter_map(|entry| entry.as_str()?.strip_prefix(&format!("{name}=")))
        .next()
        .unwrap_or_else(|| panic!("{role} has no {name}"))
        .to_owned()
}

/// `command` in `role`'s container, as the engine runs a health check: whether it
/// succeeded, and its output (stdout, then stderr).
fn run_in(stack: &Stack, role: &str, command: &[&str]) -> (bool, String) {
    let output = std::process::Command::new("docker")
        .arg("exec")
        .arg(stack.container(role))
        .args(command)
        .output()
        .expect("docker runs");
    let said = format!("{}{}", text(&output.stdout), text(&output.stderr));
    (output.status.success(), said)
}

/// The catalogue's entry for `image`.
fn catalogue(image: &str) -> &'static topo_core::accessory::Known {
    let image = topo_core::value::ImageRef::parse(image).expect("an image reference");
    topo_core::accessory::known(&image).expect("in the catalogue")
}

/// `role` runs confined as the catalogue says: read-only root filesystem with a tmpfs at
/// each of its writable paths, every capability dropped but its own.
fn assert_confined(stack: &Stack, role: &str, known: &topo_core::accessory::Known) {
    let info = common::inspect("container", &stack.container(role));
    let host = &info["HostConfig"];
    assert_eq!(host["ReadonlyRootfs"], true, "{role}");
    assert_eq!(host["CapDrop"], serde_json::json!(["ALL"]), "{role}");
    let added: Vec<String> = host["CapAdd"]
        .as_array()
        .map(|caps| {
            caps.iter()
                .filter_map(|c| c.as_str())
                .map(|c| c.trim_start_matches("CAP_").to_owned())
                .collect()
        })
        .unwrap_or_default();
    assert_eq!(added, known.capabilities, "{role}");
    for path in known.writable {
        let tmpfs = &host["Tmpfs"];
        assert!(
            tmpfs.get(*path).is_some(),
            "{role}: no tmpfs at {path}: {tmpfs}"
        );
    }
}

/// An engine timestamp (`2024-05-01T10:00:00.5Z`, fractions of any length) as (date,
/// seconds into the day), which compare in time order.
fn instant(stamp: &str) -> (String, f64) {
    let (date, time) = stamp.split_once('T').expect("a timestamp");
    let seconds = time
        .trim_end_matches('Z')
        .split(':')
        .map(|part| part.parse::<f64>().expect("a number"))
        .fold(0.0, |total, part| total * 60.0 + part);
    (date.to_owned(), seconds)
}

/// Healthy meant serving: the worker, which waits for the queue, started after the queue's
/// AMQP listener (RabbitMQ's node answers a `ping` well before that).
fn assert_worker_started_after_the_queue_listened(stack: &Stack) {
    let logs = std::process::Command::new("docker")
        .args(["logs", "--timestamps", &stack.container("queue")])
        .output()
        .expect("docker runs");
    let logs = format!("{}{}", text(&logs.stdout), text(&logs.stderr));
    let listening = logs
        .lines()
        .find(|line| line.contains("started TCP listener"))
        .and_then(|line| line.split_whitespace().next())
        .unwrap_or_else(|| panic!("the queue is not listening yet:\n{logs}"));
    let worker = common::inspect("container", &stack.container("worker"));
    let worker_started = worker["State"]["StartedAt"].as_str().expect("started");
    assert!(
        instant(listening) < instant(worker_started),
        "the worker started at {worker_started}, before the queue listened at {listening}"
    );
}

/// The worker's `QUEUE_URL` names the user the image created from the environment, with
/// the password's local default, and a RabbitMQ server on the network.
fn assert_queue_url_works(stack: &Stack) {
    let queue_url = env_of(stack, "worker", "QUEUE_URL");
    let expected = format!(
        "amqp://shop:mq-dev-password@{}:5672",
        stack.container("queue")
    );
    assert_eq!(queue_url, expected);
    let (userinfo, address) = queue_url
        .trim_start_matches("amqp://")
        .split_once('@')
        .expect("credentials in the URL");
    let (user, password) = userinfo.split_once(':').expect("user:password");
    let (host, port) = address.split_once(':').expect("host:port");
    let authenticate = ["rabbitmqctl", "authenticate_user", user, password];
    let (ok, said) = run_in(stack, "queue", &authenticate);
    assert!(ok && said.contains("Success"), "{user} is refused: {said}");
    // From the worker: an AMQP 0-9-1 protocol header there is answered by RabbitMQ's
    // connection.start (which names the product).
    let amqp = format!("printf 'AMQP\\0\\0\\11\\1' | nc -w 3 {host} {port}");
    let (_, said) = run_in(stack, "worker", &["sh", "-c", &amqp]);
    assert!(
        said.contains("RabbitMQ"),
        "no AMQP server at {address}: {said:?}"
    );
}

/// The worker's `SESSIONS_URL` reaches Memcached: it answers `version` over TCP.
fn assert_sessions_url_works(stack: &Stack) {
    let sessions_url = env_of(stack, "worker", "SESSIONS_URL");
    let expected = format!("memcached://{}:11211", stack.container("sessions"));
    assert_eq!(sessions_url, expected);
    let (host, port) = sessions_url
        .trim_start_matches("memcached://")
        .split_once(':')
        .expect("host:port");
    let version = format!("echo version | nc -w 3 {host} {port}");
    let (_, said) = run_in(stack, "worker", &["sh", "-c", &version]);
    assert!(said.starts_with("VERSION 1."), "{sessions_url}: {said:?}");
}

/// RabbitMQ and Memcached from their pinned images (built offline from Debian's
/// rabbitmq-server 3.10 and memcached 1.6), confined as the catalogue says. The queue's
/// health check (the catalogue's) passes once it serves, its version command reads major 3,
/// and the URLs the worker derives name the user the image created and reach both servers
/// from the worker's container.
#[test]
fn rabbitmq_and_memcached_come_up_confined_and_healthy() {
    let Some(stack) = Stack::new("rabbitmq and memcached", "simmq", with_queue_and_sessions) else {
        return;
    };
    let (output, verdict) = stack.up_json(&[]);
    assert!(output.status.success(), "{}", text(&output.stderr));
    assert_eq!(verdict["ok"], true, "{verdict}");

    let queue = common::inspect("container", &stack.container("queue"));
    assert_eq!(queue["State"]["Health"]["Status"], "healthy", "{queue}");
    let sessions = common::inspect("container", &stack.container("sessions"));
    assert_eq!(sessions["State"]["Status"], "running", "{sessions}");
    let rabbitmq = catalogue("topo-test/rabbitmq:3");
    assert_confined(&stack, "queue", rabbitmq);
    assert_confined(&stack, "sessions", catalogue("topo-test/memcached:1"));
    assert_worker_started_after_the_queue_listened(&stack);

    // The catalogue's commands, asked of the running server as a deploy asks them.
    let health = rabbitmq.health.expect("a health check");
    let (ok, said) = run_in(&stack, "queue", health);
    assert!(ok, "{health:?}: {said}");
    let (command, _) = rabbitmq.version.expect("a version command");
    let (ok, said) = run_in(&stack, "queue", command);
    assert!(ok, "{command:?}: {said}");
    assert_eq!(rabbitmq.major_of_version_output(&said), Some(3), "{said}");

    assert_queue_url_works(&stack);
    assert_sessions_url_works(&stack);

    let down = stack.sim(&["down", "--volumes"]);
    assert!(down.status.success(), "{}", text(&down.stderr));
    assert_eq!(stack.leftovers(), Vec::<String>::new());
}
