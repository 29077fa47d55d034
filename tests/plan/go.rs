//! Go modules: a repository of three modules (`services/api` requiring `libs/common`,
//! `services/web` requiring nothing of the repository), linked as Go links them: without a
//! `go.work` only by a `replace` with a directory, with one by module path. The api image is
//! built from its module's directory, or from the repository root with its module named in
//! `changes.package`.

use topo_ci::plan::Plan;

use crate::{check, Repo};

/// `api` and `web`, each built from its module's directory, or `api` from the root with
/// its module named as `package`.
fn topology(package: Option<&str>) -> String {
    let api = match package {
        Some(package) => format!(
            "context = \".\"\ndockerfile = \"services/api/Dockerfile\"\nchanges = {{ package = \"{package}\" }}"
        ),
        None => "context = \"services/api\"".to_owned(),
    };
    format!(
        "project = \"shop\"\n\n[[services]]\nrole = \"api\"\n{api}\n\n[[services]]\nrole = \"web\"\ncontext = \"services/web\"\n"
    )
}

/// The modules; `replace` gives api's `go.mod` its replacement of common by directory.
fn write_modules(repo: &Repo, replace: bool) {
    let module = |dir: &str, path: &str, requires: &str, extra: &str| {
        repo.write(
            &format!("{dir}/go.mod"),
            &format!("module {path}\n\ngo 1.22\n{requires}{extra}"),
        );
        repo.write(
            &format!("{dir}/main.go"),
            &format!("package main // {dir}\n"),
        );
    };
    let replace = if replace {
        "\nreplace example.com/shop/common => ../../libs/common\n"
    } else {
        ""
    };
    module(
        "services/api",
        "example.com/shop/api",
        "\nrequire (\n\texample.com/shop/common v0.0.0\n\tgithub.com/google/uuid v1.6.0\n)\n",
        replace,
    );
    module("services/web", "example.com/shop/web", "", "");
    module("libs/common", "example.com/shop/common", "", "");
    for dir in ["services/api", "services/web"] {
        repo.write(
            &format!("{dir}/Dockerfile"),
            "FROM scratch AS dev\nFROM scratch AS prod\n",
        );
    }
    repo.write("README.md", "# shop\n");
}

/// A repository of the modules, deployed and marked.
fn deployed(topology: &str, replace: bool, work: Option<&str>) -> Repo {
    let repo = Repo::empty();
    repo.write("topology.toml", topology);
    write_modules(&repo, replace);
    if let Some(work) = work {
        repo.write("go.work", work);
    }
    repo.commit("initial");
    repo.mark(&repo.release());
    repo
}

/// The plan once `repo` committed `text` written to `path`, its fingerprints checked
/// against those computed from scratch (the plan's are brought from the markers').
fn after(repo: &Repo, path: &str, text: &str) -> Plan {
    repo.write(path, text);
    repo.commit(path);
    let plan = repo.release();
    repo.check_fingerprints(&plan, path);
    repo.mark(&plan);
    plan
}

/// The plan of a change to common: api deploys for its dependency, web stays.
fn check_common_changed(repo: &Repo) {
    let path = "libs/common/main.go";
    let text = std::fs::read_to_string(repo.path().join(path)).expect("common's source");
    let plan = after(repo, path, &format!("{text}// changed\n"));
    check(
        &plan,
        "shop-api deploy workspace-dependency-changed [libs/common/main.go]
         shop-web skip unchanged",
    );
    assert!(
        (plan.services[0].detail).starts_with(
            "workspace package `example.com/shop/common` changed: libs/common/main.go"
        ),
        "{}",
        plan.services[0].detail
    );
}

#[test]
fn a_module_gets_the_files_of_a_module_it_replaces_by_directory() {
    let repo = deployed(&topology(None), true, None);
    check_common_changed(&repo);
    // web requires nothing of the repository.
    let plan = after(&repo, "services/web/main.go", "package main // changed\n");
    check(
        &plan,
        "shop-api skip unchanged
         shop-web deploy changed [services/web/main.go]",
    );
}

#[test]
fn without_a_replacement_a_required_module_is_downloaded_not_read_from_the_repository() {
    // Module mode: Go fetches example.com/shop/common at v0.0.0, whatever libs/common holds.
    let repo = deployed(&topology(None), false, None);
    let plan = after(&repo, "libs/common/main.go", "package main // changed\n");
    check(
        &plan,
        "shop-api skip unchanged
         shop-web skip unchanged",
    );
    // A go.work that uses the modules links them by module path: api now builds with the
    // change to common it was not deployed with (its marker is at the first commit).
    let work = "go 1.22\n\nuse (\n\t./services/api\n\t./services/web\n\t\"./libs/common\"\n)\n";
    let plan = after(&repo, "go.work", work);
    check(
        &plan,
        "shop-api deploy workspace-dependency-changed [libs/common/main.go]
         shop-web skip unchanged",
    );
    check_common_changed(&repo);
}

#[test]
fn an_image_built_from_the_root_follows_its_named_module() {
    let work = "go 1.22\nuse ./services/api\nuse ./services/web\nuse ./libs/common\n";
    // By module path or directory, linked by a replacement or by a go.work.
    for (package, replace, work) in [
        ("example.com/shop/api", true, None),
        ("services/api", true, None),
        ("example.com/shop/api", false, Some(work)),
        ("services/api", false, Some(work)),
    ] {
        let repo = deployed(&topology(Some(package)), replace, work);
        // Another module of the root context, which api does not depend on.
        let plan = after(&repo, "services/web/main.go", "package main // changed\n");
        check(
            &plan,
            "shop-api skip unchanged
             shop-web deploy changed [services/web/main.go]",
        );
        check_common_changed(&repo);
        // Its own module, and a file of the root outside every module.
        let plan = after(&repo, "README.md", "# the shop\n");
        check(
            &plan,
            "shop-api deploy changed [README.md]
             shop-web skip unchanged",
        );
        let plan = after(&repo, "services/api/main.go", "package main // changed\n");
        check(
            &plan,
            "shop-api deploy changed [services/api/main.go]
             shop-web skip unchanged",
        );
    }
}

#[test]
fn a_replacement_by_a_directory_without_a_go_mod_is_explained() {
    let repo = deployed(&topology(None), true, None);
    let go_mod = "module example.com/shop/api\n\ngo 1.22\n\nrequire example.com/shop/gone v0.0.0\n\nreplace example.com/shop/gone => ../gone\n";
    let plan = after(&repo, "services/api/go.mod", go_mod);
    check(
        &plan,
        "shop-api deploy changed [services/api/go.mod]
         shop-web skip unchanged",
    );
    let note = "services/api/go.mod replaces `example.com/shop/gone` with the directory services/gone, which holds no go.mod: nothing is added to the scope for it";
    assert!(plan.notes.iter().any(|n| n == note), "{:?}", plan.notes);
}

#[test]
fn what_a_go_work_cannot_give_is_explained() {
    let work = "go 1.22\nuse ./services/api\nuse ./libs/gone\nuse ../outside\n";
    let repo = deployed(&topology(None), false, Some(work));
    let plan = after(&repo, "libs/common/main.go", "package main // changed\n");
    check(
        &plan,
        "shop-api skip unchanged
         shop-web skip unchanged",
    );
    let notes = [
        "go.work uses libs/gone, which holds no go.mod: Go refuses the workspace, and no module is read there",
        "go.work uses ../outside, which is not a directory of the repository: its module is not followed",
    ];
    for note in notes {
        assert!(plan.notes.iter().any(|n| n == note), "{:?}", plan.notes);
    }
    // A go.work that does not parse: said, and nothing is linked through it.
    let plan = after(&repo, "go.work", "go 1.22\nuse (\n\t./services/api\n");
    let note = "go.work cannot be read (the `use (` block of line 2 is not closed): no workspace graph is read from it, so no service's scope includes the Go modules it depends on";
    assert!(plan.notes.iter().any(|n| n == note), "{:?}", plan.notes);
}
