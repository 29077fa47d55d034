//! `unconfined-in-prod`: what topo's production render guarantees by default, checked in a
//! hand-written production file — capabilities dropped, a read-only root filesystem, memory
//! and process limits, a database's password in a file.

use super::{LintFile, Place, Raw};
use crate::compose::{Node, ServiceView};
use crate::model::Level;

/// Each missing confinement of a production service, one finding each.
pub(super) fn unconfined_in_prod(lf: &LintFile, service: &ServiceView<'_>, out: &mut Vec<Raw>) {
    let name = service.name();
    let place = Place::at(&lf.file, service.key.pos);
    let mut missing = |what: &str| {
        out.push(
            Raw::new(
                "unconfined-in-prod",
                place.clone(),
                format!("`{name}` {what} in production"),
            )
            .level(Level::Warning),
        );
    };
    let drops_all = service.get("cap_drop").is_some_and(|caps| {
        caps.items()
            .iter()
            .any(|c| c.as_str().is_some_and(|c| c.eq_ignore_ascii_case("ALL")))
    });
    if !drops_all {
        missing("keeps the engine's default capabilities (no `cap_drop: [ALL]`)");
    }
    // Compose copies `configs` into the container at `/`, which the engine refuses on a
    // read-only root filesystem: such a service cannot be read-only.
    let read_only = service.get("read_only").and_then(Node::as_bool) == Some(true);
    if !read_only && service.get("configs").is_none() {
        missing("has a writable root filesystem (no `read_only: true`)");
    }
    let limits = service
        .get("deploy")
        .and_then(|d| d.get("resources"))
        .and_then(|r| r.get("limits"));
    if service.get("mem_limit").is_none() && limits.and_then(|l| l.get("memory")).is_none() {
        missing("has no memory limit (`mem_limit`)");
    }
    // A Swarm stack's service (`deploy:`, no `container_name`) cannot hold a process limit:
    // Docker 20.10's stack loader refuses both `pids_limit` and `limits.pids`.
    let stack_service = service.get("deploy").is_some() && service.get("container_name").is_none();
    if !stack_service
        && service.get("pids_limit").is_none()
        && limits.and_then(|l| l.get("pids")).is_none()
    {
        missing("has no process limit (`pids_limit`)");
    }
    if let Some(variable) = password_as_variable(service) {
        missing(&format!("passes its password in the variable `{variable}` (the image reads `{variable}_FILE`: a `secrets:` file under /run/secrets)"));
    }
}

/// The password variable a database image also reads as `<VAR>_FILE`, when the service
/// sets the variable itself (to something) instead.
fn password_as_variable(service: &ServiceView<'_>) -> Option<String> {
    let (image, _) = service.image()?;
    let names: &[&str] = match super::facts::db_image(&image)?.engine {
        "postgres" => &["POSTGRES_PASSWORD"],
        "mysql" => &["MYSQL_ROOT_PASSWORD", "MYSQL_PASSWORD"],
        "mariadb" => &[
            "MARIADB_ROOT_PASSWORD",
            "MARIADB_PASSWORD",
            "MYSQL_ROOT_PASSWORD",
            "MYSQL_PASSWORD",
        ],
        _ => return None,
    };
    service
        .environment()
        .into_iter()
        .find(|e| {
            names.contains(&e.name.as_str()) && e.value.as_deref().is_some_and(|v| !v.is_empty())
        })
        .map(|e| e.name)
}
