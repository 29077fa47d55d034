//! A topology as committed: planning is for a commit, not for the work tree.

use std::path::{Path, PathBuf};

use topo_core::{SourceFile, ValidTopology, ValidateOptions};

use crate::repo::{GitError, Repo};

/// A topology read from a commit of its repository.
pub struct Committed {
    /// The repository holding the topology.
    pub repo: Repo,
    /// The topology, as committed at `head`.
    pub topology: ValidTopology,
    /// The topology file, relative to the repository root.
    pub path_in_repo: String,
    /// The commit it was read at.
    pub head: gix::ObjectId,
    /// Its text, to say where it names what the repository lacks.
    pub source: SourceFile,
}

/// Why a topology could not be read at a commit.
#[derive(Debug, thiserror::Error)]
pub enum LoadError {
    /// The file could not be found or resolved.
    #[error("{}: {source}", path.display())]
    Io {
        /// The topology file.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// Git could not answer.
    #[error(transparent)]
    Git(#[from] GitError),
    /// The repository is bare.
    #[error("the repository has no work tree")]
    NoWorkTree,
    /// The file is outside the repository it was found in.
    #[error("{} is not inside the repository at {}", path.display(), root.display())]
    OutsideRepository {
        /// The topology file.
        path: PathBuf,
        /// The repository's work tree.
        root: PathBuf,
    },
    /// The commit does not hold the file.
    #[error("{path} is not committed at {head}")]
    NotCommitted {
        /// The file, in the repository.
        path: String,
        /// The commit.
        head: gix::ObjectId,
    },
    /// The committed file is not text.
    #[error("{path} at {head} is not UTF-8")]
    NotText {
        /// The file, in the repository.
        path: String,
        /// The commit.
        head: gix::ObjectId,
    },
    /// The committed topology has errors.
    #[error(transparent)]
    Topology(#[from] topo_core::LoadError),
}

impl miette::Diagnostic for LoadError {
    fn help<'a>(&'a self) -> Option<Box<dyn std::fmt::Display + 'a>> {
        match self {
            LoadError::NotCommitted { .. } => Some(Box::new("commit it, or plan another --head")),
            LoadError::Topology(error) => error.help(),
            _ => None,
        }
    }
}

/// Opens the repository holding the topology file `path`, resolves `head` and reads the
/// topology as committed there.
pub fn topology_at(path: &Path, head: &str) -> Result<Committed, LoadError> {
    let io = |source| LoadError::Io {
        path: path.to_owned(),
        source,
    };
    let absolute = std::fs::canonicalize(path).map_err(io)?;
    let directory = absolute.parent().unwrap_or(&absolute).to_owned();
    let repo = Repo::discover(&directory)?;
    let root = repo
        .workdir()
        .map(std::fs::canonicalize)
        .transpose()
        .map_err(io)?
        .ok_or(LoadError::NoWorkTree)?;
    let relative = absolute
        .strip_prefix(&root)
        .map_err(|_| LoadError::OutsideRepository {
            path: path.to_owned(),
            root: root.clone(),
        })?;
    let path_in_repo = relative
        .components()
        .map(|c| c.as_os_str().to_string_lossy())
        .collect::<Vec<_>>()
        .join("/");
    let head = repo.resolve(head)?;
    let bytes = repo
        .read_file(repo.tree_of(head)?, &path_in_repo)?
        .ok_or_else(|| LoadError::NotCommitted {
            path: path_in_repo.clone(),
            head,
        })?;
    let text = String::from_utf8(bytes).map_err(|_| LoadError::NotText {
        path: path_in_repo.clone(),
        head,
    })?;
    let source = SourceFile::new(path.display().to_string(), text);
    let topology = topo_core::load_source(source.clone(), &ValidateOptions::default())?
        .validated
        .topology;
    Ok(Committed {
        repo,
        topology,
        path_in_repo,
        head,
        source,
    })
}
