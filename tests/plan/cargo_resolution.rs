//! The packages topo-ci resolves from a `Cargo.lock` for an image, held to Cargo's own
//! reading: `cargo tree` of the crate (normal, build and dev dependencies) on this
//! repository's own workspace, whose manifests and lockfile are copied into a repository
//! made by the test. Every package Cargo builds for the crate must be in its closure.
//! Cargo.lock names a crate's dependencies of every kind, for every feature some crate of
//! the workspace turns on, in one list: the closure may hold more than Cargo builds (an
//! optional dependency another crate's features enable), never less; and a crate the
//! image's crate depends on brings its own dependencies and build dependencies, not its
//! dev-dependencies (its tests are not built with the image).

use std::collections::BTreeSet;
use std::process::Command;

use crate::{common, Repo};

const TOPOLOGY: &str = r#"project = "topo"

[[services]]
role = "ci"
context = "crates/ci"

[[services]]
role = "sim"
context = "crates/sim"
"#;

#[test]
fn cargo_lock_closures_hold_what_cargo_builds_and_not_dependencies_tests() {
    let root = common::root();
    let repo = Repo::empty();
    repo.write("topology.toml", TOPOLOGY);
    for file in ["Cargo.toml", "Cargo.lock"] {
        copy(&root, &repo, file);
    }
    for member in [
        "crates/core",
        "crates/cli",
        "crates/ci",
        "crates/sim",
        "xtask",
        "tests",
    ] {
        copy(&root, &repo, &format!("{member}/Cargo.toml"));
    }
    for crate_dir in ["crates/ci", "crates/sim"] {
        repo.write(&format!("{crate_dir}/Dockerfile"), "FROM scratch AS prod\n");
    }
    repo.commit("this repository's manifests and lockfile");
    let explained = repo.explain(&[], "this repository's workspace");

    // topo-core's dev-dependencies that neither service's crate uses otherwise.
    let tests_only = ["insta@", "proptest@", "rand_xorshift@"];
    for (container, krate) in [("topo-ci", "topo-ci"), ("topo-sim", "topo-sim")] {
        let service = (explained.services.iter()).find(|s| s.container == container);
        let lockfile = service.and_then(|s| s.lockfile.as_ref());
        let lockfile = lockfile.unwrap_or_else(|| panic!("{container} has a lockfile closure"));
        let ours: BTreeSet<&str> = lockfile.packages.iter().map(String::as_str).collect();
        let cargo = cargo_tree(&root, krate);
        let missed: Vec<&String> = cargo
            .iter()
            .filter(|p| !ours.contains(p.as_str()))
            .collect();
        assert!(
            missed.is_empty(),
            "{container}: cargo tree builds {missed:?}, which its closure lacks"
        );
        assert!(cargo.len() > 200, "{container}: {} packages", cargo.len());
        for package in &ours {
            assert!(
                !tests_only.iter().any(|t| package.starts_with(t)),
                "{container}: {package} is only for topo-core's tests: {ours:?}"
            );
        }
    }
}

fn copy(root: &std::path::Path, repo: &Repo, file: &str) {
    let text = std::fs::read_to_string(root.join(file)).expect("the workspace's file");
    repo.write(file, &text);
}

/// `name@version` of each package `cargo tree` shows for the crate `krate` of the
/// workspace at `root`, on this host, with its normal, build and dev dependencies.
fn cargo_tree(root: &std::path::Path, krate: &str) -> BTreeSet<String> {
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".to_owned());
    let output = Command::new(cargo)
        .args(["tree", "--locked", "--offline", "-p", krate])
        .args([
            "-e",
            "normal,build,dev",
            "--prefix",
            "none",
            "--format",
            "{p}",
        ])
        .current_dir(root)
        .output()
        .expect("cargo runs");
    assert!(
        output.status.success(),
        "cargo tree -p {krate}: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8_lossy(&output.stdout)
        .lines()
        .filter_map(|line| {
            let mut words = line.split_whitespace();
            let (name, version) = (words.next()?, words.next()?.strip_prefix('v')?);
            // Crates of the workspace (`(/path)`) are in the scope, not the closure.
            (!line.contains(" (/")).then(|| format!("{name}@{version}"))
        })
        .collect()
}
