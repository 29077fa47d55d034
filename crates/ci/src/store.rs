//! Where markers are kept: a directory (a CI artifact), a git ref (pushable) or the registry.
//!
//! `--markers DIR` names a [`FileStore`]; `--markers registry` a [`RegistryStore`] (tags in
//! the images' repositories, see [`crate::registry`]); `--markers git:REF` a [`GitRefStore`], a ref
//! pointing at a commit whose tree holds the same JSON document. Every update of the ref is
//! a new commit whose parent is the previous one, and the ref moves only if it still points
//! at that parent: two concurrent writers cannot lose each other's marker silently.

use std::path::{Path, PathBuf};

use gix::bstr::ByteSlice;

use crate::markers::{
    check_environments, parse_markers, serialise, FileStore, Marker, MarkerError, Markers,
    FILE_NAME,
};
use crate::registry::RegistryStore;

/// `--markers registry`: the markers are tags in the registry.
pub const REGISTRY: &str = "registry";

/// A marker store named on the command line.
pub enum MarkerStore {
    /// A directory holding `topo-markers.json`.
    File(FileStore),
    /// A git ref in the repository.
    GitRef(GitRefStore),
    /// Tags in the registry.
    Registry(RegistryStore),
}

impl MarkerStore {
    /// `registry` (the store `registry` makes: only then is the topology and its
    /// credentials needed), `git:REF` (in the repository holding `repository`), otherwise a
    /// directory.
    pub fn parse<E>(
        spec: &str,
        repository: &Path,
        registry: impl FnOnce() -> Result<RegistryStore, E>,
    ) -> Result<MarkerStore, E> {
        if spec == REGISTRY {
            return registry().map(MarkerStore::Registry);
        }
        Ok(match spec.strip_prefix("git:") {
            Some(name) => MarkerStore::GitRef(GitRefStore::new(repository, name)),
            None => MarkerStore::File(FileStore::new(spec)),
        })
    }

    /// The markers of `env` (a file or ref store reads them all), and notes on services the
    /// store has no marker for when it can say why; an empty set when nothing was ever
    /// recorded.
    pub fn load(&self, env: &str) -> Result<(Markers, Vec<String>), MarkerError> {
        match self {
            MarkerStore::File(store) => Ok((store.load()?, Vec::new())),
            MarkerStore::GitRef(store) => store.load().map(|(markers, _)| (markers, Vec::new())),
            MarkerStore::Registry(store) => store.load(env),
        }
    }

    /// Records successful deploys of several services in one environment, in one write;
    /// the markers known afterwards (a registry store knows only those it just wrote).
    pub fn record(
        &self,
        env: &str,
        deploys: Vec<(String, Marker)>,
    ) -> Result<Markers, MarkerError> {
        let set_all = |mut markers: Markers, deploys: Vec<(String, Marker)>| {
            for (service, marker) in deploys {
                markers.set(env, &service, marker);
            }
            markers
        };
        match self {
            MarkerStore::File(store) => {
                let markers = set_all(store.load()?, deploys);
                store.save(&markers)?;
                Ok(markers)
            }
            MarkerStore::GitRef(store) => {
                let (markers, previous) = store.load()?;
                let markers = set_all(markers, deploys);
                store.save(&markers, previous)?;
                Ok(markers)
            }
            MarkerStore::Registry(store) => {
                store.record(env, &deploys)?;
                Ok(set_all(Markers::default(), deploys))
            }
        }
    }

    /// How the store is named in messages.
    pub fn describe(&self) -> String {
        match self {
            MarkerStore::File(store) => store.path().display().to_string(),
            MarkerStore::GitRef(store) => format!("git:{}", store.reference),
            MarkerStore::Registry(_) => REGISTRY.to_owned(),
        }
    }
}

/// Markers kept in a git ref of a repository.
pub struct GitRefStore {
    repository: PathBuf,
    reference: String,
}

impl GitRefStore {
    /// The ref `reference` (`refs/topo/deployed/production`) of the repository holding
    /// `repository`.
    pub fn new(repository: impl Into<PathBuf>, reference: &str) -> Self {
        GitRefStore {
            repository: repository.into(),
            reference: reference.to_owned(),
        }
    }

    fn location(&self) -> PathBuf {
        PathBuf::from(format!("git:{}:{FILE_NAME}", self.reference))
    }

    fn open(&self) -> Result<gix::Repository, MarkerError> {
        gix::discover(&self.repository).map_err(|e| self.error(format!("no git repository: {e}")))
    }

    fn error(&self, message: String) -> MarkerError {
        MarkerError::Read {
            path: self.location(),
            source: std::io::Error::other(message),
        }
    }

    /// The markers and the commit the ref points at (none when the ref does not exist).
    pub fn load(&self) -> Result<(Markers, Option<gix::ObjectId>), MarkerError> {
        let repo = self.open()?;
        let reference = repo
            .try_find_reference(self.reference.as_str())
            .map_err(|e| self.error(format!("cannot read the ref: {e}")))?;
        let Some(mut reference) = reference else {
            return Ok((Markers::default(), None));
        };
        let commit = reference
            .peel_to_commit()
            .map_err(|e| self.error(format!("the ref does not point at a commit: {e}")))?;
        let tree = commit
            .tree()
            .map_err(|e| self.error(format!("the ref's commit has no tree: {e}")))?;
        let entry = tree
            .find_entry(FILE_NAME)
            .ok_or_else(|| self.error(format!("the ref's commit holds no {FILE_NAME}")))?;
        let blob = entry
            .object()
            .map_err(|e| self.error(format!("cannot read {FILE_NAME}: {e}")))?;
        let text = blob.data.to_str_lossy().into_owned();
        let markers = parse_markers(&self.location(), &text)?;
        Ok((markers, Some(commit.id)))
    }

    /// Writes the markers as a new commit on the ref, if the ref still points at `previous`.
    pub fn save(
        &self,
        markers: &Markers,
        previous: Option<gix::ObjectId>,
    ) -> Result<(), MarkerError> {
        check_environments(markers)?;
        let write_error = |message: String| MarkerError::Write {
            path: self.location(),
            source: std::io::Error::other(message),
        };
        let repo = self.open()?;
        let blob = repo
            .write_blob(serialise(markers))
            .map_err(|e| write_error(format!("cannot write the blob: {e}")))?;
        let tree = gix::objs::Tree {
            entries: vec![gix::objs::tree::Entry {
                mode: gix::objs::tree::EntryKind::Blob.into(),
                filename: FILE_NAME.into(),
                oid: blob.detach(),
            }],
        };
        let tree = repo
            .write_object(&tree)
            .map_err(|e| write_error(format!("cannot write the tree: {e}")))?;
        let seconds = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_secs() as i64);
        let mut time = gix::date::parse::TimeBuf::default();
        let signature = gix::actor::SignatureRef {
            name: "topo".into(),
            email: "topo@localhost".into(),
            time: gix::date::Time::new(seconds, 0).to_str(&mut time),
        };
        repo.commit_as(
            signature,
            signature,
            self.reference.as_str(),
            "topo: record deployed services",
            tree.detach(),
            previous,
        )
        .map_err(|e| {
            write_error(format!(
                "cannot move the ref (did another deploy record markers meanwhile? run again): {e}"
            ))
        })?;
        Ok(())
    }
}
