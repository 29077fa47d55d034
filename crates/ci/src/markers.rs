//! Markers: per environment and service, the last successful deploy (commit, fingerprint,
//! image, time).
//!
//! The file store keeps one JSON document in a directory — exactly what a CI artifact carries
//! between runs. Writes are atomic (temporary file, fsync, rename, fsync of the directory), so
//! a crash leaves the previous document or the new one, never a torn one. A document that
//! cannot be read is an error naming the file and the position, never "no marker": treating
//! it as empty would silently deploy everything.

use std::collections::BTreeMap;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::SystemTime;

use serde::{Deserialize, Serialize};

/// The file name of the marker document inside the store's directory.
pub const FILE_NAME: &str = "topo-markers.json";

/// The format version this library writes; it reads this one and every earlier one (1:
/// markers without digests).
pub const VERSION: u32 = 2;

/// One successful deploy of one service.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Marker {
    /// The commit that was deployed (full SHA).
    pub commit: String,
    /// The service's fingerprint at that commit, when one was computed: it lets a later
    /// plan decide without history (shallow clones, rewritten history).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fingerprint: Option<String>,
    /// The image reference that was deployed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub image: Option<String>,
    /// What the fingerprint was made of (version 2): the next plan updates these from its
    /// diff instead of visiting every file of the service's scope.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub digests: Option<crate::fingerprint::Digests>,
    /// When, RFC 3339 in UTC; empty when unknown (a registry tag does not say when it moved).
    pub deployed_at: String,
}

impl Marker {
    /// A marker of `commit` deployed now.
    pub fn now(commit: impl Into<String>) -> Self {
        Marker {
            commit: commit.into(),
            fingerprint: None,
            image: None,
            digests: None,
            deployed_at: humantime::format_rfc3339_seconds(SystemTime::now()).to_string(),
        }
    }
}

/// Every marker: environment → service (container name) → marker.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Markers {
    /// The format version ([`VERSION`]).
    pub version: u32,
    /// The markers, by environment and service.
    pub environments: BTreeMap<String, BTreeMap<String, Marker>>,
}

/// No markers, in the current format: what saving it writes, `load` reads back.
impl Default for Markers {
    fn default() -> Self {
        Markers {
            version: VERSION,
            environments: BTreeMap::new(),
        }
    }
}

impl Markers {
    /// The marker of `service` in `env`, if it was ever deployed there.
    pub fn get(&self, env: &str, service: &str) -> Option<&Marker> {
        self.environments.get(env)?.get(service)
    }

    /// Records a deploy, replacing the service's previous marker in that environment.
    pub fn set(&mut self, env: &str, service: &str, marker: Marker) {
        self.environments
            .entry(env.to_owned())
            .or_default()
            .insert(service.to_owned(), marker);
    }
}

/// Why markers could not be read or written.
#[derive(Debug, thiserror::Error)]
pub enum MarkerError {
    /// The file exists but could not be read.
    #[error("cannot read the markers {path}: {source}")]
    Read {
        /// The file.
        path: PathBuf,
        /// The I/O error.
        source: std::io::Error,
    },
    /// The file is not a marker document.
    #[error("{path}:{line}:{column}: the markers are corrupt: {message}. Restore the file from an earlier artifact, or delete it to deploy every service")]
    Corrupt {
        /// The file.
        path: PathBuf,
        /// 1-based line of the problem.
        line: usize,
        /// 1-based column of the problem.
        column: usize,
        /// What is wrong.
        message: String,
    },
    /// The file was written by a newer topo.
    #[error("{path}: markers of format version {found}; this topo reads versions 1 to {VERSION}. Upgrade topo")]
    UnsupportedVersion {
        /// The file.
        path: PathBuf,
        /// The version found.
        found: u32,
    },
    /// An environment name that cannot be used.
    #[error("invalid environment name `{0}`: use lowercase letters, digits and dashes")]
    InvalidEnvironment(String),
    /// A marker names a service or an image that cannot be marked.
    #[error("{0}")]
    InvalidService(String),
    /// The registry holding the markers refused or could not be reached; nothing was
    /// marked by the failing step.
    #[error("registry markers: {0}")]
    Registry(crate::registry::RegistryError),
    /// The docker CLI's credentials (for the registry holding the markers) are unreadable.
    #[error(transparent)]
    Credentials(#[from] crate::registry::CredentialsError),
    /// The new document could not be written; the previous one is untouched.
    #[error("cannot write the markers {path}: {source}")]
    Write {
        /// The file.
        path: PathBuf,
        /// The I/O error.
        source: std::io::Error,
    },
}

impl From<crate::registry::RegistryError> for MarkerError {
    fn from(error: crate::registry::RegistryError) -> Self {
        MarkerError::Registry(error)
    }
}

/// Markers kept as one JSON document in a directory.
#[derive(Clone, Debug)]
pub struct FileStore {
    directory: PathBuf,
}

impl FileStore {
    /// A store in `directory` (created on the first write).
    pub fn new(directory: impl Into<PathBuf>) -> Self {
        FileStore {
            directory: directory.into(),
        }
    }

    /// The document's path.
    pub fn path(&self) -> PathBuf {
        self.directory.join(FILE_NAME)
    }

    /// Reads every marker. A missing file means nothing was deployed yet.
    pub fn load(&self) -> Result<Markers, MarkerError> {
        let path = self.path();
        let text = match std::fs::read_to_string(&path) {
            Ok(text) => text,
            Err(error) if error.kind() == std::io::ErrorKind::NotFound => {
                return Ok(Markers::default());
            }
            Err(source) => return Err(MarkerError::Read { path, source }),
        };
        parse_markers(&path, &text)
    }

    /// Replaces the document, atomically.
    pub fn save(&self, markers: &Markers) -> Result<(), MarkerError> {
        check_environments(markers)?;
        let path = self.path();
        let write_error = |source| MarkerError::Write {
            path: path.clone(),
            source,
        };
        std::fs::create_dir_all(&self.directory).map_err(write_error)?;
        write_atomically(&path, &serialise(markers)).map_err(write_error)
    }

    /// Records one successful deploy: load, set, save.
    pub fn record(&self, env: &str, service: &str, marker: Marker) -> Result<Markers, MarkerError> {
        let mut markers = self.load()?;
        markers.set(env, service, marker);
        self.save(&markers)?;
        Ok(markers)
    }
}

/// Refuses environment names outside the naming taxonomy: every store checks before it
/// writes anything.
pub(crate) fn check_environments(markers: &Markers) -> Result<(), MarkerError> {
    match markers
        .environments
        .keys()
        .find(|env| !topo_core::naming::is_valid_name(env))
    {
        Some(env) => Err(MarkerError::InvalidEnvironment(env.clone())),
        None => Ok(()),
    }
}

/// Reads a marker document; `path` names it in errors.
pub(crate) fn parse_markers(path: &Path, text: &str) -> Result<Markers, MarkerError> {
    let markers: Markers = serde_json::from_str(text).map_err(|error| MarkerError::Corrupt {
        path: path.to_owned(),
        line: error.line(),
        column: error.column(),
        message: error
            .to_string()
            .split(" at line ")
            .next()
            .unwrap_or_default()
            .to_owned(),
    })?;
    if markers.version == 0 || markers.version > VERSION {
        return Err(MarkerError::UnsupportedVersion {
            path: path.to_owned(),
            found: markers.version,
        });
    }
    // Read as the current format: version 1 is version 2 without digests, and what is
    // saved next is written as version 2.
    let mut markers = markers;
    markers.version = VERSION;
    Ok(markers)
}

/// The document as written: pretty JSON and a final newline.
pub(crate) fn serialise(markers: &Markers) -> Vec<u8> {
    let mut text = serde_json::to_string_pretty(markers).expect("markers always serialise");
    text.push('\n');
    text.into_bytes()
}

/// Temporary file beside the target, fsync, rename, fsync of the directory.
fn write_atomically(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    let mut file = atomic_write_file::AtomicWriteFile::open(path)?;
    file.write_all(bytes)?;
    file.commit()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn marker(commit: &str) -> Marker {
        Marker {
            commit: commit.to_owned(),
            fingerprint: Some("f1".to_owned()),
            image: Some("vendure-server:f1".to_owned()),
            digests: None,
            deployed_at: "2026-11-21T07:00:00Z".to_owned(),
        }
    }

    #[test]
    fn a_missing_store_means_nothing_deployed() {
        let directory = tempfile::tempdir().expect("tempdir");
        let markers = FileStore::new(directory.path().join("never-written"))
            .load()
            .expect("empty");
        assert_eq!(markers.get("production", "vendure-server"), None);
        assert_eq!(markers.version, VERSION);
    }

    #[test]
    fn records_survive_a_round_trip_and_leave_no_temporary_files() {
        let directory = tempfile::tempdir().expect("tempdir");
        let store = FileStore::new(directory.path());
        store
            .record("production", "vendure-server", marker("aaa"))
            .expect("record");
        store
            .record("production", "vendure-worker", marker("bbb"))
            .expect("record");
        store
            .record("production", "vendure-server", marker("ccc"))
            .expect("record");
        store
            .record("staging", "vendure-server", marker("ddd"))
            .expect("record");
        let markers = store.load().expect("load");
        assert_eq!(
            markers
                .get("production", "vendure-server")
                .map(|m| m.commit.as_str()),
            Some("ccc")
        );
        assert_eq!(
            markers
                .get("production", "vendure-worker")
                .map(|m| m.commit.as_str()),
            Some("bbb")
        );
        assert_eq!(
            markers
                .get("staging", "vendure-server")
                .map(|m| m.commit.as_str()),
            Some("ddd")
        );
        let names: Vec<_> = std::fs::read_dir(directory.path())
            .expect("ls")
            .map(|e| e.expect("entry").file_name())
            .collect();
        assert_eq!(names, vec![std::ffi::OsString::from(FILE_NAME)]);
    }

    #[test]
    fn a_corrupt_store_is_an_error_that_names_the_file_and_position() {
        let directory = tempfile::tempdir().expect("tempdir");
        let store = FileStore::new(directory.path());
        store
            .record("production", "vendure-server", marker("aaa"))
            .expect("record");
        let text = std::fs::read_to_string(store.path()).expect("read");
        // A torn write: the document cut in the middle.
        std::fs::write(store.path(), &text[..text.len() / 2]).expect("truncate");
        let error = store.load().expect_err("corrupt");
        let message = error.to_string();
        assert!(
            matches!(error, MarkerError::Corrupt { line, .. } if line > 1),
            "{message}"
        );
        assert!(
            message.starts_with(&format!("{}:", store.path().display())),
            "{message}"
        );
        assert!(
            message.contains("delete it to deploy every service"),
            "{message}"
        );
        // And recording on top of a corrupt store refuses rather than starting afresh.
        assert!(store
            .record("production", "vendure-worker", marker("bbb"))
            .is_err());
        assert_eq!(
            std::fs::read_to_string(store.path()).expect("read"),
            text[..text.len() / 2]
        );
    }

    #[test]
    fn unknown_versions_and_fields_are_refused() {
        let directory = tempfile::tempdir().expect("tempdir");
        let store = FileStore::new(directory.path());
        std::fs::write(store.path(), r#"{"version": 3, "environments": {}}"#).expect("write");
        assert!(matches!(
            store.load(),
            Err(MarkerError::UnsupportedVersion { found: 3, .. })
        ));
        // Version 1 (no digests) is read, as the current version.
        std::fs::write(
            store.path(),
            r#"{"version": 1, "environments": {"production": {"shop-web": {"commit": "abc", "deployed_at": ""}}}}"#,
        )
        .expect("write");
        let markers = store.load().expect("version 1");
        assert_eq!(markers.version, VERSION);
        assert_eq!(
            markers
                .get("production", "shop-web")
                .map(|m| m.digests.clone()),
            Some(None)
        );
        std::fs::write(
            store.path(),
            r#"{"version": 1, "environments": {}, "extra": 1}"#,
        )
        .expect("write");
        assert!(matches!(
            store.load(),
            Err(MarkerError::Corrupt { line: 1, .. })
        ));
    }

    #[test]
    fn environment_names_follow_the_taxonomy() {
        let directory = tempfile::tempdir().expect("tempdir");
        let store = FileStore::new(directory.path());
        assert!(matches!(
            store.record("Prod/../x", "s", marker("a")),
            Err(MarkerError::InvalidEnvironment(_))
        ));
        assert!(!store.path().exists());
    }

    #[test]
    fn default_markers_save_and_load_back() {
        let directory = tempfile::tempdir().expect("tempdir");
        let store = FileStore::new(directory.path());
        store.save(&Markers::default()).expect("save");
        assert_eq!(store.load().expect("load"), Markers::default());
    }

    #[test]
    fn now_is_rfc3339() {
        let marker = Marker::now("abc");
        assert!(
            humantime::parse_rfc3339(&marker.deployed_at).is_ok(),
            "{}",
            marker.deployed_at
        );
    }
}
