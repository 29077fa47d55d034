//! However broken the input, topo answers with diagnostics, never a panic.

mod common;
#[path = "robustness/import_found.rs"]
mod import_found;
#[path = "robustness/reproductions.rs"]
mod reproductions;

use topo_core::{SourceFile, ValidateOptions};

fn answers(text: &str) {
    let source = SourceFile::new("mutant.toml", text);
    match topo_core::load(&source, &ValidateOptions::default()) {
        Ok(validated) => {
            // A valid mutant must also render without panicking.
            let _ =
                topo_core::render_all(&validated.topology, &topo_core::RenderOptions::default());
        }
        Err(diagnostics) => {
            assert!(!diagnostics.is_empty());
            for diagnostic in &diagnostics {
                // Every position lies inside the text and renders.
                if let Some(span) = &diagnostic.span {
                    assert!(
                        span.start <= text.len(),
                        "span {span:?} beyond {} bytes",
                        text.len()
                    );
                }
                let _ = diagnostic.in_source(&source).short();
            }
        }
    }
}

#[test]
fn truncations_of_the_example_never_panic() {
    let text = topo_core::example::VENDURE;
    for end in (0..text.len())
        .filter(|&i| text.is_char_boundary(i))
        .step_by(3)
    {
        answers(&text[..end]);
    }
}

#[test]
fn line_deletions_and_garbling_never_panic() {
    let lines: Vec<&str> = topo_core::example::VENDURE.lines().collect();
    for skip in 0..lines.len() {
        let without: Vec<&str> = lines
            .iter()
            .enumerate()
            .filter(|(i, _)| *i != skip)
            .map(|(_, l)| *l)
            .collect();
        answers(&without.join("\n"));
        let mut garbled = lines.clone();
        let replaced = garbled[skip].replace('"', "").replace('=', "= [") + " ]]}";
        garbled[skip] = &replaced;
        answers(&garbled.join("\n"));
    }
}

#[test]
fn odd_inputs_never_panic() {
    for text in [
        "",
        "\u{feff}",
        "\0\0",
        "project = 1",
        "project = \"x\"\nservices = 3",
        "[[services]]\n[[services]]",
        "project = \"é\"\n[database]\nmajor = 1e99",
        "project=\"a\"\n[database]\nmajor=-1\npassword={secret=\"\"}",
        "project = \"a\"\n[[services]]\nrole=\"b\"\ncontext=\"c\"\nhealth={http=\"\"}",
    ] {
        answers(text);
    }
}
