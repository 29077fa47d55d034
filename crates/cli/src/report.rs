//! Diagnostics drawn for people: miette's snippets when it can draw every span, `None` when
//! it cannot, so the caller prints the one-line `file:line:column` form instead. Shared by
//! `topo check` (and every command that loads a topology) and `topo lint`.
//!
//! miette pads an underline to the span's visual column with a formatting width, and Rust's
//! formatter refuses widths past 65,535 (a panic); a span it cannot read (past the end of
//! the text) makes it fail. Neither may stop a report.

use miette::{Diagnostic, GraphicalReportHandler, SourceCode, SourceSpan};

/// The widest a span's line may be before it, in bytes, for miette to draw it: a tab is
/// four columns (miette's tab width) and no character is wider, so the visual column
/// stays below the formatter's limit of 65,535.
const DRAWABLE_COLUMN_BYTES: usize = 16_000;

/// miette's report of `diagnostic`, when every span it points at (its own and its related
/// diagnostics') can be drawn.
pub(crate) fn graphical(
    handler: &GraphicalReportHandler,
    diagnostic: &dyn Diagnostic,
) -> Option<String> {
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
