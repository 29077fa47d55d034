//! A small client of the OCI distribution API (`/v2/`): manifests and blobs, over HTTPS with
//! the registry's basic or token (bearer) authentication.
//!
//! Trust is the engine's: the system's roots, plus a registry's own CA and client
//! certificate in `/etc/docker/certs.d/<host>/` (or `~/.config/docker/certs.d/`). As the
//! engine does, a registry on a loopback address may answer plain HTTP.

use std::collections::BTreeMap;
use std::sync::Mutex;
use std::time::Duration;

use sha2::Digest as _;
use topo_core::value::ImageRef;

use topo_core::credentials::{Credentials, DOCKER_HUB};

use super::auth::{basic, parse_challenge, unauthorized};
use super::trust::{is_loopback, tls_for};

/// The media types of manifests this client asks for (single images first).
const MANIFEST_TYPES: &str = "application/vnd.oci.image.manifest.v1+json, \
    application/vnd.docker.distribution.manifest.v2+json, \
    application/vnd.oci.image.index.v1+json, \
    application/vnd.docker.distribution.manifest.list.v2+json";

/// The largest manifest or image config read (a config with many labels is a few KiB).
const BODY_LIMIT: u64 = 16 * 1024 * 1024;

/// A repository in a registry.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Repository {
    /// The registry as credentials name it (`ghcr.io`, `127.0.0.1:5000`); `None` is Docker Hub.
    pub registry: Option<String>,
    /// The path inside it (`acme/shop-web`; `library/redis` on Docker Hub).
    pub path: String,
}

impl Repository {
    /// The repository of an image reference (its tag or digest aside).
    pub fn of(image: &ImageRef) -> Repository {
        let path = match (&image.registry, image.repository.contains('/')) {
            (None, false) => format!("library/{}", image.repository),
            _ => image.repository.clone(),
        };
        Repository {
            registry: image.registry.clone(),
            path,
        }
    }

    /// The host the API is served at.
    fn host(&self) -> &str {
        self.registry.as_deref().unwrap_or("registry-1.docker.io")
    }

    /// The registry, for messages.
    pub fn registry_name(&self) -> &str {
        self.registry.as_deref().unwrap_or(DOCKER_HUB)
    }

    /// `registry/path`, for messages.
    pub fn display(&self) -> String {
        format!("{}/{}", self.registry_name(), self.path)
    }
}

/// A manifest as the registry stores it: its exact bytes are what a digest names.
#[derive(Clone, Debug)]
pub struct Manifest {
    /// Its media type.
    pub media_type: String,
    /// Its bytes.
    pub bytes: Vec<u8>,
    /// `sha256:` of the bytes.
    pub digest: String,
}

impl Manifest {
    /// A manifest of `media_type` holding `bytes`, named by their digest.
    pub fn new(media_type: String, bytes: Vec<u8>) -> Manifest {
        let digest = format!("sha256:{:x}", sha2::Sha256::digest(&bytes));
        Manifest {
            media_type,
            bytes,
            digest,
        }
    }
}

/// A registry refused or could not be reached.
#[derive(Debug, thiserror::Error)]
#[error("{doing} {image}: {detail}. {help}")]
pub struct RegistryError {
    /// What was being done (`reading`, `tagging`).
    pub doing: &'static str,
    /// The image or repository.
    pub image: String,
    /// What the registry or the network said.
    pub detail: String,
    /// What to do.
    pub help: String,
}

/// One request's outcome: status, `WWW-Authenticate`, content type, body.
struct Answer {
    status: u16,
    challenge: Option<String>,
    content_type: Option<String>,
    body: Vec<u8>,
}

/// A registry client. Tokens and the scheme each registry answers are kept for its
/// lifetime.
pub struct Client {
    credentials: Credentials,
    known: Mutex<Known>,
}

#[derive(Default)]
struct Known {
    agents: BTreeMap<String, ureq::Agent>,
    plain_http: BTreeMap<String, bool>,
    authorization: BTreeMap<(String, String), String>,
}

impl Client {
    /// A client that authenticates with `credentials`.
    pub fn new(credentials: Credentials) -> Client {
        Client {
            credentials,
            known: Mutex::new(Known::default()),
        }
    }

    /// The manifest `reference` (a tag or a digest) of `repository`; `None` when the
    /// registry has no such tag or manifest.
    pub fn manifest(
        &self,
        repository: &Repository,
        reference: &str,
    ) -> Result<Option<Manifest>, RegistryError> {
        let what = format!("{}:{reference}", repository.display());
        let answer = self.send(
            "GET",
            repository,
            &format!("manifests/{reference}"),
            None,
            false,
            "reading",
            &what,
        )?;
        match answer.status {
            200 => {}
            404 => return Ok(None),
            _ => return Err(self.refused("reading", &what, repository, &answer)),
        }
        let manifest = Manifest::new(
            answer
                .content_type
                .unwrap_or_else(|| "application/vnd.oci.image.manifest.v1+json".to_owned()),
            answer.body,
        );
        if reference.starts_with("sha256:") && reference != manifest.digest {
            return Err(RegistryError {
                doing: "reading",
                image: what,
                detail: format!("the manifest's content has the digest {}", manifest.digest),
                help: "the registry returned other bytes than the digest names: check the registry (or a proxy in front of it)".to_owned(),
            });
        }
        Ok(Some(manifest))
    }

    /// Stores `manifest` under `tag` in `repository` (which must hold its blobs already).
    pub fn put_manifest(
        &self,
        repository: &Repository,
        tag: &str,
        manifest: &Manifest,
    ) -> Result<(), RegistryError> {
        let what = format!("{}:{tag}", repository.display());
        let answer = self.send(
            "PUT",
            repository,
            &format!("manifests/{tag}"),
            Some((&manifest.media_type, &manifest.bytes)),
            true,
            "tagging",
            &what,
        )?;
        match answer.status {
            200..=202 => Ok(()),
            _ => Err(self.refused("tagging", &what, repository, &answer)),
        }
    }

    /// The blob `digest` of `repository`.
    pub fn blob(&self, repository: &Repository, digest: &str) -> Result<Vec<u8>, RegistryError> {
        let what = format!("{}@{digest}", repository.display());
        let answer = self.send(
            "GET",
            repository,
            &format!("blobs/{digest}"),
            None,
            false,
            "reading",
            &what,
        )?;
        match answer.status {
            200 => Ok(answer.body),
            _ => Err(self.refused("reading", &what, repository, &answer)),
        }
    }

    /// Sends one request, answering the registry's authentication challenge once.
    #[allow(clippy::too_many_arguments)]
    fn send(
        &self,
        method: &str,
        repository: &Repository,
        path: &str,
        body: Option<(&str, &[u8])>,
        push: bool,
        doing: &'static str,
        what: &str,
    ) -> Result<Answer, RegistryError> {
        let host = repository.host().to_owned();
        let scope = format!(
            "repository:{}:{}",
            repository.path,
            if push { "pull,push" } else { "pull" }
        );
        let key = (host.clone(), scope.clone());
        let known = self.known_authorization(&key);
        let mut answer = self.exchange(
            method,
            repository,
            path,
            body,
            known.as_deref(),
            doing,
            what,
        )?;
        if answer.status == 401 {
            if let Some(challenge) = answer.challenge.clone() {
                let authorization = self.authorize(repository, &challenge, &scope, doing, what)?;
                if let Some(authorization) = authorization {
                    self.lock().authorization.insert(key, authorization.clone());
                    answer = self.exchange(
                        method,
                        repository,
                        path,
                        body,
                        Some(&authorization),
                        doing,
                        what,
                    )?;
                }
            }
        }
        Ok(answer)
    }

    /// The registry refused `doing` `what`: its own words, and what to do.
    fn refused(
        &self,
        doing: &'static str,
        what: &str,
        repository: &Repository,
        answer: &Answer,
    ) -> RegistryError {
        let with_credentials = self
            .credentials
            .for_registry(repository.registry.as_deref())
            .is_some();
        refusal(doing, what, repository, with_credentials, answer)
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Known> {
        self.known
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    fn known_authorization(&self, key: &(String, String)) -> Option<String> {
        self.lock().authorization.get(key).cloned()
    }

    /// The `Authorization` header a challenge asks for; `None` when there are no
    /// credentials to answer a basic challenge with.
    fn authorize(
        &self,
        repository: &Repository,
        challenge: &str,
        scope: &str,
        doing: &'static str,
        what: &str,
    ) -> Result<Option<String>, RegistryError> {
        let credentials = self
            .credentials
            .for_registry(repository.registry.as_deref());
        let (scheme, parameters) = parse_challenge(challenge);
        if scheme.eq_ignore_ascii_case("basic") {
            return Ok(credentials.map(basic));
        }
        if !scheme.eq_ignore_ascii_case("bearer") {
            return Err(RegistryError {
                doing,
                image: what.to_owned(),
                detail: format!("the registry asks for `{scheme}` authentication"),
                help: "topo speaks the registry's basic and token (bearer) authentication only"
                    .to_owned(),
            });
        }
        let realm = parameters.get("realm").cloned().unwrap_or_default();
        let mut request = self
            .agent(repository.host())
            .get(&realm)
            .query("scope", scope);
        if let Some(service) = parameters.get("service") {
            request = request.query("service", service);
        }
        if let Some(pair) = credentials {
            request = request.header("Authorization", basic(pair));
        }
        let unreachable = |detail: String| RegistryError {
            doing,
            image: what.to_owned(),
            detail: format!("the token service {realm}: {detail}"),
            help: "check that the registry's token service is reachable from here".to_owned(),
        };
        let mut response = request.call().map_err(|e| unreachable(e.to_string()))?;
        let status = response.status().as_u16();
        let text = response
            .body_mut()
            .with_config()
            .limit(BODY_LIMIT)
            .read_to_vec()
            .map_err(|e| unreachable(e.to_string()))?;
        if status != 200 {
            return Err(unauthorized(
                doing,
                what,
                repository,
                credentials.is_some(),
                format!("the token service answered {status}"),
            ));
        }
        #[derive(serde::Deserialize)]
        struct Token {
            token: Option<String>,
            access_token: Option<String>,
        }
        let token: Token = serde_json::from_slice(&text)
            .map_err(|e| unreachable(format!("not a token answer: {e}")))?;
        let token = token
            .token
            .or(token.access_token)
            .ok_or_else(|| unreachable("no token in its answer".to_owned()))?;
        Ok(Some(format!("Bearer {token}")))
    }

    /// One HTTP exchange, over HTTPS (or plain HTTP where a loopback registry speaks it).
    #[allow(clippy::too_many_arguments)]
    fn exchange(
        &self,
        method: &str,
        repository: &Repository,
        path: &str,
        body: Option<(&str, &[u8])>,
        authorization: Option<&str>,
        doing: &'static str,
        what: &str,
    ) -> Result<Answer, RegistryError> {
        let host = repository.host();
        let remembered = self.lock().plain_http.get(host).copied();
        let schemes: &[bool] = match remembered {
            Some(plain) => {
                if plain {
                    &[true]
                } else {
                    &[false]
                }
            }
            None if is_loopback(host) => &[false, true],
            None => &[false],
        };
        let mut last = String::new();
        for &plain in schemes {
            let scheme = if plain { "http" } else { "https" };
            let url = format!("{scheme}://{host}/v2/{}/{path}", repository.path);
            match self.call(method, &url, body, authorization) {
                Ok(answer) => {
                    self.lock().plain_http.insert(host.to_owned(), plain);
                    return Ok(answer);
                }
                Err(error) => last = error,
            }
        }
        Err(RegistryError {
            doing,
            image: what.to_owned(),
            detail: last,
            help: unreachable_help(repository),
        })
    }

    fn call(
        &self,
        method: &str,
        url: &str,
        body: Option<(&str, &[u8])>,
        authorization: Option<&str>,
    ) -> Result<Answer, String> {
        let agent = self.agent(url.split('/').nth(2).unwrap_or_default());
        let request = ureq::http::Request::builder()
            .method(method)
            .uri(url)
            .header("Accept", MANIFEST_TYPES);
        let request = match authorization {
            Some(value) => request.header("Authorization", value),
            None => request,
        };
        let result = match body {
            Some((content_type, bytes)) => request
                .header("Content-Type", content_type)
                .body(bytes.to_vec())
                .map_err(|e| e.to_string())
                .and_then(|r| agent.run(r).map_err(describe)),
            None => request
                .body(())
                .map_err(|e| e.to_string())
                .and_then(|r| agent.run(r).map_err(describe)),
        };
        let mut response = result?;
        let header = |name: &str| {
            response
                .headers()
                .get(name)
                .and_then(|v| v.to_str().ok())
                .map(str::to_owned)
        };
        let challenge = header("www-authenticate");
        let content_type = header("content-type");
        let status = response.status().as_u16();
        let body = response
            .body_mut()
            .with_config()
            .limit(BODY_LIMIT)
            .read_to_vec()
            .map_err(describe)?;
        Ok(Answer {
            status,
            challenge,
            content_type,
            body,
        })
    }

    /// The agent for `host`, trusting what the engine would trust for it.
    fn agent(&self, host: &str) -> ureq::Agent {
        if let Some(agent) = self.lock().agents.get(host) {
            return agent.clone();
        }
        let agent = ureq::Agent::new_with_config(
            ureq::Agent::config_builder()
                .http_status_as_error(false)
                .timeout_connect(Some(Duration::from_secs(10)))
                .timeout_global(Some(Duration::from_secs(120)))
                .user_agent("topo")
                .tls_config(tls_for(host))
                .build(),
        );
        self.lock().agents.insert(host.to_owned(), agent.clone());
        agent
    }
}

/// A transport error in its own words (an I/O error without ureq's prefix).
fn describe(error: ureq::Error) -> String {
    match error {
        ureq::Error::Io(io) => io.to_string(),
        other => other.to_string(),
    }
}

fn unreachable_help(repository: &Repository) -> String {
    let registry = repository.registry_name();
    format!(
        "check that {registry} is up and reachable from here; for a registry with its own CA, put the CA in /etc/docker/certs.d/{registry}/ca.crt (as for the engine)"
    )
}

/// A refusal, with the registry's own error text.
fn refusal(
    doing: &'static str,
    what: &str,
    repository: &Repository,
    with_credentials: bool,
    answer: &Answer,
) -> RegistryError {
    let said = registry_errors(&answer.body)
        .unwrap_or_else(|| String::from_utf8_lossy(&answer.body).trim().to_owned());
    let said = said.as_str();
    let detail = if said.is_empty() {
        format!("the registry answered {}", answer.status)
    } else {
        format!(
            "the registry answered {}: {}",
            answer.status,
            said.chars().take(300).collect::<String>()
        )
    };
    match answer.status {
        401 | 403 => unauthorized(doing, what, repository, with_credentials, detail),
        _ => RegistryError {
            doing,
            image: what.to_owned(),
            detail,
            help: "see the registry's log".to_owned(),
        },
    }
}

/// The distribution API's error document (`{"errors": [{"code", "message"}]}`) as
/// `CODE: message; …`.
fn registry_errors(body: &[u8]) -> Option<String> {
    #[derive(serde::Deserialize)]
    struct Errors {
        errors: Vec<Said>,
    }
    #[derive(serde::Deserialize)]
    struct Said {
        code: String,
        message: Option<String>,
    }
    let errors: Errors = serde_json::from_slice(body).ok()?;
    let said: Vec<String> = errors
        .errors
        .into_iter()
        .map(|e| match e.message {
            Some(message) => format!("{} ({message})", e.code),
            None => e.code,
        })
        .collect();
    (!said.is_empty()).then(|| said.join("; "))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn repositories_are_named_as_the_registry_knows_them() {
        let check = |image: &str, registry: Option<&str>, path: &str| {
            let parsed = ImageRef::parse(image).expect("a reference");
            let repository = Repository::of(&parsed);
            assert_eq!(repository.registry.as_deref(), registry, "{image}");
            assert_eq!(repository.path, path, "{image}");
        };
        check("redis:7", None, "library/redis");
        check("acme/web:1", None, "acme/web");
        check(
            "127.0.0.1:5000/shop-web:abc",
            Some("127.0.0.1:5000"),
            "shop-web",
        );
        check(
            "ghcr.io/acme/shop-web@sha256:00",
            Some("ghcr.io"),
            "acme/shop-web",
        );
    }
}
