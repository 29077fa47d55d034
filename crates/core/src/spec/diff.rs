//! `topo diff`: every difference between two modes' runtime specs, each with the
//! [`Rule`] that made it. Containers are compared field by field as the
//! renderer and the engine driver read them (their serialised form), so a difference here
//! is a difference in what runs.

use std::collections::BTreeSet;

use serde::Serialize;
use serde_json::Value;

use super::rules::{self, Rule};
use super::{ContainerKind, ContainerSpec, RuntimeSpec};

/// One difference between the two modes.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Difference {
    /// The container's role (`server`).
    pub role: String,
    /// What differs: `command`, `env.NODE_ENV`, `mounts`, or `container` when it runs in
    /// one mode only.
    pub field: String,
    /// The first mode's value (`None`: absent there).
    pub left: Option<String>,
    /// The second mode's value.
    pub right: Option<String>,
    /// Why they differ.
    pub rule: Rule,
}

/// Every difference between the containers of `left` and `right` (limited to `roles` when
/// any are given), in container order, then field order.
pub fn diff(left: &RuntimeSpec, right: &RuntimeSpec, roles: &[String]) -> Vec<Difference> {
    let wanted = |role: &str| roles.is_empty() || roles.iter().any(|r| r == role);
    let mut order: Vec<&str> = Vec::new();
    for container in left.containers.iter().chain(&right.containers) {
        if wanted(&container.role) && !order.contains(&container.role.as_str()) {
            order.push(&container.role);
        }
    }
    let find = |spec: &'_ RuntimeSpec, role: &str| -> Option<ContainerSpec> {
        spec.containers.iter().find(|c| c.role == role).cloned()
    };
    let mut out = Vec::new();
    for role in order {
        match (find(left, role), find(right, role)) {
            (Some(l), Some(r)) => containers(&l, &r, &mut out),
            (l, r) => {
                let present = l.as_ref().or(r.as_ref()).expect("in one of the two");
                out.push(Difference {
                    role: role.to_owned(),
                    field: "container".to_owned(),
                    left: l.as_ref().map(|_| "runs".to_owned()),
                    right: r.as_ref().map(|_| "runs".to_owned()),
                    rule: if present.kind == ContainerKind::Accessory {
                        rules::ACCESSORY_MODES
                    } else {
                        rules::UNEXPLAINED
                    },
                });
            }
        }
    }
    out
}

/// The differences of one container, field by field.
fn containers(left: &ContainerSpec, right: &ContainerSpec, out: &mut Vec<Difference>) {
    let as_object = |c: &ContainerSpec| match serde_json::to_value(c) {
        Ok(Value::Object(map)) => map,
        _ => unreachable!("a container serialises as an object"),
    };
    let (l, r) = (as_object(left), as_object(right));
    let fields: BTreeSet<&String> = l.keys().chain(r.keys()).collect();
    let mut push = |field: String, lv: Option<&Value>, rv: Option<&Value>, rule: Rule| {
        out.push(Difference {
            role: left.role.clone(),
            field,
            left: lv.map(shown),
            right: rv.map(shown),
            rule,
        });
    };
    for field in fields {
        let (lv, rv) = (l.get(field), r.get(field));
        if lv == rv {
            continue;
        }
        match field.as_str() {
            // Keyed: one difference per key.
            "env" | "labels" | "depends_on" | "build" => {
                let empty = serde_json::Map::new();
                let lm = lv.and_then(Value::as_object).unwrap_or(&empty);
                let rm = rv.and_then(Value::as_object).unwrap_or(&empty);
                if field == "build" && (lm.is_empty() || rm.is_empty()) {
                    push(field.clone(), lv, rv, rules::PRODUCTION_NEVER_BUILDS);
                    continue;
                }
                let keys: BTreeSet<&String> = lm.keys().chain(rm.keys()).collect();
                for key in keys {
                    let (a, b) = (lm.get(key), rm.get(key));
                    if a != b {
                        let rule = keyed_rule(field, key, a, b, left, right);
                        push(format!("{field}.{key}"), a, b, rule);
                    }
                }
            }
            // Listed: what one side has and the other has not.
            "mounts" | "ports" | "files" | "env_files" | "security_opt" => {
                let items = |v: Option<&Value>| -> Vec<Value> {
                    v.and_then(Value::as_array).cloned().unwrap_or_default()
                };
                let (la, ra) = (items(lv), items(rv));
                for item in la.iter().filter(|i| !ra.contains(i)) {
                    push(
                        field.clone(),
                        Some(item),
                        None,
                        listed_rule(field, item, &ra),
                    );
                }
                for item in ra.iter().filter(|i| !la.contains(i)) {
                    push(
                        field.clone(),
                        None,
                        Some(item),
                        listed_rule(field, item, &la),
                    );
                }
            }
            _ => push(field.clone(), lv, rv, field_rule(field, left)),
        }
    }
    // A variable's value as Compose reads it (`${DB_PASSWORD:-local}`), an image as its
    // reference, not as serialised.
    for difference in out.iter_mut().filter(|d| d.role == left.role) {
        if let Some(name) = difference.field.strip_prefix("env.") {
            let rendered =
                |c: &ContainerSpec| c.env.get(name).map(|v| v.interpolated(name).render());
            difference.left = rendered(left);
            difference.right = rendered(right);
        } else if difference.field == "image" {
            difference.left = Some(left.image.to_string());
            difference.right = Some(right.image.to_string());
        }
    }
}

/// A whole field's rule.
fn field_rule(field: &str, container: &ContainerSpec) -> Rule {
    match field {
        "image" if container.kind == ContainerKind::Proxy => rules::UNEXPLAINED,
        "image" => rules::PRODUCTION_RUNS_THE_PUSHED_IMAGE,
        "command" => rules::COMMAND_PER_MODE,
        "restart" => rules::RESTARTED_OUTSIDE_DEV,
        "replicas" => rules::REPLICAS_ON_SWARM,
        "confinement" | "logging" => rules::HARDENED_OUTSIDE_DEV,
        _ => rules::UNEXPLAINED,
    }
}

/// The rule of one key of a keyed field.
fn keyed_rule(
    field: &str,
    key: &str,
    left: Option<&Value>,
    right: Option<&Value>,
    left_container: &ContainerSpec,
    right_container: &ContainerSpec,
) -> Rule {
    match field {
        "labels" => rules::LABELS_NAME_THE_MODE,
        "depends_on" => rules::ACCESSORY_MODES,
        "build" if key == "target" => rules::EACH_MODE_BUILDS_ITS_TARGET,
        "build" if key == "args" => rules::BUILD_ARGS_PER_MODE,
        "build" => rules::UNEXPLAINED,
        _ => {
            // `NAME_FILE` on one side, `NAME` on the other: a secret as a file.
            let as_file = |name: &str, other: &ContainerSpec| {
                name.strip_suffix("_FILE")
                    .is_some_and(|base| other.env.contains_key(base))
                    || other.env.contains_key(&format!("{name}_FILE"))
            };
            if (left.is_none() && as_file(key, left_container))
                || (right.is_none() && as_file(key, right_container))
            {
                return rules::SECRETS_AS_FILES;
            }
            let reads_variables = |v: Option<&Value>| {
                v.is_some_and(|v| v.get("variable").is_some() || v.get("template").is_some())
            };
            if reads_variables(left) && reads_variables(right) {
                rules::SECRET_DEFAULTS_ARE_LOCAL
            } else {
                rules::VALUE_PER_MODE
            }
        }
    }
}

/// The rule of an item one side lists and the other does not.
fn listed_rule(field: &str, item: &Value, other: &[Value]) -> Rule {
    match field {
        "mounts" => match item.pointer("/source/bind") {
            Some(_) => rules::DEV_BIND_MOUNTS_THE_SOURCE,
            None => rules::DEV_KEEPS_GENERATED_DIRECTORIES,
        },
        "ports" => {
            let same_port =
                |p: &Value| p["host"] == item["host"] && p["container"] == item["container"];
            if other.iter().any(same_port) {
                rules::PRODUCTION_BINDS_ITS_HOST_ADDRESS
            } else {
                rules::PORTS_PUBLISHED_IN_DEV_ONLY
            }
        }
        "files" if item.pointer("/content/secret").is_some() => rules::SECRETS_AS_FILES,
        "files" => rules::THE_PROXY_SERVES_WHAT_RUNS,
        "env_files" => rules::DEV_ENV_FILE,
        "security_opt" => rules::HARDENED_OUTSIDE_DEV,
        _ => rules::UNEXPLAINED,
    }
}

/// A value as one line: a string as itself, a mount or a port as Compose's short syntax
/// says it, anything else as compact JSON.
fn shown(value: &Value) -> String {
    let text = |v: &Value| {
        v.as_str()
            .map(str::to_owned)
            .unwrap_or_else(|| v.to_string())
    };
    if let (Some(source), Some(target)) = (value.get("source"), value.get("target")) {
        if let Some((kind, from)) = source.as_object().and_then(|s| s.iter().next()) {
            return format!("{} → {} ({kind})", text(from), text(target));
        }
    }
    if let (Some(ip), Some(host), Some(container)) = (
        value.get("host_ip"),
        value.get("host"),
        value.get("container"),
    ) {
        let protocol = value.get("protocol").map(text).unwrap_or_default();
        return format!("{}:{host}:{container}/{protocol}", text(ip));
    }
    text(value)
}
