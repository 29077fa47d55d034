//! An accessory in prod-sim: `up` starts Redis from its pinned image (never built) before
//! the worker that waits for it, health-gated; `down` removes it with the rest.

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

    let down = stack.sim(&["down", "--volumes"]);
    assert!(down.status.success(), "{}", text(&down.stderr));
    assert_eq!(stack.leftovers(), Vec::<String>::new());
}
