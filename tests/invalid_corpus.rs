//! The corpus of invalid topologies: each names the codes it must produce on its first
//! line (`# expect: code`), and its full human report is snapshot-tested.

mod common;

use miette::{GraphicalReportHandler, GraphicalTheme};
use topo_core::{SourceFile, ValidateOptions};

/// Renders every diagnostic of `text` as a user sees it (no colour, fixed width).
fn report(name: &str, text: &str) -> (Vec<&'static str>, String) {
    let source = SourceFile::new(name, text);
    let diagnostics = match topo_core::load(&source, &ValidateOptions::default()) {
        Ok(validated) => validated.warnings,
        Err(diagnostics) => diagnostics,
    };
    let handler =
        GraphicalReportHandler::new_themed(GraphicalTheme::unicode_nocolor()).with_width(100);
    let mut out = String::new();
    for diagnostic in &diagnostics {
        out.push_str(&diagnostic.in_source(&source).short());
        out.push('\n');
        handler
            .render_report(&mut out, &diagnostic.in_source(&source))
            .expect("render into a String");
    }
    (
        diagnostics
            .iter()
            .filter(|d| d.is_error())
            .map(|d| d.code)
            .collect(),
        out,
    )
}

#[test]
fn every_invalid_topology_is_reported_where_it_is_wrong() {
    let mut count = 0;
    insta::glob!("corpus/invalid/*.toml", |path| {
        count += 1;
        let text = std::fs::read_to_string(path).expect("readable corpus file");
        let expected = text
            .lines()
            .next()
            .and_then(|l| l.strip_prefix("# expect: "))
            .expect("first line is `# expect: code`");
        let name = format!(
            "corpus/invalid/{}",
            path.file_name().expect("file name").to_string_lossy()
        );
        let (errors, rendered) = report(&name, &text);
        assert!(
            errors.contains(&expected),
            "{name}: expected an error `{expected}`, got {errors:?}"
        );
        // Every error points at a line and column of the file.
        for line in rendered.lines().filter(|l| l.contains(": error[")) {
            let location = line
                .split(": error[")
                .next()
                .expect("split yields one part");
            let mut parts = location.rsplitn(3, ':');
            let column: usize = parts
                .next()
                .and_then(|c| c.parse().ok())
                .unwrap_or_else(|| panic!("{name}: no column in {line:?}"));
            let row: usize = parts
                .next()
                .and_then(|r| r.parse().ok())
                .unwrap_or_else(|| panic!("{name}: no line in {line:?}"));
            assert!(row >= 1 && column >= 1, "{name}: {line}");
        }
        insta::assert_snapshot!(rendered);
    });
    assert!(
        count >= 25,
        "the corpus holds at least 25 invalid topologies, found {count}"
    );
}

#[test]
fn all_problems_are_reported_at_once() {
    let text = "project = \"Shop\"\n[[services]]\nrole = \"web\"\ncontext = \"/abs\"\ndepends_on = { api = \"started\" }\n[services.env]\nAPI_TOKEN = \"x\"\n";
    let (errors, _) = report("many.toml", text);
    for code in [
        "naming",
        "context-escapes-repository",
        "unknown-dependency",
        "literal-secret",
    ] {
        assert!(errors.contains(&code), "{code} missing from {errors:?}");
    }
}

#[test]
fn unknown_keys_suggest_the_key_meant() {
    let (_, rendered) = report(
        "typo.toml",
        "project = \"shop\"\n[[services]]\nrole = \"web\"\ncontex = \"web\"\n",
    );
    assert!(rendered.contains("did you mean `context`?"), "{rendered}");
    assert!(
        rendered.contains("typo.toml:4:1: error[unknown-key]"),
        "{rendered}"
    );
    // The unknown key does not hide the rest: with `contex` left out, `web` has no context.
    assert!(
        rendered.contains("typo.toml:3:8: error[missing-context]"),
        "{rendered}"
    );
}
