//! Environment values across modes, read back into topology values: a literal, a value per
//! mode, or a secret reference with a local default.
//!
//! The renderer writes a literal with `$` doubled, a secret as `${VAR:-default}` locally and
//! `${VAR:?…}` in production; everything else a hand-written file may say is mapped to the
//! nearest topology value, with a note saying what changes.

use crate::compose::{EnvEntry, Pos};
use crate::model::EnvValue;
use crate::value::{self, is_secret_name};
use crate::Mode;

use super::values::Interpolated;
use super::{Container, Note};

/// One variable of a container, across the modes.
pub(super) struct Variable {
    /// Its name.
    pub name: String,
    /// Its topology value.
    pub value: EnvValue,
    /// What the user must check about it.
    pub notes: Vec<Note>,
    /// Where it is written (its name, in the most production-like file).
    pub at: Note,
}

/// The environment entries of one file's service, a secret file read back: `NAME_FILE:
/// /run/secrets/VAR` is the secret `VAR` given to `NAME` as a file (the `_FILE`
/// convention the renderer writes), so it reads as `NAME: ${VAR}`, flagged.
fn entries(view: &crate::compose::ServiceView<'_>) -> Vec<(EnvEntry, bool)> {
    // Only the files the service mounts: a literal path elsewhere stays a literal.
    let mounted: Vec<String> = view
        .get("secrets")
        .map(|secrets| secrets.items())
        .unwrap_or_default()
        .iter()
        .filter_map(|item| {
            let source = item.scalar().or_else(|| item.get("source")?.scalar())?;
            Some(
                item.get("target")
                    .and_then(|t| t.scalar())
                    .unwrap_or(format!("/run/secrets/{source}")),
            )
        })
        .collect();
    view.environment()
        .into_iter()
        .map(|mut entry| {
            let file = entry.name.strip_suffix("_FILE");
            let secret = entry
                .value
                .as_deref()
                .filter(|v| mounted.iter().any(|m| m == v))
                .and_then(|v| v.strip_prefix("/run/secrets/"))
                .filter(|var| {
                    var.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
                        && var.starts_with(|c: char| !c.is_ascii_digit())
                });
            match (file, secret) {
                (Some(name), Some(var)) if !name.is_empty() => {
                    entry.value = Some(format!("${{{var}:?{var} must be set}}"));
                    entry.name = name.to_owned();
                    (entry, true)
                }
                _ => (entry, false),
            }
        })
        .collect()
}

/// The environment of `container` as topology values, sorted by name.
pub(super) fn import(container: &Container<'_>, given: &[Mode]) -> Vec<Variable> {
    let mut names: Vec<String> = container
        .seen
        .iter()
        .flat_map(|s| entries(&s.view))
        .map(|(entry, _)| entry.name)
        .collect();
    names.sort();
    names.dedup();
    names
        .into_iter()
        .map(|name| {
            let mut values: [Option<Interpolated>; 3] = [None, None, None];
            let mut positions: [Option<(usize, Pos)>; 3] = [None, None, None];
            let mut written: Option<(usize, Pos)> = None;
            let mut as_file = false;
            for (s, seen) in container.seen.iter().enumerate() {
                if let Some((entry, file)) = entries(&seen.view)
                    .into_iter()
                    .find(|(e, _)| e.name == name)
                {
                    as_file |= file;
                    let slot = mode_slot(seen.mode);
                    values[slot] = Some(match &entry.value {
                        Some(text) => Interpolated::parse(text),
                        // `- NAME` passes the shell's variable through.
                        None => Interpolated::Variable {
                            name: name.clone(),
                            default: None,
                            required: false,
                        },
                    });
                    positions[slot] = Some((s, entry.value_pos));
                    written = Some((s, entry.pos));
                }
            }
            let (mut value, messages) = combine(&name, &values, given);
            if let (EnvValue::Secret { file, .. }, true) = (&mut value, as_file) {
                *file = Some(true);
            }
            let notes = messages
                .into_iter()
                .map(|(mode, message)| {
                    let at = positions[mode_slot(mode)]
                        .or_else(|| positions.iter().flatten().next().copied())
                        .expect("a variable is written in at least one file");
                    container.seen[at.0].note(at.1, message)
                })
                .collect();
            let at = written.map_or_else(
                || container.prod().note_here(""),
                |(s, pos)| container.seen[s].note(pos, ""),
            );
            Variable {
                name,
                value,
                notes,
                at,
            }
        })
        .collect()
}

fn mode_slot(mode: Mode) -> usize {
    match mode {
        Mode::Dev => 0,
        Mode::ProdSim => 1,
        Mode::Production => 2,
    }
}

/// The topology value of `name` from its value in each mode (dev, prod-sim, production;
/// `None` where the file does not set it), and what changes, by the mode it concerns.
pub(super) fn combine(
    name: &str,
    values: &[Option<Interpolated>; 3],
    given: &[Mode],
) -> (EnvValue, Vec<(Mode, String)>) {
    let [dev, sim, prod] = values;
    let mut notes = Vec::new();
    for mode in given {
        if values[mode_slot(*mode)].is_none() {
            notes.push((
                *mode,
                format!(
                    "`{name}` is not set in the {mode} file; topo sets a variable in every mode"
                ),
            ));
        }
    }
    let is_variable = |v: &Option<Interpolated>| {
        matches!(
            v,
            Some(Interpolated::Variable { .. } | Interpolated::Mixed(_))
        )
    };
    if let Some(template) = template(name, values, &mut notes) {
        return (template, notes);
    }
    if values.iter().any(is_variable) {
        return (secret(name, values, &mut notes), notes);
    }
    let text = |v: &Option<Interpolated>| match v {
        Some(Interpolated::Literal(text)) => Some(text.clone()),
        _ => None,
    };
    let dev_text = text(dev).or_else(|| {
        if given.contains(&Mode::Dev) {
            Some(String::new())
        } else {
            text(sim).or_else(|| text(prod))
        }
    });
    let prod_text = text(prod).or_else(|| text(sim));
    if let (Some(sim), Some(prod)) = (text(sim), text(prod)) {
        if sim != prod {
            notes.push((Mode::ProdSim, format!("`{name}` differs between prod-sim (`{sim}`) and production (`{prod}`): kept production's")));
        }
    }
    let prod_text = prod_text.or_else(|| {
        if given.iter().any(|m| *m != Mode::Dev) {
            Some(String::new())
        } else {
            dev_text.clone()
        }
    });
    let dev_text = dev_text.unwrap_or_default();
    let prod_text = prod_text.unwrap_or_default();
    if is_secret_name(name) && !prod_text.is_empty() {
        notes.push((
            Mode::Production,
            format!("`{name}` looks like a secret but is written in the file: production now reads it from the variable `{name}` (set it on the host); the local modes default to the value written here"),
        ));
        return (
            EnvValue::Secret {
                var: name.to_owned(),
                dev: usable_default(&dev_text, name, &mut notes),
                file: None,
            },
            notes,
        );
    }
    if dev_text == prod_text {
        (EnvValue::Literal(dev_text), notes)
    } else {
        (
            EnvValue::PerMode {
                dev: dev_text,
                prod: prod_text,
            },
            notes,
        )
    }
}

/// A template, when the most production-like value is text with variables inside it
/// (`postgresql://shop:${DB_PASSWORD:?…}@shop-db:5432/shop`): its variables are secrets,
/// each with the local default dev's (else prod-sim's) value gives it.
fn template(
    name: &str,
    values: &[Option<Interpolated>; 3],
    notes: &mut Vec<(Mode, String)>,
) -> Option<EnvValue> {
    use crate::model::TemplatePart;
    let parsed = |v: &Option<Interpolated>| match v {
        Some(Interpolated::Mixed(text)) => value::Interpolated::parse(text).ok(),
        _ => None,
    };
    let [dev, sim, prod] = values;
    let reference = prod.as_ref().or(sim.as_ref())?;
    let reference = parsed(&Some(reference.clone()))?;
    let local: Vec<value::Interpolated> = [dev, sim].into_iter().filter_map(parsed).collect();
    let mut parts = Vec::new();
    for part in reference.parts() {
        parts.push(match part {
            value::Part::Text(text) => TemplatePart::Text(text.clone()),
            value::Part::Variable(variable) => {
                if variable
                    .modifier
                    .as_ref()
                    .is_some_and(|m| m.operator == value::Operator::Alternative)
                {
                    return None;
                }
                let dev = local
                    .iter()
                    .flat_map(|l| l.variables())
                    .filter(|v| v.name == variable.name)
                    .find_map(|v| v.literal_default())
                    .filter(|d| value::fits_in_argument(d))
                    .map(str::to_owned);
                TemplatePart::Secret {
                    var: variable.name.clone(),
                    dev,
                }
            }
        });
    }
    let shape = |i: &value::Interpolated| -> Vec<String> {
        i.parts()
            .iter()
            .map(|p| match p {
                value::Part::Text(text) => text.clone(),
                value::Part::Variable(v) => format!("${{{}}}", v.name),
            })
            .collect()
    };
    for (mode, value) in [(Mode::Dev, dev), (Mode::ProdSim, sim)] {
        let differs = match (value, parsed(value)) {
            (None, _) => false,
            (_, Some(local)) => shape(&local) != shape(&reference),
            (Some(_), None) => true,
        };
        if differs {
            notes.push((mode, format!("`{name}` reads differently here than in production: topo derives it from production's template in every mode")));
        }
    }
    Some(EnvValue::Template(parts))
}

/// A secret reference from values of which at least one reads a variable.
fn secret(
    name: &str,
    values: &[Option<Interpolated>; 3],
    notes: &mut Vec<(Mode, String)>,
) -> EnvValue {
    let modes = [Mode::Dev, Mode::ProdSim, Mode::Production];
    let variable_of = |v: &Option<Interpolated>| match v {
        Some(Interpolated::Variable { name, .. }) => Some(name.clone()),
        _ => None,
    };
    let var = [&values[2], &values[1], &values[0]]
        .into_iter()
        .find_map(variable_of)
        .unwrap_or_else(|| name.to_owned());
    for (mode, value) in modes.iter().zip(values) {
        match value {
            Some(Interpolated::Variable { name: other, .. }) if *other != var => notes.push((
                *mode,
                format!("`{name}` reads `{other}` here but `{var}` in production: topo reads `{var}` in every mode"),
            )),
            Some(Interpolated::Mixed(text)) => notes.push((
                *mode,
                format!("`{name}` interpolates variables inside its value (`{text}`); topo never interpolates inside a value: it now reads the whole value from the variable `{var}`"),
            )),
            Some(Interpolated::Literal(text)) if *mode == Mode::Production => notes.push((
                *mode,
                format!("`{name}` is the literal `{text}` in production but a variable elsewhere: production now reads it from `{var}` (set it on the host)"),
            )),
            Some(Interpolated::Variable { default: Some(default), .. }) if *mode == Mode::Production => notes.push((
                *mode,
                format!("production falls back to `{default}` when `{var}` is unset; topo requires `{var}` in production"),
            )),
            Some(Interpolated::Variable { default: None, required: false, .. }) if *mode == Mode::Production => notes.push((
                *mode,
                format!("an unset `{var}` was passed on as empty; topo requires `{var}` in production"),
            )),
            _ => {}
        }
    }
    // The local default: what dev (else prod-sim) falls back to.
    let local_default = |v: &Option<Interpolated>| match v {
        Some(Interpolated::Variable { default, .. }) => default.clone(),
        Some(Interpolated::Literal(text)) => Some(text.clone()),
        Some(Interpolated::Mixed(text)) => resolved(text),
        None => None,
    };
    let dev_default = local_default(&values[0]);
    let sim_default = local_default(&values[1]);
    if let (Some(dev), Some(sim)) = (&dev_default, &sim_default) {
        if dev != sim {
            notes.push((Mode::ProdSim, format!("`{name}` defaults to `{sim}` in prod-sim but `{dev}` in dev: topo's one local default is dev's")));
        }
    }
    let default = dev_default.or(sim_default);
    if matches!(&values[0], Some(Interpolated::Literal(_))) {
        notes.push((
            Mode::Dev,
            format!(
                "guessed: the dev value of `{name}` is now the local default of the secret `{var}`"
            ),
        ));
    }
    EnvValue::Secret {
        dev: default.and_then(|d| usable_default(&d, name, notes)),
        var,
        file: None,
    }
}

/// Mixed text with every `${VAR:-default}` replaced by its default, when all have one.
fn resolved(text: &str) -> Option<String> {
    let parsed = value::Interpolated::parse(text).ok()?;
    if !parsed.variables().all(|v| v.literal_default().is_some()) {
        return None;
    }
    parsed.resolve(&|_| None).ok()
}

/// A local default Compose can carry in `${VAR:-default}` (no `}`, no `${`).
fn usable_default(default: &str, name: &str, notes: &mut Vec<(Mode, String)>) -> Option<String> {
    if !value::fits_in_argument(default) {
        notes.push((Mode::Dev, format!("the local value of `{name}` contains `}}` or `${{`, which a Compose default cannot carry: it has no local default now")));
        None
    } else {
        Some(default.to_owned())
    }
}

/// `value` with the host `old` (a renamed Compose service) called `new`: the whole value,
/// or after `//` or `@` and before `:`, `/` or the end.
pub(super) fn rewrite_host(value: &str, old: &str, new: &str) -> Option<String> {
    if old.is_empty() {
        return None; // no host is called nothing (and `find("")` would never advance)
    }
    if value == old {
        return Some(new.to_owned());
    }
    let mut out = String::new();
    let mut rest = value;
    let mut changed = false;
    while let Some(i) = rest.find(old) {
        let before = &rest[..i];
        let after = &rest[i + old.len()..];
        let starts = before.ends_with("//") || before.ends_with('@');
        let ends = after.is_empty() || after.starts_with([':', '/']);
        out.push_str(before);
        out.push_str(if starts && ends { new } else { old });
        changed |= starts && ends;
        rest = after;
    }
    out.push_str(rest);
    changed.then_some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    const ALL: [Mode; 3] = [Mode::Dev, Mode::ProdSim, Mode::Production];

    fn check(values: [Option<&str>; 3], expect: &str) {
        let values = values.map(|v| v.map(Interpolated::parse));
        let (value, notes) = combine("NAME", &values, &ALL);
        let mut got = format!("{value:?}");
        for (mode, _) in notes {
            got.push_str(&format!(" +note({mode})"));
        }
        assert_eq!(got, expect);
    }

    #[test]
    fn values_across_modes() {
        check([Some("x"), Some("x"), Some("x")], r#"Literal("x")"#);
        check(
            [Some("dev"), Some("prod"), Some("prod")],
            r#"PerMode { dev: "dev", prod: "prod" }"#,
        );
        check(
            [
                Some("${PW:-local}"),
                Some("${PW:-local}"),
                Some("${PW:?PW must be set}"),
            ],
            r#"Secret { var: "PW", dev: Some("local"), file: None }"#,
        );
        check(
            [Some("${PW:?x}"), Some("${PW:?x}"), Some("${PW:?x}")],
            r#"Secret { var: "PW", dev: None, file: None }"#,
        );
        check(
            [Some("local"), None, Some("${PW}")],
            r#"Secret { var: "PW", dev: Some("local"), file: None } +note(prod-sim) +note(production) +note(dev)"#,
        );
        check(
            [Some("1"), Some("1"), None],
            r#"Literal("1") +note(production)"#,
        );
        check(
            [Some("1"), None, None],
            r#"PerMode { dev: "1", prod: "" } +note(prod-sim) +note(production)"#,
        );
        check(
            [Some("a$$b"), Some("a$$b"), Some("a$$b")],
            r#"Literal("a$b")"#,
        );
        check(
            [
                Some("u:${PW:-x}@h"),
                Some("u:${PW:-x}@h"),
                Some("u:${PW}@h"),
            ],
            r#"Template([Text("u:"), Secret { var: "PW", dev: Some("x") }, Text("@h")])"#,
        );
        // Dev writes the URL out: production's template wins, and says so.
        check(
            [Some("u:pw@h"), None, Some("u:${PW:?set}@h")],
            r#"Template([Text("u:"), Secret { var: "PW", dev: None }, Text("@h")]) +note(prod-sim) +note(dev)"#,
        );
        // `+` cannot be a template: the whole value becomes a secret.
        check(
            [None, None, Some("u:${PW:+x}@h")],
            r#"Secret { var: "NAME", dev: None, file: None } +note(dev) +note(prod-sim) +note(production)"#,
        );
    }

    #[test]
    fn literal_secrets_become_references() {
        let values = [Some("pw"), Some("pw"), Some("pw")].map(|v| v.map(Interpolated::parse));
        let (value, notes) = combine("DB_PASSWORD", &values, &ALL);
        assert_eq!(
            value,
            EnvValue::Secret {
                var: "DB_PASSWORD".to_owned(),
                dev: Some("pw".to_owned()),
                file: None,
            }
        );
        assert_eq!(notes.len(), 1);
    }

    #[test]
    fn hosts_are_rewritten() {
        assert_eq!(
            rewrite_host("db", "db", "shop-db").as_deref(),
            Some("shop-db")
        );
        assert_eq!(
            rewrite_host("postgres://u@db:5432/x", "db", "shop-db").as_deref(),
            Some("postgres://u@shop-db:5432/x")
        );
        assert_eq!(
            rewrite_host("http://db/x", "db", "shop-db").as_deref(),
            Some("http://shop-db/x")
        );
        assert_eq!(rewrite_host("mydb", "db", "shop-db"), None);
        assert_eq!(rewrite_host("//dbx:1", "db", "shop-db"), None);
        assert_eq!(rewrite_host("http://x/", "", "shop-web"), None);
        assert_eq!(rewrite_host("", "", "shop-web"), None);
    }
}
