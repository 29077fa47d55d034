//! Cargo workspaces: a `Cargo.toml` with a `[workspace]` table (`members` globs, `exclude`
//! paths, inherited `[workspace.dependencies]`), its member crates, and the crates they
//! reach through `path` dependencies. A crate's dependencies are read from every table
//! Cargo builds from: `dependencies`, `build-dependencies`, `dev-dependencies`, and the
//! same under each `[target.'cfg(…)']`.
//!
//! A dependency on a crate of the workspace is a *path* dependency (given directly, or
//! inherited with `workspace = true` from a `[workspace.dependencies]` entry with a
//! `path`); it is recorded as the range `path:DIR`, DIR from the repository root. Anything
//! else is resolved through `Cargo.lock`.
//!
//! A crate the root's `[patch]` (or the deprecated `[replace]`) takes from a `path` replaces
//! a registry crate for every crate that depends on it, directly or through other registry
//! crates; Cargo.lock names it without a source, so no closure sees its files change. It
//! joins the scope of every package of the workspace instead (more than needed, never less).

use std::collections::{BTreeMap, BTreeSet};

use gix::ObjectId;
use toml::{Table, Value};

use super::manifest::Manifest;
use super::{discover, normalise, read_packages, Ecosystem, Package, Workspace};
use crate::lockfile::{one_line, LockfileKind};
use crate::repo::{join, GitError, Repo};

/// The dependency tables of a `Cargo.toml`, in the order a crate declared under several
/// of them is read.
const KINDS: [&str; 3] = ["dependencies", "build-dependencies", "dev-dependencies"];

/// The prefix of the range recorded for a path dependency.
pub(super) const PATH: &str = "path:";

/// What topo-ci reads of a `Cargo.toml`.
#[derive(Debug, Default)]
struct CargoManifest {
    /// The package (name and dependencies); no name for a virtual manifest.
    manifest: Manifest,
    /// Whether it has a `[package]` table.
    is_package: bool,
    /// Its `[workspace]` table, when it is a workspace root.
    workspace: Option<WorkspaceTable>,
    /// The directories its `[patch.*]` and `[replace]` tables take crates from.
    patches: Vec<String>,
}

/// A `[workspace]` table.
#[derive(Debug, Default)]
struct WorkspaceTable {
    members: Vec<String>,
    exclude: Vec<String>,
    /// `[workspace.dependencies]`: the key → (crate name, range), paths resolved from the
    /// workspace root.
    dependencies: BTreeMap<String, (String, String)>,
}

/// The Cargo workspace whose root is `root`, if its `Cargo.toml` has a `[workspace]` table.
pub(super) fn workspace_at(
    repo: &Repo,
    tree: ObjectId,
    root: &str,
) -> Result<Option<Workspace>, GitError> {
    let declared_in = join(root, "Cargo.toml");
    let Some(bytes) = repo.read_file(tree, &declared_in)? else {
        return Ok(None);
    };
    let mut notes = Vec::new();
    let root_manifest = match parse(&bytes, root, None) {
        Ok(manifest) => manifest,
        Err(why) => {
            // Only a manifest that says `[workspace]` makes a workspace; one that does not
            // parse says nothing either way, unless it plainly tries to.
            if !String::from_utf8_lossy(&bytes).contains("[workspace") {
                return Ok(None);
            }
            notes.push(format!(
                "{declared_in} cannot be read ({why}): no workspace graph is read from it, so no service's scope includes the crates it depends on through `path`"
            ));
            CargoManifest {
                workspace: Some(WorkspaceTable::default()),
                ..CargoManifest::default()
            }
        }
    };
    let Some(table) = root_manifest.workspace else {
        return Ok(None);
    };
    let mut globs = table.members.clone();
    globs.extend(table.exclude.iter().map(|path| format!("!{path}")));
    let mut packages = BTreeMap::new();
    if root_manifest.is_package {
        packages.insert(
            root.to_owned(),
            Package {
                dir: root.to_owned(),
                manifest: root_manifest.manifest,
            },
        );
    }
    let mut pending = discover::package_dirs(repo, tree, root, &globs, "Cargo.toml")?;
    pending.extend(root_manifest.patches.iter().cloned());
    // Members, then the crates they reach by path (Cargo makes those members too).
    let parse = |bytes: &[u8], dir: &str| {
        parse(bytes, dir, Some(&table.dependencies)).map(|parsed| parsed.manifest)
    };
    let path = |_: &Package, range: &str| range.strip_prefix(PATH).map(str::to_owned);
    let read = (repo, tree, "Cargo.toml");
    read_packages(read, pending, parse, path, &mut packages, &mut notes)?;
    let lockfile = join(root, "Cargo.lock");
    let lockfile = repo
        .entry_at(tree, &lockfile)?
        .filter(|entry| !entry.is_tree())
        .map(|_| (lockfile, LockfileKind::Cargo));
    let mut workspace = Workspace::new(
        Ecosystem::Cargo,
        root,
        declared_in,
        packages,
        &BTreeSet::new(),
        lockfile,
        notes,
    );
    workspace.shared = root_manifest.patches;
    Ok(Some(workspace))
}

/// Reads the `Cargo.toml` of the directory `dir`; `inherited` is the workspace's
/// `[workspace.dependencies]` (for a member; `None` for the root, which declares it).
fn parse(
    bytes: &[u8],
    dir: &str,
    inherited: Option<&BTreeMap<String, (String, String)>>,
) -> Result<CargoManifest, String> {
    let text = std::str::from_utf8(bytes).map_err(|_| "not UTF-8".to_owned())?;
    let table: Table = text
        .parse()
        .map_err(|e: toml::de::Error| one_line(&e.to_string()))?;
    let workspace = match table.get("workspace") {
        None => None,
        Some(Value::Table(workspace)) => Some(workspace_table(workspace, dir)?),
        Some(_) => return Err("`workspace` is not a table".to_owned()),
    };
    let inherited = inherited.or(workspace.as_ref().map(|w| &w.dependencies));
    let package = table.get("package").and_then(Value::as_table);
    let mut dependencies = BTreeMap::new();
    // Names declared under `dev-dependencies`, and under the other tables.
    let (mut dev, mut built) = (BTreeSet::new(), BTreeSet::new());
    let targets = table
        .get("target")
        .and_then(Value::as_table)
        .into_iter()
        .flat_map(|targets| targets.values().filter_map(Value::as_table));
    for holder in std::iter::once(&table).chain(targets) {
        for kind in KINDS {
            let Some(specs) = holder.get(kind) else {
                continue;
            };
            for (name, range) in dependency_table(specs, kind, dir, inherited)? {
                match kind {
                    "dev-dependencies" => dev.insert(name.clone()),
                    _ => built.insert(name.clone()),
                };
                dependencies.entry(name).or_insert(range);
            }
        }
    }
    // The paths a `[patch.<registry>]` or `[replace]` table (`"name:version"` keys;
    // deprecated in favour of `[patch]`, still honoured) takes crates from.
    let mut patches = Vec::new();
    let mut take = |specs: &Value, at: &str| -> Result<(), String> {
        let ranges = dependency_table(specs, at, dir, inherited)?;
        let paths = ranges
            .into_iter()
            .filter_map(|(_, range)| range.strip_prefix(PATH).map(str::to_owned));
        patches.extend(paths);
        Ok(())
    };
    if let Some(registries) = table.get("patch") {
        let registries = registries.as_table().ok_or("`patch` is not a table")?;
        for (registry, specs) in registries {
            take(specs, &format!("patch.{registry}"))?;
        }
    }
    if let Some(specs) = table.get("replace") {
        take(specs, "replace")?;
    }
    Ok(CargoManifest {
        patches,
        manifest: Manifest {
            name: package
                .and_then(|p| p.get("name"))
                .and_then(Value::as_str)
                .map(str::to_owned),
            dependencies,
            workspaces: None,
            package_manager: None,
            dev_only: dev.difference(&built).cloned().collect(),
            patch_dir: None,
        },
        is_package: package.is_some(),
        workspace,
    })
}

fn workspace_table(workspace: &Table, root: &str) -> Result<WorkspaceTable, String> {
    let strings = |key: &str| -> Result<Vec<String>, String> {
        match workspace.get(key) {
            None => Ok(Vec::new()),
            Some(Value::Array(items)) => items
                .iter()
                .map(|item| {
                    item.as_str().map(str::to_owned).ok_or_else(|| {
                        format!("`workspace.{key}` holds a value that is not a string")
                    })
                })
                .collect(),
            Some(_) => Err(format!("`workspace.{key}` is not a list")),
        }
    };
    let mut dependencies = BTreeMap::new();
    if let Some(specs) = workspace.get("dependencies") {
        let specs = specs
            .as_table()
            .ok_or("`workspace.dependencies` is not a table")?;
        for (key, spec) in specs {
            let resolved = dependency(key, spec, root, None)
                .map_err(|why| format!("`workspace.dependencies.{key}`: {why}"))?;
            dependencies.insert(key.to_owned(), resolved);
        }
    }
    Ok(WorkspaceTable {
        members: strings("members")?,
        exclude: strings("exclude")?,
        dependencies,
    })
}

/// Each entry of the dependency table `specs` (at `at`: `dependencies`, `patch.crates-io`,
/// `replace`): its name and range, in the table's order.
fn dependency_table(
    specs: &Value,
    at: &str,
    dir: &str,
    inherited: Option<&BTreeMap<String, (String, String)>>,
) -> Result<Vec<(String, String)>, String> {
    let specs = specs
        .as_table()
        .ok_or_else(|| format!("`{at}` is not a table"))?;
    (specs.iter())
        .map(|(key, spec)| {
            dependency(key, spec, dir, inherited).map_err(|why| format!("`{at}.{key}`: {why}"))
        })
        .collect()
}

/// One dependency declared in `dir`'s manifest as `key = spec`: the crate's name (its
/// `package`, else the key) and its range (`path:DIR`, `git:URL#REF`, or the version
/// requirement).
fn dependency(
    key: &str,
    spec: &Value,
    dir: &str,
    inherited: Option<&BTreeMap<String, (String, String)>>,
) -> Result<(String, String), String> {
    let spec = match spec {
        Value::String(version) => return Ok((key.to_owned(), version.clone())),
        Value::Table(spec) => spec,
        _ => return Err("neither a version nor a table".to_owned()),
    };
    let text = |field: &str| spec.get(field).and_then(Value::as_str);
    if spec.get("workspace").and_then(Value::as_bool) == Some(true) {
        return inherited
            .and_then(|deps| deps.get(key))
            .cloned()
            .ok_or_else(|| {
                "`workspace = true`, but the workspace declares no such dependency".to_owned()
            });
    }
    let name = text("package").unwrap_or(key).to_owned();
    let range = if let Some(path) = text("path") {
        let resolved = normalise(dir, path)
            .ok_or_else(|| format!("path `{path}` leads out of the repository"))?;
        format!("{PATH}{resolved}")
    } else if let Some(url) = text("git") {
        let at = ["rev", "tag", "branch"]
            .iter()
            .find_map(|field| text(field))
            .map(|r| format!("#{r}"))
            .unwrap_or_default();
        format!("git:{url}{at}")
    } else {
        text("version").unwrap_or("*").to_owned()
    };
    Ok((name, range))
}

#[cfg(test)]
mod tests {
    use expect_test::{expect, Expect};

    use super::*;

    fn check(dir: &str, toml: &str, expect: Expect) {
        let inherited = BTreeMap::from([(
            "common".to_owned(),
            ("shop-common".to_owned(), "path:crates/common".to_owned()),
        )]);
        let got = parse(toml.as_bytes(), dir, Some(&inherited)).map(|m| {
            let mut out = format!("{:?} package={}", m.manifest.name, m.is_package);
            for (name, range) in &m.manifest.dependencies {
                out.push_str(&format!("\n{name} {range}"));
            }
            if let Some(w) = m.workspace {
                out.push_str(&format!(
                    "\nworkspace {:?} !{:?} {:?}",
                    w.members, w.exclude, w.dependencies
                ));
            }
            out
        });
        expect.assert_eq(&match got {
            Ok(out) => out,
            Err(why) => format!("error: {why}"),
        });
    }

    #[test]
    fn every_dependency_table_and_form() {
        check(
            "apps/server",
            r#"
[package]
name = "server"
[dependencies]
serde = "1"
common = { workspace = true }
json = { package = "serde_json", version = "1.0.100" }
[dev-dependencies]
utils = { path = "../../crates/utils" }
[build-dependencies]
cc = { git = "https://github.com/rust-lang/cc-rs", tag = "1.0.0" }
[target.'cfg(unix)'.dependencies]
libc = { version = "0.2", optional = true }
"#,
            expect![[r#"
                Some("server") package=true
                cc git:https://github.com/rust-lang/cc-rs#1.0.0
                libc 0.2
                serde 1
                serde_json 1.0.100
                shop-common path:crates/common
                utils path:crates/utils"#]],
        );
    }

    #[test]
    fn a_virtual_root_and_its_workspace_table() {
        check(
            "",
            r#"
[workspace]
members = ["apps/*", "crates/*"]
exclude = ["crates/old"]
[workspace.dependencies]
utils = { path = "./crates/utils" }
tokio = "1"
"#,
            expect![[r#"
                None package=false
                workspace ["apps/*", "crates/*"] !["crates/old"] {"tokio": ("tokio", "1"), "utils": ("utils", "path:crates/utils")}"#]],
        );
    }

    #[test]
    fn what_cannot_be_followed_is_an_error() {
        check(
            "apps/a",
            "[package]\nname = \"a\"\n[dependencies]\nx = { path = \"../../../elsewhere\" }\n",
            expect![
                "error: `dependencies.x`: path `../../../elsewhere` leads out of the repository"
            ],
        );
        check(
            "apps/a",
            "[dependencies]\nghost = { workspace = true }\n",
            expect!["error: `dependencies.ghost`: `workspace = true`, but the workspace declares no such dependency"],
        );
        check(
            "apps/a",
            "[dependencies]\nx = 1\n",
            expect!["error: `dependencies.x`: neither a version nor a table"],
        );
        check(
            "apps/a",
            "[package\nname = 1\n",
            expect!["error: TOML parse error at line 1, column 9: unclosed table, expected `]`"],
        );
    }
}
