//! The workspace graphs read from committed fixtures: each case is files (a `//- PATH` line
//! before each), committed to a fresh repository, and what the graph says about the
//! package holding a build context.

use std::fmt::Write as _;
use std::process::Command;

use expect_test::{expect, Expect};

use super::Workspace;
use crate::repo::Repo;

/// Commits `fixture` and describes the workspaces found from each build context of
/// `contexts` (separated by spaces), and its package in each with its workspace
/// dependencies.
fn check(fixture: &str, contexts: &str, expect: Expect) {
    let dir = tempfile::tempdir().expect("tempdir");
    for chunk in fixture.split("//- ").filter(|c| !c.trim().is_empty()) {
        let (path, text) = chunk.split_once('\n').expect("a path line");
        let file = dir.path().join(path.trim());
        std::fs::create_dir_all(file.parent().expect("parent")).expect("mkdir");
        std::fs::write(file, text.trim_start()).expect("write");
    }
    for args in [
        &["init", "-q", "-b", "main"][..],
        &["add", "-A"],
        &[
            "-c",
            "user.name=t",
            "-c",
            "user.email=t@e",
            "commit",
            "-qm",
            "x",
        ],
    ] {
        let status = Command::new("git")
            .args(["-c", "commit.gpgsign=false"])
            .args(args)
            .current_dir(dir.path())
            .status()
            .expect("git runs");
        assert!(status.success());
    }
    let repo = Repo::discover(dir.path()).expect("repo");
    let tree = repo
        .tree_of(repo.resolve("HEAD").expect("head"))
        .expect("tree");
    let mut out = String::new();
    let mut known = Default::default();
    let mut described = std::collections::BTreeSet::new();
    for context in contexts.split(' ') {
        let workspaces = Workspace::find(&repo, tree, context, &mut known).expect("git");
        if workspaces.is_empty() {
            let _ = writeln!(out, "{context}: no workspace");
        }
        for workspace in workspaces {
            if !described.insert(workspace.declared_in().to_owned()) {
                describe(&mut out, &workspace, context);
                continue;
            }
            let _ = writeln!(out, "declared in {}", workspace.declared_in());
            let _ = writeln!(out, "lockfile {:?}", workspace.lockfile());
            for package in workspace.packages.values() {
                let _ = writeln!(out, "package {:?} {}", package.dir, package.label());
            }
            for note in workspace.notes() {
                let _ = writeln!(out, "note: {note}");
            }
            describe(&mut out, &workspace, context);
        }
    }
    expect.assert_eq(&out);
}

/// The package of `context` in `workspace`, its workspace dependencies, lockfile roots and
/// notes.
fn describe(out: &mut String, workspace: &Workspace, context: &str) {
    let Some(package) = workspace.package_of(context) else {
        let _ = writeln!(out, "{context}: no package");
        return;
    };
    let deps = workspace.dependencies(package);
    let names: Vec<&str> = deps.packages.iter().map(|p| p.label()).collect();
    let _ = writeln!(out, "{context}: {} → {names:?}", package.label());
    for (dir, chain) in workspace.chains(package) {
        let _ = writeln!(out, "  via {dir}: {}", chain.join(" → "));
    }
    for root in workspace.lockfile_roots(package, &deps) {
        let _ = writeln!(out, "  root {:?} {:?}", root.dir, root.dependencies);
    }
    for note in deps.notes {
        let _ = writeln!(out, "note: {note}");
    }
    if let Some(dir) = workspace.patch_dir() {
        let _ = writeln!(out, "  patches {dir}");
    }
}

#[test]
fn npm_workspaces_and_transitive_dependencies() {
    check(
        r#"
//- package.json
{"name":"shop","private":true,"workspaces":["apps/*","packages/*"],"devDependencies":{"typescript":"^5"}}
//- package-lock.json
{}
//- apps/server/package.json
{"name":"server","dependencies":{"@shop/common":"*","left-pad":"^1.0.0"}}
//- apps/web/package.json
{"name":"web","dependencies":{"react":"^18"}}
//- packages/common/package.json
{"name":"@shop/common","devDependencies":{"@shop/utils":"1.0.0"}}
//- packages/utils/package.json
{"name":"@shop/utils","peerDependencies":{"ms":"^2"}}
//- packages/utils/node_modules/x/package.json
{"name":"never-read"}
"#,
        "apps/server/docker",
        expect![[r#"
            declared in package.json
            lockfile Some(("package-lock.json", Npm))
            package "" shop
            package "apps/server" server
            package "apps/web" web
            package "packages/common" @shop/common
            package "packages/utils" @shop/utils
            apps/server/docker: server → ["@shop/common", "@shop/utils"]
              via packages/common: server → @shop/common
              via packages/utils: server → @shop/common → @shop/utils
              root "apps/server" [("left-pad", "^1.0.0")]
              root "packages/common" []
              root "packages/utils" [("ms", "^2")]
        "#]],
    );
}

#[test]
fn yarn_object_form_prefers_the_named_manager_and_negations() {
    check(
        r#"
//- package.json
{"workspaces":{"packages":["apps/**","!apps/legacy/**"]},"packageManager":"yarn@4.1.0"}
//- package-lock.json
{}
//- yarn.lock
# empty
//- apps/api/package.json
{"name":"api"}
//- apps/group/admin/package.json
{"name":"admin"}
//- apps/legacy/old/package.json
{"name":"old"}
"#,
        "apps/group/admin",
        expect![[r#"
            declared in package.json
            lockfile Some(("yarn.lock", Yarn))
            package "" 
            package "apps/api" api
            package "apps/group/admin" admin
            apps/group/admin: admin → []
              root "apps/group/admin" []
        "#]],
    );
}

#[test]
fn bun_workspaces_find_the_text_lockfile_before_the_binary_one() {
    let layout = |manager: &str, lockfiles: &str| {
        format!(
            r#"
//- package.json
{{"workspaces":["apps/*"]{manager}}}
{lockfiles}
//- apps/api/package.json
{{"name":"api","dependencies":{{"hono":"^4"}}}}
"#
        )
    };
    check(
        &layout("", "//- bun.lock\n{}\n//- bun.lockb\nbinary"),
        "apps/api",
        expect![[r#"
            declared in package.json
            lockfile Some(("bun.lock", Bun))
            package "" 
            package "apps/api" api
            apps/api: api → []
              root "apps/api" [("hono", "^4")]
        "#]],
    );
    // Named by `packageManager`: chosen over npm's; the binary one when it is all there is.
    check(
        &layout(
            r#","packageManager":"bun@1.1.38""#,
            "//- package-lock.json\n{}\n//- bun.lockb\nbinary",
        ),
        "apps/api",
        expect![[r#"
            declared in package.json
            lockfile Some(("bun.lockb", Bun))
            package "" 
            package "apps/api" api
            apps/api: api → []
              root "apps/api" [("hono", "^4")]
        "#]],
    );
}

#[test]
fn pnpm_workspace_with_a_cycle_and_a_missing_package() {
    check(
        r#"
//- pnpm-workspace.yaml
packages:
  - 'apps/*'
  - 'packages/*'
//- pnpm-lock.yaml
lockfileVersion: '9.0'
//- apps/server/package.json
{"name":"server","dependencies":{"a":"workspace:*","ghost":"workspace:^1.0.0"}}
//- packages/a/package.json
{"name":"a","dependencies":{"b":"workspace:*"}}
//- packages/b/package.json
{"name":"b","dependencies":{"a":"workspace:*"}}
"#,
        "apps/server",
        expect![[r#"
            declared in pnpm-workspace.yaml
            lockfile Some(("pnpm-lock.yaml", Pnpm))
            package "" 
            package "apps/server" server
            package "packages/a" a
            package "packages/b" b
            apps/server: server → ["a", "b"]
              via packages/a: server → a
              via packages/b: server → a → b
              root "apps/server" []
              root "packages/a" []
              root "packages/b" []
            note: apps/server/package.json depends on `ghost` (`workspace:^1.0.0`), which is no package of the workspace declared in pnpm-workspace.yaml: nothing is added to the scope for it
            note: workspace dependency cycle: a → b → a; every package of it is in the scope of what depends on any of them
        "#]],
    );
}

#[test]
fn what_cannot_be_read_is_said() {
    check(
        r#"
//- package.json
{"workspaces":["packages/*"]}
//- packages/broken/package.json
{"name":
//- packages/fine/package.json
{"name":"fine","dependencies":{"dup":"*"}}
//- packages/dup1/package.json
{"name":"dup"}
//- packages/dup2/package.json
{"name":"dup"}
"#,
        "packages/fine",
        expect![[r#"
            declared in package.json
            lockfile None
            package "" 
            package "packages/broken" packages/broken
            package "packages/dup1" dup
            package "packages/dup2" dup
            package "packages/fine" fine
            note: packages/broken/package.json cannot be read (EOF while parsing a value at line 2 column 0): the dependencies of packages/broken are not followed
            note: two workspace packages are named `dup` (packages/dup1 and packages/dup2): dependencies on it follow packages/dup1
            packages/fine: fine → ["dup"]
              via packages/dup1: fine → dup
              root "packages/fine" []
              root "packages/dup1" []
        "#]],
    );
}

#[test]
fn no_workspace_without_a_declaration() {
    check(
        "//- package.json\n{\"name\":\"single\"}\n",
        ".",
        expect![[r#"
            .: no workspace
        "#]],
    );
}

#[test]
fn cargo_members_path_dependencies_and_inherited_ones() {
    check(
        r#"
//- Cargo.toml
[workspace]
members = ["apps/*", "crates/*"]
exclude = ["crates/old"]
[workspace.dependencies]
common = { path = "crates/common", package = "shop-common" }
[patch.crates-io]
serde = { path = "forks/serde" }
log = "0.4.22"
//- forks/serde/Cargo.toml
[package]
name = "serde"
//- Cargo.lock
version = 4
//- apps/server/Cargo.toml
[package]
name = "server"
[dependencies]
common = { workspace = true }
serde = "1"
[dev-dependencies]
helper = { path = "../../vendor/helper" }
//- apps/web/Cargo.toml
[package]
name = "web"
//- crates/common/Cargo.toml
[package]
name = "shop-common"
[build-dependencies]
utils = { path = "../../vendor/utils" }
[dev-dependencies]
tester = { path = "../../vendor/tester" }
criterion = "0.5"
//- vendor/helper/Cargo.toml
[package]
name = "helper"
//- vendor/tester/Cargo.toml
[package]
name = "tester"
//- vendor/utils/Cargo.toml
[package]
name = "utils"
[target.'cfg(unix)'.dependencies]
libc = "0.2"
ghost = { path = "../ghost" }
//- crates/old/Cargo.toml
[package]
name = "old"
//- crates/broken/Cargo.toml
[package
"#,
        "apps/server",
        expect![[r#"
            declared in Cargo.toml
            lockfile Some(("Cargo.lock", Cargo))
            package "apps/server" server
            package "apps/web" web
            package "crates/broken" crates/broken
            package "crates/common" shop-common
            package "forks/serde" serde
            package "vendor/helper" helper
            package "vendor/tester" tester
            package "vendor/utils" utils
            note: crates/broken/Cargo.toml cannot be read (TOML parse error at line 1, column 9: unclosed table, expected `]`): the dependencies of crates/broken are not followed
            apps/server: server → ["shop-common", "serde", "helper", "utils"]
              via crates/common: server → shop-common
              via vendor/helper: server → helper
              via vendor/utils: server → shop-common → utils
              root "apps/server" [("serde", "1")]
              root "crates/common" []
              root "forks/serde" []
              root "vendor/helper" []
              root "vendor/utils" [("libc", "0.2")]
            note: vendor/utils/Cargo.toml depends on `ghost` (`path:vendor/ghost`), which is no package of the workspace declared in Cargo.toml: nothing is added to the scope for it
        "#]],
    );
}

#[test]
fn a_javascript_and_a_cargo_workspace_side_by_side() {
    check(
        r#"
//- package.json
{"name":"shop","workspaces":["web"]}
//- web/package.json
{"name":"web"}
//- Cargo.toml
[workspace]
members = ["server"]
//- server/Cargo.toml
[package]
name = "server"
"#,
        "server",
        expect![[r#"
            declared in package.json
            lockfile None
            package "" shop
            package "web" web
            server: no package
            declared in Cargo.toml
            lockfile None
            package "server" server
            server: server → []
              root "server" []
        "#]],
    );
}

#[test]
fn a_build_context_that_is_itself_a_workspace_root() {
    // A Rust server built from its workspace root, beside nothing at the repository root:
    // found from the context, not from above it.
    check(
        r#"
//- rust/Cargo.toml
[package]
name = "server"
[workspace]
members = ["crates/*"]
[dependencies]
common = { path = "crates/common" }
//- rust/crates/common/Cargo.toml
[package]
name = "common"
//- rust/Cargo.lock
version = 4
//- web/package.json
{"name":"web"}
"#,
        "rust",
        expect![[r#"
            declared in rust/Cargo.toml
            lockfile Some(("rust/Cargo.lock", Cargo))
            package "rust" server
            package "rust/crates/common" common
            rust: server → ["common"]
              via rust/crates/common: server → common
              root "" []
              root "crates/common" []
        "#]],
    );
}

/// A server depending on two local directories (one through the other) and a tarball; a
/// web app depending on a registry package of one of their names.
const LOCAL: &str = r#"
//- package.json
{"name":"shop","workspaces":["apps/*"]}
//- apps/server/package.json
{"name":"server","dependencies":{"left-pad":"file:../../vendor/left-pad","big":"file:../../vendor/big-1.0.0.tgz"}}
//- apps/web/package.json
{"name":"web","dependencies":{"left-pad":"^1.0.0"}}
//- vendor/left-pad/package.json
{"name":"left-pad","dependencies":{"ms":"link:../ms"}}
//- vendor/ms/package.json
{"name":"ms"}
//- vendor/big-1.0.0.tgz
not really a tarball
"#;

#[test]
fn javascript_local_directories_are_packages_too() {
    // `file:` and `link:` ranges naming a directory install its files: it joins the scope
    // as a workspace package does. A tarball is the lockfile's to follow. Another
    // package's dependency of the same name is not on that directory.
    check(
        LOCAL,
        "apps/server apps/web",
        expect![[r#"
            declared in package.json
            lockfile None
            package "" shop
            package "apps/server" server
            package "apps/web" web
            package "vendor/left-pad" left-pad
            package "vendor/ms" ms
            apps/server: server → ["left-pad", "ms"]
              via vendor/left-pad: server → left-pad
              via vendor/ms: server → left-pad → ms
              root "apps/server" [("big", "file:../../vendor/big-1.0.0.tgz")]
              root "vendor/left-pad" []
              root "vendor/ms" []
            apps/web: web → []
              root "apps/web" [("left-pad", "^1.0.0")]
        "#]],
    );
}

#[test]
fn patch_package_directories_from_the_workspace_root_within_the_repository() {
    check(
        r#"
//- web/package.json
{"workspaces":["apps/*"],"scripts":{"postinstall":"patch-package --patch-dir ../patches"}}
//- web/apps/a/package.json
{"name":"a"}
//- api/package.json
{"workspaces":["svc/*"],"devDependencies":{"patch-package":"8"}}
//- api/svc/b/package.json
{"name":"b"}
//- out/package.json
{"workspaces":["x/*"],"scripts":{"postinstall":"patch-package --patch-dir ../../elsewhere"}}
//- out/x/c/package.json
{"name":"c"}
"#,
        "web/apps/a api/svc/b out/x/c",
        expect![[r#"
            declared in web/package.json
            lockfile None
            package "web" web
            package "web/apps/a" a
            web/apps/a: a → []
              root "apps/a" []
              patches patches
            declared in api/package.json
            lockfile None
            package "api" api
            package "api/svc/b" b
            api/svc/b: b → []
              root "svc/b" []
              patches api/patches
            declared in out/package.json
            lockfile None
            package "out" out
            package "out/x/c" c
            out/x/c: c → []
              root "x/c" []
        "#]],
    );
}
