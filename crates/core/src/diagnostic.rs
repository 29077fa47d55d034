//! Problems found in a topology, each pointing at the text it is about.
//!
//! A [`Diagnostic`] is plain data (what, where, how to fix it). Paired with the
//! [`SourceFile`] it was found in, it becomes a [`miette::Diagnostic`] that a
//! binary can render with a source snippet.

use std::fmt;
use std::ops::Range;

use miette::{LabeledSpan, MietteSpanContents, SourceCode, SourceSpan, SpanContents};
use serde::Serialize;

use crate::text::LineIndex;

/// How bad a problem is: errors make a topology unusable, warnings do not.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    /// The topology cannot be rendered or deployed until this is fixed.
    Error,
    /// Worth a look; nothing is refused because of it.
    Warning,
}

/// One problem: a stable code, a message, where it is, and a hint.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Diagnostic {
    /// Error or warning.
    pub severity: Severity,
    /// A stable kebab-case identifier, e.g. `naming` or `dependency-cycle`.
    pub code: &'static str,
    /// One line saying what is wrong.
    pub message: String,
    /// The byte range of the offending text, when there is one.
    #[serde(skip)]
    pub span: Option<Range<usize>>,
    /// A short note placed under the offending text.
    pub label: Option<String>,
    /// What to do about it.
    pub help: Option<String>,
    /// Other places that take part in the problem (the first definition of a duplicate, …).
    #[serde(skip)]
    pub related: Vec<(Range<usize>, String)>,
}

impl Diagnostic {
    /// An error with the given code and message, pointing nowhere yet.
    pub fn error(code: &'static str, message: impl Into<String>) -> Self {
        Diagnostic {
            severity: Severity::Error,
            code,
            message: message.into(),
            span: None,
            label: None,
            help: None,
            related: Vec::new(),
        }
    }

    /// A warning with the given code and message, pointing nowhere yet.
    pub fn warning(code: &'static str, message: impl Into<String>) -> Self {
        Diagnostic {
            severity: Severity::Warning,
            ..Diagnostic::error(code, message)
        }
    }

    /// Points the diagnostic at a span (no-op for values built in code) with a label.
    pub fn at(mut self, span: Option<Range<usize>>, label: impl Into<String>) -> Self {
        self.span = span;
        self.label = Some(label.into());
        self
    }

    /// Adds the hint that says how to fix the problem.
    pub fn help(mut self, help: impl Into<String>) -> Self {
        self.help = Some(help.into());
        self
    }

    /// Adds a second place involved in the problem.
    pub fn related(mut self, span: Option<Range<usize>>, label: impl Into<String>) -> Self {
        if let Some(span) = span {
            self.related.push((span, label.into()));
        }
        self
    }

    /// True for errors.
    pub fn is_error(&self) -> bool {
        self.severity == Severity::Error
    }

    /// Pairs the diagnostic with its source so it can be rendered with a snippet.
    pub fn in_source<'a>(&'a self, source: &'a SourceFile) -> Located<'a> {
        Located {
            diagnostic: self,
            source,
        }
    }
}

/// The errors among `diagnostics`, one `file:line:column: error[code]: message` line each:
/// what a command that refuses an invalid topology prints before pointing at `topo check`.
pub fn error_lines(diagnostics: &[Diagnostic], source: &SourceFile) -> Vec<String> {
    diagnostics
        .iter()
        .filter(|d| d.is_error())
        .map(|d| d.in_source(source).short())
        .collect()
}

/// True when any diagnostic in the list is an error.
pub fn has_errors(diagnostics: &[Diagnostic]) -> bool {
    diagnostics.iter().any(Diagnostic::is_error)
}

/// The text of a topology and the name to show for it (usually its path).
#[derive(Clone, Debug)]
pub struct SourceFile {
    name: String,
    text: String,
    lines: LineIndex,
}

impl SourceFile {
    /// A source with a display name (a path as the user gave it, or `<example vendure>`).
    pub fn new(name: impl Into<String>, text: impl Into<String>) -> Self {
        let text = text.into();
        SourceFile {
            name: name.into(),
            lines: LineIndex::new(&text),
            text,
        }
    }

    /// The display name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The text.
    pub fn text(&self) -> &str {
        &self.text
    }

    /// The 1-based line and column (in characters) of a byte offset (clamped to the text,
    /// and to the start of the character it falls inside).
    pub fn line_col(&self, offset: usize) -> (usize, usize) {
        self.lines.line_col(&self.text, offset)
    }
}

impl SourceCode for SourceFile {
    fn read_span<'a>(
        &'a self,
        span: &SourceSpan,
        context_lines_before: usize,
        context_lines_after: usize,
    ) -> Result<Box<dyn SpanContents<'a> + 'a>, miette::MietteError> {
        let inner = self
            .text
            .read_span(span, context_lines_before, context_lines_after)?;
        Ok(Box::new(MietteSpanContents::new_named(
            self.name.clone(),
            inner.data(),
            *inner.span(),
            inner.line(),
            inner.column(),
            inner.line_count(),
        )))
    }
}

/// A diagnostic paired with its source: what a binary hands to a miette renderer.
#[derive(Debug)]
pub struct Located<'a> {
    diagnostic: &'a Diagnostic,
    source: &'a SourceFile,
}

impl Located<'_> {
    /// `file:line:column` of the problem, or just the file name when it has no span.
    pub fn location(&self) -> String {
        match &self.diagnostic.span {
            Some(span) => {
                let (line, column) = self.source.line_col(span.start);
                format!("{}:{line}:{column}", self.source.name)
            }
            None => self.source.name.clone(),
        }
    }
}

impl Located<'_> {
    /// The one-line form: `file:line:column: error[code]: message`.
    pub fn short(&self) -> String {
        let severity = match self.diagnostic.severity {
            Severity::Error => "error",
            Severity::Warning => "warning",
        };
        format!(
            "{}: {severity}[{}]: {}",
            self.location(),
            self.diagnostic.code,
            self.diagnostic.message
        )
    }
}

/// The message alone (renderers add the location and snippet).
impl fmt::Display for Located<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.diagnostic.message)
    }
}

impl std::error::Error for Located<'_> {}

impl miette::Diagnostic for Located<'_> {
    fn code<'a>(&'a self) -> Option<Box<dyn fmt::Display + 'a>> {
        Some(Box::new(format!("topo::{}", self.diagnostic.code)))
    }

    fn severity(&self) -> Option<miette::Severity> {
        Some(match self.diagnostic.severity {
            Severity::Error => miette::Severity::Error,
            Severity::Warning => miette::Severity::Warning,
        })
    }

    fn help<'a>(&'a self) -> Option<Box<dyn fmt::Display + 'a>> {
        self.diagnostic
            .help
            .as_ref()
            .map(|help| Box::new(help) as Box<dyn fmt::Display>)
    }

    fn source_code(&self) -> Option<&dyn SourceCode> {
        self.diagnostic
            .span
            .as_ref()
            .map(|_| self.source as &dyn SourceCode)
    }

    fn labels(&self) -> Option<Box<dyn Iterator<Item = LabeledSpan> + '_>> {
        let span = self.diagnostic.span.clone()?;
        let primary = LabeledSpan::new_primary_with_span(self.diagnostic.label.clone(), span);
        let related = self
            .diagnostic
            .related
            .iter()
            .map(|(span, label)| LabeledSpan::new_with_span(Some(label.clone()), span.clone()));
        Some(Box::new(std::iter::once(primary).chain(related)))
    }
}

/// Byte offset → (line, column) for a whole list, as JSON-friendly records.
#[derive(Debug, Serialize)]
pub struct DiagnosticRecord<'a> {
    /// The file name.
    pub file: &'a str,
    /// 1-based line, when the diagnostic has a span.
    pub line: Option<usize>,
    /// 1-based column in characters, when the diagnostic has a span.
    pub column: Option<usize>,
    /// The diagnostic itself.
    #[serde(flatten)]
    pub diagnostic: &'a Diagnostic,
}

impl<'a> DiagnosticRecord<'a> {
    /// The record of one diagnostic of `source`.
    pub fn new(diagnostic: &'a Diagnostic, source: &'a SourceFile) -> Self {
        let position = diagnostic
            .span
            .as_ref()
            .map(|span| source.line_col(span.start));
        DiagnosticRecord {
            file: source.name(),
            line: position.map(|p| p.0),
            column: position.map(|p| p.1),
            diagnostic,
        }
    }
}
