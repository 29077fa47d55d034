//! Cargo workspaces: the crates of the shared workspace (see `workspaces.rs`) linked by
//! `path`, their lockfile `Cargo.lock`; and a repository holding a Cargo workspace in a
//! directory beside a JavaScript workspace at its root, each service planned through the
//! workspace its build context is in.

use crate::workspaces::{Manager, BEFORE, LEFT_PAD_BUMPED};
use crate::{check, Repo};

/// The Cargo workspace at `root`: a root package with a dev dependency (prettier), members
/// under `apps` and `packages`, `path` links (the server's inherited from
/// `[workspace.dependencies]`), and its Cargo.lock.
pub(crate) fn write_workspace(repo: &Repo, root: &str) {
    let at = |path: &str| match root {
        "" => path.to_owned(),
        root => format!("{root}/{path}"),
    };
    let package = |name: &str| format!("[package]\nname = \"{name}\"\nversion = \"0.1.0\"\n");
    repo.write(
        &at("Cargo.toml"),
        &format!(
            "{}\n[workspace]\nmembers = [\"apps/*\", \"packages/*\"]\n\n[workspace.dependencies]\ncommon = {{ path = \"packages/common\" }}\n\n[dev-dependencies]\nprettier = \"3.0.0\"\n",
            package("shop")
        ),
    );
    let crates = [
        ("packages/utils", package("utils")),
        (
            "packages/common",
            format!(
                "{}\n[dependencies]\nutils = {{ path = \"../utils\" }}\n",
                package("common")
            ),
        ),
        (
            "apps/server",
            format!(
                "{}\n[dependencies]\ncommon = {{ workspace = true }}\nleft-pad = \"1.0.0\"\n",
                package("server")
            ),
        ),
        (
            "apps/web",
            format!(
                "{}\n[dependencies]\nutils = {{ path = \"../../packages/utils\" }}\n",
                package("web")
            ),
        ),
        ("apps/admin", Manager::Cargo.admin_manifest("29.0.0").1),
    ];
    for (dir, manifest) in crates {
        repo.write(&at(&format!("{dir}/Cargo.toml")), &manifest);
        repo.write(&at(&format!("{dir}/src/lib.rs")), &format!("// {dir}\n"));
    }
    repo.write(&at("Cargo.lock"), &Manager::Cargo.lock(BEFORE));
}

/// A Rust server whose workspace is in `rust/`, and the JavaScript apps of the npm
/// workspace at the repository root.
const MIXED: &str = r#"project = "shop"

[[services]]
role = "server"
context = "rust/apps/server"

[[services]]
role = "web"
context = "apps/web"

[[services]]
role = "admin"
context = "apps/admin"

[ci]
exclude = ["**/*.md"]
"#;

#[test]
fn a_cargo_workspace_beside_a_javascript_one_plans_each_service_through_its_own() {
    let repo = Repo::empty();
    repo.write("topology.toml", MIXED);
    Manager::Npm.write_workspace(&repo);
    write_workspace(&repo, "rust");
    for context in ["rust/apps/server", "apps/web", "apps/admin"] {
        repo.write(
            &format!("{context}/Dockerfile"),
            "FROM scratch AS dev\nFROM scratch AS prod\n",
        );
    }
    repo.commit("initial");
    repo.mark(&repo.release());

    // A crate the server reaches through `path`: the server alone.
    repo.write("rust/packages/utils/src/lib.rs", "// changed\n");
    repo.commit("utils crate");
    let plan = repo.release();
    check(
        &plan,
        "shop-server deploy workspace-dependency-changed [rust/packages/utils/src/lib.rs]
         shop-web skip unchanged
         shop-admin skip unchanged",
    );
    assert!(
        plan.services[0]
            .detail
            .starts_with("workspace package `utils` (server → common → utils) changed: rust/packages/utils/src/lib.rs"),
        "{}",
        plan.services[0].detail
    );
    repo.mark(&plan);

    // The JavaScript package of the same directory name: the web app alone.
    repo.write("packages/utils/src/index.js", "// changed\n");
    repo.commit("utils package");
    check(
        &repo.release(),
        "shop-server skip unchanged
         shop-web deploy workspace-dependency-changed [packages/utils/src/index.js]
         shop-admin skip unchanged",
    );
    repo.mark(&repo.release());

    // Each lockfile deploys only what it resolves differently, in its own workspace.
    repo.write("rust/Cargo.lock", &Manager::Cargo.lock(LEFT_PAD_BUMPED));
    repo.commit("cargo update -p left-pad");
    let plan = repo.release();
    check(
        &plan,
        "shop-server deploy lockfile-changed [rust/Cargo.lock]
         shop-web skip unchanged
         shop-admin skip unchanged",
    );
    assert_eq!(
        plan.services[0].changed_dependencies,
        ["left-pad 1.0.0 → 1.1.0"]
    );
    repo.mark(&plan);
    let jest_bumped = crate::workspaces::Versions {
        jest: "29.7.0",
        ..BEFORE
    };
    repo.write("package-lock.json", &Manager::Npm.lock(jest_bumped));
    repo.commit("npm update jest");
    check(
        &repo.release(),
        "shop-server skip unchanged
         shop-web skip unchanged
         shop-admin deploy lockfile-changed [package-lock.json]",
    );
}

#[test]
fn a_crate_that_cannot_be_followed_is_explained() {
    let repo = Manager::Cargo.deployed();
    repo.write(
        "packages/utils/Cargo.toml",
        "[package]\nname = \"utils\"\nversion = \"0.1.0\"\n\n[dependencies]\nghost = { path = \"../ghost\" }\n",
    );
    repo.write("apps/web/Cargo.toml", "[package\nname = \"web\"\n");
    repo.commit("a path to nothing; a manifest that does not parse");
    let plan = repo.release();
    let notes = plan.notes.join("\n");
    assert!(
        notes.contains("packages/utils/Cargo.toml depends on `ghost` (`path:packages/ghost`), which is no package of the workspace declared in Cargo.toml: nothing is added to the scope for it"),
        "{notes}"
    );
    assert!(
        notes.contains("apps/web/Cargo.toml cannot be read (TOML parse error at line 1, column 9: unclosed table, expected `]`): the dependencies of apps/web are not followed"),
        "{notes}"
    );
    // The web app's own manifest changed: it deploys (its link to utils is not followed,
    // as the note says); the server through utils.
    check(
        &plan,
        "shop-server deploy workspace-dependency-changed [packages/utils/Cargo.toml]
         shop-worker deploy dependency-changed [packages/utils/Cargo.toml]
         shop-web deploy changed [apps/web/Cargo.toml]
         shop-admin skip unchanged
         shop-tools skip unchanged",
    );
}

#[test]
fn a_patched_crate_from_a_path_joins_every_crates_scope() {
    // `[patch]`, and the deprecated `[replace]` Cargo still honours.
    for table in [
        "[patch.crates-io]\nleft-pad = { path = \"vendor/left-pad\" }\n",
        "[replace]\n\"left-pad:1.0.0\" = { path = \"vendor/left-pad\" }\n",
    ] {
        let repo = Manager::Cargo.deployed();
        let root = std::fs::read_to_string(repo.path().join("Cargo.toml")).expect("read");
        repo.write("Cargo.toml", &format!("{root}\n{table}"));
        repo.write(
            "vendor/left-pad/Cargo.toml",
            "[package]\nname = \"left-pad\"\nversion = \"1.0.0\"\n",
        );
        repo.write("vendor/left-pad/src/lib.rs", "// the fork\n");
        repo.commit("a fork of left-pad");
        repo.mark(&repo.release());
        // Cargo.lock says nothing when the fork's files change: its scope does, for every
        // crate of the workspace; `tools` is no crate.
        repo.write("vendor/left-pad/src/lib.rs", "// the fork, fixed\n");
        repo.commit("fix the fork");
        check(
            &repo.release(),
            "shop-server deploy workspace-dependency-changed [vendor/left-pad/src/lib.rs]
             shop-worker deploy dependency-changed [vendor/left-pad/src/lib.rs]
             shop-web deploy workspace-dependency-changed [vendor/left-pad/src/lib.rs]
             shop-admin deploy workspace-dependency-changed [vendor/left-pad/src/lib.rs]
             shop-tools skip unchanged",
        );
    }
}
