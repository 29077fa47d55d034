//! What must hold for every input, checked in-process against the libraries: every
//! reported position inside the text with the line and column of its offset, reports drawn
//! without a panic, import output that `topo check` accepts, and for a valid topology an
//! exact round trip: `import(render(t))` renders the same bytes as `t`.
//! (Panics and time are the driver's: it runs these under `catch_unwind` and a clock.)

use std::path::PathBuf;

use miette::{GraphicalReportHandler, GraphicalTheme};
use topo_core::compose::ComposeFile;
use topo_core::import::{import, ImportError, ImportOptions, Note};
use topo_core::lint::{self, LintFile, LintOptions};
use topo_core::{Diagnostic, RenderOptions, SourceFile, ValidTopology, ValidateOptions};

use super::corpus::ComposeSeed;
use super::positions::position;
use super::shown::{FuzzHost, Shown};

/// One input of one target.
#[derive(Clone, Debug)]
pub enum Input {
    Topology(String),
    Compose {
        files: Vec<ComposeSeed>,
        dockerfile: String,
        /// How `topo import` is called: `--project`, and where the files sit as seen from
        /// the topology (`-o`).
        options: ImportOptions,
    },
    Document {
        name: String,
        text: String,
    },
}

impl Input {
    /// The files to write for a finding: (name, text).
    pub fn files(&self) -> Vec<(String, String)> {
        match self {
            Input::Topology(text) => vec![("topology.toml".to_owned(), text.clone())],
            Input::Compose {
                files, dockerfile, ..
            } => files
                .iter()
                .map(|f| (f.name.clone(), f.text.clone()))
                .chain([("Dockerfile".to_owned(), dockerfile.clone())])
                .collect(),
            Input::Document { name, text } => vec![(name.clone(), text.clone())],
        }
    }

    /// Its size, to keep the smallest input of each finding.
    pub fn len(&self) -> usize {
        self.files().iter().map(|(_, t)| t.len()).sum()
    }

    /// The command that replays it, for the finding's description.
    pub fn replay(&self) -> String {
        match self {
            Input::Topology(_) => "topo check -t topology.toml && topo render -t topology.toml && topo import docker-compose*.yml".to_owned(),
            Input::Compose { files, options, .. } => {
                let names: Vec<String> = files
                    .iter()
                    .map(|f| format!("{} --mode {}={}", f.name, f.name, f.mode))
                    .collect();
                format!(
                    "topo lint {0}; topo import {0} (ImportOptions {{ project: {1:?}, directory: {2:?} }})",
                    names.join(" "),
                    options.project,
                    options.directory
                )
            }
            Input::Document { name, .. } => format!("topo-ci plan/mark reading {name}"),
        }
    }
}

/// A broken promise: which oracle, a signature that groups repeats, what happened.
#[derive(Clone, Debug)]
pub struct Finding {
    pub oracle: &'static str,
    pub signature: String,
    pub message: String,
}

pub(super) fn finding(
    oracle: &'static str,
    signature: impl Into<String>,
    message: impl Into<String>,
) -> Finding {
    Finding {
        oracle,
        signature: signature.into(),
        message: message.into(),
    }
}

/// Counts of what the inputs did, for the summary.
#[derive(Debug, Default)]
pub struct Stats {
    pub valid_topologies: usize,
    pub round_trips: usize,
    pub imports: usize,
    pub refusals: usize,
    pub lint_findings: usize,
}

/// Runs `input` through its target, pushing every broken promise.
pub fn check(input: &Input, stats: &mut Stats, out: &mut Vec<Finding>) {
    super::positions::SCANNED.with(|cell| cell.borrow_mut().clear());
    match input {
        Input::Topology(text) => topology(text, stats, out),
        Input::Compose {
            files,
            dockerfile,
            options,
        } => compose(files, dockerfile, options, stats, out),
        Input::Document { name, text } => document(name, text, out),
    }
}

fn topology(text: &str, stats: &mut Stats, out: &mut Vec<Finding>) {
    let source = SourceFile::new("topology.toml", text);
    match topo_core::load(&source, &ValidateOptions::default()) {
        Err(diagnostics) => diagnostics_drawn(&source, &diagnostics, out),
        Ok(validated) => {
            stats.valid_topologies += 1;
            diagnostics_drawn(&source, &validated.warnings, out);
            // `topo check`'s lint of its own renders: placed in the topology, drawn.
            let renders = topo_core::agreement::lint_renders(&validated.topology, &source, None);
            diagnostics_drawn(&source, &renders, out);
            round_trip(&validated.topology, stats, out);
        }
    }
}

/// Every span inside the text, on character boundaries; the reports drawn as the CLI does.
fn diagnostics_drawn(source: &SourceFile, diagnostics: &[Diagnostic], out: &mut Vec<Finding>) {
    let text = source.text();
    let handler = handler();
    for diagnostic in diagnostics.iter().take(topo_core::limit::MAX_REPORTED) {
        let spans = diagnostic
            .span
            .iter()
            .chain(diagnostic.related.iter().map(|(span, _)| span));
        for span in spans {
            let inside = span.start <= span.end
                && span.end <= text.len()
                && text.is_char_boundary(span.start)
                && text.is_char_boundary(span.end);
            if !inside {
                out.push(finding(
                    "position",
                    format!("check {}", diagnostic.code),
                    format!(
                        "`{}` points at {span:?} of a {}-byte text",
                        diagnostic.code,
                        text.len()
                    ),
                ));
            }
        }
        let located = diagnostic.in_source(source);
        let _ = located.short();
        let _ = topo_core::report::graphical(&handler, &located);
    }
}

fn handler() -> GraphicalReportHandler {
    GraphicalReportHandler::new_themed(GraphicalTheme::unicode_nocolor()).with_width(100)
}

/// `import(render(t))` renders the same bytes as `t`, needs no checks, and the lint finds
/// no drift between `t` and its own render.
fn round_trip(topology: &ValidTopology, stats: &mut Stats, out: &mut Vec<Finding>) {
    // `topo import` reads Compose files, not Swarm stack files (issue 18, not built yet).
    if topology.production.engine == topo_core::model::ProductionEngine::Swarm {
        return;
    }
    let options = RenderOptions::default();
    let rendered = topo_core::render_all(topology, &options);
    let mut files = Vec::new();
    for file in &rendered {
        match ComposeFile::read(file.file_name.clone(), file.contents.clone()) {
            Ok(read) => files.push((read, file.mode)),
            Err(error) => {
                out.push(finding(
                    "roundtrip",
                    "render unreadable",
                    format!(
                        "topo's render of {} is not read back: {}",
                        file.file_name, error.message
                    ),
                ));
                return;
            }
        }
    }
    self_drift(topology, &files, out);
    let imported = match import(&files, &ImportOptions::default()) {
        Ok(imported) => imported,
        Err(error) => {
            let text = error.to_string();
            let first = text.lines().find(|l| l.contains("error")).unwrap_or(&text);
            out.push(finding(
                "roundtrip",
                format!("refused: {}", signature_of(first)),
                format!("import refuses topo's own render: {error}"),
            ));
            return;
        }
    };
    if let Some(note) = imported.checks.first() {
        out.push(finding(
            "roundtrip",
            format!("check: {}", signature_of(&note.message)),
            format!(
                "importing topo's own render needs a check: {}: {}",
                note.location(),
                note.message
            ),
        ));
    }
    let source = SourceFile::new("imported.toml", imported.text.as_str());
    let again = match topo_core::load(&source, &ValidateOptions::default()) {
        Ok(validated) => validated.topology,
        Err(diagnostics) => {
            let lines = topo_core::diagnostic::error_lines(&diagnostics, &source);
            out.push(finding(
                "import-invalid",
                "roundtrip",
                format!(
                    "the import of a render does not validate: {}",
                    lines.join("; ")
                ),
            ));
            return;
        }
    };
    for (before, after) in rendered.iter().zip(topo_core::render_all(&again, &options)) {
        if before.contents != after.contents {
            let diff = topo_core::render::unified_diff(
                &before.contents,
                &after.contents,
                &before.file_name,
            );
            let first = diff
                .lines()
                .find(|l| l.starts_with('-') && !l.starts_with("---"))
                .unwrap_or_default();
            out.push(finding(
                "roundtrip",
                format!("differs: {}", signature_of(first)),
                format!(
                    "{} differs after import: {}",
                    before.file_name,
                    first.trim()
                ),
            ));
            return;
        }
    }
    stats.round_trips += 1;
}

/// The lint finds no drift between a topology and its own render.
fn self_drift(
    topology: &ValidTopology,
    files: &[(ComposeFile, topo_core::Mode)],
    out: &mut Vec<Finding>,
) {
    let lint_files: Vec<LintFile> = files
        .iter()
        .map(|(f, m)| LintFile::new(f.clone(), *m))
        .collect();
    let report = lint::lint(
        &lint_files,
        &LintOptions {
            topology: Some(topology),
            ..LintOptions::default()
        },
    );
    if let Some(drift) = report.findings.iter().find(|f| f.rule == "topology-drift") {
        out.push(finding(
            "self-drift",
            "topology-drift",
            format!(
                "the lint finds drift between a topology and its own render: {}: {}",
                drift.place, drift.message
            ),
        ));
    }
}

/// A message without the values in it (quoted text, numbers): repeats of one bug group.
fn signature_of(message: &str) -> String {
    let mut out = String::new();
    let mut quoted = false;
    for c in message.chars().take(120) {
        match c {
            '`' => {
                quoted = !quoted;
                out.push(c);
            }
            _ if quoted => {}
            c if c.is_ascii_digit() => {}
            c => out.push(c),
        }
    }
    out.split(':').next().unwrap_or_default().trim().to_owned()
}

/// Lint and import of a Compose set (one file possibly mutated).
fn compose(
    seeds: &[ComposeSeed],
    dockerfile: &str,
    import_options: &ImportOptions,
    stats: &mut Stats,
    out: &mut Vec<Finding>,
) {
    let mut files = Vec::new();
    for seed in seeds {
        match ComposeFile::read(seed.name.clone(), seed.text.clone()) {
            Ok(file) => files.push((file, seed.mode)),
            Err(error) => {
                if let Some(pos) = error.pos {
                    position(
                        &seed.text,
                        pos.offset,
                        pos.line as usize,
                        pos.column as usize,
                        "compose syntax error",
                        out,
                    );
                }
            }
        }
    }
    if files.is_empty() {
        return;
    }
    let host = FuzzHost { dockerfile };
    let lint_files: Vec<LintFile> = files
        .iter()
        .map(|(file, mode)| LintFile {
            file: file.clone(),
            mode: *mode,
            dir: Some(PathBuf::from("/fuzz")),
            root: ".".to_owned(),
        })
        .collect();
    let options = LintOptions {
        host: &host,
        ..LintOptions::default()
    };
    lint_checked(&lint_files, &options, stats, out);
    match import(&files, import_options) {
        Ok(imported) => {
            stats.imports += 1;
            notes(&files, &imported.checks, out);
            let source = SourceFile::new("t.toml", imported.text.as_str());
            match topo_core::load(&source, &ValidateOptions::default()) {
                Ok(validated) => {
                    let _ = topo_core::render_all(&validated.topology, &RenderOptions::default());
                    let with_topology = LintOptions {
                        topology: Some(&validated.topology),
                        ..options
                    };
                    lint_checked(&lint_files, &with_topology, stats, out);
                }
                Err(diagnostics) => {
                    let lines = topo_core::diagnostic::error_lines(&diagnostics, &source);
                    out.push(finding(
                        "import-invalid",
                        format!("returned: {}", diagnostics[0].code),
                        format!(
                            "import returned a topology `topo check` refuses: {}",
                            lines.join("; ")
                        ),
                    ));
                }
            }
        }
        Err(ImportError::Invalid { problems, .. }) => {
            let code = problems
                .split(['[', ']'])
                .nth(1)
                .unwrap_or_default()
                .to_owned();
            out.push(finding(
                "import-invalid",
                format!("bug: {code}"),
                format!("import reports a bug: {problems}"),
            ));
        }
        Err(ImportError::Unrepresentable(refusals)) => {
            stats.refusals += 1;
            notes(&files, &refusals, out);
        }
        Err(_) => {}
    }
}

/// Lints, checks every place, and draws the first findings of each file as the CLI does.
fn lint_checked(
    files: &[LintFile],
    options: &LintOptions<'_>,
    stats: &mut Stats,
    out: &mut Vec<Finding>,
) {
    let report = lint::lint(files, options);
    stats.lint_findings += report.findings.len();
    let handler = handler();
    for item in &report.findings {
        for place in std::iter::once(&item.place).chain(&item.related) {
            match files.iter().find(|f| f.file.name == place.file) {
                Some(file) => position(
                    &file.file.text,
                    place.offset,
                    place.line as usize,
                    place.column as usize,
                    item.rule,
                    out,
                ),
                None => out.push(finding(
                    "position",
                    item.rule,
                    format!(
                        "{} points into `{}`, no file of the lint",
                        item.rule, place.file
                    ),
                )),
            }
        }
    }
    for item in report.findings.iter().take(topo_core::limit::MAX_REPORTED) {
        if let Some(file) = files.iter().find(|f| f.file.name == item.place.file) {
            let _ = topo_core::report::graphical(
                &handler,
                &Shown::new(item, &item.place, &file.file.text),
            );
        }
    }
}

/// Every note's position inside its file, with the line and column of its offset.
fn notes(files: &[(ComposeFile, topo_core::Mode)], notes: &[Note], out: &mut Vec<Finding>) {
    for note in notes {
        match files.iter().find(|(f, _)| f.name == note.file) {
            Some((file, _)) => position(
                &file.text,
                note.pos.offset,
                note.pos.line as usize,
                note.pos.column as usize,
                "import note",
                out,
            ),
            None => out.push(finding(
                "position",
                "import note file",
                format!("a note names `{}`, no input file", note.file),
            )),
        }
    }
}

/// Marker and plan documents: errors name a line of the text and a column of that line.
fn document(name: &str, text: &str, out: &mut Vec<Finding>) {
    let line_ok = |line: usize, column: usize| {
        let lines: Vec<&str> = text.split('\n').collect();
        line >= 1 && lines.get(line - 1).is_some_and(|l| column <= l.len() + 1)
    };
    if name == "plan.json" {
        if let Err(error) = serde_json::from_str::<topo_ci::plan::Plan>(text) {
            if error.line() > 0 && !line_ok(error.line(), error.column()) {
                out.push(finding(
                    "position",
                    "plan",
                    format!(
                        "plan error at {}:{} outside the text",
                        error.line(),
                        error.column()
                    ),
                ));
            }
        }
        return;
    }
    let dir = std::env::temp_dir().join(format!("topo-fuzz-{}", std::process::id()));
    if std::fs::create_dir_all(&dir).is_err() {
        return;
    }
    let store = topo_ci::markers::FileStore::new(&dir);
    if std::fs::write(store.path(), text).is_err() {
        return;
    }
    if let Err(topo_ci::markers::MarkerError::Corrupt { line, column, .. }) = store.load() {
        if line > 0 && !line_ok(line, column) {
            out.push(finding(
                "position",
                "markers",
                format!("marker error at {line}:{column} outside the text"),
            ));
        }
    }
}
