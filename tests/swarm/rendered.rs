//! The stack file topo renders for `[production] engine = "swarm"`, deployed as it is on the
//! two-node cluster: `topo render --mode production` and `topo secrets --mode production`,
//! then `docker stack deploy -c docker-compose.prod.yml` (the database placed on the node
//! labelled `topo.stateful=true`, `web` twice behind the proxy), and a second deploy of the
//! same file that replaces no task.

use std::collections::BTreeSet;
use std::path::Path;
use std::time::{Duration, Instant};

use crate::cluster::{Options, SwarmCluster};
use crate::{get, text, wait_for};

const PROJECT: &str = "rendershop";
const REGISTRY: &str = "topo-test";
const PASSWORD: &str = "rendered-swarm-password";

/// The topology: PostgreSQL 17, `web` (busybox httpd, two replicas) routed by the proxy on
/// `port`.
fn topology(port: u16) -> String {
    format!(
        r#"project = "{PROJECT}"

[database]
engine = "postgres"
major = 17
image = "topo-test/postgres:17"
password = {{ secret = "DB_PASSWORD" }}

[[services]]
role = "web"
context = "apps/web"
command = {{ dev = ["true"], prod = ["httpd", "-f", "-p", "8080", "-h", "/www"] }}
health = {{ http = "/", port = 8080, interval = "1s", timeout = "2s", retries = 5, start_period = "1s" }}
route = {{ paths = ["/"], port = 8080 }}
replicas = 2

[proxy]
image = "topo-test/nginx:latest"
port = {port}

[production]
engine = "swarm"
registry = "{REGISTRY}"

# The offline nginx test image is tagged `latest` (built here, never pulled).
[lint.rules]
unpinned-image = "warning"
"#
    )
}

/// `topo ARGS` in `dir` (with `DB_PASSWORD` set), which must succeed.
fn topo(dir: &Path, args: &[&str]) {
    let output = assert_cmd::Command::cargo_bin("topo")
        .expect("the topo binary is built")
        .current_dir(dir)
        .env("DB_PASSWORD", PASSWORD)
        .args(args)
        .output()
        .expect("topo runs");
    assert!(
        output.status.success(),
        "topo {args:?}: {}{}",
        text(&output.stdout),
        text(&output.stderr)
    );
}

/// The rendered stack on a cluster.
struct Rendered<'a> {
    cluster: &'a SwarmCluster,
    dir: &'a Path,
    tag: &'a str,
}

impl Rendered<'_> {
    /// `docker stack deploy` of the rendered file on the manager, run in the topology's
    /// directory (the file reads its secret and config from paths relative to it).
    fn deploy(&self) {
        let output = self
            .cluster
            .manager()
            .command()
            .current_dir(self.dir)
            .env("TAG", self.tag)
            .env("DB_PASSWORD", PASSWORD)
            .args(["stack", "deploy", "--resolve-image", "never"])
            .args(["-c", "docker-compose.prod.yml", PROJECT])
            .output()
            .expect("docker runs");
        assert!(
            output.status.success(),
            "docker stack deploy {PROJECT}: {}{}",
            text(&output.stdout),
            text(&output.stderr)
        );
    }

    /// The Swarm service of topo's service `role`.
    fn service(role: &str) -> String {
        format!("{PROJECT}_{PROJECT}-{role}")
    }

    /// Node id and container of each running task of `role`.
    fn running(&self, role: &str) -> Vec<(String, String)> {
        self.cluster.containers(&Self::service(role))
    }

    /// The ids of `role`'s tasks that should run.
    fn task_ids(&self, role: &str) -> BTreeSet<String> {
        self.cluster
            .tasks(&Self::service(role))
            .iter()
            .filter_map(|t| t["ID"].as_str().map(str::to_owned))
            .collect()
    }

    /// `docker stack ps` (for failure messages).
    fn describe(&self) -> String {
        let output = self.cluster.docker(&[
            "stack",
            "ps",
            "--no-trunc",
            "--format",
            "{{.Name}} {{.Node}} {{.DesiredState}} {{.CurrentState}} {{.Error}}",
            PROJECT,
        ]);
        format!("{}{}", text(&output.stdout), text(&output.stderr))
    }

    /// Waits until web has two running tasks and db and the proxy one each.
    fn converge(&self) {
        wait_for(
            "the rendered stack converges",
            Duration::from_secs(180),
            || {
                let running = |role: &str| self.running(role).len();
                (running("web") == 2 && running("db") == 1 && running("proxy") == 1).then_some(())
            },
            || self.describe(),
        );
    }
}

/// Writes the topology (and web's Dockerfile) into `dir`, checks it, renders production and
/// writes its secret and config files.
fn render(dir: &Path, port: u16) {
    std::fs::create_dir_all(dir.join("apps/web")).expect("mkdir");
    std::fs::write(
        dir.join("apps/web/Dockerfile"),
        "FROM topo-test/busybox:latest AS dev\nFROM topo-test/busybox:latest AS prod\n",
    )
    .expect("write");
    std::fs::write(dir.join("topology.toml"), topology(port)).expect("write");
    topo(dir, &["check", "-t", "topology.toml"]);
    topo(
        dir,
        &["render", "-t", "topology.toml", "--mode", "production"],
    );
    topo(
        dir,
        &["secrets", "-t", "topology.toml", "--mode", "production"],
    );
}

#[test]
fn topos_rendered_stack_converges_on_two_nodes() {
    let test = "topos_rendered_stack_converges_on_two_nodes";
    if !crate::common::docker_available(test) {
        return;
    }
    crate::common::ensure_test_images();
    // web's production image, `<registry>/<project>-web:${TAG}`: busybox under that name.
    let tag = format!("t{}", std::process::id());
    let web_image = format!("{REGISTRY}/{PROJECT}-web:{tag}");
    crate::common::docker(&["tag", "topo-test/busybox:latest", &web_image]);
    let options = Options {
        workers: 1,
        images: &[
            &web_image,
            "topo-test/nginx:latest",
            "topo-test/postgres:17",
        ],
    };
    let started = SwarmCluster::start_with(test, options);
    let _ = std::process::Command::new("docker")
        .args(["rmi", &web_image])
        .output();
    let Some(cluster) = started else {
        return;
    };
    let dir = tempfile::tempdir().expect("a temporary directory");
    let port = crate::common::free_port();
    render(dir.path(), port);
    cluster.label(0, "topo.stateful", "true");
    let stack = Rendered {
        cluster: &cluster,
        dir: dir.path(),
        tag: &tag,
    };

    let t = Instant::now();
    stack.deploy();
    stack.converge();
    let url = the_proxy_serves_web(&stack, port);
    let converged_in = t.elapsed();
    eprintln!(
        "{test}: cluster started in {:.1} s, rendered stack converged (tasks running, 200 \
         through the proxy) in {:.1} s",
        cluster.times.total.as_secs_f64(),
        converged_in.as_secs_f64()
    );
    tasks_are_placed(&stack);
    an_unchanged_redeploy_replaces_no_task(&stack, &url);

    drop(dir);
    let left = cluster.stop();
    assert!(left.is_empty(), "left behind: {left:?}");
}

/// The proxy runs on the manager, and a GET through its published port (host mode) answers
/// 200 with web's page: its URL.
fn the_proxy_serves_web(stack: &Rendered, port: u16) -> String {
    let proxy = stack.running("proxy");
    let node = stack
        .cluster
        .node_by_id(&proxy[0].0)
        .expect("a node of the cluster");
    // The rendered stack places the proxy on a manager: its host-mode port is published on
    // the address a deploy and DNS name.
    assert_eq!(
        node.id,
        stack.cluster.manager().id,
        "the proxy runs on the {}",
        node.role
    );
    let url = format!("http://{}:{port}/", node.address);
    wait_for(
        "a 200 through the proxy",
        Duration::from_secs(60),
        || (get(&url) == Some(200)).then_some(()),
        || stack.describe(),
    );
    let body = ureq::get(&url)
        .call()
        .expect("an answer")
        .body_mut()
        .read_to_string()
        .expect("a body");
    assert!(body.contains("topo-test"), "{body}");
    url
}

/// db on the labelled node (the manager); web's two tasks running (where Swarm put them).
fn tasks_are_placed(stack: &Rendered) {
    let cluster = stack.cluster;
    let db = stack.running("db");
    assert_eq!(db.len(), 1, "{}", stack.describe());
    assert_eq!(
        db[0].0,
        cluster.manager().id,
        "db runs on the labelled node"
    );
    let web = stack.running("web");
    assert_eq!(web.len(), 2, "{}", stack.describe());
    let nodes: BTreeSet<&str> = web
        .iter()
        .filter_map(|(id, _)| cluster.node_by_id(id).map(|n| n.role.as_str()))
        .collect();
    eprintln!("web's two tasks run on: {nodes:?}");
}

/// A second `docker stack deploy` of the same file leaves web's tasks as they are, and the
/// proxy still answers.
fn an_unchanged_redeploy_replaces_no_task(stack: &Rendered, url: &str) {
    let before = stack.task_ids("web");
    assert_eq!(before.len(), 2, "{}", stack.describe());
    stack.deploy();
    // An update would start a new task within a second or two (start-first).
    std::thread::sleep(Duration::from_secs(5));
    let after = stack.task_ids("web");
    assert_eq!(before, after, "an unchanged deploy replaced web's tasks");
    let update = &stack.cluster.inspect(&Rendered::service("web"))["UpdateStatus"];
    assert!(update.is_null(), "an update ran: {update}");
    assert_eq!(get(url), Some(200));
}
