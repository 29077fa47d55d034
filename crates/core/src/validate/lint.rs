//! `[lint.rules]`: every key names a lint rule.

use crate::diagnostic::Diagnostic;
use std::collections::BTreeMap;

use crate::model::{Level, Topology, RULES};

/// `[lint.rules]`: a level per rule id; an unknown id is reported.
pub(super) fn levels(topology: &Topology, out: &mut Vec<Diagnostic>) -> BTreeMap<String, Level> {
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
    topology
        .lint
        .rules
        .iter()
        .map(|(rule, level)| (rule.to_string(), **level))
        .collect()
}
