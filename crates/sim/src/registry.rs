//! The registry, through the engine: whether a tag is there (and its digest), and pushes.
//!
//! The client is the engine itself (`GET /distribution/{ref}/json`, `POST
//! /images/{name}/push`): it already speaks the registry's token (bearer) and basic auth
//! flows, trusts the registries its host trusts (`/etc/docker/certs.d`) and reaches them
//! from where the images are — so the driver adds no HTTP or TLS stack of its own (only
//! registry markers, in topo-ci, talk to a registry directly: they move a tag, which the
//! engine API cannot do without pulling). Credentials are the docker CLI's
//! ([`topo_core::credentials`]).

use std::collections::BTreeMap;

use bollard::auth::DockerCredentials;
use bollard::query_parameters::PushImageOptionsBuilder;
use futures_util::StreamExt as _;
use topo_core::value::ImageRef;

use crate::engine::Engine;
use crate::error::{engine_message, is_not_found, SimError};

pub use topo_core::credentials::Credentials;
use topo_core::credentials::DOCKER_HUB;

/// What the engine is given for an image in `registry` (`None`: Docker Hub).
pub fn engine_auth(credentials: &Credentials, registry: Option<&str>) -> Option<DockerCredentials> {
    let (user, password) = credentials.for_registry(registry)?;
    Some(DockerCredentials {
        username: Some(user.to_owned()),
        password: Some(password.to_owned()),
        serveraddress: Some(registry.unwrap_or(DOCKER_HUB).to_owned()),
        ..DockerCredentials::default()
    })
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
    let auth = engine_auth(credentials, registry.as_deref());
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
    let auth = engine_auth(credentials, registry.as_deref());
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
    fn the_engine_is_given_the_registry_s_credentials() {
        let credentials =
            Credentials::default().with("127.0.0.1:5000", "ci".into(), "secret".into());
        let auth = engine_auth(&credentials, Some("127.0.0.1:5000")).expect("credentials");
        assert_eq!(auth.username.as_deref(), Some("ci"));
        assert_eq!(auth.password.as_deref(), Some("secret"));
        assert_eq!(auth.serveraddress.as_deref(), Some("127.0.0.1:5000"));
        assert!(engine_auth(&credentials, None).is_none());
    }
}
