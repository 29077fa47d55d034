//! What joins or leaves a service's scope through its workspace beyond package names: a
//! vendored directory a `file:` range names joins it; a yarn patch outside it is followed
//! through the lockfile; an exclude glob that hides package manifests is said. And
//! `fingerprint --explain` says what each scope and lockfile closure holds.

use crate::workspaces::{Manager, BEFORE, LEFT_PAD_BUMPED, MANAGERS, NOTHING_DEPLOYS, TOPOLOGY};
use crate::{check, topo_ci};

#[test]
fn a_vendored_directory_joins_the_scope_of_what_depends_on_it() {
    let repo = Manager::Npm.deployed();
    repo.write(
        "apps/server/package.json",
        r#"{"name":"server","dependencies":{"@shop/common":"*","left-pad":"^1.0.0","vendored":"file:../../vendor/vendored"}}"#,
    );
    repo.write("vendor/vendored/package.json", r#"{"name":"vendored"}"#);
    repo.write("vendor/vendored/index.js", "// as vendored\n");
    repo.commit("vendor a package");
    repo.mark(&repo.release());
    // No lockfile records the directory's files: the server's scope does.
    repo.write("vendor/vendored/index.js", "// patched\n");
    repo.commit("patch the vendored package");
    let plan = repo.release();
    check(
        &plan,
        "shop-server deploy workspace-dependency-changed [vendor/vendored/index.js]
         shop-worker deploy dependency-changed [vendor/vendored/index.js]
         shop-web skip unchanged
         shop-admin skip unchanged
         shop-tools skip unchanged",
    );
    assert!(
        plan.services[0]
            .detail
            .starts_with("workspace package `vendored` changed: vendor/vendored/index.js"),
        "{}",
        plan.services[0].detail
    );
}

#[test]
fn an_exclude_glob_hiding_package_manifests_is_said() {
    let repo = Manager::Npm
        .redeployed_with(&TOPOLOGY.replace("\"**/*.md\"", "\"**/*.md\", \"**/package.json\""));
    // A range bump the lockfile does not follow: nothing deploys, and the plan says why.
    repo.write(
        "apps/server/package.json",
        r#"{"name":"server","dependencies":{"@shop/common":"*","left-pad":"^1.1.0"}}"#,
    );
    repo.commit("server: require left-pad 1.1");
    let plan = repo.release();
    check(&plan, NOTHING_DEPLOYS);
    assert!(
        plan.notes.contains(&"an exclude glob leaves apps/admin/package.json and 4 more package manifests out of the scopes of the services that use them: a change of the dependencies they declare deploys nothing unless the lockfile resolves them differently; narrow the glob so that it keeps them".to_owned()),
        "{:?}",
        plan.notes
    );
    // Without that glob, no such note.
    let plan = Manager::Npm.deployed().release();
    assert!(
        plan.notes.iter().all(|n| !n.contains("exclude glob")),
        "{:?}",
        plan.notes
    );
}

/// The berry lockfile of the workspace, the server's left-pad patched by
/// `patches/left-pad.patch` (yarn binds a patch by a relative path to the workspace
/// declaring it), the patch hashed as `hash`.
fn berry_lock_with_patch(hash: &str) -> String {
    let patch = "patch:left-pad@npm%3A^1.0.0#../../patches/left-pad.patch";
    let locator = "locator=server%40workspace%3Aapps%2Fserver";
    let lock = Manager::YarnBerry.lock(BEFORE).replace(
        "    left-pad: \"npm:^1.0.0\"\n",
        &format!("    left-pad: \"{patch}::{locator}\"\n"),
    );
    format!(
        "{lock}\n\"left-pad@{patch}::{locator}\":\n  version: 1.0.0\n  resolution: \"left-pad@patch:left-pad@npm%3A1.0.0#../../patches/left-pad.patch::version=1.0.0&hash={hash}&{locator}\"\n  checksum: 10c0/left-pad-patched-{hash}\n  languageName: node\n  linkType: hard\n"
    )
}

#[test]
fn a_yarn_patch_outside_the_scope_deploys_what_it_patches() {
    let repo = Manager::YarnBerry.deployed();
    repo.write(
        "apps/server/package.json",
        r#"{"name":"server","dependencies":{"@shop/common":"workspace:*","left-pad":"patch:left-pad@npm%3A^1.0.0#../../patches/left-pad.patch"}}"#,
    );
    repo.write("patches/left-pad.patch", "--- a/index.js\n+++ b/index.js\n");
    repo.write("yarn.lock", &berry_lock_with_patch("1a2b3c"));
    repo.commit("patch left-pad");
    repo.mark(&repo.release());
    // The patch is in no service's scope: its change reaches the server through what the
    // lockfile resolves for it.
    repo.write(
        "patches/left-pad.patch",
        "--- a/index.js\n+++ b/index.js\n@@ -1 +1 @@\n",
    );
    repo.write("yarn.lock", &berry_lock_with_patch("4d5e6f"));
    repo.commit("patch left-pad further");
    let plan = repo.release();
    check(
        &plan,
        "shop-server deploy lockfile-changed [yarn.lock]
         shop-worker deploy dependency-changed [yarn.lock]
         shop-web skip unchanged
         shop-admin skip unchanged
         shop-tools skip unchanged",
    );
    assert_eq!(
        plan.services[0].changed_dependencies,
        ["left-pad 1.0.0 (integrity changed)"],
        "{}",
        plan.services[0].detail
    );
    repo.check_fingerprints(&plan, "after the patch changed");
}

#[test]
fn explain_says_what_each_fingerprint_is_made_of() {
    for manager in MANAGERS {
        let repo = manager.deployed();
        let explained = repo.explain(&[], &format!("{manager:?}"));
        let by_container = |container: &str| {
            (explained.services.iter())
                .find(|s| s.container == container)
                .unwrap_or_else(|| panic!("{manager:?}: {container} is explained"))
        };
        // The fingerprints are `fingerprint`'s, in topology order.
        let fingerprints = repo.fingerprints();
        let containers: Vec<&str> = (explained.services.iter())
            .map(|s| s.container.as_str())
            .collect();
        assert_eq!(
            containers,
            [
                "shop-server",
                "shop-worker",
                "shop-web",
                "shop-admin",
                "shop-tools"
            ]
        );
        for service in &explained.services {
            assert_eq!(
                Some(&service.fingerprint),
                fingerprints.get(&service.container),
                "{manager:?}: {}",
                service.container
            );
        }
        // The server's scope: its directory and both packages it depends on, one through
        // the other; web's: the one it depends on.
        let (common, utils) = shared_names(manager);
        let server = by_container("shop-server");
        for line in [
            "own apps/server".to_owned(),
            format!("package packages/common {common}"),
            format!("package packages/utils {utils}"),
        ] {
            assert!(server.scope.contains(&line), "{manager:?}: {server:#?}");
        }
        // Each package with the chain that brings it in, one through the other.
        assert_eq!(
            server.via.get("packages/utils").map(Vec::as_slice),
            Some(["server", common, utils].map(str::to_owned).as_slice()),
            "{manager:?}"
        );
        assert_eq!(server.via.len(), 2, "{manager:?}: {:?}", server.via);
        let web = by_container("shop-web");
        assert!(web
            .scope
            .contains(&format!("package packages/utils {utils}")));
        assert!(
            !web.scope.iter().any(|l| l.contains("packages/common")),
            "{manager:?}: {web:#?}"
        );
        // The lockfile's packages: left-pad is the server's, not web's; tools has none.
        let packages = |container: &str| {
            let lockfile = by_container(container).lockfile.as_ref();
            let lockfile = lockfile.unwrap_or_else(|| panic!("{manager:?}: {container}"));
            assert_eq!(lockfile.path, manager.lockfile());
            assert_eq!(lockfile.unreadable, None);
            lockfile.packages.clone()
        };
        assert!(packages("shop-server").contains(&"left-pad@1.0.0".to_owned()));
        assert!(!packages("shop-web")
            .iter()
            .any(|p| p.starts_with("left-pad@")));
        assert_eq!(by_container("shop-tools").lockfile, None);
        let worker = by_container("shop-worker");
        assert_eq!(worker.image_of.as_deref(), Some("shop-server"));
        assert!(worker.scope.is_empty() && worker.lockfile.is_none());
    }
}

/// The names of the workspace's shared packages by `manager`: common's, utils'.
fn shared_names(manager: Manager) -> (&'static str, &'static str) {
    match manager {
        Manager::Cargo => ("common", "utils"),
        _ => ("@shop/common", "@shop/utils"),
    }
}

#[test]
fn explain_in_a_terminal_lists_one_services_packages_at_head() {
    for manager in MANAGERS {
        let repo = manager.deployed();
        let (common, utils) = shared_names(manager);
        let before = repo.explain(&[], &format!("{manager:?}")).services[0].clone();
        // Head is explained: a bumped lockfile shows the new version, and the terminal
        // form lists it under the one service asked for.
        repo.write(manager.lockfile(), &manager.lock(LEFT_PAD_BUMPED));
        repo.write("apps/server/.dockerignore", "test/\n");
        repo.commit("left-pad 1.1.0, and an ignore file");
        let server_after = repo.explain(&[], &format!("{manager:?}")).services[0].clone();
        assert_ne!(server_after.fingerprint, before.fingerprint);
        let output = topo_ci()
            .current_dir(repo.path())
            .args(["fingerprint", "--explain", "--service", "server"])
            .output()
            .expect("topo-ci runs");
        let text = String::from_utf8_lossy(&output.stdout);
        assert!(output.status.success(), "{manager:?}: {text}");
        let expected_start = format!(
            "shop-server {}\n  own apps/server\n",
            server_after.fingerprint
        );
        assert!(text.starts_with(&expected_start), "{manager:?}: {text}");
        let via = format!("\n  package packages/utils {utils} (via server → {common} → {utils})\n");
        assert!(text.contains(&via), "{manager:?}: {text}");
        let count = server_after.lockfile.as_ref().map(|l| l.packages.len());
        assert!(
            text.contains(&format!(
                "\n  lockfile {}: {} package",
                manager.lockfile(),
                count.unwrap_or_default()
            )) && text.contains("\n    left-pad@1.1.0\n"),
            "{manager:?}: {text}"
        );
        assert!(!text.contains("shop-web"), "{manager:?}: {text}");
        assert!(
            (text.lines())
                .any(|l| l.starts_with("  dockerignore ")
                    && l.ends_with(" (apps/server/.dockerignore)")),
            "{manager:?}: {text}"
        );
    }
}

#[test]
fn explain_says_a_lockfile_cannot_be_read_and_why() {
    let manager = Manager::Npm;
    let repo = manager.deployed();
    repo.write(manager.lockfile(), "<<<<<<< HEAD\nmerge conflict\n");
    repo.commit("a conflicted lockfile");
    let explained = repo.explain(&[], &format!("{manager:?}"));
    let lockfile = explained.services[0].lockfile.clone().expect("a lockfile");
    assert!(lockfile.packages.is_empty(), "{lockfile:?}");
    let why = lockfile.unreadable.expect("why it cannot be read");
    assert!(why.contains("line 1 column 1"), "{why}");
    let output = topo_ci()
        .current_dir(repo.path())
        .args(["fingerprint", "--explain"])
        .output()
        .expect("topo-ci runs");
    let text = String::from_utf8_lossy(&output.stdout);
    assert!(
        text.contains(&format!(
            "\n  lockfile package-lock.json (unreadable: {why})\n"
        )),
        "{text}"
    );
}

#[test]
fn explain_lists_exactly_the_files_whose_edit_changes_a_fingerprint() {
    for manager in MANAGERS {
        let repo = manager.deployed();
        repo.write("apps/server/.dockerignore", "**/*.test.js\n");
        repo.write("apps/server/src/app.test.js", "// a test\n");
        repo.write(
            "packages/utils/NOTES.md",
            "excluded by the topology's glob\n",
        );
        repo.commit("an ignore file, and files it and a glob leave out");
        let explained = repo.explain(&["--files"], &format!("{manager:?}"));
        let files_of = |container: &str| {
            let service = (explained.services.iter()).find(|s| s.container == container);
            let files = service.and_then(|s| s.files.as_ref());
            files.unwrap_or_else(|| panic!("{manager:?}: {container}'s files"))
        };
        let listed = |container: &str| -> Vec<&str> {
            files_of(container)
                .iter()
                .map(|f| f.path.as_str())
                .collect()
        };
        let server = listed("shop-server");
        let utils_source = manager.source("packages/utils");
        for file in [
            "apps/server/.dockerignore",
            "apps/server/Dockerfile",
            &utils_source,
        ] {
            assert!(server.contains(&file), "{manager:?}: {file} in {server:?}");
        }
        for file in ["apps/server/src/app.test.js", "packages/utils/NOTES.md"] {
            assert!(!server.contains(&file), "{manager:?}: {file} in {server:?}");
        }
        let utils = (files_of("shop-server").iter())
            .find(|f| f.path == utils_source)
            .expect("utils' source");
        assert_eq!(utils.from, format!("package {}", shared_names(manager).1));
        assert_eq!(utils.mode, "100644");
        assert_eq!(
            utils.id,
            repo.git(&["rev-parse", &format!("HEAD:{utils_source}")])
        );
        assert_eq!(
            explained.services[1].files, None,
            "{manager:?}: the worker runs the server's image"
        );
        let output = topo_ci()
            .current_dir(repo.path())
            .args(["fingerprint", "--explain", "--files", "--service", "server"])
            .output()
            .expect("topo-ci runs");
        let text = String::from_utf8_lossy(&output.stdout);
        for line in [
            format!("\n  files: {}\n", server.len()),
            format!(
                "\n    {utils_source} (package {})\n",
                shared_names(manager).1
            ),
            "\n    apps/server/Dockerfile\n".to_owned(),
        ] {
            assert!(text.contains(&line), "{manager:?}: {line:?} in {text}");
        }

        // Each file of the repository edited alone: a fingerprint changes exactly when
        // the file is listed in its scope.
        let before = repo.fingerprints();
        for file in repo.git(&["ls-files"]).lines() {
            let path = repo.path().join(file);
            let text = std::fs::read_to_string(&path).expect("a text file");
            repo.write(file, &format!("{text}\n"));
            repo.commit(&format!("edit {file}"));
            let after = repo.fingerprints();
            for service in explained.services.iter().filter(|s| s.files.is_some()) {
                let container = service.container.as_str();
                assert_eq!(
                    before[container] != after[container],
                    listed(container).contains(&file),
                    "{manager:?}: editing {file}: {container}'s fingerprint changed, or it is listed, not both"
                );
            }
            repo.git(&["reset", "-q", "--hard", "HEAD~1"]);
        }
    }
}
