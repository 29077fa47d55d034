//! Fingerprints stay exact when a plan updates them from its markers instead of computing
//! them: over a random history (edits, additions, deletions, executable bits, symlinks,
//! files that become directories and back, excluded files, a scope root that comes and
//! goes, lockfile and manifest edits), every plan's fingerprints equal `topo-ci
//! fingerprint`'s, computed from scratch at the same commit. The markers lag behind by a
//! random number of commits, as when some plans are not deployed.

use crate::workspaces::{Manager, Versions};
use crate::Repo;

/// Every shape of scope: a build context with an exclude (walked file by file) and an
/// include root that does not exist at first (`server`); contexts and workspace packages
/// whose trees stand whole for their files (`web`, `admin`); a global glob that roots every
/// scope at the repository's top, so whole directories are met below a root; a service on
/// another's image (`worker`).
const TOPOLOGY: &str = r#"project = "shop"

[[services]]
role = "server"
context = "apps/server"
command = ["node", "server.js"]
changes = { include = ["config/server/**"], exclude = ["apps/server/**/*.md"] }

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
changes = { exclude = ["tools/generated/**"] }

[ci]
global_files = ["**/tsconfig.base.json"]
"#;

const DIRS: &[&str] = &[
    "",
    "apps/server",
    "apps/server/src",
    "apps/server/src/deep/er",
    "apps/web/src",
    "apps/web/src/new",
    "apps/admin",
    "packages/utils/lib",
    "packages/common",
    "config/server",
    "tools",
    "tools/generated",
    "docs",
];

/// Directories that may become a file (none holds a package's manifest or a Dockerfile).
const REPLACEABLE: &[&str] = &[
    "apps/server/src",
    "apps/server/src/deep/er",
    "apps/web/src/new",
    "packages/utils/lib",
    "config/server",
    "tools/generated",
    "docs",
];

const NAMES: &[&str] = &["a.js", "b.md", "c.json", "tsconfig.base.json", "d.ts"];

const VERSIONS: &[&str] = &["1.0.0", "1.1.0", "2.0.0"];

/// A small deterministic generator (xorshift64*): the same history on every run.
struct Random(u64);

impl Random {
    fn below(&mut self, n: usize) -> usize {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        (self.0.wrapping_mul(0x2545_f491_4f6c_dd1d) >> 33) as usize % n
    }

    fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[self.below(items.len())]
    }
}

/// `TOPOLOGY` with `web` built from the workspace root out of its named package, and no
/// glob reaching everywhere: the other packages' directories and the lockfile are left out
/// of its scope, and its walks skip them.
fn web_from_the_root() -> String {
    TOPOLOGY
        .replace(
            "role = \"web\"\ncontext = \"apps/web\"\n",
            "role = \"web\"\ncontext = \".\"\ndockerfile = \"apps/web/Dockerfile\"\nchanges = { package = \"web\", exclude = [\"docs/**\"] }\n",
        )
        .replace("[ci]\nglobal_files = [\"**/tsconfig.base.json\"]\n", "")
}

fn setup(topology: &str) -> Repo {
    let repo = Repo::empty();
    repo.write("topology.toml", topology);
    Manager::Npm.write_workspace(&repo);
    for app in ["apps/server", "apps/web", "apps/admin", "tools"] {
        repo.write(&format!("{app}/Dockerfile"), "FROM scratch\n");
    }
    repo.write("tools/run.sh", "#!/bin/sh\n");
    repo.commit("initial");
    repo
}

/// Files the random edits may touch: everything but what defines the workspace and the
/// topology (those are edited on purpose, by their own operations).
fn touchable(repo: &Repo) -> Vec<String> {
    repo.git(&["add", "-A"]);
    repo.git(&["ls-files"])
        .lines()
        .filter(|path| {
            !matches!(
                *path,
                "topology.toml" | "package.json" | "package-lock.json"
            ) && !path.ends_with("/package.json")
                && !path.ends_with("Dockerfile")
        })
        .map(str::to_owned)
        .collect()
}

/// One random change to the work tree.
fn change(repo: &Repo, random: &mut Random, step: usize) {
    let files = touchable(repo);
    let path = |p: &str| repo.path().join(p);
    match random.below(11) {
        0 | 1 if !files.is_empty() => {
            let file = random.pick(&files);
            if std::fs::symlink_metadata(path(file)).is_ok_and(|m| m.file_type().is_symlink()) {
                std::fs::remove_file(path(file)).expect("rm symlink");
            }
            repo.write(file, &format!("// step {step}\n"));
        }
        2 if !files.is_empty() => {
            let file: &String = random.pick(&files);
            std::fs::remove_file(path(file)).expect("rm");
        }
        3 if !files.is_empty() => {
            use std::os::unix::fs::PermissionsExt;
            let file = random.pick(&files).clone();
            if let Ok(meta) = std::fs::symlink_metadata(path(&file)) {
                if meta.file_type().is_file() {
                    let mode = meta.permissions().mode() ^ 0o111;
                    std::fs::set_permissions(path(&file), std::fs::Permissions::from_mode(mode))
                        .expect("chmod");
                }
            }
        }
        4 if !files.is_empty() => {
            // A file becomes a directory of the same name.
            let file = random.pick(&files).clone();
            std::fs::remove_file(path(&file)).expect("rm");
            put(repo, &format!("{file}/inside.js"), &format!("// {step}\n"));
        }
        5 => {
            // A directory becomes a file (or a file appears where nothing was).
            let dir = random.pick(REPLACEABLE).to_string();
            let _ = std::fs::remove_dir_all(path(&dir));
            put(repo, &dir, &format!("// {step}\n"));
        }
        6 => {
            let dir = random.pick(DIRS);
            let link = format!("{dir}/link-{step}")
                .trim_start_matches('/')
                .to_owned();
            put(repo, &link, "");
            std::fs::remove_file(path(&link)).expect("rm");
            std::os::unix::fs::symlink("index.js", path(&link)).expect("symlink");
        }
        7 => repo.write(
            "package-lock.json",
            &Manager::Npm.lock(Versions {
                left_pad: random.pick::<&str>(VERSIONS),
                jest: random.pick::<&str>(&["29.6.0", "29.7.0"]),
                prettier: "3.0.0",
            }),
        ),
        8 => {
            let extra = if random.below(2) == 0 {
                r#","left-pad":"^1.0.0""#
            } else {
                ""
            };
            repo.write(
                "apps/web/package.json",
                &format!(r#"{{"name":"web","dependencies":{{"@shop/utils":"*"{extra}}}}}"#),
            );
        }
        9 => {
            // A build context's `.dockerignore` (the server's; the root's, which an image
            // built from the root reads), leaving some of the files the steps make out.
            let at = random.pick::<&str>(&["apps/server/.dockerignore", ".dockerignore"]);
            let rules = [
                "",
                "*.json\n",
                "src\n!src/index.js\n",
                "**/*-a.js\nlib\n",
                "**/d.ts\n",
            ];
            if path(at).is_dir() {
                std::fs::remove_dir_all(path(at)).expect("rm -r");
            }
            put(repo, at, random.pick::<&str>(&rules));
        }
        _ => {
            let dir = random.pick(DIRS);
            let name = random.pick(NAMES);
            let file = format!("{dir}/{step}-{name}")
                .trim_start_matches('/')
                .to_owned();
            put(repo, &file, &format!("// {step}\n"));
        }
    }
}

/// Writes `file`, first removing any file (or symlink) standing where one of its parent
/// directories goes.
fn put(repo: &Repo, file: &str, text: &str) {
    let mut parent = std::path::PathBuf::new();
    for part in std::path::Path::new(file)
        .parent()
        .into_iter()
        .flat_map(|p| p.iter())
    {
        parent.push(part);
        let at = repo.path().join(&parent);
        if std::fs::symlink_metadata(&at).is_ok_and(|m| !m.is_dir()) {
            std::fs::remove_file(&at).expect("rm");
        }
    }
    repo.write(file, text);
}

#[test]
fn fingerprints_updated_from_markers_equal_fingerprints_from_scratch() {
    let (marked, deployed) = random_history(TOPOLOGY, 0x7090_cafe_f00d_0001);
    assert!(marked > 30, "{marked} plans marked");
    // Most services changed at most steps, not all at every one: both paths were taken.
    assert!(deployed > 60 && deployed < 250, "{deployed} deploys");
}

#[test]
fn fingerprints_of_an_image_built_from_the_workspace_root_stay_exact() {
    let topology = web_from_the_root();
    assert_ne!(topology, TOPOLOGY);
    let (marked, deployed) = random_history(&topology, 0x7090_cafe_f00d_0002);
    assert!(marked > 30, "{marked} plans marked");
    assert!(deployed > 60 && deployed < 250, "{deployed} deploys");
}

/// Sixty steps of random changes to a repository of `topology`, each planned and the plan's
/// fingerprints compared with those computed from scratch; about two plans in three marked.
/// How many plans were marked, and how many deploys they held.
fn random_history(topology: &str, seed: u64) -> (usize, usize) {
    let repo = setup(topology);
    let mut random = Random(seed);
    let mut marked = 0;
    let mut deployed = 0;
    for step in 0..60 {
        if step > 0 {
            for _ in 0..=random.below(3) {
                change(&repo, &mut random, step);
            }
            repo.commit(&format!("step {step}"));
        }
        let plan = repo.release();
        repo.check_fingerprints(&plan, &format!("step {step}"));
        for service in &plan.services {
            if service.container != "shop-worker" {
                let digests = service
                    .digests
                    .as_ref()
                    .expect("a building service has digests");
                assert_eq!(digests.recipe, "topo-fingerprint/5");
            }
        }
        deployed += plan
            .services
            .iter()
            .filter(|s| s.action == topo_ci::plan::Action::Deploy)
            .count();
        // Not every plan is deployed: the markers lag behind by a few commits at times.
        if random.below(3) != 0 {
            repo.mark(&plan);
            marked += 1;
        }
    }
    (marked, deployed)
}

#[test]
fn markers_of_an_earlier_recipe_are_recomputed_and_keep_their_images() {
    let repo = setup(TOPOLOGY);
    let plan = repo.release();
    repo.mark(&plan);
    // What an earlier topo-ci left: format 1, no digests, fingerprints of another recipe.
    let file = repo.markers.path().join("topo-markers.json");
    let mut markers: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&file).expect("markers")).expect("json");
    markers["version"] = 1.into();
    for marker in markers["environments"]["production"]
        .as_object_mut()
        .expect("services")
        .values_mut()
    {
        let marker = marker.as_object_mut().expect("a marker");
        marker.remove("digests");
        marker.insert("fingerprint".into(), "0123456789abcdef".into());
        marker.insert(
            "image".into(),
            "registry.example/earlier:0123456789abcdef".into(),
        );
    }
    std::fs::write(&file, markers.to_string()).expect("write");
    let plan = repo.release();
    repo.check_fingerprints(&plan, "markers of an earlier recipe");
    for service in &plan.services {
        assert_eq!(
            service.action,
            topo_ci::plan::Action::Skip,
            "{}",
            service.detail
        );
        assert_eq!(service.image, "registry.example/earlier:0123456789abcdef");
    }
    // Marking a plan writes format 2; the next plan carries the digests forward.
    repo.mark(&plan);
    repo.write("apps/web/src/index.js", "// changed\n");
    repo.commit("web");
    let plan = repo.release();
    repo.check_fingerprints(&plan, "markers of format 2");
}
