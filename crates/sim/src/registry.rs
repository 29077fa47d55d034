//! The registry, through the engine: whether a tag is there (and its digest), and pushes.
//!
//! The client is the engine itself (`GET /distribution/{ref}/json`, `POST
//! /images/{name}/push`): it already speaks the registry's token (bearer) and basic auth
//! flows, trusts the registries its host trusts (`/etc/docker/certs.d`) and reaches them
//! from where the images are — so topo adds no HTTP or TLS stack of its own. Credentials
//! are the docker CLI's: the `auths` of its `config.json`, or a user and password given.

use std::collections::BTreeMap;

use base64::Engine as _;
use bollard::auth::DockerCredentials;
use bollard::query_parameters::PushImageOptionsBuilder;
use futures_util::StreamExt as _;
use topo_core::value::ImageRef;

use crate::engine::Engine;
use crate::error::{engine_message, is_not_found, SimError};

/// The registry Docker Hub images live in, as the docker CLI keys its credentials.
const DOCKER_HUB: &str = "docker.io";

/// Registry credentials, by registry host (`ghcr.io`, `localhost:5000`, `docker.io`).
#[derive(Clone, Debug, Default)]
pub struct Credentials {
    by_host: BTreeMap<String, (String, String)>,
}

impl Credentials {
    /// The `auths` of a docker CLI `config.json` (`{"auths": {"HOST": {"auth":
    /// "base64(user:password)"}}}`); entries it cannot read are skipped, and credential
    /// helpers (`credsStore`, `credHelpers`) are not consulted.
    pub fn from_docker_config(text: &str) -> Result<Credentials, serde_json::Error> {
        #[derive(serde::Deserialize)]
        struct Config {
            #[serde(default)]
            auths: BTreeMap<String, Auth>,
        }
        #[derive(serde::Deserialize)]
        struct Auth {
            auth: Option<String>,
            username: Option<String>,
            password: Option<String>,
        }
        let config: Config = serde_json::from_str(text)?;
        let mut credentials = Credentials::default();
        for (key, auth) in config.auths {
            let pair = match (auth.auth, auth.username, auth.password) {
                (Some(encoded), _, _) => base64::engine::general_purpose::STANDARD
                    .decode(encoded.trim())
                    .ok()
                    .and_then(|bytes| String::from_utf8(bytes).ok())
                    .and_then(|text| {
                        text.split_once(':')
                            .map(|(u, p)| (u.to_owned(), p.to_owned()))
                    }),
                (None, Some(user), Some(password)) => Some((user, password)),
                _ => None,
            };
            if let Some(pair) = pair {
                credentials.by_host.insert(host_of_key(&key), pair);
            }
        }
        Ok(credentials)
    }

    /// `user` and `password` for `host`, over whatever was known for it.
    pub fn with(mut self, host: &str, user: String, password: String) -> Credentials {
        self.by_host.insert(host_of_key(host), (user, password));
        self
    }

    /// What the engine is given for an image in `registry` (`None`: Docker Hub).
    pub fn for_registry(&self, registry: Option<&str>) -> Option<DockerCredentials> {
        let host = registry.map_or(DOCKER_HUB, |r| r);
        let (user, password) = self.by_host.get(&host_of_key(host))?;
        Some(DockerCredentials {
            username: Some(user.clone()),
            password: Some(password.clone()),
            serveraddress: Some(host.to_owned()),
            ..DockerCredentials::default()
        })
    }
}

/// The host a credentials key names: `https://index.docker.io/v1/` is Docker Hub,
/// `https://ghcr.io` is `ghcr.io`.
fn host_of_key(key: &str) -> String {
    let bare = key
        .trim_start_matches("https://")
        .trim_start_matches("http://");
    let host = bare.split('/').next().unwrap_or(bare);
    match host {
        "index.docker.io" | "registry-1.docker.io" | "registry.hub.docker.com" => {
            DOCKER_HUB.to_owned()
        }
        other => other.to_owned(),
    }
}

/// The registry's digest of `reference` (`repo:tag`), or `None` when the registry does
/// not have that tag.
pub async fn remote_digest(
    engine: &Engine,
    reference: &str,
    credentials: &Credentials,
) -> Result<Option<String>, SimError> {
    let registry = ImageRef::parse(reference)
        .ok()
        .and_then(|image| image.registry);
    let auth = credentials.for_registry(registry.as_deref());
    match engine
        .docker()
        .inspect_registry_image(reference, auth.clone())
        .await
    {
        Ok(found) => Ok(found.descriptor.digest),
        Err(error) if is_not_found(&error) => Ok(None),
        Err(error) => Err(refused(
            "checking",
            reference,
            registry,
            auth.is_some(),
            &error,
        )),
    }
}

/// What a push sent.
#[derive(Clone, Debug, Default)]
pub struct Pushed {
    /// The registry's digest of the manifest.
    pub digest: Option<String>,
    /// Bytes uploaded (layers the registry already had count nothing).
    pub bytes: u64,
}

/// Pushes the local image `repository:tag`. The registry creates the tag only when the
/// manifest arrives, after every layer: an interrupted push leaves no tag behind.
pub async fn push(
    engine: &Engine,
    repository: &str,
    tag: &str,
    credentials: &Credentials,
) -> Result<Pushed, SimError> {
    let reference = format!("{repository}:{tag}");
    let registry = ImageRef::parse(&reference)
        .ok()
        .and_then(|image| image.registry);
    let auth = credentials.for_registry(registry.as_deref());
    let options = PushImageOptionsBuilder::default().tag(tag).build();
    let mut stream = engine
        .docker()
        .push_image(repository, Some(options), auth.clone());
    // The engine reports progress per layer without naming it here: a layer is told apart
    // by its size, and counts its largest progress.
    let mut layers: BTreeMap<i64, i64> = BTreeMap::new();
    let mut pushed = Pushed::default();
    while let Some(item) = stream.next().await {
        let info = item.map_err(|error| {
            refused(
                "pushing",
                &reference,
                registry.clone(),
                auth.is_some(),
                &error,
            )
        })?;
        if let Some(message) = info.error_detail.and_then(|d| d.message) {
            return Err(registry_error(
                "pushing",
                &reference,
                registry,
                auth.is_some(),
                message,
            ));
        }
        if let Some(progress) = info.progress_detail {
            if let (Some(current), Some(total)) = (progress.current, progress.total) {
                let seen = layers.entry(total).or_default();
                *seen = (*seen).max(current.min(total));
            }
        }
        if let Some(digest) = info
            .status
            .as_deref()
            .and_then(|s| s.split("digest: ").nth(1))
            .and_then(|rest| rest.split_whitespace().next())
        {
            pushed.digest = Some(digest.to_owned());
        }
    }
    pushed.bytes = layers
        .values()
        .map(|&b| u64::try_from(b).unwrap_or(0))
        .sum();
    Ok(pushed)
}

fn refused(
    doing: &'static str,
    reference: &str,
    registry: Option<String>,
    with_credentials: bool,
    error: &bollard::errors::Error,
) -> SimError {
    registry_error(
        doing,
        reference,
        registry,
        with_credentials,
        engine_message(error),
    )
}

/// A registry error, with what to do for the usual causes.
fn registry_error(
    doing: &'static str,
    reference: &str,
    registry: Option<String>,
    with_credentials: bool,
    detail: String,
) -> SimError {
    let registry = registry.unwrap_or_else(|| DOCKER_HUB.to_owned());
    let help = if detail.contains("unauthorized") || detail.contains("denied") {
        if with_credentials {
            format!("the registry refused the credentials for {registry}: check the user and password (`docker login {registry}`, or --registry-user and REGISTRY_PASSWORD)")
        } else {
            format!("no credentials for {registry}: `docker login {registry}` (topo reads the docker CLI's config.json), or give --registry-user and REGISTRY_PASSWORD")
        }
    } else if detail.contains("no basic auth credentials") {
        format!("{registry} wants credentials: `docker login {registry}`, or give --registry-user and REGISTRY_PASSWORD")
    } else if detail.contains("connection refused")
        || detail.contains("no such host")
        || detail.contains("timeout")
    {
        format!("the engine cannot reach {registry}: check the address, that the registry runs, and the engine host's network")
    } else if detail.contains("x509") || detail.contains("certificate") {
        format!("the engine does not trust {registry}'s certificate: put its CA in /etc/docker/certs.d/{registry}/ca.crt on the engine's host")
    } else {
        format!("see the registry's log; nothing was tagged in {registry} by this step")
    };
    SimError::Registry {
        doing,
        image: reference.to_owned(),
        registry,
        detail,
        help,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn credentials_come_from_the_docker_cli_config() {
        let config = r#"{"auths": {
            "127.0.0.1:5000": {"auth": "Y2k6c2VjcmV0"},
            "https://index.docker.io/v1/": {"auth": "aHViOnB3"},
            "https://ghcr.io": {"username": "me", "password": "tok"},
            "broken.example": {"auth": "%%%"}
        }, "credsStore": "desktop"}"#;
        let credentials = Credentials::from_docker_config(config).expect("a config");
        let user = |registry: Option<&str>| {
            credentials.for_registry(registry).map(|c| {
                (
                    c.username.unwrap_or_default(),
                    c.password.unwrap_or_default(),
                )
            })
        };
        assert_eq!(
            user(Some("127.0.0.1:5000")),
            Some(("ci".into(), "secret".into()))
        );
        assert_eq!(user(None), Some(("hub".into(), "pw".into())));
        assert_eq!(user(Some("ghcr.io")), Some(("me".into(), "tok".into())));
        assert_eq!(user(Some("broken.example")), None);
        assert_eq!(user(Some("quay.io")), None);
        let given = credentials.with("quay.io", "u".into(), "p".into());
        assert_eq!(
            given.for_registry(Some("quay.io")).and_then(|c| c.password),
            Some("p".into())
        );
        assert!(Credentials::from_docker_config("{").is_err());
    }
}
