//! An accessory in prod-sim: `up` starts Redis from its pinned image (never built) before
//! the worker that waits for it, health-gated; `down` removes it with the rest. The worker
//! reads URLs derived from the topology (`url_of`), and they reach the servers for real.

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
