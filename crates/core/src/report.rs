//! How the three binaries (`topo`, `topo-ci`, `topo-sim`) end and say why: one exit-code
//! table ([`Exit`]), one shape for an error ([`error_text`]: `error: …`, its causes,
//! `help: …`), and diagnostics drawn with source snippets ([`graphical`]) — miette's, when
//! it can draw every span, `None` when it cannot, so the caller prints the one-line
//! `file:line:column` form instead.
//!
//! miette pads an underline to the span's visual column with a formatting width, and Rust's
//! formatter refuses widths past 65,535 (a panic); a span it cannot read (past the end of
//! the text) makes it fail. Neither may stop a report. Nothing here knows the terminal:
//! the binaries say whether to colour.

use miette::{Diagnostic, GraphicalReportHandler, GraphicalTheme, SourceCode, SourceSpan};

/// How a command ended, as its exit status. The README's table: 0 success; 1 a failure
/// (an invalid topology, stale files, an I/O or engine error, a failed verdict, a refused
/// or failed deploy); 2 a usage error; 130 interrupted.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Exit {
    /// It did what was asked.
    Success,
    /// It could not, or found what it was asked to find (errors, stale files).
    Failure,
    /// The command line does not make sense.
    Usage,
    /// Ctrl-C (128 + SIGINT).
    Interrupted,
}

impl Exit {
    /// The process exit status.
    pub const fn code(self) -> u8 {
        match self {
            Exit::Success => 0,
            Exit::Failure => 1,
            Exit::Usage => 2,
            Exit::Interrupted => 130,
        }
    }

    /// Success when `ok`, else failure.
    pub fn from_ok(ok: bool) -> Exit {
        if ok {
            Exit::Success
        } else {
            Exit::Failure
        }
    }
}

impl From<Exit> for std::process::ExitCode {
    fn from(exit: Exit) -> Self {
        std::process::ExitCode::from(exit.code())
    }
}

/// An error a command ends with, and the exit status it means.
pub trait Failure: Diagnostic + Sized {
    /// [`Exit::Failure`], unless the command line is at fault ([`Exit::Usage`]).
    fn exit(&self) -> Exit {
        Exit::Failure
    }

    /// What stderr shows: [`error_text`], unless the error is already a list of located
    /// problems (`file:line:column: error: …`).
    fn text(&self) -> String {
        error_text(self)
    }
}

/// What a binary does with a command's result: the status to exit with, and the text to
/// print on stderr when it failed.
pub fn outcome<E: Failure>(result: Result<Exit, E>) -> (Exit, Option<String>) {
    match result {
        Ok(exit) => (exit, None),
        Err(error) => (error.exit(), Some(error.text())),
    }
}

/// An error as every binary prints it: `error: <message>`, a `caused by:` line per source,
/// and `help: <what to do>`.
pub fn error_text(error: &dyn Diagnostic) -> String {
    let mut out = format!("error: {error}\n");
    let mut cause = error.source();
    while let Some(source) = cause {
        out.push_str(&format!("caused by: {source}\n"));
        cause = source.source();
    }
    if let Some(help) = error.help() {
        out.push_str(&format!("help: {help}\n"));
    }
    out
}

/// miette's snippet renderer, with or without colour, 100 columns wide.
pub fn handler(color: bool) -> GraphicalReportHandler {
    let theme = if color {
        GraphicalTheme::unicode()
    } else {
        GraphicalTheme::unicode_nocolor()
    };
    GraphicalReportHandler::new_themed(theme).with_width(100)
}

/// The widest a span's line may be before it, in bytes, for miette to draw it: a tab is
/// four columns (miette's tab width) and no character is wider, so the visual column
/// stays below the formatter's limit of 65,535.
const DRAWABLE_COLUMN_BYTES: usize = 16_000;

/// miette's report of `diagnostic`, when every span it points at (its own and its related
/// diagnostics') can be drawn.
pub fn graphical(handler: &GraphicalReportHandler, diagnostic: &dyn Diagnostic) -> Option<String> {
    if !drawable(diagnostic) {
        return None;
    }
    let mut text = String::new();
    handler.render_report(&mut text, diagnostic).ok()?;
    Some(text)
}

/// Whether miette can draw every span of `diagnostic` and of its related diagnostics.
fn drawable(diagnostic: &dyn Diagnostic) -> bool {
    let spans_ok = match (diagnostic.source_code(), diagnostic.labels()) {
        (Some(source), Some(mut labels)) => {
            labels.all(|label| span_drawable(source, label.inner()))
        }
        _ => true,
    };
    spans_ok
        && diagnostic
            .related()
            .is_none_or(|mut related| related.all(drawable))
}

fn span_drawable(source: &dyn SourceCode, span: &SourceSpan) -> bool {
    // The text up to the span's end (with no context lines miette starts at the offset
    // asked for: here the start of the text). Unreadable, it is past the end.
    let end = span.offset().saturating_add(span.len());
    let Ok(contents) = source.read_span(&SourceSpan::from(0..end), 0, 0) else {
        return false;
    };
    let Some(before) = contents.data().get(..span.offset()) else {
        return false;
    };
    // miette's lines end at `\n` only (a lone `\r` stays in the line it draws).
    let line_start = before
        .iter()
        .rposition(|&b| b == b'\n')
        .map_or(0, |i| i + 1);
    before.len() - line_start <= DRAWABLE_COLUMN_BYTES
}

#[cfg(test)]
mod tests {
    use super::*;
    use miette::{GraphicalTheme, LabeledSpan, NamedSource};

    #[derive(Debug)]
    struct Problem {
        source: NamedSource<String>,
        span: std::ops::Range<usize>,
    }

    impl std::fmt::Display for Problem {
        fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            f.write_str("a problem")
        }
    }

    impl std::error::Error for Problem {}

    impl Diagnostic for Problem {
        fn source_code(&self) -> Option<&dyn SourceCode> {
            Some(&self.source)
        }
        fn labels(&self) -> Option<Box<dyn Iterator<Item = LabeledSpan> + '_>> {
            Some(Box::new(std::iter::once(LabeledSpan::at(
                self.span.clone(),
                "here",
            ))))
        }
    }

    fn render(text: String, span: std::ops::Range<usize>) -> Option<String> {
        let handler = GraphicalReportHandler::new_themed(GraphicalTheme::unicode_nocolor());
        graphical(
            &handler,
            &Problem {
                source: NamedSource::new("f", text),
                span,
            },
        )
    }

    #[test]
    fn ordinary_spans_are_drawn() {
        let drawn = render("a = 1\nb = 2\n".to_owned(), 6..7).expect("drawn");
        assert!(drawn.contains("b = 2"), "{drawn}");
    }

    #[test]
    fn spans_miette_cannot_draw_are_declined() {
        // A column past 65,535 (tabs count four), and a span past the end of the text.
        let long = format!("x = \"{}\"\n", "a".repeat(70_000));
        assert!(render(long, 70_002..70_003).is_none());
        let tabs = format!("{}x\n", "\t".repeat(17_000));
        assert!(render(tabs, 17_000..17_001).is_none());
        assert!(render("short\n".to_owned(), 50..60).is_none());
        // A lone `\r` does not end the line miette draws.
        let carriage = format!("{}\rx\n", "a".repeat(70_000));
        assert!(render(carriage, 70_001..70_002).is_none());
    }
}
