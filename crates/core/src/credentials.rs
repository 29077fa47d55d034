//! Registry credentials as the docker CLI keeps them: the `auths` of its `config.json`, or a
//! user and password given on the command line. Shared by the driver (pushes and pulls
//! through the engine) and topo-ci (registry markers); a file format, no Docker.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use base64::Engine as _;

/// The registry Docker Hub images live in, as the docker CLI keys its credentials.
pub const DOCKER_HUB: &str = "docker.io";

/// Registry credentials, by registry host (`ghcr.io`, `localhost:5000`, `docker.io`).
#[derive(Clone, Debug, Default)]
pub struct Credentials {
    by_host: BTreeMap<String, (String, String)>,
}

/// The docker CLI config could not be read.
#[derive(Debug, thiserror::Error)]
pub enum CredentialsError {
    /// The file exists but could not be read.
    #[error("cannot read the docker CLI config {path}: {source}")]
    Read {
        /// The file.
        path: PathBuf,
        /// The I/O error.
        source: std::io::Error,
    },
    /// `--registry-user` without its password.
    #[error("--registry-user needs the password in REGISTRY_PASSWORD")]
    NoPassword,
    /// The file is not JSON of the expected shape.
    #[error("{path}:{line}:{column}: the docker CLI config is not valid: {message}. Fix the file, or run `docker login` again to rewrite it")]
    Invalid {
        /// The file.
        path: PathBuf,
        /// 1-based line.
        line: usize,
        /// 1-based column.
        column: usize,
        /// What is wrong.
        message: String,
    },
}

impl Credentials {
    /// The docker CLI's credentials and, when `user` is given, that user with the password
    /// in `REGISTRY_PASSWORD` for each of `registries` (`None`: Docker Hub) over them.
    pub fn for_registries(
        registries: impl IntoIterator<Item = Option<String>>,
        user: Option<&str>,
    ) -> Result<Credentials, CredentialsError> {
        let mut credentials = Credentials::of_docker_cli()?;
        if let Some(user) = user {
            let password = std::env::var("REGISTRY_PASSWORD")
                .ok()
                .filter(|p| !p.is_empty())
                .ok_or(CredentialsError::NoPassword)?;
            for registry in registries {
                let host = registry.unwrap_or_else(|| DOCKER_HUB.to_owned());
                credentials = credentials.with(&host, user.to_owned(), password.clone());
            }
        }
        Ok(credentials)
    }

    /// The docker CLI's stored credentials: `$DOCKER_CONFIG/config.json`, else
    /// `~/.docker/config.json`; none when there is no such file.
    pub fn of_docker_cli() -> Result<Credentials, CredentialsError> {
        let path = match std::env::var_os("DOCKER_CONFIG").filter(|d| !d.is_empty()) {
            Some(directory) => Some(PathBuf::from(directory).join("config.json")),
            None => {
                std::env::var_os("HOME").map(|home| PathBuf::from(home).join(".docker/config.json"))
            }
        };
        match path.filter(|p| p.exists()) {
            Some(path) => Credentials::read(&path),
            None => Ok(Credentials::default()),
        }
    }

    /// The credentials of the docker CLI config at `path`.
    pub fn read(path: &Path) -> Result<Credentials, CredentialsError> {
        let text = std::fs::read_to_string(path).map_err(|source| CredentialsError::Read {
            path: path.to_owned(),
            source,
        })?;
        Credentials::from_docker_config(&text).map_err(|error| CredentialsError::Invalid {
            path: path.to_owned(),
            line: error.line().max(1),
            column: error.column().max(1),
            message: error.to_string(),
        })
    }

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

    /// The user and password for images in `registry` (`None`: Docker Hub).
    pub fn for_registry(&self, registry: Option<&str>) -> Option<(&str, &str)> {
        let (user, password) = self
            .by_host
            .get(&host_of_key(registry.unwrap_or(DOCKER_HUB)))?;
        Some((user, password))
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
            credentials
                .for_registry(registry)
                .map(|(u, p)| (u.to_owned(), p.to_owned()))
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
        assert_eq!(given.for_registry(Some("quay.io")), Some(("u", "p")));
        assert!(Credentials::from_docker_config("{").is_err());
    }

    #[test]
    fn a_broken_config_is_located() {
        let directory = tempfile::tempdir().expect("a temporary directory");
        let path = directory.path().join("config.json");
        std::fs::write(&path, "{\n  \"auths\": [1]\n}").expect("written");
        let error = Credentials::read(&path).expect_err("an invalid config");
        let text = error.to_string();
        assert!(text.contains("config.json:2:"), "{text}");
        assert!(text.contains("docker login"), "{text}");
    }
}
