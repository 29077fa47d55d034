//! `[lint.rules]`: every key names a lint rule.

use crate::diagnostic::Diagnostic;
use crate::lint::RULES;
use crate::model::Topology;

pub(super) fn check(topology: &Topology, out: &mut Vec<Diagnostic>) {
    for rule in topology.lint.rules.keys() {
        if RULES.iter().any(|r| r.id == rule.as_str()) {
            continue;
        }
        let closest = RULES
            .iter()
            .map(|r| (strsim::jaro_winkler(r.id, rule), r.id))
            .max_by(|a, b| a.0.total_cmp(&b.0))
            .map(|(_, id)| id)
            .expect("the catalogue has rules");
        out.push(
            Diagnostic::error(
                "unknown-lint-rule",
                format!("`{rule}` is not a topo lint rule"),
            )
            .at(rule.span(), "no such rule")
            .help(format!(
                "did you mean `{closest}`? `topo lint --help` lists the rules"
            )),
        );
    }
}
