//! `topo lint`: flags, a call into `topo_core::lint`, the report printed, exit codes
//! (0 clean or warnings only, 1 errors found, 2 usage or unreadable input).

use std::path::{Path, PathBuf};

use clap::{Args, ValueEnum};
use miette::{LabeledSpan, NamedSource};
use topo_core::compose::{self, ComposeFile};
use topo_core::lint::{self, Finding, LintFile, LintOptions, Report};
use topo_core::model::Level;
use topo_core::report::Exit;
use topo_core::Mode;

use crate::error::CommandError;

use crate::input::{directory_of, Input};

/// Flags of `topo lint`.
#[derive(Args)]
#[command(after_long_help = rules_help())]
pub struct LintArgs {
    /// The Compose files: one per environment (dev, prod-sim, production), modes inferred from
    /// their names (`*prod-sim*`, `*prod*`/`*production*`, otherwise dev).
    #[arg(required = true, value_name = "FILE")]
    files: Vec<PathBuf>,
    /// Compare every file with what this topology renders for its mode (`topology-drift`),
    /// and take rule levels from its `[lint.rules]`.
    #[arg(short = 't', long = "topology", value_name = "FILE")]
    topology: Option<PathBuf>,
    /// The mode of a file, when its name does not tell: `FILE=dev|prod-sim|production`.
    #[arg(long = "mode", value_name = "FILE=MODE", value_parser = parse_mode)]
    modes: Vec<(PathBuf, Mode)>,
    /// How to print findings: `text` (snippets, to stderr), `short` (one line each), `json`
    /// or `sarif` (to stdout).
    #[arg(long, value_enum, default_value_t = LintFormat::Text)]
    format: LintFormat,
}

/// Output formats of `topo lint`.
#[derive(Clone, Copy, ValueEnum)]
enum LintFormat {
    Text,
    Short,
    Json,
    Sarif,
}

/// The rule catalogue, for `topo lint --help`.
fn rules_help() -> String {
    let mut text = String::from("Rules (default level; `# topo-lint: allow RULE` on or above a line silences one, `[lint.rules]` in the topology sets levels):\n");
    for rule in lint::RULES {
        text += &format!(
            "  {:<26} {:<8} {}\n",
            rule.id,
            rule.level.as_str(),
            rule.summary
        );
    }
    text + "\nExit codes: 0 no errors (warnings allowed), 1 errors found, 2 usage or unreadable input."
}

/// `FILE=MODE` of `--mode` (shared with `topo import`); clap prints the error.
pub fn parse_mode(text: &str) -> Result<(PathBuf, Mode), String> {
    let (file, mode) = text
        .rsplit_once('=')
        .ok_or_else(|| format!("`{text}`: write FILE=MODE, e.g. deploy/compose.yml=production"))?;
    Ok((PathBuf::from(file), mode.parse()?))
}

/// Runs `topo lint`: exit 0 without errors (warnings allowed), 1 with errors, 2 when the
/// command line or an input is wrong.
pub fn run(args: &LintArgs) -> Result<Exit, CommandError> {
    let report = lint_files(args)?;
    print(&report, args.format);
    Ok(Exit::from_ok(!report.has_errors()))
}

fn lint_files(args: &LintArgs) -> Result<Report, CommandError> {
    for (path, _) in &args.modes {
        if !args.files.contains(path) {
            return Err(CommandError::Usage(format!(
                "--mode names {}, which is not among the files to lint",
                path.display()
            )));
        }
    }
    let topology = match &args.topology {
        None => None,
        Some(path) => {
            let input = Input::File(path.clone());
            match crate::output::load(&input, crate::output::Format::Human) {
                Ok(Some((_, validated))) => Some((input, validated)),
                Ok(None) => {
                    return Err(CommandError::Usage(format!(
                        "{} is not a valid topology",
                        path.display()
                    )))
                }
                Err(error) => return Err(CommandError::Usage(error.to_string())),
            }
        }
    };
    let mut files = Vec::new();
    let mut problems = Vec::new();
    for path in &args.files {
        let name = path.display().to_string();
        let text = match std::fs::read_to_string(path) {
            Ok(text) => text,
            Err(error) => {
                problems.push(format!("{name}: error: cannot read: {error}"));
                continue;
            }
        };
        let file = match ComposeFile::read(name.clone(), text) {
            Ok(file) => file,
            Err(error) => {
                let at = error
                    .pos
                    .map_or(String::new(), |p| format!(":{}:{}", p.line, p.column));
                problems.push(format!("{name}{at}: error: {}", error.message));
                continue;
            }
        };
        let mode = args
            .modes
            .iter()
            .find(|(p, _)| p == path)
            .map(|(_, m)| *m)
            .or_else(|| {
                topology
                    .as_ref()
                    .and_then(|(input, v)| mode_in_topology(input, &v.topology, path))
            })
            .unwrap_or_else(|| compose::mode_of_file_name(&name));
        let dir = directory_of(path);
        let root = match &topology {
            Some((input, _)) => crate::output::render_options(input, &dir)?.root,
            None => ".".to_owned(),
        };
        files.push(LintFile {
            file,
            mode,
            dir: Some(dir),
            root,
        });
    }
    if !problems.is_empty() {
        return Err(CommandError::Unreadable(problems));
    }
    let topology_name = args
        .topology
        .as_deref()
        .map_or_else(|| "topology.toml".to_owned(), |p| p.display().to_string());
    let options = LintOptions {
        topology: topology.as_ref().map(|(_, v)| &v.topology),
        topology_name: &topology_name,
        ..LintOptions::default()
    };
    Ok(lint::lint(&files, &options))
}

/// The mode whose file the topology's `[files]` names `path`, if it names it.
fn mode_in_topology(
    input: &Input,
    topology: &topo_core::ValidTopology,
    path: &Path,
) -> Option<Mode> {
    let directory = input.repository()?;
    let wanted = std::path::absolute(path).ok()?;
    Mode::ALL.into_iter().find(|&mode| {
        let named = directory.join(topo_core::render::file_name(topology, mode));
        std::path::absolute(named).is_ok_and(|p| p == wanted)
    })
}

fn print(report: &Report, format: LintFormat) {
    match format {
        LintFormat::Json => print!("{}", lint::report::to_json(report)),
        LintFormat::Sarif => print!("{}", lint::report::to_sarif(report)),
        LintFormat::Short => {
            for_shown(report, |finding| eprintln!("{}", short(finding)));
            summary(report);
        }
        LintFormat::Text => {
            let handler = crate::output::report_handler();
            for_shown(report, |finding| {
                match topo_core::report::graphical(&handler, &Snippet::new(finding)) {
                    Some(text) => eprint!("{text}"),
                    // A place miette cannot draw: the one-line form and the hint.
                    None => eprintln!("{}\n  help: {}", short(finding), finding.hint),
                }
            });
            summary(report);
        }
    }
}

/// Calls `print` on the first findings of each file (`topo_core::limit`), then says how
/// many of that file's are not shown.
fn for_shown(report: &Report, mut print: impl FnMut(&Finding)) {
    let mut start = 0;
    while start < report.findings.len() {
        let file = &report.findings[start].place.file;
        let count = report.findings[start..]
            .iter()
            .take_while(|f| f.place.file == *file)
            .count();
        let (shown, hidden) = topo_core::limit::shown(&report.findings[start..start + count]);
        shown.iter().for_each(&mut print);
        if hidden > 0 {
            eprintln!("{}", topo_core::limit::more_line(file, hidden));
        }
        start += count;
    }
}

fn short(finding: &Finding) -> String {
    let related: String = finding
        .related
        .iter()
        .map(|p| format!(" (related: {p})"))
        .collect();
    format!(
        "{}: {}[{}]: {}{related}",
        finding.place,
        finding.severity.as_str(),
        finding.rule,
        finding.message
    )
}

fn summary(report: &Report) {
    let errors = report.count(Level::Error);
    let warnings = report.count(Level::Warning) + report.count(Level::Note);
    let suppressed = match report.suppressed {
        0 => String::new(),
        n => format!(", {n} suppressed"),
    };
    eprintln!(
        "topo lint: {errors} error{}, {warnings} warning{}{suppressed}",
        if errors == 1 { "" } else { "s" },
        if warnings == 1 { "" } else { "s" }
    );
}

/// A finding as a miette diagnostic: the snippet at its place, the related places as related
/// diagnostics with their own files.
#[derive(Debug)]
struct Snippet {
    message: String,
    code: String,
    severity: miette::Severity,
    help: Option<String>,
    source: NamedSource<String>,
    label: LabeledSpan,
    related: Vec<Snippet>,
}

impl Snippet {
    fn new(finding: &Finding) -> Snippet {
        let mut snippet = Snippet::at(&finding.place, finding.severity, "here");
        snippet.message = finding.message.clone();
        snippet.code = finding.rule.to_owned();
        snippet.help = Some(finding.hint.clone());
        snippet.related = finding
            .related
            .iter()
            .map(|place| {
                let mut related = Snippet::at(place, Level::Note, "related");
                related.message = format!("related: {place}");
                related
            })
            .collect();
        snippet
    }

    fn at(place: &lint::Place, level: Level, label: &str) -> Snippet {
        let text = std::fs::read_to_string(Path::new(&place.file)).unwrap_or_default();
        let offset = topo_core::text::LineIndex::clamp(&text, place.offset);
        // One character, or the rest of the word, so the label has something to underline.
        let length = text[offset..]
            .find(|c: char| c.is_whitespace() || c == ',' || c == ']')
            .unwrap_or(text.len() - offset)
            .max(1)
            .min(text.len().saturating_sub(offset));
        Snippet {
            message: String::new(),
            code: String::new(),
            severity: match level {
                Level::Error => miette::Severity::Error,
                Level::Warning => miette::Severity::Warning,
                Level::Note | Level::Off => miette::Severity::Advice,
            },
            help: None,
            source: NamedSource::new(place.file.clone(), text),
            label: LabeledSpan::at(offset..offset + length, label),
            related: Vec::new(),
        }
    }
}

impl std::fmt::Display for Snippet {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for Snippet {}

impl miette::Diagnostic for Snippet {
    fn code<'a>(&'a self) -> Option<Box<dyn std::fmt::Display + 'a>> {
        (!self.code.is_empty()).then(|| Box::new(&self.code) as Box<dyn std::fmt::Display>)
    }
    fn severity(&self) -> Option<miette::Severity> {
        Some(self.severity)
    }
    fn help<'a>(&'a self) -> Option<Box<dyn std::fmt::Display + 'a>> {
        self.help
            .as_ref()
            .map(|h| Box::new(h) as Box<dyn std::fmt::Display>)
    }
    fn source_code(&self) -> Option<&dyn miette::SourceCode> {
        Some(&self.source)
    }
    fn labels(&self) -> Option<Box<dyn Iterator<Item = LabeledSpan> + '_>> {
        Some(Box::new(std::iter::once(self.label.clone())))
    }
    fn related<'a>(&'a self) -> Option<Box<dyn Iterator<Item = &'a dyn miette::Diagnostic> + 'a>> {
        (!self.related.is_empty()).then(|| {
            Box::new(self.related.iter().map(|r| r as &dyn miette::Diagnostic))
                as Box<dyn Iterator<Item = _>>
        })
    }
}
