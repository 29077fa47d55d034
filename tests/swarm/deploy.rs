//! `topo deploy` on the two-node cluster, through the Engine API's services endpoints:
//! setup from scratch (the manager labelled for the database, the network, secrets and the
//! proxy's config made, the database's version asked by a job, the migration job awaited,
//! web's two tasks started); a no-op deploy and a dry run that replace no task; five rolling updates
//! under load through the proxy with no failed request; a failing update rolled back by
//! Swarm while the old tasks serve; a second deploy refused by the lock while one runs;
//! `--rollback` to the version before; the worker drained, its tasks rescheduled and the database's data intact.

use std::collections::BTreeMap;
use std::path::Path;
use std::process::{Command, Output};
use std::time::{Duration, Instant};

use serde_json::Value;

use crate::cluster::{Options, SwarmCluster};
use crate::{text, wait_for, Load};

const PROJECT: &str = "swdeploy";
const PASSWORD: &str = "swarm-deploy-password";
/// The good versions: the first, then the five rolling updates.
const VERSIONS: [&str; 6] = ["v1", "v2", "v3", "v4", "v5", "v6"];
/// A version whose health check never passes (no `/www/health`).
const BROKEN: &str = "broken";

fn topology(port: u16) -> String {
    format!(
        r#"project = "{PROJECT}"

[database]
engine = "postgres"
major = 17
image = "topo-test/postgres:17"
password = {{ secret = "DB_PASSWORD" }}

[[services]]
role = "migrate"
context = "apps/web"
command = {{ dev = ["true"], prod = ["sh", "-c", "test -s /www/version.txt"] }}
depends_on = {{ db = "healthy" }}

[[services]]
role = "web"
image_of = "migrate"
command = {{ dev = ["true"], prod = ["httpd", "-f", "-p", "8080", "-h", "/www"] }}
health = {{ http = "/health", port = 8080, interval = "1s", timeout = "2s", retries = 3, start_period = "1s" }}
route = {{ paths = ["/"], port = 8080 }}
depends_on = {{ migrate = "completed" }}
replicas = 2

[proxy]
image = "topo-test/nginx:latest"
port = {port}

[production]
engine = "swarm"
registry = "topo-test"

# The offline nginx test image is tagged `latest` (built here, never pulled).
[lint.rules]
unpinned-image = "warning"
"#
    )
}

fn image(tag: &str) -> String {
    format!("topo-test/{PROJECT}-migrate:{tag}")
}

/// Builds web's versions on this machine's engine (busybox with a page, a health file,
/// and the version; the broken one without the health file).
fn build_images() {
    for tag in VERSIONS.iter().chain([&BROKEN]) {
        let health = if *tag == BROKEN {
            ""
        } else {
            " && echo ok > /www/health"
        };
        let dockerfile = format!(
            "FROM topo-test/busybox:latest\nRUN mkdir -p /www && echo {tag} > /www/version.txt{health}\n"
        );
        crate::common::build_image(&image(tag), &dockerfile);
    }
}

/// The topology on the cluster: `topo deploy` against its manager.
struct Shop<'a> {
    cluster: &'a SwarmCluster,
    dir: &'a Path,
    url: String,
}

impl Shop<'_> {
    fn command(&self, args: &[&str]) -> Command {
        let mut command = Command::new(assert_cmd::cargo::cargo_bin("topo"));
        command
            .current_dir(self.dir)
            .env("DB_PASSWORD", PASSWORD)
            .env_remove("DOCKER_HOST")
            .args(["deploy", "-t", "topology.toml", "--format", "json"])
            .args(["--host", &self.cluster.manager().socket()])
            .args(args);
        command
    }

    /// `topo deploy ARGS`: the output and the summary (null when none was printed).
    fn deploy(&self, args: &[&str]) -> (Output, Value) {
        let output = self.command(args).output().expect("topo runs");
        let summary = serde_json::from_slice(&output.stdout).unwrap_or(Value::Null);
        (output, summary)
    }

    /// `topo deploy ARGS`, which must succeed: its summary.
    fn deploy_ok(&self, args: &[&str]) -> Value {
        let (output, summary) = self.deploy(args);
        assert!(
            output.status.success(),
            "topo deploy {args:?}: {}{}",
            text(&output.stdout),
            text(&output.stderr)
        );
        summary
    }

    /// The action the summary reports for each service.
    fn actions(summary: &Value) -> BTreeMap<String, String> {
        summary["services"]
            .as_array()
            .into_iter()
            .flatten()
            .map(|s| {
                (
                    s["name"].as_str().unwrap_or_default().to_owned(),
                    s["action"].as_str().unwrap_or_default().to_owned(),
                )
            })
            .collect()
    }

    /// The running task ids of every service of the project.
    fn task_ids(&self) -> BTreeMap<String, Vec<String>> {
        ["db", "web", "proxy"]
            .iter()
            .map(|role| {
                let mut ids: Vec<String> = self
                    .cluster
                    .containers(&format!("{PROJECT}-{role}"))
                    .into_iter()
                    .map(|(_, container)| container)
                    .collect();
                ids.sort();
                (role.to_string(), ids)
            })
            .collect()
    }

    /// The version web answers through the proxy.
    fn version(&self) -> String {
        let agent: ureq::Agent = ureq::Agent::config_builder()
            .timeout_global(Some(Duration::from_secs(3)))
            .build()
            .new_agent();
        agent
            .get(&format!("{}version.txt", self.url))
            .call()
            .ok()
            .and_then(|mut r| r.body_mut().read_to_string().ok())
            .unwrap_or_default()
            .trim()
            .to_owned()
    }

    fn describe(&self) -> String {
        let output = self.cluster.docker(&[
            "service",
            "ps",
            "--no-trunc",
            "--format",
            "{{.Name}} {{.Node}} {{.DesiredState}} {{.CurrentState}} {{.Error}}",
            &format!("{PROJECT}-web"),
        ]);
        text(&output.stdout)
    }

    /// A SQL statement in the database's container (on the labelled manager).
    fn sql(&self, statement: &str) -> String {
        let (_, container) = self.cluster.containers(&format!("{PROJECT}-db"))[0].clone();
        self.cluster.manager().docker_ok(&[
            "exec",
            &container,
            "sh",
            "-c",
            &format!(
                "psql -X -q -t -A -U \"$POSTGRES_USER\" -d \"$POSTGRES_DB\" -c \"{statement}\""
            ),
        ])
    }
}

#[test]
fn topo_deploys_to_swarm_rolling_health_gated_and_rolled_back() {
    let test = "topo_deploys_to_swarm_rolling_health_gated_and_rolled_back";
    if !crate::common::docker_available(test) {
        return;
    }
    crate::common::ensure_test_images();
    build_images();
    let images: Vec<String> = VERSIONS.iter().chain([&BROKEN]).map(|t| image(t)).collect();
    let mut names: Vec<&str> = images.iter().map(String::as_str).collect();
    names.extend(["topo-test/nginx:latest", "topo-test/postgres:17"]);
    let started = SwarmCluster::start_with(
        test,
        Options {
            workers: 1,
            images: &names,
        },
    );
    for image in &images {
        let _ = Command::new("docker").args(["rmi", image]).output();
    }
    let Some(cluster) = started else {
        return;
    };
    let dir = tempfile::tempdir().expect("a temporary directory");
    let port = crate::common::free_port();
    std::fs::create_dir_all(dir.path().join("apps/web")).expect("mkdir");
    std::fs::write(
        dir.path().join("apps/web/Dockerfile"),
        "FROM topo-test/busybox:latest AS dev\nFROM topo-test/busybox:latest AS prod\n",
    )
    .expect("write");
    std::fs::write(dir.path().join("topology.toml"), topology(port)).expect("write");
    let shop = Shop {
        cluster: &cluster,
        dir: dir.path(),
        url: format!("http://{}:{port}/", cluster.manager().address),
    };

    set_up_from_scratch(&shop);
    a_no_op_deploy_replaces_no_task(&shop);
    rolling_updates_under_load(&shop);
    a_failing_update_is_rolled_back(&shop);
    a_second_deploy_is_refused_by_the_lock(&shop);
    a_rollback_returns_to_the_previous_version(&shop);
    a_drained_worker_s_tasks_move(&shop);

    drop(dir);
    let left = cluster.stop();
    assert!(left.is_empty(), "left behind: {left:?}");
}

fn set_up_from_scratch(shop: &Shop) {
    let t = Instant::now();
    let summary = shop.deploy_ok(&["--setup", "--tag", "v1"]);
    let seconds = t.elapsed().as_secs_f64();
    let checks = summary["checks"].to_string();
    assert!(
        checks.contains("answers 17 (pinned 17)"),
        "the database's version was asked: {checks}"
    );
    assert!(
        summary["notes"].to_string().contains("labelled"),
        "{summary:#}"
    );
    let actions = Shop::actions(&summary);
    assert_eq!(actions["migrate"], "deployed", "{summary:#}");
    assert_eq!(actions["web"], "deployed", "{summary:#}");
    let web = shop.cluster.containers(&format!("{PROJECT}-web"));
    assert_eq!(web.len(), 2, "{}", shop.describe());
    wait_for(
        "v1 through the proxy",
        Duration::from_secs(30),
        || (shop.version() == "v1").then_some(()),
        || shop.describe(),
    );
    shop.sql("CREATE TABLE orders (id int); INSERT INTO orders VALUES (42)");
    eprintln!("swarm deploy: set up from scratch in {seconds:.1} s");
}

fn a_no_op_deploy_replaces_no_task(shop: &Shop) {
    let before = shop.task_ids();
    let summary = shop.deploy_ok(&["--tag", "v1"]);
    let actions = Shop::actions(&summary);
    assert!(actions.values().all(|a| a == "unchanged"), "{summary:#}");
    // A dry run of the next version decides, and changes nothing.
    let dry = shop.deploy_ok(&["--tag", "v2", "--dry-run"]);
    assert_eq!(dry["dry_run"], true, "{dry:#}");
    assert_eq!(Shop::actions(&dry)["web"], "would-deploy", "{dry:#}");
    std::thread::sleep(Duration::from_secs(3));
    assert_eq!(
        shop.task_ids(),
        before,
        "a no-op deploy or a dry run replaced a task"
    );
    assert_eq!(shop.version(), "v1");
}

fn rolling_updates_under_load(shop: &Shop) {
    let health = format!("{}health", shop.url);
    for version in &VERSIONS[1..] {
        let load = Load::start(&health, 2, Duration::from_millis(20));
        let t = Instant::now();
        let summary = shop.deploy_ok(&["--tag", version]);
        let seconds = t.elapsed().as_secs_f64();
        let (sent, failed) = load.finish();
        assert_eq!(Shop::actions(&summary)["web"], "deployed", "{summary:#}");
        assert_eq!(shop.version(), *version);
        eprintln!(
            "swarm rolling update to {version}: {seconds:.1} s, {sent} requests, {failed} failed"
        );
        assert_eq!(
            failed, 0,
            "failed requests during the update to {version} (of {sent})"
        );
        assert!(sent > 20, "the client sent {sent}");
    }
}

fn a_failing_update_is_rolled_back(shop: &Shop) {
    let health = format!("{}health", shop.url);
    let load = Load::start(&health, 2, Duration::from_millis(20));
    let t = Instant::now();
    let (output, summary) = shop.deploy(&["--tag", BROKEN]);
    let seconds = t.elapsed().as_secs_f64();
    let (sent, failed) = load.finish();
    assert!(!output.status.success(), "{summary:#}");
    let web = summary["services"]
        .as_array()
        .and_then(|s| s.iter().find(|s| s["name"] == "web"))
        .cloned()
        .unwrap_or_default();
    assert_eq!(web["action"], "rolled-back", "{summary:#}");
    assert_eq!(shop.version(), "v6", "the old version serves");
    eprintln!(
        "swarm failing update rolled back by Swarm: {seconds:.1} s, {sent} requests, {failed} failed ({})",
        web["detail"]
    );
    assert_eq!(
        failed, 0,
        "failed requests while the update failed (of {sent})"
    );
}

fn a_second_deploy_is_refused_by_the_lock(shop: &Shop) {
    let first = shop
        .command(&["--tag", "v5"])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("topo runs");
    let lock = format!("{PROJECT}-deploy-lock");
    wait_for(
        "the first deploy holds the lock",
        Duration::from_secs(30),
        || {
            let names = shop
                .cluster
                .docker_ok(&["ps", "-a", "--format", "{{.Names}}"]);
            names.lines().any(|n| n == lock).then_some(())
        },
        String::new,
    );
    let (second, _) = shop.deploy(&["--tag", "v6"]);
    let first = first.wait_with_output().expect("the first deploy ends");
    assert!(first.status.success(), "{}", text(&first.stderr));
    assert!(!second.status.success(), "the second deploy ran");
    let said = text(&second.stderr);
    assert!(said.contains("another deploy holds the lock"), "{said}");
    assert_eq!(shop.version(), "v5");
}

/// v6 ran before v5 (the broken version Swarm rolled back never counted): `--rollback`
/// returns to it, as a rolling update.
fn a_rollback_returns_to_the_previous_version(shop: &Shop) {
    let t = Instant::now();
    let summary = shop.deploy_ok(&["--rollback"]);
    assert!(
        summary["rollback"].as_bool().unwrap_or(false),
        "{summary:#}"
    );
    assert_eq!(Shop::actions(&summary)["web"], "deployed", "{summary:#}");
    assert_eq!(shop.version(), "v6");
    eprintln!("swarm --rollback to v6: {:.1} s", t.elapsed().as_secs_f64());
}

fn a_drained_worker_s_tasks_move(shop: &Shop) {
    let cluster = shop.cluster;
    let health = format!("{}health", shop.url);
    let load = Load::start(&health, 2, Duration::from_millis(20));
    let t = Instant::now();
    cluster.drain(1);
    let web = format!("{PROJECT}-web");
    wait_for(
        "web's tasks all on the manager",
        Duration::from_secs(120),
        || {
            let tasks = cluster.containers(&web);
            (tasks.len() == 2 && tasks.iter().all(|(node, _)| *node == cluster.manager().id))
                .then_some(())
        },
        || shop.describe(),
    );
    let seconds = t.elapsed().as_secs_f64();
    std::thread::sleep(Duration::from_secs(2));
    let (sent, failed) = load.finish();
    eprintln!(
        "swarm worker drained: web rescheduled in {seconds:.1} s, {sent} requests, {failed} failed"
    );
    assert_eq!(shop.sql("SELECT id FROM orders").trim(), "42");
    assert_eq!(shop.version(), "v6");
    cluster.activate(1);
}
