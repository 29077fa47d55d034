//! `topo import`: every fixture topology survives render → import → render byte for byte;
//! a hand-written, drifted Vendure set imports into a valid, commented topology.

mod common;
#[path = "import/generated.rs"]
mod generated;

use std::path::{Path, PathBuf};

use topo_core::compose::ComposeFile;
use topo_core::import::{import, ImportOptions, Imported};
use topo_core::{RenderOptions, RenderedFile, SourceFile, ValidateOptions};

/// Every fixture topology that validates: the built-in example, `tests/fixtures/valid/*.toml`,
/// and every `topology.toml` under `tests/fixtures` and `examples`.
fn fixture_topologies() -> Vec<(String, String)> {
    let mut fixtures = common::valid_fixtures();
    let mut paths = Vec::new();
    for dir in ["tests/fixtures", "examples"] {
        find_topologies(&common::root().join(dir), &mut paths);
    }
    paths.sort();
    for path in paths {
        let name = path
            .strip_prefix(common::root())
            .expect("under the root")
            .display()
            .to_string();
        fixtures.push((name, std::fs::read_to_string(&path).expect("readable")));
    }
    fixtures
        .into_iter()
        .filter(|(name, text)| {
            let source = SourceFile::new(name.clone(), text.clone());
            topo_core::load(&source, &ValidateOptions::default()).is_ok()
        })
        .collect()
}

fn find_topologies(dir: &Path, out: &mut Vec<PathBuf>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for entry in entries {
        let path = entry.expect("entry").path();
        if path.is_dir() {
            find_topologies(&path, out);
        } else if path.file_name().is_some_and(|n| n == "topology.toml") {
            out.push(path);
        }
    }
}

fn render(name: &str, text: &str) -> Vec<RenderedFile> {
    let topology = common::load_valid(name, text);
    topo_core::render_all(&topology, &RenderOptions::default())
}

fn import_rendered(files: &[RenderedFile]) -> Imported {
    let compose: Vec<(ComposeFile, topo_core::Mode)> = files
        .iter()
        .map(|f| {
            (
                ComposeFile::read(f.file_name.clone(), f.contents.clone())
                    .expect("rendered Compose reads"),
                f.mode,
            )
        })
        .collect();
    import(&compose, &ImportOptions::default()).unwrap_or_else(|e| panic!("import failed: {e}"))
}

#[test]
fn every_fixture_survives_render_import_render() {
    let fixtures = fixture_topologies();
    assert!(fixtures.len() >= 6, "fixtures found: {}", fixtures.len());
    for (name, text) in fixtures {
        // Not built yet (issue 18): `topo import` reads Compose files, not Swarm stack
        // files (no `deploy.replicas`, no `engine = "swarm"` read back). Said in the
        // issue's note and in docs/deploy.md.
        if text.contains("engine = \"swarm\"") {
            continue;
        }
        let original = render(&name, &text);
        let imported = import_rendered(&original);
        let again = render(&format!("{name} (imported)"), &imported.text);
        for (before, after) in original.iter().zip(&again) {
            assert_eq!(before.file_name, after.file_name, "{name}");
            if before.contents != after.contents {
                panic!(
                    "{name}: {} differs after import:\n{}\nimported topology:\n{}",
                    before.file_name,
                    topo_core::render::unified_diff(
                        &before.contents,
                        &after.contents,
                        &before.file_name
                    ),
                    imported.text
                );
            }
        }
        assert!(
            imported.checks.is_empty(),
            "{name}: a rendered set needs no checks: {:#?}\n{}",
            imported.checks,
            imported.text
        );
    }
}

fn read_fixture_set(dir: &str) -> Vec<(ComposeFile, topo_core::Mode)> {
    let dir = common::root().join(dir);
    let mut names: Vec<String> = std::fs::read_dir(&dir)
        .expect("fixture directory")
        .map(|e| e.expect("entry").file_name().to_string_lossy().into_owned())
        .filter(|n| n.ends_with(".yml"))
        .collect();
    names.sort();
    names
        .into_iter()
        .map(|name| {
            let text = std::fs::read_to_string(dir.join(&name)).expect("readable");
            let mode = topo_core::compose::mode_of_file_name(&name);
            (ComposeFile::read(name, text).expect("Compose"), mode)
        })
        .collect()
}

#[test]
fn a_hand_written_drifted_vendure_set_imports_into_a_valid_commented_topology() {
    let files = read_fixture_set("tests/fixtures/import/vendure");
    let imported = import(&files, &ImportOptions::default()).unwrap_or_else(|e| panic!("{e}"));
    // Valid (import checks it too), and it renders.
    let topology = common::load_valid("imported", &imported.text);
    assert_eq!(topology.services.len(), 3);
    let checks: Vec<String> = imported
        .checks
        .iter()
        .map(|n| format!("{}: {}", n.location(), n.message))
        .collect();
    insta::assert_snapshot!("vendure_topology", imported.text);
    insta::assert_snapshot!("vendure_checks", checks.join("\n"));
}

fn topo() -> assert_cmd::Command {
    assert_cmd::Command::cargo_bin("topo").expect("the topo binary is built")
}

/// The example's three files written into a fresh directory.
fn rendered_example_in(dir: &Path) -> Vec<RenderedFile> {
    let files = render("vendure", topo_core::example::VENDURE);
    for file in &files {
        std::fs::write(dir.join(&file.file_name), &file.contents).expect("write");
    }
    files
}

#[test]
fn the_binary_imports_what_it_rendered_and_the_round_trip_closes() {
    let dir = tempfile::tempdir().expect("tempdir");
    let original = rendered_example_in(dir.path());
    let mut command = topo();
    command.current_dir(dir.path()).arg("import");
    for file in &original {
        command.arg(&file.file_name);
    }
    command.assert().success().stdout(predicates::str::contains(
        "wrote topology.toml (0 things to check)",
    ));
    topo()
        .current_dir(dir.path())
        .arg("render")
        .assert()
        .success();
    for file in &original {
        let again = std::fs::read_to_string(dir.path().join(&file.file_name)).expect("rendered");
        assert_eq!(again, file.contents, "{}", file.file_name);
    }
}

#[test]
fn paths_are_rebased_onto_the_topology_directory() {
    let dir = tempfile::tempdir().expect("tempdir");
    std::fs::create_dir(dir.path().join("deploy")).expect("mkdir");
    rendered_example_in(&dir.path().join("deploy"));
    topo()
        .current_dir(dir.path())
        .args([
            "import",
            "deploy/docker-compose.yml",
            "deploy/docker-compose.prod.yml",
        ])
        .assert()
        .success();
    let text = std::fs::read_to_string(dir.path().join("topology.toml")).expect("written");
    assert!(text.contains("context = \"deploy/apps/server\""), "{text}");
    assert!(text.contains("env_file = \"deploy/.env.local\""), "{text}");
    // A topology below the files would put the contexts outside its repository: import
    // guesses `.` for them and says so.
    topo()
        .current_dir(dir.path())
        .args([
            "import",
            "deploy/docker-compose.yml",
            "-o",
            "deploy/sub/topology.toml",
        ])
        .assert()
        .success()
        .stdout(predicates::str::contains("outside it: guessed"));
}

#[test]
fn an_existing_topology_is_kept_without_force() {
    let dir = tempfile::tempdir().expect("tempdir");
    rendered_example_in(dir.path());
    std::fs::write(dir.path().join("topology.toml"), "# mine\n").expect("write");
    topo()
        .current_dir(dir.path())
        .args(["import", "docker-compose.yml", "docker-compose.prod.yml"])
        .assert()
        .code(1)
        .stderr(predicates::str::contains(
            "topology.toml already exists; pass --force",
        ));
    assert_eq!(
        std::fs::read_to_string(dir.path().join("topology.toml")).expect("read"),
        "# mine\n"
    );
    topo()
        .current_dir(dir.path())
        .args([
            "import",
            "docker-compose.yml",
            "docker-compose.prod.yml",
            "--force",
        ])
        .assert()
        .success();
    let text = std::fs::read_to_string(dir.path().join("topology.toml")).expect("read");
    assert!(text.contains("project = \"vendure\""), "{text}");
}

#[test]
fn a_file_that_is_not_compose_is_refused_with_its_position() {
    let dir = tempfile::tempdir().expect("tempdir");
    std::fs::write(dir.path().join("pod.yml"), "apiVersion: v1\nkind: Pod\n").expect("write");
    std::fs::write(
        dir.path().join("broken.yml"),
        "services:\n  web:\n    image: [a\n",
    )
    .expect("write");
    topo()
        .current_dir(dir.path())
        .args(["import", "pod.yml", "broken.yml"])
        .assert()
        .code(1)
        .stderr(predicates::str::contains(
            "pod.yml:1:1: error: not a Compose file",
        ))
        .stderr(predicates::str::contains("broken.yml:"));
    assert!(!dir.path().join("topology.toml").exists());
}

#[test]
fn usage_errors_exit_2() {
    topo().args(["import"]).assert().code(2);
    topo()
        .args(["import", "a.yml", "--mode", "b.yml=production"])
        .assert()
        .code(2)
        .stderr(predicates::str::contains("--mode names b.yml"));
    topo()
        .args(["import", "a.yml", "--mode", "a.yml=staging"])
        .assert()
        .code(2);
}

#[test]
fn two_files_of_one_mode_are_refused() {
    let dir = tempfile::tempdir().expect("tempdir");
    rendered_example_in(dir.path());
    topo()
        .current_dir(dir.path())
        .args([
            "import",
            "docker-compose.yml",
            "docker-compose.prod.yml",
            "--mode",
            "docker-compose.prod.yml=dev",
        ])
        .assert()
        .code(1)
        .stderr(predicates::str::contains("are both dev files"));
}

#[test]
fn limits_in_either_spelling_become_resources() {
    let production = "services:\n  shop-web:\n    image: ghcr.io/acme/shop-web:${TAG:?set TAG}\n    read_only: true\n    tmpfs: [/run, /tmp]\n    cap_drop: [ALL]\n    deploy:\n      resources:\n        limits: { memory: 512m, cpus: \"0.5\", pids: 100 }\n    healthcheck: { test: [CMD, \"true\"] }\n";
    let compose = vec![(
        ComposeFile::read("docker-compose.prod.yml", production).expect("reads"),
        topo_core::Mode::Production,
    )];
    let imported = import(&compose, &ImportOptions::default()).expect("imports");
    assert!(
        imported
            .text
            .contains(r#"resources = { memory = "512m", cpus = 0.5, pids = 100 }"#),
        "{}",
        imported.text
    );
    assert!(!imported.text.contains("`deploy`"), "{}", imported.text);
}

/// A stock image in hand-written Compose files becomes an accessory (not a refusal): the
/// catalogue's health check and data volume are left out, its dev port kept, its timings
/// kept; an unpinned one stays a comment saying what to do.
/// Imports a hand-written dev file and production file.
fn import_pair(dev: &str, prod: &str) -> Imported {
    let files = vec![
        (
            ComposeFile::read("docker-compose.yml".to_owned(), dev.to_owned()).expect("dev"),
            topo_core::Mode::Dev,
        ),
        (
            ComposeFile::read("docker-compose.prod.yml".to_owned(), prod.to_owned()).expect("prod"),
            topo_core::Mode::Production,
        ),
    ];
    import(&files, &ImportOptions::default()).expect("imported")
}

#[test]
fn stock_images_become_accessories() {
    let dev = "name: shop\nservices:\n  cache:\n    image: redis:7.2-alpine\n    ports: [\"127.0.0.1:6379:6379\"]\n    volumes: [\"shop-cache-data:/data\"]\n    healthcheck:\n      test: [\"CMD\", \"redis-cli\", \"ping\"]\n      interval: 2s\n  queue:\n    image: rabbitmq:latest\nvolumes:\n  shop-cache-data: {}\n";
    let prod = "name: shop\nservices:\n  cache:\n    image: redis:7.2-alpine\n    volumes: [\"shop-cache-data:/data\"]\n    healthcheck:\n      test: [\"CMD\", \"redis-cli\", \"ping\"]\n      interval: 2s\n    restart: unless-stopped\nvolumes:\n  shop-cache-data: {}\n";
    let imported = import_pair(dev, prod);
    let text = &imported.text;
    assert!(
        text.contains("[[accessories]]\nrole = \"cache\"\nimage = \"redis:7.2-alpine\"\n"),
        "{text}"
    );
    assert!(text.contains("ports = [6379]"), "{text}");
    assert!(text.contains("health = { interval = \"2s\" }"), "{text}");
    assert!(
        !text.contains("volumes ="),
        "the catalogue's data volume is implied:\n{text}"
    );
    assert!(
        text.contains("`queue` runs the image `rabbitmq:latest`: not imported"),
        "{text}"
    );
    let topology = common::load_valid("imported", text);
    let cache = &topology.accessories[0];
    assert_eq!(cache.volumes["data"], "/data");
    assert_eq!(cache.major, Some(7));
}

/// A hand-written connection string that reads the database's password inside it becomes
/// `{ url_of = "db" }` when it is the database's URL, and a template otherwise: the
/// password is one secret, never a second copy.
#[test]
fn connection_strings_become_derived_values() {
    let dev = "name: shop\nservices:\n  db:\n    image: postgres:17\n    environment:\n      POSTGRES_USER: shop\n      POSTGRES_PASSWORD: ${DB_PASSWORD:-local}\n  api:\n    build: {context: ./api, target: dev}\n    environment:\n      DATABASE_URL: postgres://shop:${DB_PASSWORD:-local}@db:5432/shop\n      QUEUE_URL: amqp://shop:${MQ_PASSWORD:-guest}@queue:5672/\n";
    let prod = "name: shop\nservices:\n  db:\n    image: postgres:17\n    environment:\n      POSTGRES_USER: shop\n      POSTGRES_PASSWORD: ${DB_PASSWORD:?set it}\n  api:\n    build: {context: ./api, target: prod}\n    environment:\n      DATABASE_URL: postgres://shop:${DB_PASSWORD:?set it}@db:5432/shop\n      QUEUE_URL: amqp://shop:${MQ_PASSWORD:?set it}@queue:5672/\n";
    let imported = import_pair(dev, prod);
    let text = &imported.text;
    assert!(
        text.contains(r#"DATABASE_URL = { url_of = "db", scheme = "postgres" }"#),
        "{text}"
    );
    assert!(
        text.contains(
            r#"QUEUE_URL = { template = "amqp://shop:${MQ_PASSWORD:-guest}@queue:5672/" }"#
        ),
        "{text}"
    );
    let topology = common::load_valid("imported", text);
    let production = topo_core::runtime_spec(
        &topology,
        topo_core::Mode::Production,
        &topo_core::SpecOptions::default(),
    );
    let api = production
        .container("shop-api")
        .expect("the api's container");
    assert_eq!(
        api.env["DATABASE_URL"].interpolated("DATABASE_URL").render(),
        "postgres://shop:${DB_PASSWORD:?DB_PASSWORD must be set: the secret of DATABASE_URL}@shop-db:5432/shop"
    );
}

/// Found by the fuzzer: a database variable given as a file (`NAME_FILE` naming a mounted
/// secret) that topo cannot write is noted where it is written, not a panic; and a tag whose
/// major is followed by letters (`17service_healthy`) still pins 17, as validation reads it.
#[test]
fn database_leftovers_given_as_files_and_glued_tags_import() {
    let dev = "name: shop\nservices:\n  db:\n    image: postgres:17service_healthy\n    environment:\n      POSTGRES_PASSWORD: ${DB_PASSWORD:-local}\n      OTHER_FILE: /run/secrets/OTHER\n    secrets: [OTHER]\nsecrets:\n  OTHER:\n    file: ./other.txt\n";
    let prod = "name: shop\nservices:\n  db:\n    image: postgres:17service_healthy\n    environment:\n      POSTGRES_PASSWORD: ${DB_PASSWORD:?set it}\n";
    let imported = import_pair(dev, prod);
    let text = &imported.text;
    assert!(text.contains("major = 17"), "{text}");
    assert!(
        imported.checks.iter().any(|n| n
            .message
            .contains("the database's `OTHER` cannot be written")
            && n.file == "docker-compose.yml"),
        "{:?}",
        imported.checks
    );
    common::load_valid("imported", text);
}
