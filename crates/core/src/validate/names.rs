//! The naming taxonomy and duplicate names.

use std::collections::BTreeMap;
use std::ops::Range;

use crate::diagnostic::Diagnostic;
use crate::model::Topology;
use crate::naming;
use crate::Spanned;

pub(super) fn check(topology: &Topology, out: &mut Vec<Diagnostic>) {
    name_format(&topology.project, "project name", out);
    roles(topology, out);
    volumes(topology, out);
    for alias in topology.services.iter().flat_map(|s| &s.aliases) {
        name_format(alias, "network alias", out);
    }
}

/// Roles share one namespace: each is a container `<project>-<role>`, beside topo's own.
fn roles(topology: &Topology, out: &mut Vec<Diagnostic>) {
    let project = topology.project.as_str();
    let all_roles: Vec<&str> = topology
        .database
        .iter()
        .map(|d| d.role.as_str())
        .chain(topology.services.iter().map(|s| s.role.as_str()))
        .chain(topology.accessories.iter().map(|a| a.role.as_str()))
        .collect();
    let mut roles: BTreeMap<String, Option<Range<usize>>> = BTreeMap::new();
    let mut role = |name: &Spanned<String>, out: &mut Vec<Diagnostic>| {
        name_format(name, "role", out);
        if let Some(role) = naming::role_in(name, project) {
            out.push(
                Diagnostic::warning("naming", format!("role `{name}` repeats the project name"))
                    .at(
                        name.span(),
                        format!(
                            "the container would be `{}`",
                            naming::container_name(project, name)
                        ),
                    )
                    .help(format!("write the role alone: `{role}`")),
            );
        }
        if let Some(taken) = naming::reserved_role(project, name, &all_roles) {
            out.push(
                Diagnostic::error("naming", format!("`{name}` cannot be a role"))
                    .at(name.span(), taken)
                    .help("choose another role name"),
            );
        }
        if let Some(first) = roles.get(name.as_str()) {
            out.push(
                Diagnostic::error("duplicate-name", format!("the role `{name}` is used twice"))
                    .at(
                        name.span(),
                        format!(
                            "second container `{}`",
                            naming::container_name(project, name)
                        ),
                    )
                    .related(first.clone(), "first defined here")
                    .help("give each service its own role"),
            );
        } else {
            roles.insert(name.to_string(), name.span());
        }
    };
    if let Some(database) = &topology.database {
        role(&database.role, out);
    }
    for service in &topology.services {
        role(&service.role, out);
    }
    for accessory in &topology.accessories {
        role(&accessory.role, out);
    }
}

/// Volume names are derived; two different sources must not derive the same one.
fn volumes(topology: &Topology, out: &mut Vec<Diagnostic>) {
    let project = topology.project.as_str();
    let mut volumes: BTreeMap<String, Option<Range<usize>>> = BTreeMap::new();
    let mut volume = |role: &str,
                      purpose: &str,
                      span: Option<Range<usize>>,
                      out: &mut Vec<Diagnostic>| {
        let name = naming::volume_name(project, role, purpose);
        if let Some(first) = volumes.get(&name) {
            out.push(
                Diagnostic::error("duplicate-name", format!("two volumes are both named `{name}`"))
                    .at(span, "this one")
                    .related(first.clone(), "and this one")
                    .help("volume names are `<project>-<role>-<purpose>`: rename one of the purposes or paths"),
            );
        } else {
            volumes.insert(name, span);
        }
    };
    if let Some(database) = &topology.database {
        name_format(&database.volume, "volume purpose", out);
        volume(
            &database.role,
            &database.volume,
            database.volume.span(),
            out,
        );
    }
    for service in &topology.services {
        for path in &service.generated {
            // The volume the spec derives: from the path relative to the source path.
            let relative = super::relative_to_source(path, service.source_path());
            let purpose = naming::purpose_of_path(&relative);
            volume(&service.role, &purpose, path.span(), out);
        }
        for purpose in service.volumes.keys() {
            name_format(purpose, "volume purpose", out);
            volume(&service.role, purpose, purpose.span(), out);
        }
    }
}

fn name_format(name: &Spanned<String>, what: &str, out: &mut Vec<Diagnostic>) {
    if naming::is_valid_name(name) {
        return;
    }
    let suggestion = naming::suggest_name(name);
    let help = if suggestion.is_empty() {
        "use lowercase letters, digits and single dashes".to_owned()
    } else {
        format!("use lowercase letters, digits and single dashes, e.g. `{suggestion}`")
    };
    out.push(
        Diagnostic::error("naming", format!("invalid {what} `{name}`"))
            .at(
                name.span(),
                format!("a {what} must match [a-z0-9]+(-[a-z0-9]+)*"),
            )
            .help(help),
    );
}
