//! The packages topo-ci resolves from a `package-lock.json` for an image, held to npm's
//! own reading of the same lockfile: `npm query '.workspace[name="server"] *'
//! --package-lock-only` lists every package the workspace package reaches (dependencies,
//! optional and peer ones, its own dev dependencies and those of the workspace packages it
//! depends on), resolved as Node resolves them, from the nearest `node_modules` up. No
//! registry is needed: npm reads the lockfile alone.
//!
//! The fixture has what resolution turns on: one name at two versions (hoisted, and nested
//! under the package that needs the other), a nested copy under a dependency, an alias
//! (`string-width-cjs` installs `string-width`), an optional dependency, peer dependencies
//! (of a workspace package, with a dependency of its own; of a locked package), and
//! workspace links two deep. npm names an alias by the
//! package's own name; topo-ci by where it is installed, so both are compared by that.

use std::collections::BTreeSet;
use std::process::Command;

use serde_json::Value;

use crate::workspaces::Manager;

const LOCKFILE: &str = include_str!("fixtures/npm-resolution/package-lock.json");

const TOPOLOGY: &str = r#"project = "shop"

[[services]]
role = "server"
context = "apps/server"

[[services]]
role = "web"
context = "apps/web"
"#;

#[test]
fn npm_lockfile_closures_are_what_npm_resolves() {
    if !npm_available() {
        return;
    }
    let repo = Manager::Npm.deployed();
    check_against_npm(&repo, "the shop workspace");

    let repo = crate::Repo::empty();
    repo.write("topology.toml", TOPOLOGY);
    repo.write("package-lock.json", LOCKFILE);
    let lock: Value = serde_json::from_str(LOCKFILE).expect("the fixture is JSON");
    let packages = lock["packages"].as_object().expect("a packages map");
    // Each workspace package's manifest, as the lockfile records it.
    for (dir, entry) in packages
        .iter()
        .filter(|(dir, _)| !dir.contains("node_modules"))
    {
        let mut manifest = entry.as_object().expect("an entry").clone();
        manifest.retain(|key, _| {
            !matches!(key.as_str(), "resolved" | "integrity" | "link" | "license")
        });
        let path = match dir.as_str() {
            "" => "package.json".to_owned(),
            dir => format!("{dir}/package.json"),
        };
        repo.write(
            &path,
            &serde_json::to_string_pretty(&manifest).expect("JSON"),
        );
    }
    for app in ["apps/server", "apps/web"] {
        repo.write(&format!("{app}/Dockerfile"), "FROM scratch AS prod\n");
    }
    repo.commit("a workspace whose lockfile nests, aliases and peers");
    let resolved = check_against_npm(&repo, "the resolution fixture");
    // What the comparison turns on is in the fixture: both versions of `ms` for the
    // server (2.0.0 hoisted, 2.1.3 under jest, a dev dependency of @shop/common), web's
    // nested debug and ms, the alias, the optional and peer dependencies (ws only through
    // ws-plugin's peer).
    for (service, package) in [
        ("shop-server", "ms@2.0.0"),
        ("shop-server", "ms@2.1.3"),
        ("shop-server", "jest@29.7.0"),
        ("shop-server", "string-width-cjs@4.2.3"),
        ("shop-server", "loose-envify@1.4.0"),
        ("shop-server", "ws@8.16.0"),
        ("shop-web", "debug@4.3.4"),
        ("shop-web", "ms@2.1.2"),
        ("shop-web", "fsevents@2.3.3"),
    ] {
        assert!(
            resolved[service].contains(package),
            "{service} gets {package}: {:?}",
            resolved[service]
        );
    }
    assert!(!resolved["shop-web"].contains("ms@2.0.0"));
    assert!(!resolved["shop-web"].contains("express@4.18.2"));
}

/// Asserts that each service's lockfile closure, as `fingerprint --explain` lists it, is
/// the set of packages npm reaches from the service's workspace package. Returns them.
fn check_against_npm(
    repo: &crate::Repo,
    what: &str,
) -> std::collections::BTreeMap<String, BTreeSet<String>> {
    let explained = repo.explain(&[], what);
    let mut resolved = std::collections::BTreeMap::new();
    let mut compared = 0;
    for service in &explained.services {
        let Some(lockfile) = &service.lockfile else {
            continue;
        };
        let own = service.scope.first().and_then(|l| l.strip_prefix("own "));
        let own = own.unwrap_or_else(|| panic!("{what}: {}'s build context", service.container));
        let manifest: Value = serde_json::from_str(
            &std::fs::read_to_string(repo.path().join(own).join("package.json"))
                .expect("the service's package.json"),
        )
        .expect("JSON");
        let name = manifest["name"].as_str().expect("a named package");
        let ours: BTreeSet<String> = lockfile.packages.iter().cloned().collect();
        let npm = npm_reaches(repo, name);
        assert_eq!(
            ours, npm,
            "{what}: {} (package {name}): topo-ci's closure, then npm's",
            service.container
        );
        compared += 1;
        resolved.insert(service.container.clone(), ours);
    }
    assert!(compared >= 2, "{what}: {compared} closures compared");
    resolved
}

/// `name@version` of every package npm reaches from the workspace package `name`, named by
/// where it is installed (`node_modules/string-width-cjs` → `string-width-cjs`).
fn npm_reaches(repo: &crate::Repo, name: &str) -> BTreeSet<String> {
    let output = Command::new("npm")
        .args([
            "query",
            &format!(".workspace[name=\"{name}\"] *"),
            "--package-lock-only",
        ])
        .current_dir(repo.path())
        .output()
        .expect("npm runs");
    assert!(
        output.status.success(),
        "npm query: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    let nodes: Vec<Value> = serde_json::from_slice(&output.stdout).expect("npm query's JSON");
    nodes
        .iter()
        .filter(|node| node["link"] != Value::Bool(true))
        .filter_map(|node| {
            let location = node["location"].as_str()?;
            let (_, installed) = location.rsplit_once("node_modules/")?;
            Some(format!("{installed}@{}", node["version"].as_str()?))
        })
        .collect()
}

/// Is npm installed? With `CI=true` it must be (this machine's kind has Node 20 and npm 10;
/// `.ci/run` installs Debian's otherwise): a missing one fails the test. Elsewhere the test
/// prints why it is skipped.
fn npm_available() -> bool {
    let problem = match Command::new("npm").arg("--version").output() {
        Ok(output) if output.status.success() => return true,
        Ok(output) => String::from_utf8_lossy(&output.stderr).trim().to_owned(),
        Err(error) => error.to_string(),
    };
    if std::env::var("CI").is_ok_and(|v| v == "true") {
        panic!("npm is required in CI ({problem}); .ci/run installs it");
    }
    eprintln!("SKIPPED npm resolution: npm is not installed ({problem})");
    false
}
