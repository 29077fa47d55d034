//! Where a topology comes from: a file or a built-in example.

use std::path::PathBuf;

use anyhow::{bail, Context};
use topo_core::{example, SourceFile};

/// A topology's origin.
pub enum Input {
    /// A `topology.toml` on disk.
    File(PathBuf),
    /// A built-in example, by name.
    Example(String),
}

impl Input {
    /// Reads the source text.
    pub fn read(&self) -> anyhow::Result<SourceFile> {
        match self {
            Input::File(path) => {
                let text = std::fs::read_to_string(path).with_context(|| {
                    format!(
                        "cannot read the topology {}{}",
                        path.display(),
                        if path.exists() {
                            ""
                        } else {
                            " (run `topo init` to create one, or pass -t FILE)"
                        }
                    )
                })?;
                Ok(SourceFile::new(path.display().to_string(), text))
            }
            Input::Example(name) => match example::topology(name) {
                Some(text) => Ok(SourceFile::new(format!("<example {name}>"), text)),
                None => bail!(
                    "no built-in example `{name}`; the examples are: {}",
                    example::NAMES.join(", ")
                ),
            },
        }
    }

    /// The repository the topology describes: the file's directory. Examples have none,
    /// so their build contexts are not looked for.
    pub fn repository(&self) -> Option<PathBuf> {
        match self {
            Input::File(path) => Some(directory_of(path)),
            Input::Example(_) => None,
        }
    }
}

/// The directory a file is in (`.` for a bare file name).
pub use topo_core::repository_of as directory_of;
