//! `topo check` ⇔ `topo lint`: a topology that check accepts renders files lint accepts.
//!
//! [`lint_renders`] renders the three modes in memory with the renderer `topo render` uses,
//! runs `topo lint`'s rules on the three files together (per file, across files, hosts,
//! confinement; not `topology-drift`, as a render is its own topology) at the topology's
//! `[lint.rules]` levels, and reports each finding as a [`Diagnostic`] placed where the
//! topology made it: the environment entry (the host inside its value), the command, the
//! port, the volume, the image, the hardening key…; else the container's `role`; else the
//! top of the file. Its code is the rule's, `lint/<id>` ([`crate::lint::Rule::code`]), and a
//! finding made in several modes is reported once, its label naming every rendered place.

mod locate;

use std::collections::BTreeMap;
use std::ops::Range;
use std::path::Path;

use crate::compose::ComposeFile;
use crate::diagnostic::{Diagnostic, Severity, SourceFile};
use crate::lint::{self, Disk, Finding, LintFile};
use crate::model::{lint_rules, Level};
use crate::render::{render_all, RenderOptions};
use crate::validate::ValidTopology;
use crate::Mode;

/// What `topo lint` finds in the files `topology` renders, as diagnostics of `source` (the
/// topology's text, for positions), in source order. `repository` is the topology's
/// directory, where `topo render` writes the files: the lint looks there for what a dev bind
/// mount brings in (a host `node_modules`); `None` keeps it off the disk.
pub fn lint_renders(
    topology: &ValidTopology,
    source: &SourceFile,
    repository: Option<&Path>,
) -> Vec<Diagnostic> {
    let options = RenderOptions {
        source_name: source.name().to_owned(),
        ..RenderOptions::default()
    };
    let mut files = Vec::new();
    let mut out = Vec::new();
    for rendered in render_all(topology, &options) {
        match ComposeFile::read(rendered.file_name.clone(), rendered.contents) {
            Ok(file) => files.push(LintFile {
                file,
                mode: rendered.mode,
                dir: repository.map(Path::to_path_buf),
                root: ".".to_owned(),
            }),
            Err(error) => out.push(
                Diagnostic::error(
                    "render-unreadable",
                    format!(
                        "topo's own {} is not Compose: {}",
                        rendered.file_name, error.message
                    ),
                )
                .at(Some(0..0), "rendered from here")
                .help("this is a bug in topo: please report it with this topology"),
            ),
        }
    }
    let report = lint::lint_renders(&files, &Disk, &topology.lint_levels);
    let model = crate::parse(source).ok();
    let mut grouped: BTreeMap<((usize, usize), &str, String), Group<'_>> = BTreeMap::new();
    for finding in &report.findings {
        let Some(severity) = severity(finding.severity) else {
            continue;
        };
        let Some(file) = files.iter().find(|f| f.file.name == finding.place.file) else {
            continue;
        };
        let span = model
            .as_ref()
            .and_then(|model| place(model, file, finding, source.text()))
            .unwrap_or(0..0);
        // The same finding in two modes differs only by the mode its message names.
        let key = finding
            .message
            .replace(&format!(" in {}", file.mode), " in {mode}");
        let group = grouped
            .entry(((span.start, span.end), finding.rule, key))
            .or_insert_with(|| Group {
                finding,
                mode: file.mode,
                severity,
                places: Vec::new(),
                modes: Vec::new(),
            });
        // The worst of them speaks for the group (production's literal secret, not dev's).
        if severity < group.severity {
            group.severity = severity;
            group.finding = finding;
            group.mode = file.mode;
        }
        group.places.push(finding.place.to_string());
        if !group.modes.contains(&file.mode) {
            group.modes.push(file.mode);
        }
    }
    out.extend(
        grouped
            .into_iter()
            .map(|(((start, end), _, _), group)| group.diagnostic(start..end)),
    );
    out.sort_by_key(|d| d.span.as_ref().map_or(0, |s| s.start));
    out
}

/// Findings of one rule at one place of the topology, from one or several renders.
struct Group<'a> {
    /// The one that speaks for them, and the mode of its file.
    finding: &'a Finding,
    mode: Mode,
    severity: Severity,
    /// Every rendered place, and the modes of their files.
    places: Vec<String>,
    modes: Vec<Mode>,
}

impl Group<'_> {
    fn diagnostic(mut self, span: Range<usize>) -> Diagnostic {
        let rule = lint_rules::find(self.finding.rule);
        let code = rule.map_or("lint", |r| r.code);
        // "… in prod-sim …" said of prod-sim and production: "… in prod-sim and production …".
        let mut message = self.finding.message.clone();
        if self.modes.len() > 1 {
            self.modes.sort();
            let names: Vec<&str> = self.modes.iter().map(|m| m.as_str()).collect();
            let all = match names.split_last() {
                Some((last, [])) => (*last).to_owned(),
                Some((last, rest)) => format!("{} and {last}", rest.join(", ")),
                None => String::new(),
            };
            message = message.replacen(&format!(" in {}", self.mode), &format!(" in {all}"), 1);
        }
        let diagnostic = Diagnostic {
            severity: self.severity,
            ..Diagnostic::error(code, message)
        };
        diagnostic
            .at(
                Some(span),
                format!("`topo lint` finds this in {}", self.places.join(", ")),
            )
            .help(hint(self.finding))
    }
}

/// The diagnostic's severity for a finding's level; notes and silenced rules are left to
/// `topo lint`.
fn severity(level: Level) -> Option<Severity> {
    match level {
        Level::Error => Some(Severity::Error),
        Level::Warning => Some(Severity::Warning),
        Level::Note | Level::Off => None,
    }
}

/// Where in the topology (as written) a finding in one of its renders comes from.
fn place(
    model: &crate::model::Topology,
    file: &LintFile,
    finding: &Finding,
    text: &str,
) -> Option<Range<usize>> {
    let subject = locate::subject(&file.file, finding.place.offset);
    let about = locate::Finding {
        rule: finding.rule,
        message: &finding.message,
        mode: file.mode,
    };
    let span = locate::span(model, &subject, &about)?;
    // A host named inside a value: point at the host.
    match (&subject.field, finding.rule) {
        (locate::Field::Env(_), "host-reference-unknown") => {
            let word = locate::word_at(&file.file.text, finding.place.offset);
            Some(word.map_or(span.clone(), |word| locate::narrowed(text, span, word)))
        }
        _ => Some(span),
    }
}

/// What to do, said in the topology's terms where the rule's hint speaks Compose.
fn hint(finding: &Finding) -> String {
    match finding.rule {
        "dev-command-in-prod" => {
            "give prod-sim and production their own command: `command = { dev = [...], prod = [...] }`"
                .to_owned()
        }
        "generated-path-bind-mount" => {
            "list the directory in the service's `generated`: dev then gives it a named volume the host never shadows"
                .to_owned()
        }
        "missing-healthcheck" => {
            "add `health = { http = \"/health\", port = … }` or `{ command = [...] }`; or, for a service nothing needs to be ready, `missing-healthcheck = \"off\"` under `[lint.rules]`"
                .to_owned()
        }
        "unconfined-in-prod" => {
            "keep topo's defaults (delete `drop_capabilities = false` and `read_only = false`; `resources` limits memory and processes), or `unconfined-in-prod = \"off\"` under `[lint.rules]`"
                .to_owned()
        }
        "literal-secret" => {
            "write the secret as a reference: `{ secret = \"VAR\" }`, or inside a value `{ template = \"scheme://user:${VAR}@host/\" }`"
                .to_owned()
        }
        "host-reference-unknown" => format!(
            "name a container of the topology (`<project>-<role>`), an alias, or a qualified domain; {}",
            finding.hint
        ),
        _ => finding.hint.clone(),
    }
}

#[cfg(test)]
mod tests;
