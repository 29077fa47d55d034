//! What joins or leaves a service's scope through its workspace beyond package names: a
//! vendored directory a `file:` range names joins it; a yarn patch outside it is followed
//! through the lockfile; an exclude glob that hides package manifests is said.

use crate::check;
use crate::workspaces::{Manager, BEFORE, NOTHING_DEPLOYS, TOPOLOGY};

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
