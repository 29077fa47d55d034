//! Every rule of the catalogue, one by one: for each, small cases where it fires and close
//! cases where it does not (the near miss that shows the rule's boundary), in the style of
//! rust-analyzer's data-driven tests.
//!
//! A case is a *fixture* — small files, each started by a `//- NAME` line — and the findings
//! it must give, one line each, exactly as `topo lint --format short` prints them:
//! `file:line:column: severity[rule]: message (related: file:line:column)`.
//!
//! - `*.yml` / `*.yaml` files are the Compose files linted, in the order written, each in the
//!   mode its name gives (`*prod-sim*`, `*prod*`, else dev);
//! - `topology.toml` is the topology the files are compared with (`topology-drift`);
//! - any other file is on the in-memory host beside them (a Dockerfile), and a name ending in
//!   `/` is a directory there (a host `node_modules`).
//!
//! Run with `UPDATE_EXPECT=1` to rewrite the expectations after a deliberate change.

mod across;
mod confinement;
mod per_file;

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Component, Path, PathBuf};

use expect_test::Expect;

use super::{lint, Host, LintFile, LintOptions, Report, RULES};
use crate::compose::{mode_of_file_name, ComposeFile};
use crate::{SourceFile, ValidateOptions};

/// One test per rule, named as the rule (`db_major_drift` for `db-major-drift`), running the
/// function of that name in `across` or `per_file`; and the list the catalogue is compared with.
macro_rules! rules {
    ($($module:ident::$rule:ident),* $(,)?) => {
        /// The rules that have cases here, as function names.
        const TESTED: &[&str] = &[$(stringify!($rule)),*];

        mod each_rule {
            $(
                #[test]
                fn $rule() {
                    super::run(stringify!($rule), super::$module::$rule);
                }
            )*
        }
    };
}

rules![
    across::db_major_drift,
    across::name_drift,
    across::network_drift,
    across::host_reference_unknown,
    per_file::generated_path_bind_mount,
    per_file::bind_mount_in_prod,
    per_file::dev_command_in_prod,
    per_file::build_target_not_prod,
    per_file::db_port_published,
    per_file::literal_secret,
    per_file::unpinned_image,
    per_file::missing_healthcheck,
    per_file::privileged,
    confinement::unconfined_in_prod,
    across::topology_drift,
    across::unused_suppression,
];

/// A rule added to the catalogue needs its cases here, and a rule removed loses them.
#[test]
fn every_rule_in_the_catalogue_has_cases() {
    let catalogue: BTreeSet<String> = RULES.iter().map(|r| r.id.to_owned()).collect();
    let tested: BTreeSet<String> = TESTED.iter().map(|f| f.replace('_', "-")).collect();
    assert_eq!(
        tested, catalogue,
        "every rule id needs a function of its name (kebab-case as snake_case) in `rules![…]`"
    );
    assert_eq!(TESTED.len(), tested.len(), "a rule is listed twice");
}

/// Runs one rule's cases; it must have at least one where it fires and one where it does not.
fn run(function: &str, cases: fn(&mut Cases)) {
    let rule = RULES
        .iter()
        .find(|r| r.id == function.replace('_', "-"))
        .unwrap_or_else(|| panic!("`{function}` is named after no rule of the catalogue"));
    let mut counted = Cases {
        rule: rule.id,
        fires: 0,
        misses: 0,
    };
    cases(&mut counted);
    assert!(
        counted.fires > 0 && counted.misses > 0,
        "`{}` needs a case where it fires and one where it does not ({} and {})",
        rule.id,
        counted.fires,
        counted.misses
    );
}

/// The cases of one rule.
pub(super) struct Cases {
    rule: &'static str,
    fires: usize,
    misses: usize,
}

impl Cases {
    /// A case where the rule fires (at least once): the findings must be exactly `expect`.
    pub(super) fn fires(&mut self, fixture: &str, expect: Expect) {
        let found = check(self.rule, fixture, expect);
        assert!(
            found.contains(self.rule),
            "`{}` was expected to fire here",
            self.rule
        );
        self.fires += 1;
    }

    /// A near miss: the rule must not fire, and the findings must be exactly `expect`.
    pub(super) fn misses(&mut self, fixture: &str, expect: Expect) {
        let found = check(self.rule, fixture, expect);
        assert!(
            !found.contains(self.rule),
            "`{}` was expected not to fire here",
            self.rule
        );
        self.misses += 1;
    }
}

/// Rules left out of the expectations of every other rule's cases: they fire on almost any
/// hand-written production file, and their own cases show them.
const ELSEWHERE: [&str; 1] = ["unconfined-in-prod"];

/// Lints the fixture and compares its findings with `expect` (the findings of `ELSEWHERE`
/// only when `rule` is one of them); the rules that fired.
fn check(rule: &str, fixture: &str, expect: Expect) -> BTreeSet<&'static str> {
    let files = parse_fixture(fixture);
    let mut host = Memory::default();
    let mut compose = Vec::new();
    let mut topology = None;
    for (name, text) in files {
        if name.ends_with(".yml") || name.ends_with(".yaml") {
            let file = ComposeFile::read(name.clone(), text)
                .unwrap_or_else(|e| panic!("{name} is not a Compose file: {e:?}"));
            let mut lint_file = LintFile::new(file, mode_of_file_name(&name));
            lint_file.dir = Some(
                Path::new(&name)
                    .parent()
                    .map_or_else(PathBuf::new, Path::to_path_buf),
            );
            compose.push(lint_file);
        } else if name == "topology.toml" {
            let source = SourceFile::new(name.clone(), text);
            let validated = crate::load(&source, &ValidateOptions::default())
                .unwrap_or_else(|d| panic!("the fixture's topology is invalid: {d:#?}"));
            topology = Some(validated.topology);
        } else if let Some(dir) = name.strip_suffix('/') {
            host.dirs.insert(normal(Path::new(dir)));
        } else {
            host.files.insert(normal(Path::new(&name)), text);
        }
    }
    let report = lint(
        &compose,
        &LintOptions {
            topology: topology.as_ref(),
            host: &host,
            ..LintOptions::default()
        },
    );
    let fired = report.findings.iter().map(|f| f.rule).collect();
    let mut shown = report;
    shown
        .findings
        .retain(|f| f.rule == rule || !ELSEWHERE.contains(&f.rule));
    expect.assert_eq(&render(&shown));
    fired
}

/// The findings as `topo lint --format short` prints them, and how many were suppressed.
fn render(report: &Report) -> String {
    let mut out = String::new();
    for finding in &report.findings {
        let related: String = finding
            .related
            .iter()
            .map(|p| format!(" (related: {p})"))
            .collect();
        out += &format!(
            "{}: {}[{}]: {}{related}\n",
            finding.place,
            finding.severity.as_str(),
            finding.rule,
            finding.message
        );
    }
    if report.suppressed > 0 {
        out += &format!("({} suppressed)\n", report.suppressed);
    }
    out
}

/// The files of a fixture, in order: the text is dedented, then split at `//- NAME` lines.
fn parse_fixture(fixture: &str) -> Vec<(String, String)> {
    let indent = fixture
        .lines()
        .filter(|l| !l.trim().is_empty())
        .map(|l| l.len() - l.trim_start().len())
        .min()
        .unwrap_or(0);
    let mut files: Vec<(String, String)> = Vec::new();
    for line in fixture.lines() {
        let line = line.get(indent..).unwrap_or("");
        if let Some(name) = line.strip_prefix("//- ") {
            files.push((name.trim().to_owned(), String::new()));
        } else if let Some((_, text)) = files.last_mut() {
            text.push_str(line);
            text.push('\n');
        } else {
            assert!(
                line.is_empty(),
                "text before the first `//- NAME` line: {line}"
            );
        }
    }
    assert!(
        !files.is_empty(),
        "a fixture needs at least one `//- NAME` line"
    );
    files
}

/// A path without `.` components (`./apps/web/Dockerfile` is `apps/web/Dockerfile`).
fn normal(path: &Path) -> PathBuf {
    let mut out = PathBuf::new();
    for component in path.components() {
        match component {
            Component::CurDir => {}
            Component::ParentDir => {
                out.pop();
            }
            other => out.push(other),
        }
    }
    out
}

/// The host beside the files, in memory: files by path, and directories.
#[derive(Default)]
struct Memory {
    files: BTreeMap<PathBuf, String>,
    dirs: BTreeSet<PathBuf>,
}

impl Host for Memory {
    fn read(&self, path: &Path) -> Option<String> {
        self.files.get(&normal(path)).cloned()
    }

    fn is_dir(&self, path: &Path) -> bool {
        let path = normal(path);
        self.dirs.iter().any(|d| d.starts_with(&path))
            || self
                .files
                .keys()
                .any(|f| f.starts_with(&path) && *f != path)
    }
}

/// The harness itself: fixtures split and dedented, the in-memory host's directories.
#[test]
fn fixtures_and_the_memory_host() {
    let files = parse_fixture(
        "
        //- a.yml
        services: {}
        //- apps/web/Dockerfile
        FROM node:22
          RUN true
        //- apps/web/node_modules/
        ",
    );
    let names: Vec<&str> = files.iter().map(|(n, _)| n.as_str()).collect();
    assert_eq!(
        names,
        ["a.yml", "apps/web/Dockerfile", "apps/web/node_modules/"]
    );
    assert_eq!(files[1].1, "FROM node:22\n  RUN true\n");
    let mut host = Memory::default();
    host.files
        .insert(normal(Path::new("./apps/web/Dockerfile")), String::new());
    host.dirs.insert(normal(Path::new("apps/web/node_modules")));
    assert!(host.read(Path::new("apps/./web/Dockerfile")).is_some());
    assert!(
        host.is_dir(Path::new("./apps/web")) && host.is_dir(Path::new("apps/web/node_modules"))
    );
    assert!(!host.is_dir(Path::new("apps/web/Dockerfile")) && !host.is_dir(Path::new("apps/api")));
}
