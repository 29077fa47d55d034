//! `topo import`: a topology built back from existing Compose files, the inverse of
//! [`runtime_spec`](crate::runtime_spec) followed by the Compose renderer.
//!
//! Each Compose service is matched across the files (one per mode) by its role, classified
//! (the database, the proxy, a service topo builds, or something topo cannot run), and read
//! back field by field. Whatever the topology cannot say — or had to guess — becomes a
//! `# topo import:` comment next to the value it concerns and a [`Note`] in
//! [`Imported::checks`]; nothing is dropped silently. The text is validated before it is
//! returned: an import that does not validate is a bug, reported as
//! [`ImportError::Invalid`].
//!
//! Round trip: for a topology `t`, importing the three files `t` renders gives a topology
//! that renders the same three files, byte for byte.

pub use repository::{from_repository, RepositoryFile, READ_FILES};

mod accessory;
mod database;
mod document;
mod env;
mod hardening;
mod health;
mod leftovers;
mod plan;
mod proxy;
mod repository;
mod service;
mod settings;
mod values;
mod wiring;

use crate::compose::{ComposeFile, Pos};
use crate::{Mode, SourceFile, ValidateOptions};

use document::{Document, Table, Toml};
use plan::{project_name, sources_by_mode};
pub(crate) use plan::{Container, Plan, Seen, Source};

/// What `import` needs beyond the files.
#[derive(Clone, Debug)]
pub struct ImportOptions {
    /// The project name; when `None`, the files' `name:`, else their containers' common
    /// prefix, else `compose_project`.
    pub project: Option<String>,
    /// The name Compose gives the project when the files have no `name:`: their
    /// directory's name. Hand-written volumes are called `<compose_project>_<key>` on the
    /// engine, which the notes about moving data need to say.
    pub compose_project: Option<String>,
    /// Where the Compose files sit, as seen from the topology's directory (`.` when beside
    /// it): relative paths in the files are rebased through it.
    pub directory: String,
}

impl Default for ImportOptions {
    fn default() -> Self {
        ImportOptions {
            project: None,
            compose_project: None,
            directory: ".".to_owned(),
        }
    }
}

/// The imported topology and what the user must check.
#[derive(Clone, Debug)]
pub struct Imported {
    /// The `topology.toml` text, with a `# topo import:` comment at each guess.
    pub text: String,
    /// Everything that was guessed or could not be represented, in the order written.
    pub checks: Vec<Note>,
}

/// One thing the user must check: where in which Compose file, and what.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Note {
    /// The Compose file, as its name was given.
    pub file: String,
    /// Where in it.
    pub pos: Pos,
    /// What was guessed or dropped, and what to do.
    pub message: String,
}

impl Note {
    /// `file:line:column`.
    pub fn location(&self) -> String {
        format!("{}:{}:{}", self.file, self.pos.line, self.pos.column)
    }
}

/// Why nothing could be imported.
#[derive(Debug, thiserror::Error)]
pub enum ImportError {
    /// No file was given.
    #[error("nothing to import: give at least one Compose file")]
    NoFiles,
    /// Two files are for the same mode; Compose would merge them, import does not.
    #[error("`{first}` and `{second}` are both {mode} files, and topo import reads one file per mode: merge them first (`docker compose -f {first} -f {second} config > merged.yml`), or say which mode each is")]
    SameMode {
        /// The mode.
        mode: Mode,
        /// The first file of that mode.
        first: String,
        /// The second.
        second: String,
    },
    /// Something the files say cannot be held by a topology, and nothing sensible can be
    /// guessed instead: each place, what it says and what to do.
    #[error("{}", located_lines(.0))]
    Unrepresentable(Vec<Note>),
    /// The generated topology does not validate: a bug in the importer.
    #[error("the imported topology does not validate (a bug in topo import, please report it):\n{problems}")]
    Invalid {
        /// The validation errors, one per line.
        problems: String,
        /// The text that failed.
        text: String,
    },
}

impl ImportError {
    /// A refusal at one place.
    pub(crate) fn refused(note: Note) -> ImportError {
        ImportError::Unrepresentable(vec![note])
    }
}

/// `file:line:column: error: message`, one line each, the first of each file.
fn located_lines(notes: &[Note]) -> String {
    note_lines(notes, "error").join("\n")
}

/// `file:line:column: KIND: message` for the first notes of each file
/// ([`crate::limit::MAX_REPORTED`]), then a line per file saying how many more it has.
pub fn note_lines(notes: &[Note], kind: &str) -> Vec<String> {
    crate::limit::per_file(notes.iter().map(|n| {
        (
            n.file.as_str(),
            format!("{}: {kind}: {}", n.location(), n.message),
        )
    }))
}

/// Builds a topology from Compose files, each with the mode it is for.
pub fn import(
    files: &[(ComposeFile, Mode)],
    options: &ImportOptions,
) -> Result<Imported, ImportError> {
    let sources = sources_by_mode(files)?;
    let mut checks = Vec::new();
    let mut top = Table::new(None);
    let names: Vec<&str> = sources.iter().map(|s| s.file.name.as_str()).collect();
    top.comment(&format!(
        "Imported by `topo import` from {}.\nCheck every `topo import:` comment, then delete it; `topo render` writes the Compose files from here on.",
        names.join(", ")
    ));
    let project = project_name(&sources, options, &mut top, &mut checks);
    top.set("project", Toml::str(&project));
    let plan = Plan::new(&sources, project, options);
    let mut document = Document::default();
    document.push(top);
    let mut settings = settings::Settings::default();
    if let Some(index) = plan.database {
        document.push(database::import(
            &plan,
            &plan.containers[index],
            &mut settings,
            &mut checks,
        )?);
    }
    // The routes' notes belong to the proxy's table, written after the services.
    let mut route_notes = Vec::new();
    let routes = plan
        .proxy
        .map(|index| proxy::routes(&plan, &plan.containers[index], &mut route_notes))
        .unwrap_or_default();
    for index in plan.services.clone() {
        for table in service::import(&plan, index, &routes, &mut settings, &mut checks) {
            document.push(table);
        }
    }
    for index in plan.accessories.clone() {
        for table in accessory::import(&plan, index, &mut settings, &mut checks) {
            document.push(table);
        }
    }
    if let Some(index) = plan.proxy {
        document.push(proxy::import(
            &plan,
            &plan.containers[index],
            route_notes,
            &mut settings,
            &mut checks,
        ));
    }
    for table in settings.tables(&mut checks) {
        document.push(table);
    }
    document.push(files_table(&sources));
    document.push(leftovers::not_imported(&plan, &mut checks));
    let (text, origins) = document.text_and_origins();
    validate(&text, &origins)?;
    Ok(Imported { text, checks })
}

/// `[files]`: the input file names, when they are not the defaults; a mode without a file
/// whose default name another mode's file took gets `docker-compose.<mode>.yml`.
fn files_table(sources: &[Source<'_>]) -> Table {
    let mut table = Table::new(Some("[files]"));
    let defaults = crate::model::OutputFiles::default();
    let key_and_default = |mode: Mode| match mode {
        Mode::Dev => ("dev", defaults.dev.as_str()),
        Mode::ProdSim => ("prod_sim", defaults.prod_sim.as_str()),
        Mode::Production => ("production", defaults.production.as_str()),
    };
    let given: Vec<(Mode, &str)> = sources
        .iter()
        .map(|source| {
            let name = &source.file.name;
            (source.mode, name.rsplit(['/', '\\']).next().unwrap_or(name))
        })
        .collect();
    if let Some(first) = sources.first() {
        table.read_from(Note {
            file: first.file.name.clone(),
            pos: Pos {
                line: 1,
                column: 1,
                offset: 0,
            },
            message: String::new(),
        });
    }
    for mode in Mode::ALL {
        let (key, default) = key_and_default(mode);
        match given.iter().find(|(m, _)| *m == mode) {
            Some((_, name)) if name != &default => table.set(key, Toml::str(*name)),
            Some(_) => {}
            None if given.iter().any(|(_, name)| *name == default) => {
                // A name no given file has (`docker-compose.<mode>.yml`, else `-2`, …).
                let name = (1..)
                    .map(|n| match n {
                        1 => format!("docker-compose.{mode}.yml"),
                        n => format!("docker-compose.{mode}-{n}.yml"),
                    })
                    .find(|candidate| !given.iter().any(|(_, name)| name == candidate))
                    .expect("an unused name among infinitely many");
                table.set(key, Toml::str(name));
            }
            None => {}
        }
    }
    if table.is_empty() {
        Table::new(None)
    } else {
        table
    }
}

/// Loads the text as `topo check` would. An error about a value read from the files is
/// something they say that a topology cannot hold: refused, at that place. Any other error
/// is a bug here.
fn validate(text: &str, origins: &[Option<&Note>]) -> Result<(), ImportError> {
    let source = SourceFile::new("topology.toml", text);
    let Err(diagnostics) = crate::load(&source, &ValidateOptions::default()) else {
        return Ok(());
    };
    let errors: Vec<&crate::Diagnostic> = diagnostics.iter().filter(|d| d.is_error()).collect();
    let located: Option<Vec<Note>> = errors
        .iter()
        .map(|diagnostic| {
            let span = diagnostic.span.as_ref()?;
            let (line, _) = source.line_col(span.start);
            let origin = origins.get(line - 1).copied().flatten()?;
            Some(Note {
                message: refusal(diagnostic),
                ..origin.clone()
            })
        })
        .collect();
    match located {
        Some(mut notes) if !notes.is_empty() => {
            notes.dedup();
            Err(ImportError::Unrepresentable(notes))
        }
        _ => Err(ImportError::Invalid {
            problems: crate::diagnostic::error_lines(&diagnostics, &source).join("\n"),
            text: text.to_owned(),
        }),
    }
}

/// What a refused value means, from `topo check`'s diagnostic of the imported text.
fn refusal(diagnostic: &crate::Diagnostic) -> String {
    let help = diagnostic
        .help
        .as_deref()
        .map_or_else(String::new, |help| format!(" ({help})"));
    format!(
        "a topology cannot hold what is written here: {}{help}; change it in the Compose file, or leave it out and write it in topology.toml by hand",
        diagnostic.message
    )
}
