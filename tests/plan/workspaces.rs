//! Workspaces — JavaScript (npm, pnpm, yarn berry, yarn v1 and Bun) and Cargo: a shared
//! package's change deploys exactly its dependents; a lockfile change deploys only the services whose
//! resolved dependencies changed; cycles, missing packages and unreadable lockfiles are
//! explained.
//!
//! The workspace: `apps/server` → `@shop/common` → `@shop/utils`, `apps/web` →
//! `@shop/utils`, `apps/admin` (a dev dependency on `jest`), the root (a dev dependency on
//! `prettier`); `tools` is a service outside every package. A Cargo workspace has the same
//! crates (names without the `@shop/` scope), linked by `path` (the server's inherited from
//! `[workspace.dependencies]`). The lockfiles are written from
//! the templates in `fixtures/`, the versions filled in: no registry is needed.

use topo_ci::plan::Plan;

use crate::{cargo, check, topo_ci, Repo};

pub(crate) const TOPOLOGY: &str = r#"project = "shop"

[[services]]
role = "server"
context = "apps/server"
command = ["node", "server.js"]

[[services]]
role = "worker"
image_of = "server"
command = ["node", "worker.js"]

[[services]]
role = "web"
context = "apps/web"

[[services]]
role = "admin"
context = "apps/admin"

[[services]]
role = "tools"
context = "tools"

[ci]
exclude = ["**/*.md"]
"#;

/// The versions a lockfile resolves.
#[derive(Clone, Copy)]
pub(crate) struct Versions {
    pub(crate) left_pad: &'static str,
    pub(crate) jest: &'static str,
    pub(crate) prettier: &'static str,
}

pub(crate) const BEFORE: Versions = Versions {
    left_pad: "1.0.0",
    jest: "29.6.0",
    prettier: "3.0.0",
};

/// `BEFORE` with the server's one dependency, left-pad, resolved one version up.
pub(crate) const LEFT_PAD_BUMPED: Versions = Versions {
    left_pad: "1.1.0",
    ..BEFORE
};

/// A plan of this workspace's services in which nothing deploys.
pub(crate) const NOTHING_DEPLOYS: &str = "shop-server skip unchanged
    shop-worker skip unchanged
    shop-web skip unchanged
    shop-admin skip unchanged
    shop-tools skip unchanged";

/// The plan after left-pad moved under the server in `lockfile`: the server and the worker
/// on its image deploy, nothing else.
pub(crate) fn check_left_pad_bumped(plan: &Plan, lockfile: &str) {
    check(
        plan,
        &format!(
            "shop-server deploy lockfile-changed [{lockfile}]
             shop-worker deploy dependency-changed [{lockfile}]
             shop-web skip unchanged
             shop-admin skip unchanged
             shop-tools skip unchanged"
        ),
    );
    assert_eq!(
        plan.services[0].changed_dependencies,
        ["left-pad 1.0.0 → 1.1.0"],
        "{}",
        plan.services[0].detail
    );
}

/// The plan after `utils` (a file of `packages/utils`) changed: its dependents deploy, the
/// server and web directly, the worker on the server's image.
pub(crate) fn check_utils_changed(plan: &Plan, utils: &str) {
    check(
        plan,
        &format!(
            "shop-server deploy workspace-dependency-changed [{utils}]
             shop-worker deploy dependency-changed [{utils}]
             shop-web deploy workspace-dependency-changed [{utils}]
             shop-admin skip unchanged
             shop-tools skip unchanged"
        ),
    );
}

#[derive(Clone, Copy, Debug)]
pub(crate) enum Manager {
    Npm,
    Pnpm,
    YarnBerry,
    YarnV1,
    Bun,
    Cargo,
}

pub(crate) const MANAGERS: [Manager; 6] = [
    Manager::Npm,
    Manager::Pnpm,
    Manager::YarnBerry,
    Manager::YarnV1,
    Manager::Bun,
    Manager::Cargo,
];

impl Manager {
    pub(crate) fn lockfile(self) -> &'static str {
        match self {
            Manager::Npm => "package-lock.json",
            Manager::Pnpm => "pnpm-lock.yaml",
            Manager::YarnBerry | Manager::YarnV1 => "yarn.lock",
            Manager::Bun => "bun.lock",
            Manager::Cargo => "Cargo.lock",
        }
    }

    /// A source file of the package in `dir`.
    pub(crate) fn source(self, dir: &str) -> String {
        match self {
            Manager::Cargo => format!("{dir}/src/lib.rs"),
            _ => format!("{dir}/src/index.js"),
        }
    }

    /// How plans name the shared package in `packages/utils`.
    fn utils(self) -> &'static str {
        match self {
            Manager::Cargo => "utils",
            _ => "@shop/utils",
        }
    }

    /// The admin app's manifest, its dev dependency on jest declared as `jest`.
    pub(crate) fn admin_manifest(self, jest: &str) -> (&'static str, String) {
        match self {
            Manager::Cargo => (
                "apps/admin/Cargo.toml",
                format!("[package]\nname = \"admin\"\nversion = \"0.1.0\"\n\n[dev-dependencies]\njest = \"{jest}\"\n"),
            ),
            _ => (
                "apps/admin/package.json",
                format!(r#"{{"name":"admin","devDependencies":{{"jest":"^{jest}"}}}}"#),
            ),
        }
    }

    /// The range a workspace dependency is declared with.
    fn workspace_range(self) -> &'static str {
        match self {
            Manager::Npm | Manager::YarnV1 | Manager::Cargo => "*",
            Manager::Pnpm | Manager::YarnBerry | Manager::Bun => "workspace:*",
        }
    }

    pub(crate) fn lock(self, v: Versions) -> String {
        // Templates: the versions are filled in.
        let template = match self {
            Manager::Npm => include_str!("fixtures/package-lock.json"),
            Manager::Pnpm => include_str!("fixtures/pnpm-lock.yaml"),
            Manager::YarnBerry => include_str!("fixtures/yarn-berry.lock"),
            Manager::YarnV1 => include_str!("fixtures/yarn-v1.lock"),
            Manager::Bun => include_str!("fixtures/bun.lock"),
            Manager::Cargo => include_str!("fixtures/Cargo.lock"),
        };
        template
            .replace("LEFT_PAD", v.left_pad)
            .replace("JEST", v.jest)
            .replace("PRETTIER", v.prettier)
    }

    /// A repository of the workspace, committed and deployed (markers recorded).
    pub(crate) fn deployed(self) -> Repo {
        let repo = Repo::empty();
        repo.write("topology.toml", TOPOLOGY);
        self.write_workspace(&repo);
        for app in ["apps/server", "apps/web", "apps/admin", "tools"] {
            repo.write(
                &format!("{app}/Dockerfile"),
                "FROM scratch AS dev\nFROM scratch AS prod\n",
            );
        }
        repo.commit("initial");
        let plan = repo.release();
        repo.mark(&plan);
        repo
    }

    /// `deployed`, then `topology` committed in place of the first and marked deployed.
    pub(crate) fn redeployed_with(self, topology: &str) -> Repo {
        let repo = self.deployed();
        repo.write("topology.toml", topology);
        repo.commit("the topology changed");
        repo.mark(&repo.release());
        repo
    }

    /// The workspace's manifests, a source file in each package, and the lockfile.
    pub(crate) fn write_workspace(self, repo: &Repo) {
        if let Manager::Cargo = self {
            return cargo::write_workspace(repo, "");
        }
        let ws = self.workspace_range();
        let root = match self {
            Manager::Pnpm => {
                repo.write("pnpm-workspace.yaml", "packages:\n  - 'apps/*'\n  - 'packages/*'\n");
                r#"{"name":"shop","private":true,"devDependencies":{"prettier":"^3.0.0"}}"#
                    .to_owned()
            }
            Manager::YarnBerry => r#"{"name":"shop","private":true,"packageManager":"yarn@4.1.0","workspaces":["apps/*","packages/*"],"devDependencies":{"prettier":"^3.0.0"}}"#.to_owned(),
            // npm, yarn v1 and Bun (Cargo has returned above).
            _ => r#"{"name":"shop","private":true,"workspaces":["apps/*","packages/*"],"devDependencies":{"prettier":"^3.0.0"}}"#.to_owned(),
        };
        repo.write("package.json", &root);
        let packages = [
            (
                "packages/utils",
                r#"{"name":"@shop/utils","version":"1.0.0"}"#.to_owned(),
            ),
            (
                "packages/common",
                format!(
                    r#"{{"name":"@shop/common","version":"1.0.0","dependencies":{{"@shop/utils":"{ws}"}}}}"#
                ),
            ),
            (
                "apps/server",
                format!(
                    r#"{{"name":"server","dependencies":{{"@shop/common":"{ws}","left-pad":"^1.0.0"}}}}"#
                ),
            ),
            (
                "apps/web",
                format!(r#"{{"name":"web","dependencies":{{"@shop/utils":"{ws}"}}}}"#),
            ),
            ("apps/admin", self.admin_manifest("29.0.0").1),
        ];
        for (dir, manifest) in packages {
            repo.write(&format!("{dir}/package.json"), &manifest);
            repo.write(&self.source(dir), &format!("// {dir}\n"));
        }
        repo.write(self.lockfile(), &self.lock(BEFORE));
    }
}

impl Repo {
    /// A repository with nothing committed yet.
    pub(crate) fn empty() -> Repo {
        let repo = Repo {
            dir: tempfile::tempdir().expect("tempdir"),
            markers: tempfile::tempdir().expect("tempdir"),
        };
        repo.git(&["init", "-q", "-b", "main"]);
        repo
    }
}

#[test]
fn a_change_in_a_shared_package_deploys_exactly_its_dependents() {
    for manager in MANAGERS {
        let repo = manager.deployed();
        let utils = manager.source("packages/utils");
        repo.write(&utils, "// changed\n");
        repo.commit("utils");
        let plan = repo.release();
        check_utils_changed(&plan, &utils);
        // The server reaches it through common, and the detail says so; web directly.
        let common = match manager {
            Manager::Cargo => "common",
            _ => "@shop/common",
        };
        let name = manager.utils();
        let details = [
            format!("workspace package `{name}` (server → {common} → {name}) changed: {utils}"),
            format!("workspace package `{name}` changed: {utils}"),
        ];
        for (service, detail) in [&plan.services[0], &plan.services[2]].iter().zip(details) {
            assert!(
                service.detail.starts_with(&detail),
                "{manager:?}: {}",
                service.detail
            );
        }
        repo.mark(&plan);
        let common = manager.source("packages/common");
        repo.write(&common, "// changed\n");
        repo.write("packages/common/README.md", "excluded\n");
        repo.commit("common");
        check(
            &repo.release(),
            &format!(
                "shop-server deploy workspace-dependency-changed [{common}]
                 shop-worker deploy dependency-changed [{common}]
                 shop-web skip unchanged
                 shop-admin skip unchanged
                 shop-tools skip unchanged"
            ),
        );
    }
}

#[test]
fn a_dev_dependency_bump_in_one_app_deploys_that_app_only() {
    for manager in MANAGERS {
        let repo = manager.deployed();
        // `npm update jest`: only the lockfile changes.
        let bumped = Versions {
            jest: "29.7.0",
            ..BEFORE
        };
        repo.write(manager.lockfile(), &manager.lock(bumped));
        repo.commit("bump jest");
        let plan = repo.release();
        let lockfile = manager.lockfile();
        check(
            &plan,
            &format!(
                "shop-server skip unchanged
                 shop-worker skip unchanged
                 shop-web skip unchanged
                 shop-admin deploy lockfile-changed [{lockfile}]
                 shop-tools skip unchanged"
            ),
        );
        let admin = &plan.services[3];
        assert!(
            admin
                .detail
                .starts_with(&format!("{lockfile}: jest 29.6.0 → 29.7.0 (")),
            "{manager:?}: {}",
            admin.detail
        );
        assert!(
            plan.services[0].detail.contains("not what it resolves"),
            "{}",
            plan.services[0].detail
        );
        // A range bump in the app's own manifest is a change of its own files.
        repo.mark(&plan);
        let (manifest, text) = manager.admin_manifest("29.7.0");
        repo.write(manifest, &text);
        repo.commit("admin: require jest 29.7");
        check(
            &repo.release(),
            &format!(
                "shop-server skip unchanged
                 shop-worker skip unchanged
                 shop-web skip unchanged
                 shop-admin deploy changed [{manifest}]
                 shop-tools skip unchanged"
            ),
        );
    }
}

#[test]
fn a_lockfile_change_that_touches_no_service_deploys_nothing() {
    for manager in [
        Manager::Npm,
        Manager::Pnpm,
        Manager::YarnBerry,
        Manager::Bun,
        Manager::Cargo,
    ] {
        let repo = manager.deployed();
        let bumped = Versions {
            prettier: "3.3.3",
            ..BEFORE
        };
        repo.write(manager.lockfile(), &manager.lock(bumped));
        repo.commit("bump prettier (the root's dev dependency)");
        let plan = repo.release();
        check(&plan, NOTHING_DEPLOYS);
        // The recorded fingerprints, kept, are what a fresh computation gives.
        repo.check_fingerprints(&plan, &format!("{manager:?}: a root dev-dependency bump"));
    }
}

#[test]
fn a_server_dependency_bump_deploys_the_server_and_its_image_users() {
    let repo = Manager::Pnpm.deployed();
    let before = repo.release();
    repo.write("pnpm-lock.yaml", &Manager::Pnpm.lock(LEFT_PAD_BUMPED));
    repo.commit("bump left-pad");
    let plan = repo.release();
    check_left_pad_bumped(&plan, "pnpm-lock.yaml");
    assert!(plan.services[0].detail.contains("left-pad 1.0.0 → 1.1.0"));
    assert_eq!(
        plan.services[1].changed_dependencies,
        ["left-pad 1.0.0 → 1.1.0"]
    );
    let summary = topo_ci()
        .current_dir(repo.path())
        .args(["plan", "--env", "production", "--format", "markdown"])
        .args(["--markers", &repo.markers(), "--event", "manual"])
        .output()
        .expect("runs");
    let summary = String::from_utf8_lossy(&summary.stdout);
    assert!(
        summary.contains("| `shop-server` | **deploy** | lockfile-changed |")
            && summary.contains("`pnpm-lock.yaml`: left-pad 1.0.0 → 1.1.0 |"),
        "{summary}"
    );
    assert!(plan.services[1]
        .detail
        .contains("runs the image of shop-server"));
    // The server's fingerprint follows its resolved dependencies; the others' do not move.
    assert_ne!(plan.services[0].fingerprint, before.services[0].fingerprint);
    assert_eq!(plan.services[2].fingerprint, before.services[2].fingerprint);
}

#[test]
fn a_move_from_yarn_to_npm_compares_what_each_lockfile_resolves() {
    let repo = Manager::YarnV1.deployed();
    // `rm yarn.lock && npm install`, with left-pad resolved one version up on the way.
    std::fs::remove_file(repo.path().join("yarn.lock")).expect("rm");
    repo.write("package-lock.json", &Manager::Npm.lock(LEFT_PAD_BUMPED));
    repo.commit("yarn to npm");
    // The base's yarn.lock against head's package-lock.json: only what either resolves
    // differently deploys, and it is named (not "cannot be compared").
    let plan = repo.release();
    check_left_pad_bumped(&plan, "package-lock.json");
    assert!(
        plan.notes
            .iter()
            .all(|note| !note.contains("cannot be read")),
        "{:?}",
        plan.notes
    );
}

#[test]
fn a_cycle_and_a_missing_package_are_explained() {
    let repo = Manager::Pnpm.deployed();
    repo.write(
        "packages/utils/package.json",
        r#"{"name":"@shop/utils","dependencies":{"@shop/common":"workspace:*","@shop/ghost":"workspace:*"}}"#,
    );
    repo.commit("utils needs common");
    let plan = repo.release();
    check(
        &plan,
        "shop-server deploy workspace-dependency-changed [packages/utils/package.json]
         shop-worker deploy dependency-changed [packages/utils/package.json]
         shop-web deploy workspace-dependency-changed [packages/utils/package.json]
         shop-admin skip unchanged
         shop-tools skip unchanged",
    );
    let notes = plan.notes.join("\n");
    assert!(
        notes.contains("workspace dependency cycle: @shop/common → @shop/utils → @shop/common"),
        "{notes}"
    );
    assert!(
        notes.contains("packages/utils/package.json depends on `@shop/ghost` (`workspace:*`), which is no package of the workspace declared in pnpm-workspace.yaml"),
        "{notes}"
    );
    // The web app now depends on common through utils: common's changes deploy it too.
    repo.mark(&plan);
    repo.write("packages/common/src/index.js", "// changed\n");
    repo.commit("common");
    check(
        &repo.release(),
        "shop-server deploy workspace-dependency-changed [packages/common/src/index.js]
         shop-worker deploy dependency-changed [packages/common/src/index.js]
         shop-web deploy workspace-dependency-changed [packages/common/src/index.js]
         shop-admin skip unchanged
         shop-tools skip unchanged",
    );
}

#[test]
fn an_unreadable_lockfile_deploys_every_service_that_uses_it() {
    for manager in [
        Manager::Npm,
        Manager::Pnpm,
        Manager::YarnV1,
        Manager::Bun,
        Manager::Cargo,
    ] {
        let repo = manager.deployed();
        repo.write(manager.lockfile(), "<<<<<<< HEAD\nmerge conflict\n");
        repo.commit("a conflicted lockfile");
        let plan = repo.release();
        let lockfile = manager.lockfile();
        check(
            &plan,
            &format!(
                "shop-server deploy lockfile-changed [{lockfile}]
                 shop-worker deploy dependency-changed [{lockfile}]
                 shop-web deploy lockfile-changed [{lockfile}]
                 shop-admin deploy lockfile-changed [{lockfile}]
                 shop-tools skip unchanged"
            ),
        );
        assert!(
            plan.notes.iter().any(
                |n| n.starts_with(&format!("{lockfile} cannot be read (at "))
                    && n.contains("treated as changed")
            ),
            "{manager:?}: {:?}",
            plan.notes
        );
    }
}

#[test]
fn a_binary_bun_lockfile_is_unreadable_and_says_what_writes_the_text_one() {
    let repo = Manager::Bun.deployed();
    // An older Bun, or `saveTextLockfile = false` in bunfig.toml: bun.lockb, not bun.lock.
    std::fs::remove_file(repo.path().join("bun.lock")).expect("rm");
    repo.write(
        "bun.lockb",
        "#!/usr/bin/env bun\nbun-lockfile-format-v0\n\u{1}\u{2}",
    );
    repo.commit("a binary lockfile");
    let plan = repo.release();
    check(
        &plan,
        "shop-server deploy lockfile-changed [bun.lockb]
         shop-worker deploy dependency-changed [bun.lockb]
         shop-web deploy lockfile-changed [bun.lockb]
         shop-admin deploy lockfile-changed [bun.lockb]
         shop-tools skip unchanged",
    );
    assert!(
        plan.notes
            .iter()
            .any(|n| n.starts_with("bun.lockb cannot be read (at ")
                && n.contains("`bun install --save-text-lockfile` writes the text bun.lock")),
        "{:?}",
        plan.notes
    );
}

#[test]
fn a_lockfile_kept_as_a_global_file_still_redeploys_everything_and_says_why() {
    let repo = Manager::Npm.redeployed_with(
        &TOPOLOGY.replace("[ci]\n", "[ci]\nglobal_files = [\"package-lock.json\"]\n"),
    );
    let bumped = Versions {
        prettier: "3.3.3",
        ..BEFORE
    };
    repo.write("package-lock.json", &Manager::Npm.lock(bumped));
    repo.commit("bump prettier");
    let plan = repo.release();
    check(
        &plan,
        "shop-server deploy changed [package-lock.json]
         shop-worker deploy dependency-changed [package-lock.json]
         shop-web deploy changed [package-lock.json]
         shop-admin deploy changed [package-lock.json]
         shop-tools deploy changed [package-lock.json]",
    );
    assert!(
        plan.notes
            .iter()
            .any(|n| n.contains("is in `[ci] global_files`")),
        "{:?}",
        plan.notes
    );
}
