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

/// A manifest's digest and the labels (and annotations) of the image it names.
pub type Labelled = (String, BTreeMap<String, String>);

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
            _ => {
                return Err(refusal(
                    "reading",
                    &what,
                    repository,
                    self.has_credentials(repository),
                    &answer,
                ))
            }
        }
        let digest = format!("sha256:{:x}", sha2::Sha256::digest(&answer.body));
        if reference.starts_with("sha256:") && reference != digest {
            return Err(RegistryError {
                doing: "reading",
                image: what,
                detail: format!("the manifest's content has the digest {digest}"),
                help: "the registry returned other bytes than the digest names: check the registry (or a proxy in front of it)".to_owned(),
            });
        }
        Ok(Some(Manifest {
            media_type: answer
                .content_type
                .unwrap_or_else(|| "application/vnd.oci.image.manifest.v1+json".to_owned()),
            bytes: answer.body,
            digest,
        }))
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
            _ => Err(refusal(
                "tagging",
                &what,
                repository,
                self.has_credentials(repository),
                &answer,
            )),
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
            _ => Err(refusal(
                "reading",
                &what,
                repository,
                self.has_credentials(repository),
                &answer,
            )),
        }
    }

    /// The labels of the image `reference` names (for an index, its linux/amd64 image or
    /// its first), with the manifest's own annotations over them, and the manifest's digest;
    /// `None` when there is no such tag.
    pub fn labels(
        &self,
        repository: &Repository,
        reference: &str,
    ) -> Result<Option<Labelled>, RegistryError> {
        let Some(manifest) = self.manifest(repository, reference)? else {
            return Ok(None);
        };
        let what = format!("{}:{reference}", repository.display());
        let invalid = |detail: String| RegistryError {
            doing: "reading",
            image: what.clone(),
            detail,
            help: "the tag does not name an image topo can read".to_owned(),
        };
        let parsed: ManifestDocument = serde_json::from_slice(&manifest.bytes)
            .map_err(|e| invalid(format!("the manifest is not valid: {e}")))?;
        let annotations = parsed.annotations.clone().unwrap_or_default();
        let image = match (parsed.config, parsed.manifests) {
            (Some(config), _) => (manifest.digest.clone(), config),
            (None, Some(entries)) => {
                let chosen = entries
                    .iter()
                    .find(|e| {
                        e.platform
                            .as_ref()
                            .is_some_and(|p| p.os == "linux" && p.architecture == "amd64")
                    })
                    .or(entries.first())
                    .ok_or_else(|| invalid("an empty image index".to_owned()))?;
                let inner = self.manifest(repository, &chosen.digest)?.ok_or_else(|| {
                    invalid(format!(
                        "the index names {}, which is missing",
                        chosen.digest
                    ))
                })?;
                let parsed: ManifestDocument = serde_json::from_slice(&inner.bytes)
                    .map_err(|e| invalid(format!("the manifest is not valid: {e}")))?;
                let config = parsed
                    .config
                    .ok_or_else(|| invalid("a manifest without a config".to_owned()))?;
                (manifest.digest.clone(), config)
            }
            (None, None) => return Err(invalid("a manifest without a config".to_owned())),
        };
        let (digest, config) = image;
        let blob = self.blob(repository, &config.digest)?;
        let config: ImageConfig = serde_json::from_slice(&blob)
            .map_err(|e| invalid(format!("the image config is not valid: {e}")))?;
        let mut labels = config.config.and_then(|c| c.labels).unwrap_or_default();
        labels.extend(annotations);
        Ok(Some((digest, labels)))
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

    fn has_credentials(&self, repository: &Repository) -> bool {
        self.credentials
            .for_registry(repository.registry.as_deref())
            .is_some()
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

/// The system's roots, the registry's CAs from the engine's `certs.d`, and its client
/// certificate there if any.
fn tls_for(host: &str) -> ureq::tls::TlsConfig {
    let mut roots: Vec<ureq::tls::Certificate<'static>> = rustls_native_certs::load_native_certs()
        .certs
        .into_iter()
        .map(|der| ureq::tls::Certificate::from_der(der.as_ref()).to_owned())
        .collect();
    let mut client = None;
    for directory in certs_directories(host) {
        let Ok(entries) = std::fs::read_dir(&directory) else {
            continue;
        };
        let mut files: Vec<_> = entries.filter_map(Result::ok).map(|e| e.path()).collect();
        files.sort();
        for file in &files {
            let name = file
                .file_name()
                .and_then(|n| n.to_str())
                .unwrap_or_default();
            if name.ends_with(".crt") {
                if let Ok(pem) = std::fs::read(file) {
                    roots.extend(
                        ureq::tls::parse_pem(&pem)
                            .filter_map(Result::ok)
                            .filter_map(|item| match item {
                                ureq::tls::PemItem::Certificate(c) => Some(c),
                                _ => None,
                            }),
                    );
                }
            } else if name.ends_with(".cert") {
                let key = file.with_extension("key");
                if let (Ok(cert), Ok(key)) = (std::fs::read(file), std::fs::read(&key)) {
                    let chain: Vec<_> = ureq::tls::parse_pem(&cert)
                        .filter_map(Result::ok)
                        .filter_map(|item| match item {
                            ureq::tls::PemItem::Certificate(c) => Some(c),
                            _ => None,
                        })
                        .collect();
                    if let Ok(key) = ureq::tls::PrivateKey::from_pem(&key) {
                        client = Some(ureq::tls::ClientCert::new_with_certs(&chain, key));
                    }
                }
            }
        }
    }
    let roots = if roots.is_empty() {
        ureq::tls::RootCerts::WebPki
    } else {
        roots.into()
    };
    ureq::tls::TlsConfig::builder()
        .root_certs(roots)
        .client_cert(client)
        .build()
}

/// Where the engine looks for a registry's certificates.
fn certs_directories(host: &str) -> Vec<std::path::PathBuf> {
    let mut directories = vec![std::path::PathBuf::from("/etc/docker/certs.d").join(host)];
    let config = std::env::var_os("XDG_CONFIG_HOME")
        .map(std::path::PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| std::path::PathBuf::from(h).join(".config")));
    if let Some(config) = config {
        directories.push(config.join("docker/certs.d").join(host));
    }
    directories
}

fn describe(error: ureq::Error) -> String {
    match error {
        ureq::Error::Io(io) => io.to_string(),
        other => other.to_string(),
    }
}

fn is_loopback(host: &str) -> bool {
    let name = match host.rsplit_once(':') {
        Some((name, port)) if port.chars().all(|c| c.is_ascii_digit()) => name,
        _ => host,
    };
    let name = name.trim_start_matches('[').trim_end_matches(']');
    name == "localhost"
        || name
            .parse::<std::net::IpAddr>()
            .is_ok_and(|ip| ip.is_loopback())
}

fn basic((user, password): (&str, &str)) -> String {
    use base64::Engine as _;
    format!(
        "Basic {}",
        base64::engine::general_purpose::STANDARD.encode(format!("{user}:{password}"))
    )
}

/// `Bearer realm="…",service="…"` → (`Bearer`, {realm, service}).
fn parse_challenge(challenge: &str) -> (String, BTreeMap<String, String>) {
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

fn unreachable_help(repository: &Repository) -> String {
    let registry = repository.registry_name();
    format!(
        "check that {registry} is up and reachable from here; for a registry with its own CA, put the CA in /etc/docker/certs.d/{registry}/ca.crt (as for the engine)"
    )
}

fn unauthorized(
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

#[derive(serde::Deserialize)]
struct ManifestDocument {
    annotations: Option<BTreeMap<String, String>>,
    config: Option<Descriptor>,
    manifests: Option<Vec<Descriptor>>,
}

#[derive(serde::Deserialize)]
struct Descriptor {
    digest: String,
    platform: Option<Platform>,
}

#[derive(serde::Deserialize)]
struct Platform {
    os: String,
    architecture: String,
}

#[derive(serde::Deserialize)]
struct ImageConfig {
    config: Option<ContainerConfig>,
}

#[derive(serde::Deserialize)]
struct ContainerConfig {
    #[serde(rename = "Labels")]
    labels: Option<BTreeMap<String, String>>,
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

    #[test]
    fn loopback_registries_are_recognised() {
        for host in [
            "localhost:5000",
            "127.0.0.1:5000",
            "127.1.2.3",
            "[::1]:5000",
            "localhost",
        ] {
            assert!(is_loopback(host), "{host}");
        }
        for host in ["ghcr.io", "10.0.0.1:5000", "registry.local:443"] {
            assert!(!is_loopback(host), "{host}");
        }
    }
}
