//! An accessory on a deploy target: Redis 7 from a pinned image (built offline from Debian's
//! redis-server), created by `--setup`, its major asked of the server, never restarted by an
//! application deploy, replaced by `--accessory` with its data kept, and refused when the
//! server runs another major than the pin.

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
    let running = check(&first, "accessory cache").expect("an accessory check");
    assert!(
        running["detail"]
            .as_str()
            .expect("detail")
            .contains("running and healthy"),
        "{running}"
    );
    let major = check(&first, "accessory dacc-cache major").expect("a major check");
    assert!(
        major["detail"]
            .as_str()
            .expect("detail")
            .contains("redis major 7"),
        "{major}"
    );
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
