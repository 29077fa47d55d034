//! The naming taxonomy: every name topo writes is derived here and only here.
//!
//! container `<project>-<role>`, network `<project>-network`, volume
//! `<project>-<role>-<purpose>`, image `<project>-<role>`; and the names of topo's own
//! objects beside them: a deploy's candidate `<container>-next` and the container it
//! replaces `<container>-old`, the deploy lock `<project>-deploy-lock`, a container's files
//! as Compose configs `<container>-file-<n>`. Validation reserves what these could collide
//! with ([`reserved_role`]).

/// Is `name` a valid project, role or purpose: lowercase `[a-z0-9]`, words joined by
/// single dashes, no leading or trailing dash?
pub fn is_valid_name(name: &str) -> bool {
    !name.is_empty()
        && name.split('-').all(|word| {
            !word.is_empty()
                && word
                    .bytes()
                    .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit())
        })
}

/// A valid name close to `name` (lowercased, other characters turned into dashes),
/// to suggest in a diagnostic.
pub fn suggest_name(name: &str) -> String {
    let mut out = String::new();
    for c in name.chars() {
        if c.is_ascii_alphanumeric() {
            out.push(c.to_ascii_lowercase());
        } else if !out.is_empty() && !out.ends_with('-') {
            out.push('-');
        }
    }
    out.trim_end_matches('-').to_owned()
}

/// `<project>-<role>`: the container name and the Compose service name.
pub fn container_name(project: &str, role: &str) -> String {
    format!("{project}-{role}")
}

/// `<project>-network`: the one network.
pub fn network_name(project: &str) -> String {
    format!("{project}-network")
}

/// `<project>-<role>-<purpose>`: a named volume.
pub fn volume_name(project: &str, role: &str, purpose: &str) -> String {
    format!("{project}-{role}-{purpose}")
}

/// `<project>-<role>`: the image repository name (a registry may prefix it).
pub fn image_name(project: &str, role: &str) -> String {
    format!("{project}-{role}")
}

/// `<registry>/<project>-<role>`: the repository a production image is pushed to, under
/// `production.registry` (a registry and namespace such as `ghcr.io/acme`), if any.
pub fn production_repository(registry: Option<&str>, project: &str, role: &str) -> String {
    let name = image_name(project, role);
    match registry {
        Some(prefix) => format!("{prefix}/{name}"),
        None => name,
    }
}

/// The registry tag that marks what is deployed to `env`: `<env>` in the service's own
/// image repository, `<env>.<role>` for a service that runs another service's image (one
/// repository then holds the markers of several services).
pub fn marker_tag(env: &str, role_running_another_image: Option<&str>) -> String {
    match role_running_another_image {
        Some(role) => format!("{env}.{role}"),
        None => env.to_owned(),
    }
}

/// The `n`th of several things wanting one name (`proxy-2`): import's answer to two
/// containers that would have one role.
pub fn numbered(name: &str, n: usize) -> String {
    format!("{name}-{n}")
}

/// The candidate a blue-green deploy starts beside `container`.
pub fn next_container_name(container: &str) -> String {
    format!("{container}-next")
}

/// Where a deploy moves `container` while its replacement starts (renamed back on failure).
pub fn old_container_name(container: &str) -> String {
    format!("{container}-old")
}

/// The never-started container that is the project's deploy lock on a target.
pub fn lock_name(project: &str) -> String {
    format!("{project}-deploy-lock")
}

/// A Swarm secret or config named after its content (Swarm's objects are immutable: a new
/// value is a new object): `<name>-<hash>`, the name cut to fit Swarm's 64 characters.
pub fn versioned_object(name: &str, hash: &str) -> String {
    let keep = name.len().min(63 - hash.len());
    let mut cut = keep;
    while !name.is_char_boundary(cut) {
        cut -= 1;
    }
    format!("{}-{hash}", &name[..cut])
}

/// The Swarm secret holding the variable `variable` of `project` (before its content hash).
pub fn secret_object(project: &str, variable: &str) -> String {
    format!("{project}-{variable}")
}

/// The one-off job that asks the database server `container` its version on Swarm.
pub fn check_job_name(container: &str) -> String {
    format!("{container}-version-check")
}

/// The Compose config holding the `index`th (0-based) file of `container`.
pub fn config_name(container: &str, index: usize) -> String {
    format!("{container}-file-{}", index + 1)
}

/// The role a name of this project's stands for: `server` in `vendure-server`.
pub fn role_in(name: &str, project: &str) -> Option<String> {
    name.strip_prefix(project)?
        .strip_prefix('-')
        .filter(|role| !role.is_empty())
        .map(str::to_owned)
}

/// Why `role` cannot be a role of `project` beside `roles` (every role of the topology):
/// its container would take the name of one of topo's own objects.
pub fn reserved_role(project: &str, role: &str, roles: &[&str]) -> Option<String> {
    let container = container_name(project, role);
    if container == network_name(project) {
        return Some(format!("`{container}` is the network's name"));
    }
    if container == lock_name(project) {
        return Some(format!("`{container}` is the deploy lock's container"));
    }
    roles.iter().find_map(|other| {
        let theirs = container_name(project, other);
        if container == next_container_name(&theirs) {
            Some(format!(
                "`{container}` is the candidate a deploy starts beside `{theirs}`"
            ))
        } else if container == old_container_name(&theirs) {
            Some(format!(
                "`{container}` is where a deploy moves `{theirs}` while it replaces it"
            ))
        } else {
            None
        }
    })
}

/// The volume purpose of a generated path: `node_modules` → `node-modules`,
/// `.next` → `next`, `apps/web/dist` → `apps-web-dist`.
pub fn purpose_of_path(path: &str) -> String {
    suggest_name(path)
}

/// The `n`th role made from the same directory name (`web-2`), when `topo init` finds two.
pub fn numbered_role(base: &str, n: usize) -> String {
    format!("{base}-{n}")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(input: &str, valid: bool, suggestion: &str) {
        assert_eq!(is_valid_name(input), valid, "validity of {input:?}");
        assert_eq!(suggest_name(input), suggestion, "suggestion for {input:?}");
    }

    #[test]
    fn names() {
        check("vendure", true, "vendure");
        check("vendure-server", true, "vendure-server");
        check("web2", true, "web2");
        check("Server", false, "server");
        check("my_app", false, "my-app");
        check("-x", false, "x");
        check("x-", false, "x");
        check("a--b", false, "a-b");
        check("", false, "");
        check("node_modules", false, "node-modules");
        check(".next", false, "next");
        check("apps/web/.turbo", false, "apps-web-turbo");
    }

    #[test]
    fn derived_names() {
        assert_eq!(container_name("vendure", "db"), "vendure-db");
        assert_eq!(network_name("vendure"), "vendure-network");
        assert_eq!(
            volume_name("vendure", "server", "node-modules"),
            "vendure-server-node-modules"
        );
        assert_eq!(image_name("vendure", "worker"), "vendure-worker");
        assert_eq!(purpose_of_path("node_modules"), "node-modules");
        assert_eq!(next_container_name("vendure-server"), "vendure-server-next");
        assert_eq!(old_container_name("vendure-server"), "vendure-server-old");
        assert_eq!(lock_name("vendure"), "vendure-deploy-lock");
        assert_eq!(config_name("vendure-proxy", 0), "vendure-proxy-file-1");
        assert_eq!(
            role_in("vendure-server", "vendure").as_deref(),
            Some("server")
        );
        assert_eq!(role_in("vendure-", "vendure"), None);
        assert_eq!(role_in("vendureserver", "vendure"), None);
    }

    #[test]
    fn reserved_roles() {
        let roles = [
            "web",
            "web-next",
            "api-old",
            "deploy-lock",
            "network",
            "next",
        ];
        let reserved: Vec<&str> = roles
            .iter()
            .copied()
            .filter(|role| reserved_role("shop", role, &roles).is_some())
            .collect();
        assert_eq!(reserved, ["web-next", "deploy-lock", "network"]);
    }
}
