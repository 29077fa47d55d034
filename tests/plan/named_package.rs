//! An image built from the workspace root (`context = "."`) out of one of its packages,
//! named in `changes.package`: the context's other packages change it only if that package
//! depends on them, the root lockfile only through what it resolves for it (and for the
//! root package, whose dependencies a root install brings); files of the root outside every
//! package stay in its scope. A name of no package is an error that says where; a root
//! context without a name gets a note.

use topo_ci::plan::Plan;

use crate::workspaces::{
    check_left_pad_bumped, check_utils_changed, Manager, Versions, LEFT_PAD_BUMPED, MANAGERS,
    NOTHING_DEPLOYS, TOPOLOGY,
};
use crate::{check, topo_ci, Repo};

/// The shared workspace's topology, `web` built from the workspace root by its
/// Dockerfile in `apps/web`, and its package named as `package`.
pub(crate) fn web_from_the_root(package: &str) -> String {
    TOPOLOGY.replace(
        "role = \"web\"\ncontext = \"apps/web\"\n",
        &format!(
            "role = \"web\"\ncontext = \".\"\ndockerfile = \"apps/web/Dockerfile\"\nchanges = {{ package = \"{package}\" }}\n"
        ),
    )
}

/// The plan in which only the server (and the worker on its image) deploys, for `reason`:
/// `file` changed.
fn check_server_deploys(plan: &Plan, reason: &str, file: &str) {
    check(
        plan,
        &format!(
            "shop-server deploy {reason} [{file}]
             shop-worker deploy dependency-changed [{file}]
             shop-web skip unchanged
             shop-admin skip unchanged
             shop-tools skip unchanged"
        ),
    );
}

/// The plan once `repo` committed what `edit` changed.
fn after(repo: &Repo, what: &str, edit: impl FnOnce(&Repo)) -> Plan {
    edit(repo);
    repo.commit(what);
    let plan = repo.release();
    repo.mark(&plan);
    plan
}

#[test]
fn an_image_built_from_the_workspace_root_follows_its_named_package() {
    for manager in MANAGERS {
        let repo = manager.redeployed_with(&web_from_the_root("web"));
        // Another app's package: not web's.
        let admin = manager.source("apps/admin");
        let plan = after(&repo, "admin", |repo| repo.write(&admin, "// changed\n"));
        check(
            &plan,
            &format!(
                "shop-server skip unchanged
                 shop-worker skip unchanged
                 shop-web skip unchanged
                 shop-admin deploy changed [{admin}]
                 shop-tools skip unchanged"
            ),
        );
        // A package web depends on: named as such, though it is in web's context.
        let utils = manager.source("packages/utils");
        let plan = after(&repo, "utils", |repo| repo.write(&utils, "// changed\n"));
        check_utils_changed(&plan, &utils);
        // Its own package, and a file of the root outside every package.
        let web = manager.source("apps/web");
        let plan = after(&repo, "web and the root", |repo| {
            repo.write(&web, "// changed\n");
            repo.write("tsconfig.base.json", "{}\n");
        });
        check(
            &plan,
            &format!(
                "shop-server skip unchanged
                 shop-worker skip unchanged
                 shop-web deploy changed [{web} tsconfig.base.json]
                 shop-admin skip unchanged
                 shop-tools skip unchanged"
            ),
        );
        // The lockfile: left-pad is the server's, not web's.
        let lockfile = manager.lockfile();
        let plan = after(&repo, "bump left-pad", |repo| {
            repo.write(lockfile, &manager.lock(LEFT_PAD_BUMPED));
        });
        check_left_pad_bumped(&plan, lockfile);
        assert!(
            plan.services[2]
                .detail
                .contains(&format!("{lockfile} changed")),
            "{manager:?}: {}",
            plan.services[2].detail
        );
        // prettier is the root package's, which an install at a JavaScript workspace's
        // root brings; `cargo build -p web` builds only what web depends on.
        let bumped = Versions {
            prettier: "3.1.0",
            ..LEFT_PAD_BUMPED
        };
        let plan = after(&repo, "bump prettier", |repo| {
            repo.write(lockfile, &manager.lock(bumped));
        });
        if let Manager::Cargo = manager {
            check(&plan, NOTHING_DEPLOYS);
            continue;
        }
        check(
            &plan,
            &format!(
                "shop-server skip unchanged
                 shop-worker skip unchanged
                 shop-web deploy lockfile-changed [{lockfile}]
                 shop-admin skip unchanged
                 shop-tools skip unchanged"
            ),
        );
        assert_eq!(
            plan.services[2].changed_dependencies,
            ["prettier 3.0.0 → 3.1.0"],
            "{manager:?}"
        );
    }
}

#[test]
fn a_named_package_may_be_given_by_its_directory() {
    let repo = Manager::Npm.redeployed_with(&web_from_the_root("apps/web"));
    let plan = after(&repo, "common", |repo| {
        repo.write("packages/common/src/index.js", "// changed\n")
    });
    let common = "packages/common/src/index.js";
    check_server_deploys(&plan, "workspace-dependency-changed", common);
}

#[test]
fn a_name_of_no_package_is_an_error_that_says_where() {
    let repo = Manager::Npm.deployed();
    let topology = web_from_the_root("wbe");
    repo.write("topology.toml", &topology);
    repo.commit("a typo");
    let line = topology
        .lines()
        .position(|l| l.contains("wbe"))
        .expect("the line naming it")
        + 1;
    let column = topology
        .lines()
        .nth(line - 1)
        .expect("line")
        .find("\"wbe\"")
        .expect("wbe")
        + 1;
    let output = topo_ci()
        .current_dir(repo.path())
        .args(["plan", "--env", "production", "--markers", &repo.markers()])
        .output()
        .expect("topo-ci runs");
    assert_eq!(output.status.code(), Some(1));
    assert!(output.stdout.is_empty(), "no plan is printed");
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains(&format!(
            "topology.toml:{line}:{column}: `web` names the package `wbe`, but its build context `.` holds no workspace package, crate or Go module of that name or directory (it holds `@shop/common`, `@shop/utils`, `admin`, `server`, `shop`, `web`): name one of those by its name or its directory"
        )),
        "{stderr}"
    );
}

#[test]
fn a_root_context_without_a_named_package_is_told_how_to_name_it() {
    let topology = web_from_the_root("web").replace("changes = { package = \"web\" }\n", "");
    for manager in [Manager::Npm, Manager::Cargo] {
        let repo = manager.redeployed_with(&topology);
        // Without a name, another app's change deploys web.
        let admin = manager.source("apps/admin");
        let plan = after(&repo, "admin", |repo| repo.write(&admin, "// changed\n"));
        assert_eq!(plan.services[2].reason.as_str(), "changed", "{manager:?}");
        assert!(
            plan.notes.contains(&"`web` is built from the repository root, the root of a workspace of 5 packages besides, so a change in any of them deploys it; if its image is built from one of them, name it in its `[services.changes]`: package = \"web\"".to_owned()),
            "{manager:?}: {:?}",
            plan.notes
        );
    }
}

#[test]
fn a_crate_of_a_virtual_workspace_built_from_its_root_follows_its_dependencies() {
    // `cargo build -p server` at the root of a workspace with no root crate.
    let topology = TOPOLOGY.replace(
        "context = \"apps/server\"\n",
        "context = \".\"\ndockerfile = \"apps/server/Dockerfile\"\nchanges = { package = \"server\" }\n",
    );
    let repo = Manager::Cargo.redeployed_with(&topology);
    let manifest = std::fs::read_to_string(repo.path().join("Cargo.toml")).expect("Cargo.toml");
    let virtual_root = manifest
        .split_once("[workspace]")
        .map(|(_, rest)| format!("[workspace]{rest}"))
        .expect("a workspace")
        .replace("\n[dev-dependencies]\nprettier = \"3.0.0\"\n", "");
    let plan = after(&repo, "a virtual root", |repo| {
        repo.write("Cargo.toml", &virtual_root)
    });
    // The root manifest is a file of the root outside every crate: the server's.
    check_server_deploys(&plan, "changed", "Cargo.toml");
    let plan = after(&repo, "web", |repo| {
        repo.write("apps/web/src/lib.rs", "// changed\n")
    });
    check(
        &plan,
        "shop-server skip unchanged
         shop-worker skip unchanged
         shop-web deploy changed [apps/web/src/lib.rs]
         shop-admin skip unchanged
         shop-tools skip unchanged",
    );
    let plan = after(&repo, "common", |repo| {
        repo.write("packages/common/src/lib.rs", "// changed\n")
    });
    let common = "packages/common/src/lib.rs";
    check_server_deploys(&plan, "workspace-dependency-changed", common);
    let plan = after(&repo, "bump left-pad", |repo| {
        repo.write("Cargo.lock", &Manager::Cargo.lock(LEFT_PAD_BUMPED))
    });
    check_left_pad_bumped(&plan, "Cargo.lock");
}

#[test]
fn a_package_named_by_directory_is_found_in_a_workspace_below_the_context() {
    // The context is the repository root; the Cargo workspace is in `rust/`.
    let repo = Repo::empty();
    repo.write(
        "topology.toml",
        r#"project = "shop"

[[services]]
role = "server"
context = "."
dockerfile = "rust/apps/server/Dockerfile"
changes = { package = "rust/apps/server" }

[[services]]
role = "web"
context = "rust/apps/web"
"#,
    );
    crate::cargo::write_workspace(&repo, "rust");
    for app in ["rust/apps/server", "rust/apps/web"] {
        repo.write(&format!("{app}/Dockerfile"), "FROM scratch\n");
    }
    repo.commit("initial");
    repo.mark(&repo.release());
    let plan = after(&repo, "web", |repo| {
        repo.write("rust/apps/web/src/lib.rs", "// changed\n")
    });
    check(
        &plan,
        "shop-server skip unchanged
         shop-web deploy changed [rust/apps/web/src/lib.rs]",
    );
    let plan = after(&repo, "common and a script", |repo| {
        repo.write("rust/packages/common/src/lib.rs", "// changed\n");
        repo.write("scripts/build.sh", "cargo build -p server\n");
    });
    check(
        &plan,
        "shop-server deploy changed [rust/packages/common/src/lib.rs scripts/build.sh]
         shop-web skip unchanged",
    );
}
