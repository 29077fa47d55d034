//! One application stack on the two-node cluster: `web` (busybox httpd, two replicas, DNS
//! round-robin, start-first updates rolled back on failure), `db` (PostgreSQL with its
//! password from a Swarm secret, placed on the node labelled `topo.stateful=true`, data in a
//! named volume) and `proxy` (nginx on the manager, its port published in host mode, its
//! configuration a Swarm config that re-resolves `web` every second).

use std::path::PathBuf;
use std::time::{Duration, Instant};

use crate::cluster::SwarmCluster;
use crate::{get, text, wait_for, Load};

const STACK: &str = "shop";
const PASSWORD: &str = "swarm-secret-password";

/// The health check `web`'s tasks must pass (the image serves /www/index.html).
const WEB_COMMAND: &str = r#"["httpd", "-f", "-p", "8080", "-h", "/www"]"#;
/// A `web` whose health check fails: it serves another port.
const BAD_WEB_COMMAND: &str = r#"["httpd", "-f", "-p", "8081", "-h", "/www"]"#;

/// nginx, resolving `web` through Docker's DNS at most a second ago (a variable upstream is
/// resolved per request, not once at start): the tasks behind it change.
const PROXY_CONF: &str = r#"resolver 127.0.0.11 valid=1s ipv6=off;
server {
    listen 80;
    location / {
        set $web http://web:8080;
        proxy_pass $web;
        proxy_connect_timeout 2s;
    }
}
"#;

/// The stack file: compose file version 3.8, the proxy on `port` of the manager, `web`
/// running `web_command`. `web` runs under an init (`init: true`): httpd as PID 1 ignores
/// SIGTERM, and Swarm stops an unhealthy task (and a drained node's) with the stop signal and
/// its grace period (10 s) before it counts as failed or moved.
fn stack_file(port: u16, web_command: &str) -> String {
    format!(
        r#"version: "3.8"
networks:
  app:
    driver: overlay
    attachable: true
volumes:
  dbdata: {{}}
secrets:
  db_password:
    file: ./db_password.txt
configs:
  proxy_conf:
    file: ./proxy.conf
services:
  web:
    image: topo-test/busybox:latest
    command: {web_command}
    init: true
    networks: [app]
    healthcheck:
      test: ["CMD", "wget", "-q", "-O", "/dev/null", "http://127.0.0.1:8080/"]
      interval: 1s
      timeout: 2s
      retries: 3
      start_period: 2s
    deploy:
      replicas: 2
      endpoint_mode: dnsrr
      update_config: {{ order: start-first, failure_action: rollback, monitor: 5s, parallelism: 1 }}
      rollback_config: {{ order: start-first }}
      restart_policy: {{ condition: any }}
  db:
    image: topo-test/postgres:17
    networks: [app]
    environment:
      POSTGRES_PASSWORD_FILE: /run/secrets/db_password
    secrets: [db_password]
    volumes: ["dbdata:/var/lib/postgresql/data"]
    healthcheck:
      test: ["CMD", "pg_isready", "-h", "127.0.0.1", "-U", "postgres"]
      interval: 1s
      timeout: 2s
      retries: 30
    deploy:
      endpoint_mode: dnsrr
      placement:
        constraints: ["node.labels.topo.stateful == true"]
  proxy:
    image: topo-test/nginx:latest
    networks: [app]
    configs:
      - source: proxy_conf
        target: /etc/nginx/conf.d/default.conf
    ports:
      - {{ target: 80, published: {port}, protocol: tcp, mode: host }}
    deploy:
      endpoint_mode: dnsrr
      placement:
        constraints: ["node.role == manager"]
"#
    )
}

/// The stack deployed and converged on a fresh cluster.
struct Shop {
    cluster: SwarmCluster,
    port: u16,
    /// Seconds from `docker stack deploy` to every task running and a 200 through the proxy.
    converged_in: Duration,
}

impl Shop {
    /// A cluster (the manager labelled `topo.stateful=true`) with the stack converged;
    /// `None` where the test is skipped.
    fn start(test: &str) -> Option<Shop> {
        let cluster = SwarmCluster::start(test)?;
        cluster.label(0, "topo.stateful", "true");
        let port = crate::common::free_port();
        let shop = Shop {
            cluster,
            port,
            converged_in: Duration::ZERO,
        };
        std::fs::write(shop.cluster.path("db_password.txt"), PASSWORD).expect("write");
        std::fs::write(shop.cluster.path("proxy.conf"), PROXY_CONF).expect("write");
        let t = Instant::now();
        shop.deploy(WEB_COMMAND);
        shop.converge();
        let url = shop.url();
        wait_for(
            "a 200 through the proxy",
            Duration::from_secs(60),
            || (get(&url) == Some(200)).then_some(()),
            || shop.describe(),
        );
        Some(Shop {
            converged_in: t.elapsed(),
            ..shop
        })
    }

    /// Writes the stack file with `web_command` and deploys it.
    fn deploy(&self, web_command: &str) -> String {
        let file: PathBuf = self.cluster.path("stack.yml");
        std::fs::write(&file, stack_file(self.port, web_command)).expect("write");
        self.cluster.deploy(STACK, &file)
    }

    /// Waits until web has two running tasks and db and proxy one each.
    fn converge(&self) {
        wait_for(
            "the stack converges",
            Duration::from_secs(120),
            || {
                let running = |s: &str| self.cluster.containers(&service(s)).len();
                (running("web") == 2 && running("db") == 1 && running("proxy") == 1).then_some(())
            },
            || self.describe(),
        );
    }

    /// The proxy's URL: its published port on the manager's address.
    fn url(&self) -> String {
        format!("http://{}:{}/", self.cluster.manager().address, self.port)
    }

    /// `docker stack ps` (for failure messages).
    fn describe(&self) -> String {
        let output = self.cluster.docker(&[
            "stack",
            "ps",
            "--no-trunc",
            "--format",
            "{{.Name}} {{.Node}} {{.DesiredState}} {{.CurrentState}} {{.Error}}",
            STACK,
        ]);
        format!("{}{}", text(&output.stdout), text(&output.stderr))
    }

    /// The node id and container of the one running db task.
    fn db(&self) -> (String, String) {
        let mut running = self.cluster.containers(&service("db"));
        assert_eq!(running.len(), 1, "{}", self.describe());
        running.remove(0)
    }

    /// `psql -tAc SQL` in the db container (on its node), which must succeed.
    fn sql(&self, sql: &str) -> String {
        let (node, container) = self.db();
        let node = self
            .cluster
            .node_by_id(&node)
            .expect("a node of the cluster");
        node.docker_ok(&["exec", &container, "psql", "-U", "postgres", "-tAc", sql])
            .trim()
            .to_owned()
    }
}

fn service(name: &str) -> String {
    format!("{STACK}_{name}")
}

#[test]
fn a_two_node_cluster_forms_and_runs_a_stack() {
    let test = "a_two_node_cluster_forms_and_runs_a_stack";
    let Some(shop) = Shop::start(test) else {
        return;
    };
    eprintln!(
        "{test}: cluster started in {:.1} s, stack converged in {:.1} s",
        shop.cluster.times.total.as_secs_f64(),
        shop.converged_in.as_secs_f64()
    );
    nodes_are_named_labelled_and_have_the_images(&shop.cluster);
    web_runs_on_both_nodes_healthy_without_a_virtual_ip(&shop);
    db_runs_on_the_labelled_node_with_the_secret(&shop);
    the_worker_reaches_web_and_db_by_name(&shop);
    the_proxy_answers_on_the_managers_address(&shop);

    let Shop { cluster, .. } = shop;
    let left = cluster.stop();
    assert!(left.is_empty(), "left behind: {left:?}");
}

/// Two nodes, one manager; each named for its role, labelled, with the images.
fn nodes_are_named_labelled_and_have_the_images(cluster: &SwarmCluster) {
    let (manager, worker) = (cluster.manager(), cluster.worker());
    let nodes = cluster.docker_ok(&["node", "ls", "--format", "{{.Hostname}} {{.ManagerStatus}}"]);
    assert!(
        nodes.contains(&format!("{} Leader", manager.hostname))
            && nodes.contains(&format!("{} \n", worker.hostname)),
        "{nodes}"
    );
    let labels = &cluster.inspect(&manager.id)["Spec"]["Labels"];
    assert_eq!(labels["topo.stateful"], "true", "{labels}");
    assert_eq!(labels["topo.node"], "manager", "{labels}");
    for node in &cluster.nodes {
        for image in crate::cluster::IMAGES {
            assert!(
                node.docker(&["image", "inspect", image]).status.success(),
                "{image} on {}",
                node.role
            );
        }
    }
}

/// web: two tasks, spread over both nodes, healthy; DNS round-robin.
fn web_runs_on_both_nodes_healthy_without_a_virtual_ip(shop: &Shop) {
    let cluster = &shop.cluster;
    let (manager, worker) = (cluster.manager(), cluster.worker());
    let web = cluster.containers(&service("web"));
    let mut web_nodes: Vec<&str> = web.iter().map(|(node, _)| node.as_str()).collect();
    web_nodes.sort();
    let mut both = vec![manager.id.as_str(), worker.id.as_str()];
    both.sort();
    assert_eq!(
        web_nodes,
        both,
        "one web task per node: {}",
        shop.describe()
    );
    for (node, container) in &web {
        let node = cluster.node_by_id(node).expect("a node");
        let health = node.docker_ok(&["inspect", "-f", "{{.State.Health.Status}}", container]);
        assert_eq!(health.trim(), "healthy", "web on {}", node.role);
    }
    // DNS round-robin: `web` resolves to both tasks' addresses, no virtual IP.
    let spec = cluster.inspect(&service("web"));
    assert_eq!(spec["Spec"]["EndpointSpec"]["Mode"], "dnsrr");
    assert!(
        spec["Endpoint"]["VirtualIPs"]
            .as_array()
            .is_none_or(Vec::is_empty),
        "{}",
        spec["Endpoint"]
    );
}

/// db: on the labelled node (the manager), its password the secret's.
fn db_runs_on_the_labelled_node_with_the_secret(shop: &Shop) {
    let manager = shop.cluster.manager();
    let (db_node, _) = shop.db();
    assert_eq!(db_node, manager.id, "db runs on the labelled node");
    assert_eq!(shop.sql("select 1"), "1");
}

/// From the worker, over the overlay network (attachable): web and db by name, db with
/// the secret's password only.
fn the_worker_reaches_web_and_db_by_name(shop: &Shop) {
    let worker = shop.cluster.worker();
    let network = format!("{STACK}_app");
    let from_worker = |args: &[&str]| {
        let mut all = vec!["run", "--rm", "--network", network.as_str()];
        all.extend_from_slice(args);
        worker.docker(&all)
    };
    let fetched = from_worker(&[
        "topo-test/busybox:latest",
        "sh",
        "-c",
        "nslookup web 127.0.0.11 && wget -q -O - http://web:8080/",
    ]);
    let out = text(&fetched.stdout);
    assert!(
        fetched.status.success() && out.contains("topo-test"),
        "{out}{}",
        text(&fetched.stderr)
    );
    let addresses = out
        .lines()
        .filter(|l| l.starts_with("Address") && !l.contains("127.0.0.11"))
        .count();
    assert_eq!(addresses, 2, "web resolves to its two tasks: {out}");
    let psql = |password: &str| {
        from_worker(&[
            "-e",
            &format!("PGPASSWORD={password}"),
            "topo-test/postgres:17",
            "psql",
            "-h",
            "db",
            "-U",
            "postgres",
            "-tAc",
            "select 42",
        ])
    };
    let right = psql(PASSWORD);
    assert_eq!(text(&right.stdout).trim(), "42", "{}", text(&right.stderr));
    assert!(
        !psql("wrong").status.success(),
        "another password is refused"
    );
}

/// The proxy: on the manager, its port published in host mode (no routing mesh); a GET
/// from this machine to the manager's address answers 200 with web's page.
fn the_proxy_answers_on_the_managers_address(shop: &Shop) {
    let cluster = &shop.cluster;
    let (manager, worker) = (cluster.manager(), cluster.worker());
    let proxy = cluster.containers(&service("proxy"));
    assert_eq!(proxy.len(), 1);
    assert_eq!(proxy[0].0, manager.id, "the proxy runs on the manager");
    let ports = &cluster.inspect(&service("proxy"))["Endpoint"]["Ports"][0];
    assert_eq!(ports["PublishMode"], "host", "{ports}");
    assert_eq!(get(&shop.url()), Some(200));
    // Also from inside each node's namespace: the manager's own, the worker's over the
    // segment.
    for node in [manager, worker] {
        let fetched = node.inside(&["wget", "-q", "-O", "-", &shop.url()]);
        assert!(
            fetched.status.success() && text(&fetched.stdout).contains("topo-test"),
            "from {}: {}",
            node.role,
            text(&fetched.stderr)
        );
    }
    let body = ureq::get(shop.url())
        .call()
        .expect("an answer")
        .body_mut()
        .read_to_string()
        .expect("a body");
    assert!(body.contains("topo-test"), "{body}");
}

#[test]
fn a_failing_update_is_rolled_back_while_old_tasks_serve() {
    let test = "a_failing_update_is_rolled_back_while_old_tasks_serve";
    let Some(shop) = Shop::start(test) else {
        return;
    };
    let cluster = &shop.cluster;
    let before = cluster.containers(&service("web"));
    let others = || (shop.db(), cluster.containers(&service("proxy")));
    let others_before = others();
    let load = Load::start(&shop.url(), 2, Duration::from_millis(10));
    std::thread::sleep(Duration::from_secs(1));

    let t = Instant::now();
    shop.deploy(BAD_WEB_COMMAND);
    let state = || {
        cluster.inspect(&service("web"))["UpdateStatus"]["State"]
            .as_str()
            .unwrap_or_default()
            .to_owned()
    };
    let mut rollback_started = None;
    wait_for(
        "web's update is rolled back",
        Duration::from_secs(180),
        || {
            let now = state();
            if now == "rollback_started" && rollback_started.is_none() {
                rollback_started = Some(t.elapsed());
            }
            (now == "rollback_completed").then_some(())
        },
        || format!("{}\n{}", state(), shop.describe()),
    );
    let rolled_back = t.elapsed();
    // A little more traffic after the rollback, then the count.
    std::thread::sleep(Duration::from_secs(2));
    let (sent, failed) = load.finish();
    eprintln!(
        "{test}: cluster {:.1} s, convergence {:.1} s; rollback started after {:.1} s, completed \
         after {:.1} s; {sent} requests during the update, {failed} failed",
        cluster.times.total.as_secs_f64(),
        shop.converged_in.as_secs_f64(),
        rollback_started.unwrap_or_default().as_secs_f64(),
        rolled_back.as_secs_f64(),
    );

    eprintln!(
        "{test}: web's tasks:\n{}",
        cluster.docker_ok(&[
            "service",
            "ps",
            "--no-trunc",
            "--format",
            "{{.Name}} {{.Node}} {{.DesiredState}} {{.CurrentState}} {{.Error}}",
            &service("web"),
        ])
    );
    let web = cluster.inspect(&service("web"));
    assert_eq!(web["UpdateStatus"]["State"], "rollback_completed");
    assert_eq!(
        web["Spec"]["TaskTemplate"]["ContainerSpec"]["Args"],
        serde_json::json!(["httpd", "-f", "-p", "8080", "-h", "/www"]),
        "the spec is the one before the update"
    );
    // The old tasks were never stopped: the same containers serve.
    let mut after = cluster.containers(&service("web"));
    let mut before = before;
    after.sort();
    before.sort();
    assert_eq!(
        after,
        before,
        "the old tasks still run: {}",
        shop.describe()
    );
    // The stack file deployed again changed only web: db and the proxy kept their containers.
    assert_eq!(others(), others_before, "{}", shop.describe());
    assert!(sent > 100, "the client kept sending: {sent}");
    assert_eq!(
        failed, 0,
        "{failed} of {sent} requests failed during the update"
    );
    assert_eq!(get(&shop.url()), Some(200));

    let Shop { cluster, .. } = shop;
    let left = cluster.stop();
    assert!(left.is_empty(), "left behind: {left:?}");
}

#[test]
fn draining_a_node_reschedules_its_tasks() {
    let test = "draining_a_node_reschedules_its_tasks";
    let Some(shop) = Shop::start(test) else {
        return;
    };
    let cluster = &shop.cluster;
    let (manager, worker) = (cluster.manager(), cluster.worker());
    shop.sql("create table orders (id int primary key, item text)");
    shop.sql("insert into orders values (1, 'tea'), (2, 'cake')");
    let db_before = shop.db();
    let on_worker = cluster
        .containers(&service("web"))
        .iter()
        .filter(|(node, _)| *node == worker.id)
        .count();
    assert_eq!(
        on_worker,
        1,
        "a web task on the worker: {}",
        shop.describe()
    );

    let load = Load::start(&shop.url(), 2, Duration::from_millis(10));
    std::thread::sleep(Duration::from_secs(1));
    let t = Instant::now();
    cluster.drain(1);
    wait_for(
        "web's tasks all run on the manager",
        Duration::from_secs(120),
        || {
            let web = cluster.containers(&service("web"));
            (web.len() == 2 && web.iter().all(|(node, _)| *node == manager.id)).then_some(())
        },
        || shop.describe(),
    );
    let moved = t.elapsed();
    std::thread::sleep(Duration::from_secs(2));
    let (sent, failed) = load.finish();
    eprintln!(
        "{test}: cluster {:.1} s, convergence {:.1} s; drained in {:.1} s; {sent} requests \
         during the drain, {failed} failed",
        cluster.times.total.as_secs_f64(),
        shop.converged_in.as_secs_f64(),
        moved.as_secs_f64(),
    );

    let availability = &cluster.inspect(&worker.id)["Spec"]["Availability"];
    assert_eq!(availability, "drain");
    let on_worker = worker.docker_ok(&["ps", "-q"]);
    assert!(
        on_worker.trim().is_empty(),
        "nothing runs on the drained worker: {on_worker}"
    );
    // The database did not move: the same task, the same container, the same data.
    assert_eq!(shop.db(), db_before, "db was not rescheduled");
    assert_eq!(
        shop.sql("select string_agg(item, ',' order by id) from orders"),
        "tea,cake"
    );
    assert_eq!(get(&shop.url()), Some(200));

    // Activated again, the worker takes new tasks (Swarm does not move running ones back).
    cluster.activate(1);
    assert_eq!(
        cluster.inspect(&worker.id)["Spec"]["Availability"],
        "active"
    );
    cluster.docker_ok(&[
        "service",
        "scale",
        "--detach",
        &format!("{}=3", service("web")),
    ]);
    wait_for(
        "a third web task on the worker",
        Duration::from_secs(60),
        || {
            let web = cluster.containers(&service("web"));
            (web.len() == 3 && web.iter().any(|(node, _)| *node == worker.id)).then_some(())
        },
        || shop.describe(),
    );

    let Shop { cluster, .. } = shop;
    let left = cluster.stop();
    assert!(left.is_empty(), "left behind: {left:?}");
}
