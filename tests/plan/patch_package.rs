//! `patch-package` (npm, yarn v1): the patches in its directory are carried by the closure
//! packages they patch, so a patch that is added, edited or removed deploys exactly the
//! services whose closure holds the package — none of which has the patch directory in its
//! scope — and a patch of a package no service gets deploys nothing.

use crate::workspaces::{Manager, NOTHING_DEPLOYS};
use crate::{check, Repo};

/// The workspace's root manifest with `patch-package` run after install, by `script`.
fn root_manifest(script: &str) -> String {
    format!(
        r#"{{"name":"shop","private":true,"workspaces":["apps/*","packages/*"],"scripts":{{"postinstall":"{script}"}},"devDependencies":{{"prettier":"^3.0.0","patch-package":"^8.0.0"}}}}"#
    )
}

/// The two ways the tests run patch-package: npm with the default directory, yarn v1
/// with `--patch-dir` (manager, script, directory).
const SETUPS: [(Manager, &str, &str); 2] = [
    (Manager::Npm, "patch-package", "patches"),
    (
        Manager::YarnV1,
        "patch-package --patch-dir vendor/fixes",
        "vendor/fixes",
    ),
];

/// A workspace running patch-package, for one of the [`SETUPS`].
struct Patching {
    repo: Repo,
    manager: Manager,
    /// The patch directory.
    dir: &'static str,
}

impl Patching {
    /// Commits what the repository holds as `what`, and checks the release plan: its
    /// decisions (`expect`), the package changes it names (`changed`, of the services
    /// building their image: the worker repeats the server's) and its fingerprints; then
    /// records it.
    fn step(&self, what: &str, expect: &str, changed: &[&str]) {
        let (repo, manager) = (&self.repo, self.manager);
        repo.commit(what);
        let plan = repo.release();
        check(&plan, expect);
        let listed: Vec<&str> = (plan.services.iter())
            .filter(|s| s.build.built_by.is_none())
            .flat_map(|s| &s.changed_dependencies)
            .map(String::as_str)
            .collect();
        assert_eq!(listed, changed, "{manager:?}, {what}");
        repo.check_fingerprints(&plan, &format!("{manager:?}, {what}"));
        repo.mark(&plan);
    }

    /// A file of the patch directory.
    fn patch(&self, name: &str) -> String {
        format!("{}/{name}", self.dir)
    }
}

/// Runs `test` on each of the [`SETUPS`]: the workspace deployed, then running
/// patch-package (no patch yet: nothing deploys for that).
fn each_setup(test: impl Fn(&Patching)) {
    for (manager, script, dir) in SETUPS {
        let repo = manager.deployed();
        repo.write("package.json", &root_manifest(script));
        let patching = Patching { repo, manager, dir };
        patching.step("run patch-package", NOTHING_DEPLOYS, &[]);
        test(&patching);
    }
}

/// The server (and the worker on its image) deploy for the lockfile, nothing else.
fn server_and_worker(lockfile: &str) -> String {
    format!(
        "shop-server deploy lockfile-changed [{lockfile}]
         shop-worker deploy dependency-changed [{lockfile}]
         shop-web skip unchanged
         shop-admin skip unchanged
         shop-tools skip unchanged"
    )
}

#[test]
fn a_patch_deploys_exactly_the_services_whose_closure_holds_what_it_patches() {
    each_setup(|p| {
        let (repo, lockfile) = (&p.repo, p.manager.lockfile());
        let left_pad = p.patch("left-pad+1.0.0.patch");
        repo.write(
            &left_pad,
            "--- a/index.js\n+++ b/index.js\n@@ -1 +1 @@\n-a\n+b\n",
        );
        let server = server_and_worker(lockfile);
        p.step("patch left-pad", &server, &["left-pad 1.0.0 (patched)"]);

        repo.write(
            &left_pad,
            "--- a/index.js\n+++ b/index.js\n@@ -1 +1 @@\n-a\n+c\n",
        );
        p.step(
            "edit the patch",
            &server,
            &["left-pad 1.0.0 (patch changed)"],
        );

        // prettier is the root's dev dependency: in no service's closure. A file
        // patch-package does not read as a patch changes nothing either.
        repo.write(&p.patch("prettier+3.0.0.patch"), "--- a/x\n+++ b/x\n");
        repo.write(&p.patch("notes.txt"), "why each patch\n");
        p.step("patch prettier", NOTHING_DEPLOYS, &[]);

        // A dev-only patch of the admin's test runner, its version not the one installed
        // (patch-package applies it anyway, with a warning).
        repo.write(&p.patch("jest+29.5.0.dev.patch"), "--- a/x\n+++ b/x\n");
        let admin = format!(
            "shop-server skip unchanged
             shop-worker skip unchanged
             shop-web skip unchanged
             shop-admin deploy lockfile-changed [{lockfile}]
             shop-tools skip unchanged"
        );
        p.step("patch jest", &admin, &["jest 29.6.0 (patched)"]);

        repo.git(&["rm", "-q", &left_pad]);
        let removed = ["left-pad 1.0.0 (patch removed)"];
        p.step("drop the left-pad patch", &server, &removed);
    });
}

#[test]
fn a_renamed_patch_patches_the_same_and_patch_package_dropped_unpatches() {
    each_setup(|p| {
        let (repo, lockfile) = (&p.repo, p.manager.lockfile());
        let left_pad = p.patch("left-pad+1.0.0.patch");
        repo.write(&left_pad, "--- a/index.js\n+++ b/index.js\n");
        repo.write(&p.patch("jest+29.6.0.patch"), "--- a/x\n+++ b/x\n");
        let everything_patched = format!(
            "shop-server deploy lockfile-changed [{lockfile}]
             shop-worker deploy dependency-changed [{lockfile}]
             shop-web skip unchanged
             shop-admin deploy lockfile-changed [{lockfile}]
             shop-tools skip unchanged"
        );
        let patched = ["left-pad 1.0.0 (patched)", "jest 29.6.0 (patched)"];
        p.step("patch left-pad and jest", &everything_patched, &patched);

        // The lockfile changing with a patch in place: the version change is said.
        repo.write(
            lockfile,
            &p.manager.lock(crate::workspaces::LEFT_PAD_BUMPED),
        );
        let server = server_and_worker(lockfile);
        p.step("bump left-pad", &server, &["left-pad 1.0.0 → 1.1.0"]);

        // A patch renamed for the new version, its content the same, patches the same.
        repo.git(&["mv", &left_pad, &p.patch("left-pad+1.1.0.patch")]);
        p.step("rename the left-pad patch", NOTHING_DEPLOYS, &[]);

        // patch-package no longer run: every patched package is unpatched, though neither
        // the lockfile nor a patch changed.
        repo.write(
            "package.json",
            r#"{"name":"shop","private":true,"workspaces":["apps/*","packages/*"],"devDependencies":{"prettier":"^3.0.0"}}"#,
        );
        let unpatched = [
            "left-pad 1.1.0 (patch removed)",
            "jest 29.6.0 (patch removed)",
        ];
        p.step(
            "stop running patch-package",
            &everything_patched,
            &unpatched,
        );
    });
}

#[test]
fn explain_lists_the_patches_a_fingerprint_hashes() {
    let repo = Manager::Npm.deployed();
    repo.write("package.json", &root_manifest("patch-package"));
    repo.write("patches/left-pad+1.0.0.patch", "--- a/x\n+++ b/x\n");
    repo.write("patches/prettier+3.0.0.patch", "--- a/x\n+++ b/x\n");
    repo.commit("patches");
    let explained = repo.explain(&["--files"], "patches");
    let patches_of = |container: &str| {
        let inputs = (explained.services.iter())
            .find(|s| s.container == container)
            .expect("the service is explained");
        let listed = inputs.lockfile.as_ref().map(|l| l.patches.clone());
        let files = (inputs.files.iter().flatten())
            .filter(|f| f.from == "patch")
            .map(|f| f.path.clone())
            .collect::<Vec<_>>();
        (listed.unwrap_or_default(), files)
    };
    let left_pad = vec!["patches/left-pad+1.0.0.patch".to_owned()];
    assert_eq!(patches_of("shop-server"), (left_pad.clone(), left_pad));
    assert_eq!(patches_of("shop-web"), (vec![], vec![]));
    // Each patch listed changes the fingerprint; the other does not.
    let before = repo.fingerprints();
    repo.write("patches/prettier+3.0.0.patch", "--- a/y\n+++ b/y\n");
    repo.commit("edit prettier's patch");
    assert_eq!(repo.fingerprints(), before);
    repo.write("patches/left-pad+1.0.0.patch", "--- a/y\n+++ b/y\n");
    repo.commit("edit left-pad's patch");
    let after = repo.fingerprints();
    let changed: Vec<&String> = (after.iter())
        .filter(|(container, fingerprint)| before.get(*container) != Some(*fingerprint))
        .map(|(container, _)| container)
        .collect();
    assert_eq!(changed, ["shop-server", "shop-worker"]);
}

#[test]
fn an_image_built_from_the_workspace_root_sees_a_patch_only_through_its_closure() {
    // web is built from the root out of its package: the patch directory is in its build
    // context, but a patch counts only when web's closure (its package's and the root
    // package's dependencies) holds the package it patches.
    let repo = Manager::Npm.redeployed_with(&crate::named_package::web_from_the_root("web"));
    repo.write("package.json", &root_manifest("patch-package"));
    repo.commit("run patch-package");
    repo.mark(&repo.release());
    repo.write("patches/left-pad+1.0.0.patch", "--- a/x\n+++ b/x\n");
    repo.commit("patch the server's left-pad");
    let plan = repo.release();
    check(&plan, &server_and_worker("package-lock.json"));
    repo.mark(&plan);
    // prettier, the root package's dev dependency, is installed with web's root install.
    repo.write("patches/prettier+3.0.0.patch", "--- a/x\n+++ b/x\n");
    repo.commit("patch prettier");
    let plan = repo.release();
    check(
        &plan,
        "shop-server skip unchanged
         shop-worker skip unchanged
         shop-web deploy lockfile-changed [package-lock.json]
         shop-admin skip unchanged
         shop-tools skip unchanged",
    );
    assert_eq!(
        plan.services[2].changed_dependencies,
        ["prettier 3.0.0 (patched)"]
    );
    repo.check_fingerprints(&plan, "a patch of the root's dev dependency");
}
