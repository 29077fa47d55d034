//! What a change since the last deploy deploys: files in a service's directory, excluded
//! files, files `.dockerignore` leaves out of the build context, moves, deletions, merges, the root lockfile, the topology's own entries,
//! submodules, and a topology kept below the repository root.

use std::path::PathBuf;

use crate::{check, plan_json, Repo, TOPOLOGY};

#[test]
fn first_deploy_deploys_everything() {
    let repo = Repo::new();
    let plan = repo.release();
    check(
        &plan,
        "shop-server deploy no-previous-deploy
         shop-worker deploy no-previous-deploy
         shop-web deploy no-previous-deploy",
    );
    assert_eq!(plan.head, repo.git(&["rev-parse", "HEAD"]));
    assert!(plan.deploys);
    // The worker runs the server's image, under the server's fingerprint.
    let server = &plan.services[0];
    let worker = &plan.services[1];
    assert_eq!(server.image, format!("shop-server:{}", server.fingerprint));
    assert_eq!(worker.image, server.image);
    assert_ne!(worker.fingerprint, server.fingerprint);
}

#[test]
fn nothing_changed_skips_everything() {
    let repo = Repo::deployed();
    repo.write("elsewhere/notes.txt", "outside every scope\n");
    repo.commit("outside");
    let plan = repo.release();
    check(
        &plan,
        "shop-server skip unchanged
         shop-worker skip unchanged
         shop-web skip unchanged",
    );
    // Unchanged services keep the recorded fingerprints and images without recomputing
    // them; they are what a fresh computation gives.
    repo.check_fingerprints(&plan, "unchanged services");
    assert_eq!(plan.services[1].image, plan.services[0].image);
}

#[test]
fn a_change_in_a_service_directory_deploys_it_and_the_services_on_its_image() {
    let repo = Repo::deployed();
    repo.write("apps/server/src/index.js", "// changed\n");
    repo.commit("server change");
    check(
        &repo.release(),
        "shop-server deploy changed [apps/server/src/index.js]
         shop-worker deploy dependency-changed [apps/server/src/index.js]
         shop-web skip unchanged",
    );
}

#[test]
fn a_change_only_in_an_excluded_file_deploys_nothing() {
    let repo = Repo::deployed();
    repo.write("apps/server/NOTES.md", "notes\n");
    repo.write("README.md", "# shop, documented\n");
    repo.commit("docs");
    let plan = repo.release();
    check(
        &plan,
        "shop-server skip unchanged
         shop-worker skip unchanged
         shop-web skip unchanged",
    );
    assert_eq!(plan.services[0].excluded_count, 1);
    assert!(plan.services[0].detail.contains("all excluded"));
}

#[test]
fn what_dockerignore_leaves_out_of_the_build_context_deploys_nothing() {
    let repo = Repo::deployed();
    repo.write("apps/server/.dockerignore", "**/*.test.js\ncoverage\n");
    repo.commit("the server's context leaves tests out");
    let before = repo.release();
    repo.mark(&before);
    // Only what the engine never gets: a test and a coverage report.
    repo.write("apps/server/src/index.test.js", "// a test\n");
    repo.write("apps/server/coverage/lcov.info", "TN:\n");
    repo.commit("tests");
    let plan = repo.release();
    check(
        &plan,
        "shop-server skip unchanged
         shop-worker skip unchanged
         shop-web skip unchanged",
    );
    assert_eq!(
        plan.services[0].excluded_count, 2,
        "{}",
        plan.services[0].detail
    );
    assert_eq!(plan.services[0].fingerprint, before.services[0].fingerprint);
    repo.check_fingerprints(&plan, "files .dockerignore leaves out");
    // The rules are the image's: once tests are sent, the test added since the server was
    // deployed (the skip left its marker where it was) is the image's too.
    repo.mark(&plan);
    repo.write("apps/server/.dockerignore", "coverage\n");
    repo.commit("ship the tests");
    let plan = repo.release();
    check(
        &plan,
        "shop-server deploy changed [apps/server/.dockerignore apps/server/src/index.test.js]
         shop-worker deploy dependency-changed [apps/server/.dockerignore apps/server/src/index.test.js]
         shop-web skip unchanged",
    );
    assert_ne!(plan.services[0].fingerprint, before.services[0].fingerprint);
    repo.check_fingerprints(&plan, "after .dockerignore changed");
    repo.mark(&plan);
    repo.write("apps/server/src/index.test.js", "// another test\n");
    repo.commit("a test, sent now");
    check(
        &repo.release(),
        "shop-server deploy changed [apps/server/src/index.test.js]
         shop-worker deploy dependency-changed [apps/server/src/index.test.js]
         shop-web skip unchanged",
    );
}

#[test]
fn a_dockerfiles_own_ignore_file_is_read_instead_of_the_contexts() {
    let repo = Repo::deployed();
    // BuildKit prefers `<Dockerfile>.dockerignore`, beside the Dockerfile.
    repo.write("apps/server/Dockerfile.dockerignore", "**/*.test.js\n");
    repo.write("apps/server/.dockerignore", "coverage\n");
    repo.commit("ignore files");
    repo.mark(&repo.release());
    repo.write("apps/server/src/index.test.js", "// a test\n");
    repo.write("apps/server/coverage/lcov.info", "TN:\n");
    repo.commit("a test and a report");
    let plan = repo.release();
    check(
        &plan,
        "shop-server deploy changed [apps/server/coverage/lcov.info]
         shop-worker deploy dependency-changed [apps/server/coverage/lcov.info]
         shop-web skip unchanged",
    );
    assert_eq!(plan.services[0].excluded_count, 1);
    repo.check_fingerprints(&plan, "a Dockerfile's own ignore file");
}

#[test]
fn a_move_between_services_deploys_both_sides() {
    let repo = Repo::deployed();
    repo.git(&["mv", "apps/server/src/lib.js", "apps/web/src/shared.js"]);
    repo.commit("move lib to web");
    check(
        &repo.release(),
        "shop-server deploy changed [apps/server/src/lib.js]
         shop-worker deploy dependency-changed [apps/server/src/lib.js]
         shop-web deploy changed [apps/web/src/shared.js]",
    );
}

#[test]
fn a_deletion_counts() {
    let repo = Repo::deployed();
    std::fs::remove_dir_all(repo.path().join("apps/web/src")).expect("rm");
    repo.commit("delete web sources");
    check(
        &repo.release(),
        "shop-server skip unchanged
         shop-worker skip unchanged
         shop-web deploy changed [apps/web/src/index.js apps/web/src/lib.js]",
    );
}

#[test]
fn a_merge_commit_brings_both_sides() {
    let repo = Repo::deployed();
    repo.git(&["checkout", "-q", "-b", "feature"]);
    repo.write("apps/web/src/index.js", "// feature\n");
    repo.commit("web feature");
    repo.git(&["checkout", "-q", "main"]);
    repo.write("apps/server/src/lib.js", "// fix\n");
    repo.commit("server fix");
    repo.git(&["merge", "-q", "--no-ff", "feature", "-m", "merge feature"]);
    check(
        &repo.release(),
        "shop-server deploy changed [apps/server/src/lib.js]
         shop-worker deploy dependency-changed [apps/server/src/lib.js]
         shop-web deploy changed [apps/web/src/index.js]",
    );
}

#[test]
fn a_root_lockfile_change_deploys_every_service() {
    let repo = Repo::deployed();
    repo.write("package-lock.json", "{\"lockfileVersion\": 3}\n");
    repo.commit("bump deps");
    check(
        &repo.release(),
        "shop-server deploy changed [package-lock.json]
         shop-worker deploy dependency-changed [package-lock.json]
         shop-web deploy changed [package-lock.json]",
    );
}

#[test]
fn editing_one_services_topology_entry_redeploys_it_alone() {
    let repo = Repo::deployed();
    repo.write(
        "topology.toml",
        &TOPOLOGY.replace(
            "env = { API = \"http://shop-server:3000\" }",
            "env = { API = \"http://shop-server:3000\", FEATURE = \"on\" }",
        ),
    );
    repo.commit("web: feature flag");
    let plan = repo.release();
    check(
        &plan,
        "shop-server skip unchanged
         shop-worker skip unchanged
         shop-web deploy config-changed",
    );
    assert!(plan.services[2]
        .detail
        .contains("production configuration changed"));
}

#[test]
fn a_submodule_bump_counts_for_the_directory_holding_it() {
    let upstream = Repo::new();
    let repo = Repo::new();
    let url = format!("file://{}", upstream.path().display());
    repo.git(&["submodule", "add", "-q", &url, "apps/server/vendor/lib"]);
    repo.commit("add submodule");
    let plan = repo.release();
    repo.mark(&plan);
    upstream.write("apps/server/src/index.js", "// upstream change\n");
    upstream.commit("upstream change");
    Repo::git_in(
        &repo.path().join("apps/server/vendor/lib"),
        &["pull", "-q", "origin", "main"],
    );
    repo.commit("bump submodule");
    check(
        &repo.release(),
        "shop-server deploy changed [apps/server/vendor/lib]
         shop-worker deploy dependency-changed [apps/server/vendor/lib]
         shop-web skip unchanged",
    );
}

#[test]
fn a_topology_in_a_subdirectory_plans_relative_to_it() {
    let repo = Repo::new();
    // Move everything under deploy/: the repository root is one level up.
    let nested = tempfile::tempdir().expect("tempdir");
    Repo::git_in(nested.path(), &["init", "-q", "-b", "main"]);
    let from: PathBuf = repo.path().to_owned();
    let to = nested.path().join("deploy");
    std::fs::create_dir_all(&to).expect("mkdir");
    for entry in ["topology.toml", "package-lock.json", "apps"] {
        std::fs::rename(from.join(entry), to.join(entry)).expect("move");
    }
    Repo::git_in(nested.path(), &["add", "-A"]);
    Repo::git_in(nested.path(), &["commit", "-q", "-m", "nested"]);
    let topology = ["-t", "deploy/topology.toml"];
    let plan = plan_json(nested.path(), &repo.markers(), &topology);
    assert_eq!(plan.topology, "deploy/topology.toml");
    // Each image's build, from the repository root: what any build tool needs.
    let builds: Vec<String> = plan
        .services
        .iter()
        .map(|s| {
            let b = &s.build;
            let by = b.built_by.as_deref().unwrap_or("-");
            format!("{} {} {} {by}", b.context, b.dockerfile, b.target)
        })
        .collect();
    assert_eq!(
        builds,
        [
            "deploy/apps/server Dockerfile prod -",
            "deploy/apps/server Dockerfile prod shop-server",
            "deploy/apps/web Dockerfile prod -",
        ]
    );
    repo.mark(&plan);
    std::fs::write(to.join("apps/web/src/index.js"), "// nested change\n").expect("write");
    Repo::git_in(nested.path(), &["commit", "-q", "-am", "web"]);
    let plan = plan_json(
        nested.path(),
        &repo.markers(),
        &["-t", "deploy/topology.toml", "--event", "manual"],
    );
    check(
        &plan,
        "shop-server skip unchanged
         shop-worker skip unchanged
         shop-web deploy changed [deploy/apps/web/src/index.js]",
    );
}
