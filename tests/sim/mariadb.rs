//! MariaDB in prod-sim: `up` starts it from scratch, health-gated by the image's own
//! `healthcheck.sh`, before what waits for it; the application's user logs in with the
//! password from its secret file, the URL derived from the topology names it, and the data
//! survives `down` and a second `up --keep-volumes`.

use crate::{common, text, Stack};

#[test]
fn up_runs_mariadb_and_keeps_its_data() {
    let Some(stack) = Stack::new("mariadb up", "simmaria", |t| {
        t.replace("engine = \"postgres\"", "engine = \"mariadb\"")
            .replace("major = 17", "major = \"11.8\"")
            .replace("topo-test/postgres:17", "topo-test/mariadb:11.8")
            .replace(
                "file = true }",
                "file = true }\nDATABASE_URL = { url_of = \"db\" }",
            )
    }) else {
        return;
    };
    let (output, verdict) = stack.up_json(&[]);
    assert!(output.status.success(), "{}", text(&output.stderr));
    assert_eq!(verdict["ok"], true, "{verdict}");
    let db = stack.container("db");
    assert_eq!(
        common::inspect("container", &db)["State"]["Health"]["Status"],
        "healthy"
    );
    let worker = common::inspect("container", &stack.container("worker"));
    let url = worker["Config"]["Env"]
        .as_array()
        .expect("an environment")
        .iter()
        .find_map(|e| e.as_str()?.strip_prefix("DATABASE_URL="))
        .expect("the worker reads DATABASE_URL")
        .to_owned();
    assert_eq!(
        url,
        format!("mysql://shop:shop-dev-password@{db}:3306/shop")
    );
    // What the URL says logs in, over the network.
    let login = |sql: &str| {
        common::docker(&[
            "exec",
            &db,
            "mariadb",
            "--protocol=tcp",
            "--skip-ssl",
            "-h",
            &db,
            "-u",
            "shop",
            "-pshop-dev-password",
            "-N",
            "-B",
            "-e",
            sql,
            "shop",
        ])
        .trim()
        .to_owned()
    };
    login("CREATE TABLE kept (id INT); INSERT INTO kept VALUES (7)");

    let down = stack.sim(&["down"]);
    assert!(down.status.success(), "{}", text(&down.stderr));
    let (output, verdict) = stack.up_json(&["--keep-volumes"]);
    assert!(output.status.success(), "{}", text(&output.stderr));
    assert_eq!(verdict["ok"], true, "{verdict}");
    assert_eq!(
        login("SELECT id FROM kept"),
        "7",
        "the data volume was kept"
    );

    let down = stack.sim(&["down", "--volumes"]);
    assert!(down.status.success(), "{}", text(&down.stderr));
    assert_eq!(stack.leftovers(), Vec::<String>::new());
}
