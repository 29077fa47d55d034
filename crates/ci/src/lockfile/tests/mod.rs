//! Closures of small lockfiles of each format: a workspace of `apps/server` (depending on
//! `left-pad` and, through a dev dependency, `jest`) and `apps/web` (depending on `react`).

use expect_test::{expect, Expect};

use super::{Closure, Lockfile, LockfileKind, Resolved, Root};

mod bun;

fn roots() -> Vec<Root> {
    let root = |dir: &str, deps: &[(&str, &str)]| Root {
        dir: dir.to_owned(),
        name: dir.rsplit('/').next().map(str::to_owned),
        dependencies: deps
            .iter()
            .map(|(n, r)| ((*n).to_owned(), (*r).to_owned()))
            .collect(),
        dev_only: Default::default(),
    };
    vec![
        root(
            "apps/server",
            &[("left-pad", "^1.0.0"), ("jest", "^29.0.0")],
        ),
        root("apps/web", &[("react", "^18.0.0")]),
    ]
}

/// The closure of each app, one line per package, or why the lockfile cannot be read.
fn check(kind: LockfileKind, text: &str, expect: Expect) {
    check_roots(kind, text, roots(), expect);
}

/// The closure of each of `roots`, one line per package, or why the lockfile cannot be read.
fn check_roots(kind: LockfileKind, text: &str, roots: Vec<Root>, expect: Expect) {
    let got = match Lockfile::parse(kind, text.as_bytes()) {
        Err(e) => format!("error: {e}\n"),
        Ok(lockfile) => roots
            .into_iter()
            .map(|root| {
                let dir = root.dir.clone();
                let closure = lockfile.closure(&[root]);
                let packages: Vec<String> = closure
                    .iter()
                    .map(|r| format!("{}@{} {}", r.name, r.version, r.integrity))
                    .collect();
                format!("{dir}: {}\n", packages.join(", "))
            })
            .collect(),
    };
    expect.assert_eq(&got);
}

const NPM: &str = r#"{
  "name": "shop", "lockfileVersion": 3, "requires": true,
  "packages": {
    "": { "name": "shop", "workspaces": ["apps/*"] },
    "apps/server": { "name": "server", "dependencies": { "left-pad": "^1.0.0" }, "devDependencies": { "jest": "^29.0.0" } },
    "apps/web": { "name": "web", "dependencies": { "react": "^18.0.0" } },
    "node_modules/server": { "resolved": "apps/server", "link": true },
    "node_modules/left-pad": { "version": "1.1.0", "integrity": "sha512-lp" },
    "node_modules/jest": { "version": "29.7.0", "integrity": "sha512-j", "dev": true, "dependencies": { "ms": "^2.1.0" } },
    "node_modules/ms": { "version": "2.1.3", "integrity": "sha512-ms3" },
    "apps/web/node_modules/ms": { "version": "2.0.0", "integrity": "sha512-ms0" },
    "node_modules/react": { "version": "18.2.0", "integrity": "sha512-r", "dependencies": { "loose-envify": "^1.1.0", "ms": "2.0.0" } },
    "node_modules/loose-envify": { "version": "1.4.0", "integrity": "sha512-le" }
  }
}"#;

#[test]
fn npm_resolves_from_the_nearest_node_modules() {
    check(
        LockfileKind::Npm,
        NPM,
        expect![[r#"
            apps/server: jest@29.7.0 sha512-j, left-pad@1.1.0 sha512-lp, ms@2.1.3 sha512-ms3
            apps/web: loose-envify@1.4.0 sha512-le, ms@2.1.3 sha512-ms3, react@18.2.0 sha512-r
        "#]],
    );
    check(
        LockfileKind::Npm,
        r#"{"lockfileVersion": 1, "dependencies": {}}"#,
        expect![[r#"
            error: lockfileVersion 1 has no `packages` map (npm 7 or later writes version 2 or 3)
        "#]],
    );
}

const PNPM_9: &str = "lockfileVersion: '9.0'

importers:
  .: {}
  apps/server:
    dependencies:
      left-pad:
        specifier: ^1.0.0
        version: 1.1.0
      common:
        specifier: workspace:*
        version: link:../../packages/common
    devDependencies:
      jest:
        specifier: ^29.0.0
        version: 29.7.0(ms@2.1.3)
  apps/web:
    dependencies:
      react:
        specifier: ^18.0.0
        version: 18.2.0

packages:
  left-pad@1.1.0:
    resolution: {integrity: sha512-lp}
  jest@29.7.0:
    resolution: {integrity: sha512-j}
  ms@2.1.3:
    resolution: {integrity: sha512-ms3}
  react@18.2.0:
    resolution: {integrity: sha512-r}
  loose-envify@1.4.0:
    resolution: {integrity: sha512-le}

snapshots:
  left-pad@1.1.0: {}
  jest@29.7.0(ms@2.1.3):
    dependencies:
      ms: 2.1.3
  ms@2.1.3: {}
  react@18.2.0:
    dependencies:
      loose-envify: 1.4.0
  loose-envify@1.4.0: {}
";

const PNPM_6: &str = "lockfileVersion: '6.0'

importers:
  apps/server:
    dependencies:
      left-pad:
        specifier: ^1.0.0
        version: 1.1.0
    devDependencies:
      jest:
        specifier: ^29.0.0
        version: /jest@29.7.0
  apps/web:
    dependencies:
      react:
        specifier: ^18.0.0
        version: 18.2.0

packages:
  /left-pad@1.1.0:
    resolution: {integrity: sha512-lp}
  /jest@29.7.0:
    resolution: {integrity: sha512-j}
    dependencies:
      ms: 2.1.3
  /ms@2.1.3:
    resolution: {integrity: sha512-ms3}
  /react@18.2.0:
    resolution: {integrity: sha512-r}
";

#[test]
fn pnpm_importers_and_dependency_paths() {
    check(
        LockfileKind::Pnpm,
        PNPM_9,
        expect![[r#"
            apps/server: jest@29.7.0(ms@2.1.3) sha512-j, left-pad@1.1.0 sha512-lp, ms@2.1.3 sha512-ms3
            apps/web: loose-envify@1.4.0 sha512-le, react@18.2.0 sha512-r
        "#]],
    );
    check(
        LockfileKind::Pnpm,
        PNPM_6,
        expect![[r#"
            apps/server: jest@29.7.0 sha512-j, left-pad@1.1.0 sha512-lp, ms@2.1.3 sha512-ms3
            apps/web: react@18.2.0 sha512-r
        "#]],
    );
    check(
        LockfileKind::Pnpm,
        "lockfileVersion: 5.4\nimporters:\n  apps/web:\n    specifiers:\n      react: ^18.0.0\n    dependencies:\n      react: 18.2.0\npackages:\n  /react/18.2.0:\n    resolution: {integrity: sha512-r}\n",
        expect![[r#"
            apps/server: jest@^29.0.0 (unresolved) , left-pad@^1.0.0 (unresolved) 
            apps/web: react@18.2.0 sha512-r
        "#]],
    );
    check(
        LockfileKind::Pnpm,
        "lockfileVersion: '3'\n",
        expect![[r#"
            error: lockfileVersion 3 is not one topo-ci reads (5 to 9)
        "#]],
    );
}

const YARN_1: &str = r#"# THIS IS AN AUTOGENERATED FILE. DO NOT EDIT THIS FILE DIRECTLY.
# yarn lockfile v1


jest@^29.0.0:
  version "29.7.0"
  resolved "https://registry.yarnpkg.com/jest/-/jest-29.7.0.tgz#1"
  integrity sha512-j
  dependencies:
    ms "^2.1.0"

left-pad@^1.0.0:
  version "1.1.0"
  resolved "https://registry.yarnpkg.com/left-pad/-/left-pad-1.1.0.tgz#2"
  integrity sha512-lp

ms@^2.1.0:
  version "2.1.3"
  resolved "https://registry.yarnpkg.com/ms/-/ms-2.1.3.tgz#3"
  integrity sha512-ms3

"react@^17.0.0 || ^18.0.0", react@^18.0.0:
  version "18.2.0"
  resolved "https://registry.yarnpkg.com/react/-/react-18.2.0.tgz#4"
  integrity sha512-r
"#;

const YARN_BERRY: &str = r#"# This file is generated by running "yarn install" inside your project.
# Manual changes might be lost - proceed with caution!

__metadata:
  version: 8
  cacheKey: 10c0

"jest@npm:^29.0.0":
  version: 29.7.0
  resolution: "jest@npm:29.7.0"
  dependencies:
    ms: "npm:^2.1.0"
  checksum: 10c0/j
  languageName: node
  linkType: hard

"left-pad@npm:^1.0.0":
  version: 1.1.0
  resolution: "left-pad@npm:1.1.0"
  checksum: 10c0/lp
  languageName: node
  linkType: hard

"ms@npm:^2.1.0":
  version: 2.1.3
  resolution: "ms@npm:2.1.3"
  checksum: 10c0/ms3
  languageName: node
  linkType: hard

"react@npm:^18.0.0":
  version: 18.2.0
  resolution: "react@npm:18.2.0"
  checksum: 10c0/r
  languageName: node
  linkType: hard

"server@workspace:apps/server":
  version: 0.0.0-use.local
  resolution: "server@workspace:apps/server"
  dependencies:
    jest: "npm:^29.0.0"
    left-pad: "npm:^1.0.0"
  languageName: unknown
  linkType: soft
"#;

#[test]
fn yarn_v1_and_berry_by_descriptor() {
    check(
        LockfileKind::Yarn,
        YARN_1,
        expect![[r#"
            apps/server: jest@29.7.0 sha512-j, left-pad@1.1.0 sha512-lp, ms@2.1.3 sha512-ms3
            apps/web: react@18.2.0 sha512-r
        "#]],
    );
    check(
        LockfileKind::Yarn,
        YARN_BERRY,
        expect![[r#"
            apps/server: jest@29.7.0 10c0/j, left-pad@1.1.0 10c0/lp, ms@2.1.3 10c0/ms3
            apps/web: react@18.2.0 10c0/r
        "#]],
    );
    check(
        LockfileKind::Yarn,
        "# yarn lockfile v1\n\nleft-pad@^1.0.0:\n  resolved nowhere\n",
        expect![[r#"
            error: yarn-lock-parser: Error parsing yarn.lock file
        "#]],
    );
}

/// Berry patches by a relative path: the lockfile's descriptor carries the locator of the
/// workspace declaring it, which its manifest's range does not.
const YARN_BERRY_PATCHES: &str = r#"# This file is generated by running "yarn install" inside your project.
# Manual changes might be lost - proceed with caution!

__metadata:
  version: 8
  cacheKey: 10c0

"left-pad@npm:1.1.0":
  version: 1.1.0
  resolution: "left-pad@npm:1.1.0"
  checksum: 10c0/lp
  languageName: node
  linkType: hard

"left-pad@patch:left-pad@npm%3A1.1.0#~/.yarn/patches/left-pad.patch::locator=shop%40workspace%3A.":
  version: 1.1.0
  resolution: "left-pad@patch:left-pad@npm%3A1.1.0#~/.yarn/patches/left-pad.patch::version=1.1.0&hash=9f2e1a&locator=shop%40workspace%3A."
  checksum: 10c0/lp-patched
  languageName: node
  linkType: hard

"loose-envify@npm:^1.1.0":
  version: 1.4.0
  resolution: "loose-envify@npm:1.4.0"
  checksum: 10c0/le
  languageName: node
  linkType: hard

"react@npm:18.2.0":
  version: 18.2.0
  resolution: "react@npm:18.2.0"
  dependencies:
    loose-envify: "npm:^1.1.0"
  checksum: 10c0/r
  languageName: node
  linkType: hard

"react@patch:react@npm%3A18.2.0#./react.patch::locator=web%40workspace%3Aapps%2Fweb":
  version: 18.2.0
  resolution: "react@patch:react@npm%3A18.2.0#./react.patch::version=18.2.0&hash=5a1b2c&locator=web%40workspace%3Aapps%2Fweb"
  dependencies:
    loose-envify: "npm:^1.1.0"
  checksum: 10c0/r-patched
  languageName: node
  linkType: hard

"shop@workspace:.":
  version: 0.0.0-use.local
  resolution: "shop@workspace:."
  dependencies:
    left-pad: "patch:left-pad@npm%3A1.1.0#~/.yarn/patches/left-pad.patch::locator=shop%40workspace%3A."
  languageName: unknown
  linkType: soft

"web@workspace:apps/web":
  version: 0.0.0-use.local
  resolution: "web@workspace:apps/web"
  dependencies:
    react: "patch:react@npm%3A18.2.0#./react.patch::locator=web%40workspace%3Aapps%2Fweb"
  languageName: unknown
  linkType: soft
"#;

#[test]
fn patches_are_in_the_closure() {
    // pnpm: the patch's hash is part of the dependency path.
    check_roots(
        LockfileKind::Pnpm,
        "lockfileVersion: '9.0'\npatchedDependencies:\n  left-pad@1.1.0:\n    hash: 5a1b2c\n    path: patches/left-pad@1.1.0.patch\nimporters:\n  apps/web:\n    dependencies:\n      left-pad:\n        specifier: ^1.0.0\n        version: 1.1.0(patch_hash=5a1b2c)\npackages:\n  left-pad@1.1.0:\n    resolution: {integrity: sha512-lp}\nsnapshots:\n  left-pad@1.1.0(patch_hash=5a1b2c): {}\n",
        vec![Root {
            dir: "apps/web".to_owned(),
            name: Some("web".to_owned()),
            dependencies: vec![("left-pad".to_owned(), "^1.0.0".to_owned())],
            dev_only: Default::default(),
        }],
        expect![[r#"
            apps/web: left-pad@1.1.0(patch_hash=5a1b2c) sha512-lp
        "#]],
    );
    // Berry: a patch by a relative path is found through its workspace's entry.
    let root = |dir: &str, package: &str, dependency: &str, range: &str| Root {
        dir: dir.to_owned(),
        name: Some(package.to_owned()),
        dependencies: vec![(dependency.to_owned(), range.to_owned())],
        dev_only: Default::default(),
    };
    let patched = "patch:react@npm%3A18.2.0#./react.patch";
    let roots = vec![
        root(
            "",
            "shop",
            "left-pad",
            "patch:left-pad@npm%3A1.1.0#~/.yarn/patches/left-pad.patch",
        ),
        root("apps/web", "web", "react", patched),
        // Another patch than the one locked is not taken for it.
        root(
            "apps/web",
            "web",
            "react",
            &patched.replace("react.patch", "other.patch"),
        ),
        // Nor is the one locked for another workspace.
        root("apps/admin", "admin", "react", patched),
    ];
    check_roots(
        LockfileKind::Yarn,
        YARN_BERRY_PATCHES,
        roots,
        expect![[r#"
            : left-pad@1.1.0 10c0/lp-patched
            apps/web: loose-envify@1.4.0 10c0/le, react@18.2.0 10c0/r-patched
            apps/web: react@patch:react@npm%3A18.2.0#./other.patch (unresolved) 
            apps/admin: react@patch:react@npm%3A18.2.0#./react.patch (unresolved) 
        "#]],
    );
}

/// Checksums of 64 hex digits, as Cargo writes them.
const CARGO: &str = r#"# This file is automatically @generated by Cargo.
version = 4

[[package]]
name = "common"
version = "0.1.0"
dependencies = [
 "loose-envify",
]

[[package]]
name = "jest"
version = "29.7.0"
source = "registry+https://github.com/rust-lang/crates.io-index"
checksum = "1111111111111111111111111111111111111111111111111111111111111111"
dependencies = [
 "ms 2.1.3",
]

[[package]]
name = "left-pad"
version = "1.1.0"
source = "registry+https://github.com/rust-lang/crates.io-index"
checksum = "2222222222222222222222222222222222222222222222222222222222222222"

[[package]]
name = "loose-envify"
version = "1.4.0"
source = "registry+https://github.com/rust-lang/crates.io-index"
checksum = "3333333333333333333333333333333333333333333333333333333333333333"

[[package]]
name = "ms"
version = "2.0.0"
source = "registry+https://github.com/rust-lang/crates.io-index"
checksum = "4444444444444444444444444444444444444444444444444444444444444444"

[[package]]
name = "ms"
version = "2.1.3"
source = "registry+https://github.com/rust-lang/crates.io-index"
checksum = "5555555555555555555555555555555555555555555555555555555555555555"

[[package]]
name = "react"
version = "18.2.0"
source = "git+https://github.com/facebook/react?tag=v18.2.0#0123456789abcdef0123456789abcdef01234567"
dependencies = [
 "loose-envify",
 "ms 2.0.0",
]

[[package]]
name = "server"
version = "0.1.0"
dependencies = [
 "common",
 "jest",
 "left-pad",
]

[[package]]
name = "web"
version = "0.1.0"
dependencies = [
 "react",
]
"#;

#[test]
fn cargo_from_each_crates_own_entry() {
    // The server's path dependency `common` is not followed from it: a workspace crate's
    // closure is its own roots' (the workspace graph lists it as one of the server's).
    check(
        LockfileKind::Cargo,
        CARGO,
        expect![[r#"
            apps/server: jest@29.7.0 1111111111111111111111111111111111111111111111111111111111111111, left-pad@1.1.0 2222222222222222222222222222222222222222222222222222222222222222, ms@2.1.3 5555555555555555555555555555555555555555555555555555555555555555
            apps/web: loose-envify@1.4.0 3333333333333333333333333333333333333333333333333333333333333333, ms@2.0.0 4444444444444444444444444444444444444444444444444444444444444444, react@18.2.0 git+https://github.com/facebook/react?tag=v18.2.0#0123456789abcdef0123456789abcdef01234567
        "#]],
    );
    // A crate Cargo.lock does not have (added without updating it): its manifest's
    // dependencies, unresolved.
    check(
        LockfileKind::Cargo,
        "version = 4\n",
        expect![[r#"
            apps/server: jest@^29.0.0 (unresolved) , left-pad@^1.0.0 (unresolved) 
            apps/web: react@^18.0.0 (unresolved) 
        "#]],
    );
    check(
        LockfileKind::Cargo,
        "version = 4\n[[package]]\nname = \"x\"\n",
        expect![[r#"
            error: cargo-lock: parse error: TOML parse error at line 2, column 1: missing field `version`
        "#]],
    );
}

#[test]
fn changes_are_said_package_by_package() {
    let closure = |packages: &[(&str, &str, &str)]| {
        Closure(
            packages
                .iter()
                .map(|(name, version, integrity)| {
                    std::rc::Rc::new(Resolved {
                        name: (*name).to_owned(),
                        version: (*version).to_owned(),
                        integrity: (*integrity).to_owned(),
                    })
                })
                .collect(),
        )
    };
    let base = closure(&[
        ("left-pad", "1.0.0", "a"),
        ("debug", "4.3.4", "b"),
        ("ms", "2.1.3", "c"),
        ("react", "18.2.0", "d"),
    ]);
    let head = closure(&[
        ("left-pad", "1.1.0", "e"),
        ("chalk", "5.3.0", "f"),
        ("ms", "2.1.3", "c2"),
        ("react", "18.2.0", "d"),
    ]);
    expect![[r#"
        [
            "chalk 5.3.0 added",
            "debug 4.3.4 removed",
            "left-pad 1.0.0 → 1.1.0",
            "ms 2.1.3 (integrity changed)",
        ]
    "#]]
    .assert_debug_eq(&head.changes_since(&base));
    assert!(head.changes_since(&head).is_empty());
}

#[test]
fn no_truncated_lockfile_panics() {
    for (kind, text) in [
        (LockfileKind::Npm, NPM),
        (LockfileKind::Pnpm, PNPM_9),
        (LockfileKind::Pnpm, PNPM_6),
        (LockfileKind::Yarn, YARN_1),
        (LockfileKind::Yarn, YARN_BERRY),
        (LockfileKind::Yarn, YARN_BERRY_PATCHES),
        (LockfileKind::Bun, bun::BUN),
        (LockfileKind::Cargo, CARGO),
    ] {
        for end in (0..text.len()).filter(|&i| text.is_char_boundary(i)) {
            if let Ok(lockfile) = Lockfile::parse(kind, &text.as_bytes()[..end]) {
                lockfile.closure(&roots());
            }
        }
    }
}
