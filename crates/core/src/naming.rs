//! The naming taxonomy: every name topo writes is derived here and only here.
//!
//! container `<project>-<role>`, network `<project>-network`, volume
//! `<project>-<role>-<purpose>`, image `<project>-<role>`.

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

/// The volume purpose of a generated path: `node_modules` → `node-modules`,
/// `.next` → `next`, `apps/web/dist` → `apps-web-dist`.
pub fn purpose_of_path(path: &str) -> String {
    suggest_name(path)
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
    }
}
