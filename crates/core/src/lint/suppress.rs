//! Inline suppressions: `# topo-lint: allow RULE[, RULE…]`.
//!
//! A comment at the end of a line covers that line; a comment on a line of its own covers the
//! next line that holds YAML. When that line starts a mapping entry (a service, `environment:`),
//! the comment covers the whole entry, so one comment above a service silences a rule for the
//! service. `# topo-lint: allow-file RULE` anywhere covers the whole file. A suppression that
//! names an unknown rule or silences nothing is itself reported (`unused-suppression`).

use std::collections::BTreeMap;

use super::{rules, Finding, LintFile, Place, Raw};
use crate::compose::{Node, Pos};

/// One `allow` comment.
struct Allow {
    rules: Vec<(String, u32)>,
    lines: std::ops::RangeInclusive<u32>,
    at: Pos,
    used: Vec<bool>,
}

/// Applies suppressions: the findings that remain (unused suppressions added) and how many
/// were suppressed.
pub(super) fn apply(files: &[LintFile], raw: Vec<Raw>) -> (Vec<Finding>, usize) {
    let mut allows: BTreeMap<&str, Vec<Allow>> = files
        .iter()
        .map(|f| (f.file.name.as_str(), allows_of(f)))
        .collect();
    let mut kept = Vec::new();
    let mut suppressed = 0;
    for finding in raw {
        let covering = allows
            .get_mut(finding.place.file.as_str())
            .and_then(|list| {
                list.iter_mut().find_map(|allow| {
                    if !allow.lines.contains(&finding.place.line) {
                        return None;
                    }
                    let index = allow.rules.iter().position(|(r, _)| r == finding.rule)?;
                    allow.used[index] = true;
                    Some(())
                })
            });
        if covering.is_some() {
            suppressed += 1;
        } else {
            kept.push(finding);
        }
    }
    let mut out: Vec<Finding> = kept.into_iter().map(finish).collect();
    for file in files {
        for allow in &allows[file.file.name.as_str()] {
            for ((rule, column), used) in allow.rules.iter().zip(&allow.used) {
                // The rule's own offset: its line's start plus its (1-based, byte) column.
                let offset =
                    allow.at.offset - (allow.at.column as usize - 1) + *column as usize - 1;
                let place = Place::at(&file.file, Pos { offset, ..allow.at });
                let message = match rules::find(rule) {
                    None => format!("`{rule}` is not a topo lint rule"),
                    Some(_) if !used => {
                        format!("`# topo-lint: allow {rule}` suppresses nothing here")
                    }
                    Some(_) => continue,
                };
                let mut finding = Raw::new("unused-suppression", place, message);
                if rules::find(rule).is_none() {
                    let known: Vec<&str> = rules::RULES.iter().map(|r| r.id).collect();
                    if let Some(best) = known.iter().max_by(|a, b| {
                        strsim::jaro_winkler(a, rule).total_cmp(&strsim::jaro_winkler(b, rule))
                    }) {
                        finding = finding.hint(format!("did you mean `{best}`?"));
                    }
                }
                out.push(finish(finding));
            }
        }
    }
    (out, suppressed)
}

fn finish(raw: Raw) -> Finding {
    Finding {
        rule: raw.rule,
        severity: raw.level,
        place: raw.place,
        message: raw.message,
        hint: raw.hint,
        related: raw.related,
    }
}

const MARKER: &str = "topo-lint:";

/// The `allow` comments of a file.
fn allows_of(file: &LintFile) -> Vec<Allow> {
    let text = &file.file.text;
    let lines: Vec<&str> = text.lines().collect();
    let entries = entry_ends(&file.file.root);
    // Where each line starts (`\r\n` endings included).
    let starts: Vec<usize> = std::iter::once(0)
        .chain(text.match_indices('\n').map(|(i, _)| i + 1))
        .collect();
    let mut out = Vec::new();
    for (index, line) in lines.iter().enumerate() {
        let number = index as u32 + 1;
        let line_offset = starts[index];
        let Some(hash) = comment_start(line) else {
            continue;
        };
        let comment = line[hash + 1..].trim_start();
        let Some(rest) = comment.strip_prefix(MARKER) else {
            continue;
        };
        let rest_start = line.len() - rest.len();
        let rest_trimmed = rest.trim_start();
        let (whole_file, list, list_start) =
            if let Some(list) = rest_trimmed.strip_prefix("allow-file") {
                (true, list, line.len() - list.len())
            } else if let Some(list) = rest_trimmed.strip_prefix("allow") {
                (false, list, line.len() - list.len())
            } else {
                let _ = rest_start;
                continue;
            };
        let rules = rule_list(list, list_start);
        if rules.is_empty() {
            continue;
        }
        let own_line = line[..hash].trim().is_empty();
        let target = if own_line {
            // The next line that holds YAML (not blank, not only a comment).
            (index + 1..lines.len())
                .find(|&i| {
                    let t = lines[i].trim();
                    !t.is_empty() && !t.starts_with('#')
                })
                .map_or(number, |i| i as u32 + 1)
        } else {
            number
        };
        let lines_covered = if whole_file {
            1..=u32::MAX
        } else {
            target..=entries.get(&target).copied().unwrap_or(target).max(target)
        };
        out.push(Allow {
            used: vec![false; rules.len()],
            rules,
            lines: lines_covered,
            at: Pos {
                line: number,
                column: hash as u32 + 1,
                offset: line_offset + hash,
            },
        });
    }
    out
}

/// Rule ids in `list` (comma or space separated), with their 1-based columns; a `--` ends the
/// list (what follows is the reason).
fn rule_list(list: &str, start: usize) -> Vec<(String, u32)> {
    let list = list.split("--").next().unwrap_or("");
    let mut out = Vec::new();
    let mut column = start;
    for piece in list.split_inclusive([',', ' ']) {
        let id = piece.trim_matches([',', ' ']);
        if !id.is_empty() {
            let lead = piece.len() - piece.trim_start_matches([',', ' ']).len();
            out.push((id.to_owned(), (column + lead) as u32 + 1));
        }
        column += piece.len();
    }
    out
}

/// Where a YAML comment starts on a line: a `#` at the start or after whitespace, outside
/// quotes.
fn comment_start(line: &str) -> Option<usize> {
    let mut quote = None;
    let bytes = line.as_bytes();
    for (i, &b) in bytes.iter().enumerate() {
        match (quote, b) {
            (None, b'"' | b'\'') => quote = Some(b),
            (Some(q), _) if b == q => quote = None,
            (None, b'#') if i == 0 || bytes[i - 1].is_ascii_whitespace() => return Some(i),
            _ => {}
        }
    }
    None
}

/// For every line a mapping key is written on, the last line of its entry.
fn entry_ends(root: &Node) -> BTreeMap<u32, u32> {
    let mut out = BTreeMap::new();
    fn walk(node: &Node, out: &mut BTreeMap<u32, u32>) {
        for (key, value) in node.entries() {
            let end = out.entry(key.pos.line).or_insert(key.pos.line);
            *end = (*end).max(value.last_line());
            walk(value, out);
        }
        for item in node.items() {
            walk(item, out);
        }
    }
    walk(root, &mut out);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn comments_outside_quotes() {
        assert_eq!(comment_start("a: b # c"), Some(5));
        assert_eq!(comment_start("a: \"b # c\""), None);
        assert_eq!(comment_start("a: b#c"), None);
        assert_eq!(comment_start("# c"), Some(0));
    }

    #[test]
    fn rule_lists_with_columns_and_reasons() {
        let line = "# topo-lint: allow privileged, literal-secret -- the CI runner needs it";
        let start = line.find("allow").expect("allow") + "allow".len();
        let rules = rule_list(&line[start..], start);
        let ids: Vec<_> = rules.iter().map(|(id, _)| id.as_str()).collect();
        assert_eq!(ids, ["privileged", "literal-secret"]);
        assert_eq!(rules[0].1 as usize, line.find("privileged").expect("p") + 1);
    }
}
