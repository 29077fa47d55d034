//! `topo check` ⇔ `topo lint`: a topology without check errors renders files without lint
//! errors (`topo check` lints its own renders and reports each finding in the topology).
//!
//! Held over every fixture topology of the repository (the built-in example, `examples/*`,
//! every `topology.toml` under `tests/fixtures` and `tests/fixtures/valid/*.toml`) and every
//! topology `topo import` makes of the import fixtures and of the fixtures' own renders, each
//! through the binaries as a user runs them: `check`, `render`, then `lint -t` on the files
//! written. The corpus `tests/corpus/agreement/` holds topologies validation accepts whose
//! renders lint finds wrong: check reports each at its line and column with the rule's id.

mod common;

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use assert_cmd::Command;
use miette::{GraphicalReportHandler, GraphicalTheme};
use serde_json::Value;
use topo_core::{SourceFile, ValidateOptions};

/// `topo ARGS` in `dir`: exit code, stdout, stderr.
fn topo<S: AsRef<std::ffi::OsStr>>(dir: &Path, args: &[S]) -> (i32, String, String) {
    let output = Command::cargo_bin("topo")
        .expect("topo is built")
        .current_dir(dir)
        .args(args)
        .output()
        .expect("topo runs");
    (
        output.status.code().expect("exit code"),
        String::from_utf8(output.stdout).expect("utf-8"),
        String::from_utf8(output.stderr).expect("utf-8"),
    )
}

fn json(stdout: &str, stderr: &str) -> Value {
    serde_json::from_str(stdout).unwrap_or_else(|e| panic!("JSON ({e}):\n{stdout}\n{stderr}"))
}

/// Where a topology comes from, as `topo` is told.
enum Input {
    File(PathBuf),
    Example(&'static str),
}

impl Input {
    fn args(&self) -> Vec<String> {
        match self {
            Input::File(path) => vec!["-t".to_owned(), path.display().to_string()],
            Input::Example(name) => vec!["--example".to_owned(), (*name).to_owned()],
        }
    }
}

/// What check and lint said about one topology.
struct Verdict {
    /// check's errors: `code line:column`.
    check_errors: Vec<String>,
    /// check's `lint/<rule>` errors' rules.
    check_lint_rules: BTreeSet<String>,
    /// lint's errors on the rendered files, one line each; `None` when check refused the
    /// topology before any lint (nothing to render).
    lint_errors: Option<Vec<(String, String)>>,
}

/// `topo check`, then `topo render` into a fresh directory and `topo lint -t` on its files.
fn verdict(input: &Input) -> Verdict {
    let here = common::root();
    let mut args = vec!["check".to_owned(), "--format".to_owned(), "json".to_owned()];
    args.extend(input.args());
    let (code, stdout, stderr) = topo(&here, &args);
    let report = json(&stdout, &stderr);
    let errors: Vec<&Value> = report["diagnostics"]
        .as_array()
        .expect("diagnostics")
        .iter()
        .filter(|d| d["severity"] == "error")
        .collect();
    assert_eq!(code == 0, errors.is_empty(), "exit {code}: {report:#}");
    let code_of = |d: &Value| d["code"].as_str().expect("code").to_owned();
    let mut verdict = Verdict {
        check_errors: errors
            .iter()
            .map(|d| format!("{} {}:{}", code_of(d), d["line"], d["column"]))
            .collect(),
        check_lint_rules: errors
            .iter()
            .filter_map(|d| code_of(d).strip_prefix("lint/").map(str::to_owned))
            .collect(),
        lint_errors: None,
    };
    // Refused before its renders were linted: nothing renders.
    if errors.iter().any(|d| !code_of(d).starts_with("lint/")) {
        return verdict;
    }
    let out = tempfile::tempdir().expect("tempdir");
    let mut args = vec!["render".to_owned(), "--out".to_owned()];
    args.push(out.path().display().to_string());
    args.extend(input.args());
    let (code, stdout, stderr) = topo(&here, &args);
    assert_eq!(code, 0, "render: {stderr}");
    let modes = written(&stdout);
    let mut args = vec!["lint".to_owned()];
    args.extend(modes.iter().map(|(name, _)| name.clone()));
    for (name, mode) in &modes {
        args.extend(["--mode".to_owned(), format!("{name}={mode}")]);
    }
    if let Input::File(path) = input {
        args.extend(["-t".to_owned(), path.display().to_string()]);
    }
    args.extend(["--format".to_owned(), "json".to_owned()]);
    let (_, stdout, stderr) = topo(out.path(), &args);
    let findings = json(&stdout, &stderr);
    verdict.lint_errors = Some(
        findings["findings"]
            .as_array()
            .expect("findings")
            .iter()
            .filter(|f| f["severity"] == "error")
            .map(|f| {
                (
                    f["rule"].as_str().expect("rule").to_owned(),
                    format!(
                        "{}:{}:{} {}",
                        f["file"].as_str().expect("file"),
                        f["line"],
                        f["column"],
                        f["message"].as_str().expect("message")
                    ),
                )
            })
            .collect(),
    );
    verdict
}

/// The files `topo render` says it wrote (`wrote DIR/NAME (MODE)`): name and mode.
fn written(stdout: &str) -> Vec<(String, String)> {
    stdout
        .lines()
        .filter_map(|line| {
            let (path, mode) = line.strip_prefix("wrote ")?.rsplit_once(" (")?;
            let name = Path::new(path).file_name()?.to_string_lossy().into_owned();
            Some((name, mode.trim_end_matches(')').to_owned()))
        })
        .collect()
}

/// The Compose files in `dir`, by name.
fn yml_files(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .expect("readable")
        .map(|e| e.expect("entry").file_name().to_string_lossy().into_owned())
        .filter(|n| n.ends_with(".yml") || n.ends_with(".yaml"))
        .collect();
    names.sort();
    names
}

/// The invariant, and its sharper form: check names every rule lint finds errors of.
fn assert_agree(name: &str, verdict: &Verdict) {
    let Some(lint_errors) = &verdict.lint_errors else {
        return;
    };
    let lines: Vec<&str> = lint_errors.iter().map(|(_, line)| line.as_str()).collect();
    assert!(
        !verdict.check_errors.is_empty() || lint_errors.is_empty(),
        "{name}: check accepts it, lint finds errors in its renders:\n{}",
        lines.join("\n")
    );
    for (rule, line) in lint_errors {
        assert!(
            verdict.check_lint_rules.contains(rule),
            "{name}: lint finds `{line}`; check reports {:?}",
            verdict.check_errors
        );
    }
}

/// Every topology file of the repository: `examples/*/topology.toml`, every
/// `topology.toml` under `tests/fixtures`, and `tests/fixtures/valid/*.toml`.
fn topology_files() -> Vec<PathBuf> {
    fn walk(dir: &Path, out: &mut Vec<PathBuf>) {
        let Ok(entries) = std::fs::read_dir(dir) else {
            return;
        };
        for entry in entries {
            let path = entry.expect("entry").path();
            if path.is_dir() {
                walk(&path, out);
            } else if path.file_name().is_some_and(|n| n == "topology.toml")
                || (path
                    .parent()
                    .is_some_and(|p| p.ends_with("tests/fixtures/valid"))
                    && path.extension().is_some_and(|e| e == "toml"))
            {
                out.push(path);
            }
        }
    }
    let mut paths = Vec::new();
    for dir in ["examples", "tests/fixtures"] {
        walk(&common::root().join(dir), &mut paths);
    }
    paths.sort();
    paths
}

#[test]
fn every_fixture_topology_check_accepts_renders_files_lint_accepts() {
    let mut linted = 0;
    let mut inputs = vec![("the built-in vendure".to_owned(), Input::Example("vendure"))];
    for path in topology_files() {
        let name = path
            .strip_prefix(common::root())
            .expect("under the root")
            .display()
            .to_string();
        inputs.push((name, Input::File(path)));
    }
    assert!(inputs.len() >= 15, "{} topologies", inputs.len());
    for (name, input) in &inputs {
        let verdict = verdict(input);
        assert_agree(name, &verdict);
        linted += usize::from(verdict.lint_errors.is_some());
        // The example and the valid fixtures are clean: nothing for check to refuse.
        if matches!(input, Input::Example(_))
            || name.starts_with("examples/")
            || name.contains("fixtures/valid/")
        {
            assert!(
                verdict.check_errors.is_empty(),
                "{name}: {:?}",
                verdict.check_errors
            );
        }
    }
    assert!(
        linted >= 12,
        "only {linted} topologies were rendered and linted"
    );
}

/// A set of Compose files to import: a name, their directory, and their modes where their
/// names do not say them (`file=mode`).
type ComposeSet = (String, tempfile::TempDir, Vec<(String, String)>);

/// `topo import` of the hand-written import fixtures and of every fixture's own renders.
#[test]
fn every_imported_topology_check_accepts_renders_files_lint_accepts() {
    let mut sets: Vec<ComposeSet> = Vec::new();
    let import_fixtures = common::root().join("tests/fixtures/import");
    for entry in std::fs::read_dir(&import_fixtures).expect("import fixtures") {
        let path = entry.expect("entry").path();
        let dir = tempfile::tempdir().expect("tempdir");
        common::copy_dir(&path, dir.path());
        sets.push((path.display().to_string(), dir, Vec::new()));
    }
    for path in topology_files() {
        let source = SourceFile::new(
            path.display().to_string(),
            std::fs::read_to_string(&path).expect("readable"),
        );
        let Ok(validated) = topo_core::load(&source, &ValidateOptions::default()) else {
            continue;
        };
        let dir = tempfile::tempdir().expect("tempdir");
        let mut modes = Vec::new();
        for file in topo_core::render_all(&validated.topology, &topo_core::RenderOptions::default())
        {
            std::fs::write(dir.path().join(&file.file_name), &file.contents).expect("write");
            modes.push((file.file_name, file.mode.to_string()));
        }
        sets.push((format!("the renders of {}", path.display()), dir, modes));
    }
    assert!(sets.len() >= 10, "{} sets", sets.len());
    for (name, dir, modes) in &sets {
        let mut args = vec!["import".to_owned()];
        args.extend(yml_files(dir.path()));
        for (file, mode) in modes {
            args.extend(["--mode".to_owned(), format!("{file}={mode}")]);
        }
        args.extend(["-o".to_owned(), "imported/topology.toml".to_owned()]);
        let (code, _, stderr) = topo(dir.path(), &args);
        assert_eq!(code, 0, "{name}: import: {stderr}");
        let verdict = verdict(&Input::File(dir.path().join("imported/topology.toml")));
        assert_agree(&format!("{name} (imported)"), &verdict);
    }
}

/// A topology without the generated directory a host copy exists of: the dev bind mount
/// brings the host's `node_modules` in; listed in `generated`, it gets its own volume.
#[test]
fn a_host_node_modules_under_the_source_is_reported_at_the_context() {
    let dir = tempfile::tempdir().expect("tempdir");
    std::fs::create_dir_all(dir.path().join("apps/web/node_modules")).expect("mkdir");
    let text = "project = \"shop\"\n\n[[services]]\nrole = \"web\"\ncontext = \"apps/web\"\ncommand = { dev = [\"npm\", \"run\", \"dev\"], prod = [\"node\", \"server.js\"] }\nhealth = { http = \"/health\", port = 3000 }\n";
    std::fs::write(dir.path().join("topology.toml"), text).expect("write");
    let (code, _, stderr) = topo(dir.path(), &["check", "--format", "short"]);
    assert_eq!(code, 1, "{stderr}");
    assert!(
        stderr.contains("topology.toml:5:11: error[lint/generated-path-bind-mount]: `./apps/web:/app` brings the host's `./apps/web/node_modules`"),
        "{stderr}"
    );
    let fixed = text.replace(
        "context = \"apps/web\"\n",
        "context = \"apps/web\"\ngenerated = [\"node_modules\"]\n",
    );
    std::fs::write(dir.path().join("topology.toml"), fixed).expect("write");
    let (code, stdout, stderr) = topo(dir.path(), &["check", "--format", "short"]);
    assert_eq!(code, 0, "{stderr}");
    assert!(stdout.contains("valid (1 containers"), "{stdout}");
}

/// Renders every diagnostic `topo check` gives `text` as a user sees it (no colour, fixed
/// width), and the errors' `line:column code`.
fn check_report(name: &str, text: &str) -> (Vec<String>, String) {
    let source = SourceFile::new(name, text);
    let loaded = topo_core::load_source(source, &ValidateOptions::default())
        .unwrap_or_else(|e| panic!("{name}: validation alone accepts it: {e}"));
    let (source, diagnostics) = match loaded.check(None) {
        Ok(loaded) => (loaded.source, loaded.validated.warnings),
        Err(topo_core::LoadError::Invalid { file, diagnostics }) => (*file, diagnostics),
        Err(error) => panic!("{name}: {error}"),
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
    let errors = diagnostics
        .iter()
        .filter(|d| d.is_error())
        .map(|d| {
            let short = d.in_source(&source).short();
            let place = short
                .strip_prefix(&format!("{name}:"))
                .and_then(|rest| rest.split(": ").next())
                .unwrap_or("?")
                .to_owned();
            format!("{place} {}", d.code)
        })
        .collect();
    (errors, out)
}

/// Each corpus file says what check must now report: `# expect: LINE:COLUMN lint/RULE`
/// lines at its top, every error of it.
#[test]
fn topologies_whose_renders_lint_finds_wrong_are_reported_where_they_are_wrong() {
    let mut count = 0;
    insta::glob!("corpus/agreement/*.toml", |path| {
        count += 1;
        let text = std::fs::read_to_string(path).expect("readable corpus file");
        let expected: Vec<String> = text
            .lines()
            .map_while(|l| l.strip_prefix("# expect: "))
            .map(str::to_owned)
            .collect();
        let name = format!(
            "corpus/agreement/{}",
            path.file_name().expect("file name").to_string_lossy()
        );
        let (errors, rendered) = check_report(&name, &text);
        assert_eq!(errors, expected, "{name}:\n{rendered}");
        insta::assert_snapshot!(rendered);
    });
    assert!(count >= 4, "the corpus holds {count} topologies");
}

/// The binary's exit code and short lines for one of them.
#[test]
fn the_binary_reports_them_and_exits_1() {
    let file = common::root().join("tests/corpus/agreement/issue-17-import.toml");
    let (code, stdout, stderr) = topo(
        &common::root(),
        &[
            "check",
            "--format",
            "short",
            "-t",
            &file.display().to_string(),
        ],
    );
    assert_eq!(code, 1, "{stdout}{stderr}");
    assert!(stdout.is_empty(), "no `valid` line: {stdout}");
    assert!(
        stderr.contains("issue-17-import.toml:14:11: error[lint/dev-command-in-prod]:"),
        "{stderr}"
    );
    let (_, stdout, _) = topo(
        &common::root(),
        &[
            "check",
            "--format",
            "json",
            "-t",
            &file.display().to_string(),
        ],
    );
    let report = json(&stdout, "");
    assert_eq!(report["valid"], false);
    assert!(
        report["diagnostics"]
            .as_array()
            .expect("diagnostics")
            .iter()
            .any(|d| d["code"] == "lint/host-reference-unknown"),
        "{report:#}"
    );
}
