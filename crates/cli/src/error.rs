//! Why a `topo` command stopped, and the exit status it means (the table is
//! `topo_core::report::Exit`, shared with `topo-ci` and `topo-sim`).

use std::path::PathBuf;

use topo_core::report::{error_text, Exit, Failure};

/// A command that could not do what was asked.
#[derive(Debug, thiserror::Error)]
pub enum CommandError {
    /// The topology could not be read or is not valid.
    #[error(transparent)]
    Topology(#[from] topo_core::LoadError),
    /// A file could not be read or written.
    #[error("cannot {doing} {}: {source}", path.display())]
    Io {
        /// `read`, `write`, `create`, `resolve`.
        doing: &'static str,
        /// The file.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// The command line does not make sense (exit 2).
    #[error("{0}")]
    Usage(String),
    /// Input the command cannot read, already located, one `file:line:column: error: …`
    /// line each (exit 2 for `lint`, which reports findings with 1).
    #[error("{}", .0.join("\n"))]
    Unreadable(Vec<String>),
    /// Refused, with what to do (exit 1): nothing was written.
    #[error("{message}")]
    Refused {
        /// What is wrong.
        message: String,
        /// What to do.
        help: Option<String>,
    },
    /// Refused at located places, one `file:line:column: error: …` line each (exit 1).
    #[error("{}", .0.join("\n"))]
    Located(Vec<String>),
    /// Planning failed.
    #[error(transparent)]
    Plan(#[from] topo_ci::cli::CliError),
    /// The engine driver failed.
    #[error(transparent)]
    Sim(#[from] topo_sim::cli::CliError),
    /// Import failed.
    #[error(transparent)]
    Import(#[from] topo_core::import::ImportError),
}

impl CommandError {
    /// An I/O error while `doing` something to `path`.
    pub fn io(
        doing: &'static str,
        path: impl Into<PathBuf>,
    ) -> impl FnOnce(std::io::Error) -> CommandError {
        let path = path.into();
        move |source| CommandError::Io {
            doing,
            path,
            source,
        }
    }
}

impl miette::Diagnostic for CommandError {
    fn help<'a>(&'a self) -> Option<Box<dyn std::fmt::Display + 'a>> {
        match self {
            CommandError::Topology(error) => error.help(),
            CommandError::Plan(error) => error.help(),
            CommandError::Sim(error) => error.help(),
            CommandError::Refused {
                help: Some(help), ..
            } => Some(Box::new(help)),
            _ => None,
        }
    }
}

impl Failure for CommandError {
    fn exit(&self) -> Exit {
        match self {
            CommandError::Usage(_) | CommandError::Unreadable(_) => Exit::Usage,
            CommandError::Plan(error) => error.exit(),
            CommandError::Sim(error) => error.exit(),
            _ => Exit::Failure,
        }
    }

    fn text(&self) -> String {
        match self {
            CommandError::Unreadable(lines) | CommandError::Located(lines) => {
                lines.join("\n") + "\n"
            }
            CommandError::Import(topo_core::import::ImportError::Unrepresentable(_)) => {
                format!("{self}\n")
            }
            _ => error_text(self),
        }
    }
}
