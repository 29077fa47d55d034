//! Where a topology comes from: a file or a built-in example.

use std::path::PathBuf;

use topo_core::{example, LoadError, Loaded, SourceFile, ValidateOptions};

use crate::error::CommandError;

/// A topology's origin.
pub enum Input {
    /// A `topology.toml` on disk.
    File(PathBuf),
    /// A built-in example, by name.
    Example(String),
}

impl Input {
    /// Reads and validates the topology (a file's build contexts are looked for beside it;
    /// an example has none). An invalid topology is `Err(LoadError::Invalid)` inside `Ok`:
    /// the caller prints its diagnostics.
    pub fn load(&self) -> Result<Result<Loaded, LoadError>, CommandError> {
        match self {
            Input::File(path) => match topo_core::load_path(path) {
                Err(error @ LoadError::Read { .. }) => Err(error.into()),
                loaded => Ok(loaded),
            },
            Input::Example(name) => {
                let text = example::topology(name).ok_or_else(|| unknown_example(name))?;
                let source = SourceFile::new(format!("<example {name}>"), text);
                Ok(topo_core::load_source(source, &ValidateOptions::default()))
            }
        }
    }

    /// The repository the topology describes: the file's directory. Examples have none.
    pub fn repository(&self) -> Option<PathBuf> {
        match self {
            Input::File(path) => Some(directory_of(path)),
            Input::Example(_) => None,
        }
    }
}

/// No built-in example of that name.
pub fn unknown_example(name: &str) -> CommandError {
    CommandError::Refused {
        message: format!("no built-in example `{name}`"),
        help: Some(format!("the examples are: {}", example::NAMES.join(", "))),
    }
}

/// The directory a file is in (`.` for a bare file name).
pub use topo_core::repository_of as directory_of;
