//! `topo diff`: every difference between two modes has a named rule, over every fixture,
//! and the report of the example reads as it should.

use topo_core::spec::diff::diff;
use topo_core::spec::rules::{self, RULES};
use topo_core::{runtime_spec, Mode, SpecOptions};

use crate::common;

/// The rules cited by the differences of every pair of modes of every fixture.
#[test]
fn every_difference_between_modes_is_explained_by_a_rule() {
    let mut cited = std::collections::BTreeSet::new();
    let mut count = 0;
    let mut fixtures = common::valid_fixtures();
    for stack in ["accessories", "sim", "deploy"] {
        let path = common::root().join(format!("tests/fixtures/{stack}/topology.toml"));
        fixtures.push((
            stack.to_owned(),
            std::fs::read_to_string(path).expect("a fixture"),
        ));
    }
    for (name, text) in fixtures {
        let topology = common::load_valid(&name, &text);
        let spec = |mode| runtime_spec(&topology, mode, &SpecOptions::default());
        for (left, right) in [
            (Mode::Dev, Mode::ProdSim),
            (Mode::ProdSim, Mode::Production),
            (Mode::Dev, Mode::Production),
        ] {
            for difference in diff(&spec(left), &spec(right), &[]) {
                assert_ne!(
                    difference.rule,
                    rules::UNEXPLAINED,
                    "{name}: {left} → {right}: {difference:?}"
                );
                cited.insert(difference.rule.id);
                count += 1;
            }
            // The same differences the other way round, sides swapped.
            let forth = diff(&spec(left), &spec(right), &[]);
            let back = diff(&spec(right), &spec(left), &[]);
            assert_eq!(forth.len(), back.len(), "{name}: {left} ⇄ {right}");
        }
    }
    assert!(count > 100, "only {count} differences over the fixtures");
    // Every rule but the fallback explains something the fixtures do.
    let unused: Vec<&str> = RULES
        .iter()
        .map(|r| r.id)
        .filter(|id| *id != rules::UNEXPLAINED.id && !cited.contains(id))
        .collect();
    assert_eq!(unused, Vec::<&str>::new(), "rules no fixture exercises");
}

fn report(args: &[&str]) -> String {
    let output = assert_cmd::Command::cargo_bin("topo")
        .expect("the topo binary")
        .arg("diff")
        .args(args)
        .output()
        .expect("topo runs");
    let mut got = String::from_utf8_lossy(&output.stdout).into_owned();
    got.push_str(&String::from_utf8_lossy(&output.stderr));
    got.push_str(&format!("exit {}\n", output.status.code().unwrap_or(-1)));
    got
}

#[test]
fn the_report_names_each_rule_and_says_why() {
    let worker = report(&["--example", "vendure", "prod-sim", "production", "worker"]);
    insta::assert_snapshot!("diff_worker_prod_sim_production", worker);
    let db = report(&["--example", "vendure", "dev", "prod-sim", "vendure-db"]);
    insta::assert_snapshot!("diff_db_dev_prod_sim", db);
    let unknown = report(&["--example", "vendure", "dev", "production", "nothing"]);
    assert!(unknown.ends_with("exit 1\n"), "{unknown}");
    assert!(
        unknown.contains("`nothing` runs in neither dev nor production")
            && unknown.contains("name one of: db, server, worker, storefront, proxy"),
        "{unknown}"
    );
}

#[test]
fn json_lists_field_values_and_rule() {
    let output = assert_cmd::Command::cargo_bin("topo")
        .expect("the topo binary")
        .args([
            "diff",
            "--example",
            "vendure",
            "dev",
            "production",
            "--format",
            "json",
        ])
        .output()
        .expect("topo runs");
    assert!(output.status.success());
    let document: serde_json::Value =
        serde_json::from_slice(&output.stdout).expect("a JSON document");
    let differences = document["differences"].as_array().expect("differences");
    let command = differences
        .iter()
        .find(|d| d["role"] == "server" && d["field"] == "command")
        .expect("the server's command differs");
    assert_eq!(command["rule"]["id"], "command-per-mode");
    assert_eq!(command["right"], r#"["node","dist/index.js"]"#);
}
