//! MariaDB as the database (`engine = "mariadb"`, pinned by release series): `--setup`
//! creates it from the offline image built from Debian's mariadb-server, health-gated by
//! the image's own `healthcheck.sh`; the deploy asks the running server its version
//! (`SELECT VERSION()`, as the application's user, with the password from its file) and
//! refuses a server of another series than the pin, whatever the image's tag says.

use crate::{common, text_of, Target};

/// The deploy fixture with MariaDB 11.8 in place of PostgreSQL 17.
fn with_mariadb(topology: String) -> String {
    topology
        .replace("engine = \"postgres\"", "engine = \"mariadb\"")
        .replace("major = 17", "major = \"11.8\"")
        .replace("topo-test/postgres:17", "topo-test/mariadb:11.8")
}

/// `SQL` run in the database container by its root user (over the Unix socket).
fn sql(target: &Target, sql: &str) -> String {
    common::docker(&[
        "exec",
        &target.container("db"),
        "mariadb",
        "-N",
        "-B",
        "-e",
        sql,
        "shop",
    ])
    .trim()
    .to_owned()
}

#[test]
fn mariadb_is_set_up_verified_and_refused_on_another_series() {
    let Some(target) = Target::new("deploy mariadb", "dmaria", with_mariadb) else {
        return;
    };
    let first = target.deploy_ok(&["--setup", "--tag", "v1"]);
    let major = first["checks"]
        .as_array()
        .expect("checks")
        .iter()
        .find(|c| c["name"] == "database major")
        .expect("the database's version is asked");
    let detail = major["detail"].as_str().expect("detail");
    assert!(
        detail.contains("11.8.") && detail.contains("major 11.8, as pinned"),
        "{detail}"
    );
    let db = common::inspect("container", &target.container("db"));
    assert_eq!(db["State"]["Health"]["Status"], "healthy");
    let env = db["Config"]["Env"].to_string();
    assert!(
        env.contains("MARIADB_PASSWORD_FILE=/run/secrets/SHOP_DB_PASSWORD")
            && !env.contains("production-secret"),
        "the password is a file, not a variable: {env}"
    );
    assert_eq!(db["HostConfig"]["ReadonlyRootfs"], true, "confined");
    // The application's user logs in over the network with the deploy's secret.
    let login = common::docker(&[
        "exec",
        &target.container("db"),
        "mariadb",
        "--protocol=tcp",
        "-h",
        &target.container("db"),
        "-u",
        "shop",
        "-pproduction-secret",
        "-N",
        "-B",
        "-e",
        "SELECT CURRENT_USER()",
        "shop",
    ]);
    assert_eq!(login.trim(), "shop@%");
    sql(
        &target,
        "CREATE TABLE orders (id INT); INSERT INTO orders VALUES (42)",
    );

    // The data outlives a deploy that replaces the application, and the database is kept.
    let db_id = target.identity("db");
    target.derive("v2", "v1", "RUN echo v2 > /srv/www/version.txt");
    target.deploy_ok(&["--tag", "v2"]);
    assert_eq!(
        target.identity("db"),
        db_id,
        "the database was not restarted"
    );
    assert_eq!(sql(&target, "SELECT id FROM orders"), "42");

    // The pin moves to 10.11 and the image's tag says so, but the server still runs 11.8
    // (a tag lies; the server answers): refused before anything is replaced.
    common::docker(&["tag", "topo-test/mariadb:11.8", "topo-test/mariadb:10.11"]);
    let pinned = std::fs::read_to_string(target.topology())
        .expect("topology")
        .replace("major = \"11.8\"", "major = \"10.11\"")
        .replace("topo-test/mariadb:11.8", "topo-test/mariadb:10.11");
    std::fs::write(target.topology(), pinned).expect("write");
    let web = target.identity("web");
    let output = target.sim(&["deploy", "--tag", "v1", "--strategy", "recreate"]);
    assert_eq!(output.status.code(), Some(1));
    let stderr = text_of(&output.stderr);
    assert!(
        stderr.contains("runs MariaDB major 11.8")
            && stderr.contains("pins major 10.11")
            && stderr.contains("mariadb-upgrade"),
        "{stderr}"
    );
    assert_eq!(target.identity("web"), web, "nothing was replaced");
}
