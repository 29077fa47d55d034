//! Inline suppressions: `# topo-lint: allow RULE[, RULE…]`.
//!
//! A comment at the end of a line covers that line; a comment on a line of its own covers the
//! next line that holds YAML. When that line starts a mapping entry (a service, `environment:`),
//! the comment covers the whole entry, so one comment above a service silences a rule for the
//! service. `# topo-lint: allow-file RULE` anywhere covers the whole file. A suppression that
//! names an unknown rule or silences nothing is itself reported (`unused-suppression`).

use std::collections::BTreeMap;

use super::{rules, Finding, LintFile, Place, Raw};
use crate::compose::{Node, Pos, Value};

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
    let scalars = Scalars::of(&file.file.root);
    // Each line with its byte offset, and where its comment starts.
    let mut lines = Vec::new();
    let mut offset = 0;
    for raw in text.split_inclusive('\n') {
        let line = raw.strip_suffix('\n').unwrap_or(raw);
        let line = line.strip_suffix('\r').unwrap_or(line);
        lines.push((offset, line, comment_start(line, offset, &scalars)));
        offset += raw.len();
    }
    // A line holds YAML when something comes before its comment (a scalar's text included).
    let holds_yaml = |&(_, line, hash): &(usize, &str, Option<usize>)| {
        !line[..hash.unwrap_or(line.len())].trim().is_empty()
    };
    let entries = entry_ends(&file.file.root);
    // For each line, the first line at or after it that holds YAML: one pass from the end,
    // so a run of comment lines costs linear time, not a scan each.
    let mut next_yaml = vec![None; lines.len() + 1];
    for index in (0..lines.len()).rev() {
        next_yaml[index] = if holds_yaml(&lines[index]) {
            Some(index)
        } else {
            next_yaml[index + 1]
        };
    }
    let mut out = Vec::new();
    for (index, &(line_offset, line, hash)) in lines.iter().enumerate() {
        let number = index as u32 + 1;
        let Some(hash) = hash else { continue };
        let Some((whole_file, rules)) = allow_comment(line, hash) else {
            continue;
        };
        let target = if holds_yaml(&lines[index]) {
            number
        } else {
            // On a line of its own: the next line that holds YAML.
            next_yaml[index + 1].map_or(number, |i| i as u32 + 1)
        };
        let lines_covered = if whole_file {
            1..=u32::MAX
        } else {
            target..=entries.get(&target).copied().unwrap_or(target).max(target)
        };
        let columns = columns(line, rules.iter().map(|(_, at)| *at));
        out.push(Allow {
            used: vec![false; rules.len()],
            rules: rules.into_iter().map(|(id, _)| id).zip(columns).collect(),
            lines: lines_covered,
            at: Pos {
                line: number,
                column: column(line, hash),
                offset: line_offset + hash,
            },
        });
    }
    out
}

/// The rules of a `topo-lint: allow[-file]` comment starting at byte `hash` of the line, with
/// their byte offsets in it, and whether it covers the whole file.
fn allow_comment(line: &str, hash: usize) -> Option<(bool, Vec<(String, usize)>)> {
    let comment = line[hash + 1..].trim_start();
    let rest = comment.strip_prefix(MARKER)?.trim_start();
    let (whole_file, list) = match rest.strip_prefix("allow-file") {
        Some(list) => (true, list),
        None => (false, rest.strip_prefix("allow")?),
    };
    let rules = rule_list(list, line.len() - list.len());
    (!rules.is_empty()).then_some((whole_file, rules))
}

/// The 1-based column (in characters) of byte `at` of a line.
fn column(line: &str, at: usize) -> u32 {
    let before = line.get(..at).map_or(0, |b| b.chars().count());
    u32::try_from(before).unwrap_or(u32::MAX).saturating_add(1)
}

/// The 1-based columns of ascending byte offsets of one line, in one pass over it (a line
/// of thousands of rules costs its length, not its length for each).
fn columns(line: &str, offsets: impl Iterator<Item = usize>) -> Vec<u32> {
    let mut chars = line.char_indices().peekable();
    let mut count: u32 = 0;
    offsets
        .map(|at| {
            while chars.next_if(|&(i, _)| i < at).is_some() {
                count = count.saturating_add(1);
            }
            count.saturating_add(1)
        })
        .collect()
}

/// Rule ids in `list` (comma or space separated), with their byte offsets in the line (`list`
/// starting at byte `start`); a `--` ends the list (what follows is the reason).
fn rule_list(list: &str, start: usize) -> Vec<(String, usize)> {
    let list = list.split("--").next().unwrap_or("");
    let mut out = Vec::new();
    let mut at = start;
    for piece in list.split_inclusive([',', ' ']) {
        let id = piece.trim_matches([',', ' ']);
        if !id.is_empty() {
            let lead = piece.len() - piece.trim_start_matches([',', ' ']).len();
            out.push((id.to_owned(), at + lead));
        }
        at += piece.len();
    }
    out
}

/// Where the file's scalars are written (byte ranges of keys and values, quotes and every
/// line of a block scalar included): no `#` inside one starts a comment.
struct Scalars {
    /// The ranges, by start.
    starts: Vec<usize>,
    /// For each range (in that order), the furthest end of it and every range before it.
    ends: Vec<usize>,
}

impl Scalars {
    fn of(root: &Node) -> Scalars {
        fn walk(node: &Node, out: &mut Vec<(usize, usize)>) {
            match &node.value {
                Value::Seq(items) => items.iter().for_each(|item| walk(item, out)),
                Value::Map(entries) => {
                    for (key, value) in entries {
                        out.push((key.pos.offset, key.pos.offset.saturating_add(key.len)));
                        walk(value, out);
                    }
                }
                _ => out.push((node.pos.offset, node.pos.offset.saturating_add(node.len))),
            }
        }
        let mut ranges = Vec::new();
        walk(root, &mut ranges);
        ranges.retain(|(start, end)| start < end);
        ranges.sort_unstable();
        let starts = ranges.iter().map(|&(start, _)| start).collect();
        let ends = ranges
            .iter()
            .scan(0, |furthest, &(_, end)| {
                *furthest = end.max(*furthest);
                Some(*furthest)
            })
            .collect();
        Scalars { starts, ends }
    }

    /// True when byte `at` of the file is inside a scalar.
    fn contain(&self, at: usize) -> bool {
        let before = self.starts.partition_point(|&start| start <= at);
        before > 0 && self.ends[before - 1] > at
    }
}

/// Where a YAML comment starts on a line (`offset` bytes into the file), as YAML finds it: a
/// `#` at the start or after whitespace that is no part of a scalar — the parser's spans say
/// where quoted, plain and block scalars are, so an apostrophe in a plain value or a `#` in a
/// block scalar's script is text.
fn comment_start(line: &str, offset: usize, scalars: &Scalars) -> Option<usize> {
    let mut previous = None;
    for (i, c) in line.char_indices() {
        if c == '#'
            && previous.is_none_or(|p: char| p == ' ' || p == '\t')
            && !scalars.contain(offset + i)
        {
            return Some(i);
        }
        previous = Some(c);
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
    use crate::compose::yaml;

    /// The comment start of every line of `text`, as found with its parsed scalars.
    fn comments(text: &str) -> Vec<Option<usize>> {
        let scalars = Scalars::of(&yaml::parse(text).expect("valid YAML"));
        let mut offset = 0;
        text.split_inclusive('\n')
            .map(|line| {
                let found = comment_start(line.trim_end_matches('\n'), offset, &scalars);
                offset += line.len();
                found
            })
            .collect()
    }

    #[test]
    fn comments_as_yaml_finds_them() {
        assert_eq!(comments("a: b # c\n"), [Some(5)]);
        assert_eq!(comments("a: \"b # c\"\n"), [None]);
        assert_eq!(comments("a: b#c\n"), [None]);
        assert_eq!(comments("# c\na: 1\n"), [Some(0), None]);
        // An apostrophe in a plain scalar opens nothing; a quote in a quoted one ends nothing.
        assert_eq!(comments("a: it's # c\n"), [Some(8)]);
        assert_eq!(comments("a: 'it''s # x' # c\n"), [Some(15)]);
        assert_eq!(comments("'k # x': v # c\n"), [Some(11)]);
        // A block scalar's lines are text, up to the first line indented less.
        assert_eq!(
            comments("a: | # c\n  x # y\n  # z\n# c\nb: 1\n"),
            [Some(5), None, None, Some(0), None]
        );
        // A quoted scalar over two lines, a flow sequence.
        assert_eq!(
            comments("a: \"x\n  # y\" # c\nb: [x, 'y # z'] # c\n"),
            [None, Some(7), Some(16)]
        );
    }

    #[test]
    fn columns_in_one_pass_match_one_at_a_time() {
        let line = "# topo-lint: allow é-rule, ü x y";
        let offsets: Vec<usize> = rule_list(&line[19..], 19)
            .into_iter()
            .map(|(_, at)| at)
            .collect();
        let one_by_one: Vec<u32> = offsets.iter().map(|&at| column(line, at)).collect();
        assert_eq!(columns(line, offsets.into_iter()), one_by_one);
        assert_eq!(one_by_one, [20, 28, 30, 32]);
    }

    #[test]
    fn rule_lists_with_offsets_and_reasons() {
        let line = "# topo-lint: allow privileged, literal-secret -- the CI runner needs it";
        let start = line.find("allow").expect("allow") + "allow".len();
        let rules = rule_list(&line[start..], start);
        let ids: Vec<_> = rules.iter().map(|(id, _)| id.as_str()).collect();
        assert_eq!(ids, ["privileged", "literal-secret"]);
        assert_eq!(rules[0].1, line.find("privileged").expect("p"));
        assert_eq!(column("grüß # x", 7), 6);
    }
}
