//! The rendered Compose files: valid against the official Compose schema, deterministic,
//! snapshot-tested, and showing parity by construction across the three modes.

mod common;
#[path = "rendered/diff.rs"]
mod diff;
#[path = "rendered/hardening.rs"]
mod hardening;

use std::collections::BTreeSet;

use topo_core::spec::{MountSource, RuntimeSpec};
use topo_core::{runtime_spec, Mode, RenderOptions, SpecOptions, ValidTopology};

fn specs(name: &str, text: &str) -> Vec<RuntimeSpec> {
    let topology = common::load_valid(name, text);
    Mode::ALL
        .iter()
        .map(|&mode| runtime_spec(&topology, mode, &SpecOptions::default()))
        .collect()
}

#[test]
fn rendered_files_validate_against_the_compose_schema() {
    let schema_text =
        std::fs::read_to_string(common::root().join("tests/reference/compose-spec.json"))
            .expect("the Compose schema is vendored");
    let schema: serde_json::Value =
        serde_json::from_str(&schema_text).expect("the Compose schema is JSON");
    let validator = jsonschema::validator_for(&schema).expect("the Compose schema compiles");
    for (name, text) in common::valid_fixtures() {
        let topology = common::load_valid(&name, &text);
        for file in topo_core::render_all(&topology, &RenderOptions::default()) {
            let document: serde_json::Value = serde_saphyr::from_str(&file.contents)
                .unwrap_or_else(|e| panic!("{name}/{}: not YAML: {e}", file.file_name));
            let errors: Vec<String> = validator
                .iter_errors(&document)
                .map(|e| format!("{} at {}", e, e.instance_path()))
                .collect();
            assert!(
                errors.is_empty(),
                "{name}/{} violates the Compose schema:\n{}",
                file.file_name,
                errors.join("\n")
            );
        }
    }
}

#[test]
fn the_schema_check_catches_an_invalid_file() {
    // The validator is not vacuous: a file with a misspelt service key fails it.
    let schema: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(common::root().join("tests/reference/compose-spec.json"))
            .expect("schema"),
    )
    .expect("json");
    let validator = jsonschema::validator_for(&schema).expect("compiles");
    let bad: serde_json::Value =
        serde_saphyr::from_str("services:\n  web:\n    imagee: x\n").expect("yaml");
    assert!(!validator.is_valid(&bad));
}

#[test]
fn rendering_is_byte_for_byte_deterministic() {
    for (name, text) in common::valid_fixtures() {
        let first =
            topo_core::render_all(&common::load_valid(&name, &text), &RenderOptions::default());
        for _ in 0..3 {
            let again =
                topo_core::render_all(&common::load_valid(&name, &text), &RenderOptions::default());
            assert_eq!(first, again, "{name} rendered differently twice");
        }
    }
}

#[test]
fn rendered_files_match_their_snapshots() {
    for (name, text) in common::valid_fixtures() {
        for file in
            topo_core::render_all(&common::load_valid(&name, &text), &RenderOptions::default())
        {
            insta::assert_snapshot!(format!("{name}__{}", file.mode), file.contents);
        }
    }
}

#[test]
fn parity_holds_by_construction_in_every_fixture() {
    for (name, text) in common::valid_fixtures() {
        let topology = common::load_valid(&name, &text);
        let modes = <[RuntimeSpec; 3]>::try_from(specs(&name, &text)).expect("three modes");
        the_same_containers_network_and_volumes_everywhere(&name, &topology, &modes);
        the_database_runs_the_pinned_major_everywhere(&name, &topology, &modes);
        no_generated_path_is_bind_mounted_in_dev(&name, &topology, &modes);
        prod_modes_mount_nothing_from_the_host_and_build_as_production(&name, &topology, &modes);
        prod_sim_runs_what_production_runs(&name, &modes);
    }
}

/// Same containers, network and runtime volumes everywhere; every container carries the
/// project prefix and answers to its own name first.
fn the_same_containers_network_and_volumes_everywhere(
    name: &str,
    topology: &ValidTopology,
    [dev, prod_sim, production]: &[RuntimeSpec; 3],
) {
    let names = |spec: &RuntimeSpec| {
        spec.containers
            .iter()
            .map(|c| c.name.clone())
            .collect::<Vec<_>>()
    };
    let volumes = |spec: &RuntimeSpec| {
        spec.volumes
            .iter()
            .map(|v| v.name.clone())
            .collect::<BTreeSet<_>>()
    };

    assert_eq!(names(dev), names(prod_sim), "{name}: container names");
    assert_eq!(
        names(prod_sim),
        names(production),
        "{name}: container names"
    );
    assert_eq!(dev.network.name, production.network.name, "{name}: network");
    assert_eq!(
        prod_sim.network.name, production.network.name,
        "{name}: network"
    );
    assert_eq!(
        volumes(prod_sim),
        volumes(production),
        "{name}: runtime volumes"
    );
    // Dev serves plain HTTP: the proxy's ACME volume is the one volume it lacks.
    let acme = topo_core::naming::volume_name(&production.project, "proxy", "acme");
    assert!(
        volumes(prod_sim)
            .difference(&volumes(dev))
            .all(|volume| *volume == acme),
        "{name}: dev lacks a runtime volume"
    );

    for spec in [dev, prod_sim, production] {
        for container in &spec.containers {
            assert!(
                container
                    .name
                    .starts_with(&format!("{}-", topology.project.as_str())),
                "{name}: {} lacks the project prefix",
                container.name
            );
            assert_eq!(
                container.aliases.first(),
                Some(&container.name),
                "{name}: the container name is its first alias"
            );
        }
    }
}

/// The database runs the same pinned major everywhere, published in dev only.
fn the_database_runs_the_pinned_major_everywhere(
    name: &str,
    topology: &ValidTopology,
    modes: &[RuntimeSpec; 3],
) {
    let Some(database) = &topology.database else {
        return;
    };
    let db_name = topo_core::naming::container_name(&topology.project, &database.role);
    for spec in modes {
        let image = &spec
            .container(&db_name)
            .expect("the database container")
            .image;
        assert!(
            image.fixed_tag().is_some(),
            "{name}: the database image has a fixed tag"
        );
        assert_eq!(
            database
                .version
                .named_by_tag(image.fixed_tag().expect("checked above"))
                .or_else(|| Some(image.tag_major()? == database.version.major)),
            Some(true),
            "{name}: {} in {}",
            image,
            spec.mode
        );
        if spec.mode != Mode::Dev {
            assert!(
                spec.container(&db_name).expect("db").ports.is_empty(),
                "{name}: the database is published in {}",
                spec.mode
            );
        }
    }
}

/// No generated path is ever bind-mounted; in dev each has a named volume.
fn no_generated_path_is_bind_mounted_in_dev(
    name: &str,
    topology: &ValidTopology,
    [dev, ..]: &[RuntimeSpec; 3],
) {
    for container in &dev.containers {
        let Some(service) = topology.service(&container.role) else {
            continue;
        };
        let build = &service.build;
        for relative in &build.generated {
            let target = format!("{}/{relative}", build.source_path.trim_end_matches('/'));
            let mount = container
                .mounts
                .iter()
                .find(|m| m.target == target)
                .unwrap_or_else(|| panic!("{name}: {target} has no mount in {}", container.name));
            assert!(
                matches!(mount.source, MountSource::Volume(_)),
                "{name}: {target} is bind-mounted in {}",
                container.name
            );
        }
        for mount in container
            .mounts
            .iter()
            .filter(|m| matches!(m.source, MountSource::Bind(_)))
        {
            for relative in &build.generated {
                assert!(
                    !mount.target.ends_with(relative.as_str()) || mount.target == build.source_path,
                    "{name}: a bind mount onto {}",
                    mount.target
                );
            }
        }
    }
}

/// prod-sim and production: zero bind mounts; prod-sim builds the prod target; production
/// builds nothing.
fn prod_modes_mount_nothing_from_the_host_and_build_as_production(
    name: &str,
    topology: &ValidTopology,
    [_, prod_sim, production]: &[RuntimeSpec; 3],
) {
    for spec in [prod_sim, production] {
        for container in &spec.containers {
            assert!(
                container
                    .mounts
                    .iter()
                    .all(|m| matches!(m.source, MountSource::Volume(_))),
                "{name}: bind mount in {} of {}",
                spec.mode,
                container.name
            );
            assert!(
                container.env_files.is_empty(),
                "{name}: env file in {}",
                spec.mode
            );
        }
    }
    for container in &prod_sim.containers {
        if let (Some(build), Some(service)) = (&container.build, topology.service(&container.role))
        {
            assert_eq!(
                build.target, service.build.prod_target,
                "{name}: prod-sim target of {}",
                container.name
            );
        }
    }
    assert!(
        production.containers.iter().all(|c| c.build.is_none()),
        "{name}: production builds"
    );
}

/// prod-sim runs what production runs: commands, env keys, health, restart, hardening.
fn prod_sim_runs_what_production_runs(name: &str, [_, prod_sim, production]: &[RuntimeSpec; 3]) {
    for (sim, prod) in prod_sim.containers.iter().zip(&production.containers) {
        assert_eq!(sim.command, prod.command, "{name}: command of {}", sim.name);
        assert_eq!(
            sim.env.keys().collect::<Vec<_>>(),
            prod.env.keys().collect::<Vec<_>>(),
            "{name}: env keys of {}",
            sim.name
        );
        assert_eq!(sim.health, prod.health, "{name}: health of {}", sim.name);
        assert_eq!(sim.restart, prod.restart, "{name}: restart of {}", sim.name);
        assert_eq!(
            sim.security_opt, prod.security_opt,
            "{name}: security_opt of {}",
            sim.name
        );
        assert_eq!(sim.mounts, prod.mounts, "{name}: mounts of {}", sim.name);
    }
}

#[test]
fn production_references_secrets_and_tags_never_values() {
    let topology = common::load_valid("vendure", topo_core::example::VENDURE);
    let production =
        topo_core::render(&topology, Mode::Production, &RenderOptions::default()).contents;
    for leaked in [
        "vendure-dev-password",
        "dev-cookie-secret",
        "build:",
        "type: bind",
        "${DB_PASSWORD:-",
    ] {
        assert!(
            !production.contains(leaked),
            "production contains {leaked:?}"
        );
    }
    assert!(production.contains("${DB_PASSWORD:?"));
    assert!(production.contains("ghcr.io/acme/vendure-server:${TAG:?"));
    assert!(production.contains("no-new-privileges:true"));
    assert!(production.contains("max-size: 10m"));
    assert!(production.contains("host_ip: \"0.0.0.0\""));
}

#[test]
fn literal_dollars_are_escaped_for_compose() {
    let (name, text) = ("kitchen-sink", common::fixture("kitchen-sink"));
    let dev = topo_core::render(
        &common::load_valid(name, &text),
        Mode::Dev,
        &RenderOptions::default(),
    )
    .contents;
    assert!(dev.contains("--price=$$5"), "{dev}");
    assert!(dev.contains("costs $$5"), "{dev}");
}

#[test]
fn output_directory_changes_relative_paths_only() {
    let topology = common::load_valid("vendure", topo_core::example::VENDURE);
    let options = RenderOptions {
        source_name: "../topology.toml".to_owned(),
        root: "..".to_owned(),
        ..RenderOptions::default()
    };
    let dev = topo_core::render(&topology, Mode::Dev, &options).contents;
    assert!(dev.contains("context: ../apps/server"), "{dev}");
    assert!(dev.contains("source: ../apps/server"), "{dev}");
    assert!(dev.contains("path: ../.env.local"), "{dev}");
}

#[test]
fn a_job_awaited_with_completed_is_never_restarted() {
    let (name, text) = ("kitchen-sink", common::fixture("kitchen-sink"));
    for spec in specs(name, &text) {
        let migrate = spec.container("shop2-migrate").expect("the migrate job");
        assert_eq!(
            migrate.restart,
            topo_core::spec::RestartPolicy::No,
            "{}",
            spec.mode
        );
        if spec.mode != Mode::Dev {
            let api = spec.container("shop2-api").expect("the api");
            assert_eq!(
                api.restart,
                topo_core::spec::RestartPolicy::UnlessStopped,
                "{}",
                spec.mode
            );
        }
    }
}

/// Accessories in every render: pinned images in the modes they run in, the catalogue's
/// health check and data volume, ports published in dev only, confined like the rest, and
/// valid against the Compose schema.
#[test]
fn accessories_render_in_their_modes_with_the_catalogues_defaults() {
    let text =
        std::fs::read_to_string(common::root().join("tests/fixtures/accessories/topology.toml"))
            .expect("the accessories fixture");
    let [dev, prod_sim, production]: [RuntimeSpec; 3] =
        specs("accessories", &text).try_into().expect("three modes");
    let names = |spec: &RuntimeSpec| {
        spec.containers
            .iter()
            .map(|c| c.name.clone())
            .collect::<Vec<_>>()
    };
    // Before the application that uses them; the mail catcher in dev only.
    assert_eq!(
        names(&dev),
        [
            "accshop-db",
            "accshop-cache",
            "accshop-mail",
            "accshop-search",
            "accshop-web"
        ]
    );
    assert_eq!(
        names(&production),
        [
            "accshop-db",
            "accshop-cache",
            "accshop-search",
            "accshop-web"
        ]
    );
    assert_eq!(names(&prod_sim), names(&production));
    let cache = |spec: &RuntimeSpec| spec.container("accshop-cache").expect("the cache").clone();
    let (dev_cache, prod_cache) = (cache(&dev), cache(&production));
    assert_eq!(prod_cache.image.to_string(), "redis:7.2");
    assert_eq!(
        dev_cache.image, prod_cache.image,
        "the same pinned image in every mode"
    );
    assert_eq!(
        prod_cache.health.as_ref().map(|h| h.command.clone()),
        Some(vec!["redis-cli".to_owned(), "ping".to_owned()])
    );
    assert!(
        matches!(&prod_cache.mounts[..], [m] if m.target == "/data" && m.source == MountSource::Volume("accshop-cache-data".to_owned())),
        "{:?}",
        prod_cache.mounts
    );
    assert_eq!(dev_cache.ports.len(), 1, "published in dev");
    assert!(prod_cache.ports.is_empty(), "never published outside dev");
    let confinement = prod_cache
        .confinement
        .as_ref()
        .expect("confined in production");
    assert!(confinement.read_only && confinement.capabilities.contains(&"SETUID".to_owned()));
    assert!(dev_cache.confinement.is_none());
    // The deploy asks Redis its version; it knows nothing to ask the unknown image.
    let checks: Vec<(String, bool)> = production
        .accessories
        .iter()
        .map(|a| (a.container.clone(), a.version_command.is_some()))
        .collect();
    assert_eq!(
        checks,
        [
            ("accshop-cache".to_owned(), true),
            ("accshop-search".to_owned(), false)
        ]
    );
    // A Python image gets a probe it has.
    let web = production.container("accshop-web").expect("web");
    assert_eq!(
        web.health.as_ref().map(|h| h.command[..2].join(" ")),
        Some("python3 -c".to_owned())
    );
    let search = production.container("accshop-search").expect("search");
    assert_eq!(
        search.env["SEARCH_KEY_FILE"],
        topo_core::spec::EnvSpec::Literal("/run/secrets/SEARCH_KEY".to_owned())
    );

    every_render_is_valid_compose(&text);
}

/// Every render of `text` validates against the Compose schema.
fn every_render_is_valid_compose(text: &str) {
    let schema: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(common::root().join("tests/reference/compose-spec.json"))
            .expect("schema"),
    )
    .expect("json");
    let validator = jsonschema::validator_for(&schema).expect("compiles");
    let topology = common::load_valid("accessories", text);
    for file in topo_core::render_all(&topology, &RenderOptions::default()) {
        let document: serde_json::Value = serde_saphyr::from_str(&file.contents).expect("YAML");
        let errors: Vec<String> = validator
            .iter_errors(&document)
            .map(|e| e.to_string())
            .collect();
        assert!(
            errors.is_empty(),
            "{}: {}",
            file.file_name,
            errors.join("\n")
        );
    }
}
