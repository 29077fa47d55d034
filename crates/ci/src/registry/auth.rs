//! The registry's authentication: its `WWW-Authenticate` challenge read, basic credentials,
//! and the refusal that says which credentials to give.

use std::collections::BTreeMap;

use super::client::{RegistryError, Repository};

pub(super) fn basic((user, password): (&str, &str)) -> String {
    use base64::Engine as _;
    format!(
        "Basic {}",
        base64::engine::general_purpose::STANDARD.encode(format!("{user}:{password}"))
    )
}

/// `Bearer realm="…",service="…"` → (`Bearer`, {realm, service}).
pub(super) fn parse_challenge(challenge: &str) -> (String, BTreeMap<String, String>) {
    let (scheme, rest) = challenge
        .trim()
        .split_once(' ')
        .unwrap_or((challenge.trim(), ""));
    let mut parameters = BTreeMap::new();
    let mut rest = rest.trim();
    while let Some((name, after)) = rest.split_once('=') {
        let name = name
            .trim()
            .trim_start_matches(',')
            .trim()
            .to_ascii_lowercase();
        let after = after.trim_start();
        let (value, remainder) = match after.strip_prefix('"') {
            Some(quoted) => {
                let end = quoted.find('"').unwrap_or(quoted.len());
                (&quoted[..end], quoted.get(end + 1..).unwrap_or(""))
            }
            None => {
                let end = after.find(',').unwrap_or(after.len());
                (after[..end].trim_end(), &after[end..])
            }
        };
        parameters.insert(name, value.to_owned());
        rest = remainder.trim_start().trim_start_matches(',');
    }
    (scheme.to_owned(), parameters)
}

pub(super) fn unauthorized(
    doing: &'static str,
    what: &str,
    repository: &Repository,
    with_credentials: bool,
    detail: String,
) -> RegistryError {
    let registry = repository.registry_name();
    let help = if with_credentials {
        format!("the registry refused the credentials for {registry}: check the user and password (`docker login {registry}`, or --registry-user and REGISTRY_PASSWORD)")
    } else {
        format!("no credentials for {registry}: `docker login {registry}` (topo reads the docker CLI's config.json), or give --registry-user and REGISTRY_PASSWORD")
    };
    RegistryError {
        doing,
        image: what.to_owned(),
        detail,
        help,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn challenges_are_read() {
        let check = |challenge: &str, scheme: &str, expect: &[(&str, &str)]| {
            let (found, parameters) = parse_challenge(challenge);
            assert_eq!(found, scheme, "{challenge}");
            let expect: BTreeMap<String, String> = expect
                .iter()
                .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
                .collect();
            assert_eq!(parameters, expect, "{challenge}");
        };
        check(
            r#"Bearer realm="https://auth.docker.io/token",service="registry.docker.io",scope="repository:library/redis:pull""#,
            "Bearer",
            &[
                ("realm", "https://auth.docker.io/token"),
                ("service", "registry.docker.io"),
                ("scope", "repository:library/redis:pull"),
            ],
        );
        check(
            r#"Basic realm="Registry Realm""#,
            "Basic",
            &[("realm", "Registry Realm")],
        );
        check(
            r#"Bearer realm="https://ghcr.io/token", service=ghcr.io ,scope="repository:a/b:pull,push""#,
            "Bearer",
            &[
                ("realm", "https://ghcr.io/token"),
                ("service", "ghcr.io"),
                ("scope", "repository:a/b:pull,push"),
            ],
        );
        check("Basic", "Basic", &[]);
    }
}
