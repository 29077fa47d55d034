//! The written topology read into [`ValidTopology`]: each value is checked where it is
//! read, so a problem is reported once and the typed result never holds an unchecked value.
//!
//! Reading is total: where a value is wrong, the problem goes to `out` and a stand-in takes
//! its place. A topology with errors is never returned, so no stand-in is ever used.

use std::collections::{BTreeMap, BTreeSet};

use super::{
    ci, database, deploy, graph, hardening, health, lint, paths, settings, values, ValidateOptions,
};
use crate::diagnostic::Diagnostic;
use crate::model::{Condition, EnvValue, Service, Topology};
use crate::valid::{self, Build, Dev, ServiceKind, ValidTopology};

/// Reads the whole topology.
pub(super) fn topology(
    topology: &Topology,
    options: &ValidateOptions<'_>,
    out: &mut Vec<Diagnostic>,
) -> ValidTopology {
    let project = topology.project.to_string();
    // The builds come first: a service on another's image runs its owner's.
    let builds: BTreeMap<&str, Build> = topology
        .services
        .iter()
        .filter_map(|service| {
            paths::dockerfile(service, out);
            let build = paths::build(service, options.repository, out)?;
            Some((service.role.as_str(), build))
        })
        .collect();
    // A service others wait for with `completed` is a one-shot job.
    let jobs: BTreeSet<&str> = topology
        .services
        .iter()
        .flat_map(|service| &service.depends_on)
        .filter(|(_, condition)| ***condition == Condition::Completed)
        .map(|(target, _)| target.as_str())
        .collect();
    ValidTopology {
        database: topology
            .database
            .as_ref()
            .map(|d| database::check(&project, d, out)),
        services: topology
            .services
            .iter()
            .map(|s| service(topology, s, &builds, &jobs, out))
            .collect(),
        accessories: topology
            .accessories
            .iter()
            .map(|a| super::accessory::accessory(a, out))
            .collect(),
        proxy: topology.proxy.as_ref().map(|p| deploy::proxy(p, out)),
        dev: Dev {
            env_file: topology.dev.env_file.to_string(),
        },
        production: settings::production(&topology.production, out),
        files: settings::files(&topology.files, out),
        ci: ci::settings(topology, out),
        lint_levels: lint::levels(topology, out),
        project,
    }
}

fn service(
    topology: &Topology,
    service: &Service,
    builds: &BTreeMap<&str, Build>,
    jobs: &BTreeSet<&str>,
    out: &mut Vec<Diagnostic>,
) -> valid::Service {
    let image_role = graph::image_role(topology, service);
    for (name, value) in &service.env {
        values::env_entry(name, value, out);
        if let EnvValue::Secret {
            file: Some(true), ..
        } = value.get()
        {
            let file_name = format!("{name}_FILE");
            if service.env.keys().any(|other| other.as_str() == file_name) {
                out.push(
                    Diagnostic::error("duplicate-key", format!("`{name}` is given as a file, named by `{file_name}`, which is set as well"))
                        .at(value.span(), format!("`file = true` sets `{file_name}` in prod-sim and production"))
                        .help(format!("remove `{file_name}`, or drop `file = true` to pass `{name}` itself")),
                );
            }
        }
    }
    // The image's owner's environment first: the worker needs the server's configuration.
    let inherited = topology
        .service(image_role)
        .filter(|owner| owner.role.as_str() != service.role.as_str())
        .map(|owner| &owner.env);
    let env = inherited
        .into_iter()
        .flatten()
        .chain(&service.env)
        .map(|(name, value)| (name.to_string(), value.get().clone()))
        .collect();
    let build = builds
        .get(image_role)
        .cloned()
        .unwrap_or_else(stand_in_build);
    paths::mount_points(service, &build, out);
    valid::Service {
        role: service.role.to_string(),
        kind: if jobs.contains(service.role.as_str()) {
            ServiceKind::Job
        } else {
            ServiceKind::LongRunning
        },
        image_role: image_role.to_owned(),
        build,
        command: values::command(service.command.as_ref(), out),
        env,
        ports: values::ports(&service.ports, out),
        depends_on: service
            .depends_on
            .iter()
            .map(|(target, condition)| (target.to_string(), **condition))
            .collect(),
        health: service.health.as_ref().map(|h| health::check(h, out)),
        volumes: paths::volumes(service, out),
        aliases: service.aliases.iter().map(|a| a.to_string()).collect(),
        changes: ci::changes(service),
        route: deploy::route(service),
        deploy: deploy::policy(service, out),
        hardening: hardening::hardening(
            service.hardening(),
            valid::HardeningDefaults::SERVICE,
            out,
        ),
        replicas: deploy::replicas(topology, service, jobs.contains(service.role.as_str()), out),
    }
}

/// What a service without a usable build gets; its error is reported by `graph`.
fn stand_in_build() -> Build {
    Build {
        context: ".".to_owned(),
        dockerfile: "Dockerfile".to_owned(),
        dev_target: "dev".to_owned(),
        prod_target: "prod".to_owned(),
        dev_args: BTreeMap::new(),
        prod_args: BTreeMap::new(),
        secrets: Vec::new(),
        source_path: "/app".to_owned(),
        generated: Vec::new(),
    }
}
