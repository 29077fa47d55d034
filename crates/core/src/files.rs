//! A topology file read and validated: the one way the binaries load one from a path.

use std::path::{Path, PathBuf};

use crate::diagnostic::{error_lines, Diagnostic, SourceFile};
use crate::validate::{ValidateOptions, Validated};

/// A topology read from its text and validated.
#[derive(Clone, Debug)]
pub struct Loaded {
    /// Its text and name.
    pub source: SourceFile,
    /// The valid topology and its warnings.
    pub validated: Validated,
}

impl Loaded {
    /// What `topo check` reports: the topology's warnings and what `topo lint` finds in its
    /// own renders ([`crate::agreement::lint_renders`]), in source order. `Err` when any of
    /// them is an error. `repository` is the topology's directory (`None` for an example).
    pub fn check(self, repository: Option<&Path>) -> Result<Loaded, LoadError> {
        let Loaded {
            source,
            mut validated,
        } = self;
        let findings = crate::agreement::lint_renders(&validated.topology, &source, repository);
        validated.warnings.extend(findings);
        validated
            .warnings
            .sort_by_key(|d| d.span.as_ref().map_or(usize::MAX, |s| s.start));
        if crate::diagnostic::has_errors(&validated.warnings) {
            return Err(LoadError::Invalid {
                file: Box::new(source),
                diagnostics: validated.warnings,
            });
        }
        Ok(Loaded { source, validated })
    }
}

/// Why a topology could not be used.
#[derive(Debug, thiserror::Error)]
pub enum LoadError {
    /// The file could not be read.
    #[error("cannot read the topology {}: {source}", path.display())]
    Read {
        /// The file.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// The topology has errors (each line is `file:line:column: error[code]: message`).
    #[error("{}", error_lines(.diagnostics, .file).join("\n"))]
    Invalid {
        /// The topology's text.
        file: Box<SourceFile>,
        /// Every problem, warnings included.
        diagnostics: Vec<Diagnostic>,
    },
}

impl miette::Diagnostic for LoadError {
    fn help<'a>(&'a self) -> Option<Box<dyn std::fmt::Display + 'a>> {
        let help = match self {
            LoadError::Read { source, .. } if source.kind() == std::io::ErrorKind::NotFound => {
                "run `topo init` to create one, or pass -t FILE".to_owned()
            }
            LoadError::Read { .. } => return None,
            LoadError::Invalid { file, .. } => {
                format!("run `topo check -t {}` for the details", file.name())
            }
        };
        Some(Box::new(help))
    }
}

/// Parses and validates `source`.
pub fn load_source(source: SourceFile, options: &ValidateOptions<'_>) -> Result<Loaded, LoadError> {
    match crate::load(&source, options) {
        Ok(validated) => Ok(Loaded { source, validated }),
        Err(diagnostics) => Err(LoadError::Invalid {
            file: Box::new(source),
            diagnostics,
        }),
    }
}

/// Reads the topology file `path` and validates it; its directory is the repository its
/// build contexts are looked for in.
pub fn load_path(path: &Path) -> Result<Loaded, LoadError> {
    let text = std::fs::read_to_string(path).map_err(|source| LoadError::Read {
        path: path.to_owned(),
        source,
    })?;
    let repository = crate::repository_of(path);
    let options = ValidateOptions {
        repository: Some(&repository),
    };
    load_source(SourceFile::new(path.display().to_string(), text), &options)
}
