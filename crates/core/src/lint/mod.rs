//! `topo lint`: parity drift in hand-written Compose files.
//!
//! Three kinds of rule: *across* files (the same application described differently for two
//! environments), *per file* (what breaks parity or production inside one file), and, given a
//! topology, *drift* from what it renders. Every finding points at file:line:column and, for
//! cross-file findings, at the related place in the other file.
//!
//! The lint knows nothing about Docker or the terminal: it reads the files it is given (and,
//! through [`Host`], Dockerfiles and directories beside them) and returns data; the binary
//! prints it.

mod across;
mod confinement;
mod drift;
mod facts;
mod hosts;
mod per_file;
pub mod report;
mod suppress;
#[cfg(test)]
mod tests;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::Serialize;

use crate::compose::{ComposeFile, Pos};
use crate::model::Level;
use crate::render::RenderOptions;
use crate::validate::ValidTopology;
use crate::Mode;

// The catalogue lives with the model: `[lint.rules]` is validated against it, and the
// validation knows nothing about the lint itself.
use crate::model::lint_rules as rules;
pub use rules::{Rule, RULES};

/// One Compose file to lint and the environment it describes.
#[derive(Clone, Debug)]
pub struct LintFile {
    /// The file, parsed.
    pub file: ComposeFile,
    /// Its environment.
    pub mode: Mode,
    /// The directory it sits in, for host paths it names (bind mounts, build contexts);
    /// `None` when the lint may not look at the disk.
    pub dir: Option<PathBuf>,
    /// The topology's directory as seen from this file's (`.` when beside it): how the
    /// topology renders paths for this file. Only used with a topology.
    pub root: String,
}

impl LintFile {
    /// A file whose mode is given, with no access to the disk.
    pub fn new(file: ComposeFile, mode: Mode) -> Self {
        LintFile {
            file,
            mode,
            dir: None,
            root: ".".to_owned(),
        }
    }
}

/// What the lint may read beside the files: Dockerfiles (their stages) and directories
/// (a host `node_modules` under a bind-mounted source).
pub trait Host {
    /// The text of a file, if it can be read.
    fn read(&self, path: &Path) -> Option<String>;
    /// True when the path is a directory.
    fn is_dir(&self, path: &Path) -> bool;
}

/// The real file system.
#[derive(Clone, Copy, Debug, Default)]
pub struct Disk;

impl Host for Disk {
    fn read(&self, path: &Path) -> Option<String> {
        std::fs::read_to_string(path).ok()
    }
    fn is_dir(&self, path: &Path) -> bool {
        path.is_dir()
    }
}

/// Options of a lint run (the inputs being the files).
#[derive(Clone, Copy)]
pub struct LintOptions<'a> {
    /// The topology the files should match (`topology-drift`), if any.
    pub topology: Option<&'a ValidTopology>,
    /// The topology's file name, for messages and render headers.
    pub topology_name: &'a str,
    /// Where the lint may look beside the files.
    pub host: &'a dyn Host,
}

impl Default for LintOptions<'_> {
    fn default() -> Self {
        LintOptions {
            topology: None,
            topology_name: "topology.toml",
            host: &Disk,
        }
    }
}

/// A place in a file.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize)]
pub struct Place {
    /// The file, as given.
    pub file: String,
    /// 1-based line.
    pub line: u32,
    /// 1-based column.
    pub column: u32,
    /// Byte offset, for snippets.
    #[serde(skip)]
    pub offset: usize,
}

impl Place {
    /// The place `pos` in `file`: its byte offset, and that offset's line and column.
    pub fn at(file: &ComposeFile, pos: Pos) -> Place {
        let pos = file.pos_at(pos.offset);
        Place {
            file: file.name.clone(),
            line: pos.line,
            column: pos.column,
            offset: pos.offset,
        }
    }
}

impl std::fmt::Display for Place {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}:{}:{}", self.file, self.line, self.column)
    }
}

/// One problem found.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Finding {
    /// The rule's stable id (`db-major-drift`).
    pub rule: &'static str,
    /// How much it weighs (the rule's default, or the topology's override).
    pub severity: Level,
    /// Where.
    #[serde(flatten)]
    pub place: Place,
    /// One line: what is wrong.
    pub message: String,
    /// What to do about it.
    pub hint: String,
    /// The related places in other files (or elsewhere in this one).
    pub related: Vec<Place>,
}

/// What a lint run found.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Report {
    /// The findings, by file (in the order given), line and column.
    pub findings: Vec<Finding>,
    /// How many findings inline `# topo-lint: allow` comments suppressed.
    pub suppressed: usize,
}

impl Report {
    /// True when any finding is an error.
    pub fn has_errors(&self) -> bool {
        self.findings.iter().any(|f| f.severity == Level::Error)
    }

    /// How many findings have this severity.
    pub fn count(&self, severity: Level) -> usize {
        self.findings
            .iter()
            .filter(|f| f.severity == severity)
            .count()
    }
}

/// A finding before levels and suppressions are applied.
pub(crate) struct Raw {
    rule: &'static str,
    level: Level,
    place: Place,
    message: String,
    hint: String,
    related: Vec<Place>,
}

impl Raw {
    /// A finding of `rule` at its default level.
    pub(crate) fn new(rule: &'static str, place: Place, message: impl Into<String>) -> Raw {
        Raw {
            rule,
            level: rules::rule(rule).level,
            place,
            message: message.into(),
            hint: rules::rule(rule).hint.to_owned(),
            related: Vec::new(),
        }
    }

    /// Replaces the rule's generic hint with one about this case.
    pub(crate) fn hint(mut self, hint: impl Into<String>) -> Raw {
        self.hint = hint.into();
        self
    }

    /// Adds a related place.
    pub(crate) fn related(mut self, place: Place) -> Raw {
        self.related.push(place);
        self
    }

    /// A level other than the rule's default for this case (`literal-secret` in dev).
    pub(crate) fn level(mut self, level: Level) -> Raw {
        self.level = level;
        self
    }
}

/// Lints the files: every rule, then the topology's levels, then inline suppressions.
pub fn lint(files: &[LintFile], options: &LintOptions<'_>) -> Report {
    let no_levels = BTreeMap::new();
    let levels = options.topology.map_or(&no_levels, |t| &t.lint_levels);
    run(files, options, levels)
}

/// Lints a topology's own renders, as `topo check` does: every rule but `topology-drift`
/// (a render is its own topology), at the topology's levels.
pub(crate) fn lint_renders(
    files: &[LintFile],
    host: &dyn Host,
    levels: &BTreeMap<String, Level>,
) -> Report {
    let options = LintOptions {
        topology: None,
        host,
        ..LintOptions::default()
    };
    run(files, &options, levels)
}

fn run(files: &[LintFile], options: &LintOptions<'_>, levels: &BTreeMap<String, Level>) -> Report {
    let mut raw = Vec::new();
    for file in files {
        per_file::check(file, files, options.host, &mut raw);
    }
    across::check(files, &mut raw);
    if let Some(topology) = options.topology {
        drift::check(files, topology, options.topology_name, &mut raw);
    }
    let (mut findings, suppressed) = suppress::apply(files, raw);
    for finding in &mut findings {
        if let Some(level) = levels.get(finding.rule) {
            finding.severity = *level;
        }
    }
    findings.retain(|f| f.severity != Level::Off);
    let order: BTreeMap<&str, usize> = files
        .iter()
        .enumerate()
        .map(|(i, f)| (f.file.name.as_str(), i))
        .collect();
    findings.sort_by(|a, b| {
        let file = |f: &Finding| {
            order
                .get(f.place.file.as_str())
                .copied()
                .unwrap_or(usize::MAX)
        };
        (file(a), a.place.line, a.place.column, a.rule, &a.message).cmp(&(
            file(b),
            b.place.line,
            b.place.column,
            b.rule,
            &b.message,
        ))
    });
    findings.dedup();
    Report {
        findings,
        suppressed,
    }
}

/// The topology render options for a file: its root, and the topology's name in the header.
pub(crate) fn render_options(file: &LintFile, topology_name: &str) -> RenderOptions {
    RenderOptions {
        source_name: topology_name.to_owned(),
        root: file.root.clone(),
        spec: crate::SpecOptions::default(),
    }
}
