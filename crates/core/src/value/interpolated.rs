//! A Compose string as Compose reads it: literal text and `${VAR…}` interpolations.
//!
//! The grammar is Compose v2's (compose-go's `template` package, checked against
//! `docker compose config` 2.26):
//!
//! - `$$` is a literal `$`; a `$` before anything that cannot start a variable (`$5`,
//!   `$}`, the end) is a literal `$` too;
//! - `$NAME` and `${NAME}`, where a name is `[_A-Za-z][_A-Za-z0-9]*`;
//! - `${NAME:-arg}` / `${NAME-arg}`: `arg` when the variable is unset or empty / unset;
//! - `${NAME:?arg}` / `${NAME?arg}`: an error saying `arg` when unset or empty / unset;
//! - `${NAME:+arg}` / `${NAME+arg}`: `arg` when the variable is set and not empty / set;
//! - the argument is itself interpolated (`${A:-${B:-x}}`); the closing brace is found by
//!   counting `${` against `}`, so an argument cannot contain a literal `}`;
//! - anything else after `${` (`${9}`, `${A x}`, an unclosed `${A`) is an invalid template,
//!   which Compose refuses.
//!
//! [`Interpolated::render`] writes the canonical form (`${NAME}`, `$` doubled in text), and
//! `parse(render(x)) == x` for every value whose arguments have no `}` (tested as a
//! property). Positions in errors are byte offsets into the parsed text.

use std::fmt;

/// A parsed Compose string: text and variables, in order.
///
/// Normalised: adjacent texts are merged and empty texts dropped, so two values that read
/// the same are equal.
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash)]
pub struct Interpolated {
    parts: Vec<Part>,
}

/// One piece of a Compose string.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum Part {
    /// Literal text (a `$` in it is a real dollar sign).
    Text(String),
    /// A variable read when the file is used.
    Variable(Variable),
}

/// `$NAME` or `${NAME…}`.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Variable {
    /// The variable's name.
    pub name: String,
    /// What happens when it is unset (or empty), if anything is said.
    pub modifier: Option<Modifier>,
}

/// The part of `${NAME…}` after the name.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Modifier {
    /// `-`, `?` or `+`.
    pub operator: Operator,
    /// With `:`: an empty variable counts as unset.
    pub empty_is_unset: bool,
    /// The default, the error message or the alternative value.
    pub argument: Interpolated,
}

/// What a modifier does.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Operator {
    /// `-`: the argument is the value when the variable is unset.
    Default,
    /// `?`: an unset variable is an error; the argument is its message.
    Required,
    /// `+`: the argument is the value when the variable is set.
    Alternative,
}

impl Operator {
    fn symbol(self) -> char {
        match self {
            Operator::Default => '-',
            Operator::Required => '?',
            Operator::Alternative => '+',
        }
    }
}

/// Why a string is not a valid Compose template.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{problem} (at byte {offset})")]
pub struct InterpolationError {
    /// The byte offset of the `$` that starts the bad interpolation.
    pub offset: usize,
    /// What is wrong, in words.
    pub problem: &'static str,
}

/// A required variable that is unset (or empty), met while resolving.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("required variable {name} is missing a value{}", if message.is_empty() { String::new() } else { format!(": {message}") })]
pub struct MissingVariable {
    /// The variable.
    pub name: String,
    /// Its message, resolved.
    pub message: String,
}

impl Interpolated {
    /// Reads a Compose string.
    pub fn parse(text: &str) -> Result<Interpolated, InterpolationError> {
        let mut out = Interpolated::default();
        let bytes = text.as_bytes();
        let mut i = 0;
        let mut text_start = 0;
        while let Some(at) = text[i..].find('$').map(|at| i + at) {
            out.push_text(&text[text_start..at]);
            match bytes.get(at + 1) {
                Some(b'$') => {
                    out.push_text("$");
                    i = at + 2;
                }
                Some(b'{') => {
                    let close = closing_brace(text, at).ok_or(InterpolationError {
                        offset: at,
                        problem: "`${` is never closed by `}`",
                    })?;
                    out.push(Part::Variable(braced(&text[at + 2..close], at)?));
                    i = close + 1;
                }
                Some(&b) if is_name_start(b) => {
                    let end = name_end(text, at + 1);
                    out.push(Part::Variable(Variable::named(&text[at + 1..end])));
                    i = end;
                }
                // Compose keeps a `$` that starts nothing as a dollar sign.
                _ => {
                    out.push_text("$");
                    i = at + 1;
                }
            }
            text_start = i;
        }
        out.push_text(&text[text_start..]);
        Ok(out)
    }

    /// Plain text, read literally.
    pub fn text(text: impl Into<String>) -> Interpolated {
        let mut out = Interpolated::default();
        out.push(Part::Text(text.into()));
        out
    }

    /// The whole value is one variable, without modifier: `${NAME}`.
    pub fn variable(name: impl Into<String>) -> Interpolated {
        Interpolated::of(Variable {
            name: name.into(),
            modifier: None,
        })
    }

    /// `${NAME:-default}`: the default when the variable is unset or empty.
    pub fn with_default(name: impl Into<String>, default: impl Into<String>) -> Interpolated {
        Interpolated::of(Variable {
            name: name.into(),
            modifier: Some(Modifier {
                operator: Operator::Default,
                empty_is_unset: true,
                argument: Interpolated::text(default),
            }),
        })
    }

    /// `${NAME:?message}`: an unset or empty variable is an error saying `message`.
    pub fn required(name: impl Into<String>, message: impl Into<String>) -> Interpolated {
        Interpolated::of(Variable {
            name: name.into(),
            modifier: Some(Modifier {
                operator: Operator::Required,
                empty_is_unset: true,
                argument: Interpolated::text(message),
            }),
        })
    }

    /// A value made of one part.
    pub fn of(variable: Variable) -> Interpolated {
        Interpolated {
            parts: vec![Part::Variable(variable)],
        }
    }

    /// Appends a part, keeping the value normalised.
    pub fn push(&mut self, part: Part) {
        match part {
            Part::Text(text) => self.push_text(&text),
            variable => self.parts.push(variable),
        }
    }

    fn push_text(&mut self, text: &str) {
        if text.is_empty() {
            return;
        }
        match self.parts.last_mut() {
            Some(Part::Text(last)) => last.push_str(text),
            _ => self.parts.push(Part::Text(text.to_owned())),
        }
    }

    /// The parts, in order.
    pub fn parts(&self) -> &[Part] {
        &self.parts
    }

    /// The text, when the value reads no variable (`""` for an empty value).
    pub fn as_literal(&self) -> Option<&str> {
        match self.parts.as_slice() {
            [] => Some(""),
            [Part::Text(text)] => Some(text),
            _ => None,
        }
    }

    /// The variable, when the whole value is one.
    pub fn as_variable(&self) -> Option<&Variable> {
        match self.parts.as_slice() {
            [Part::Variable(variable)] => Some(variable),
            _ => None,
        }
    }

    /// Whether the value reads any variable.
    pub fn reads_variables(&self) -> bool {
        self.parts.iter().any(|p| matches!(p, Part::Variable(_)))
    }

    /// The variables read at the top level, in order (not those inside arguments).
    pub fn variables(&self) -> impl Iterator<Item = &Variable> {
        self.parts.iter().filter_map(|p| match p {
            Part::Variable(variable) => Some(variable),
            Part::Text(_) => None,
        })
    }

    /// Whether [`render`](Self::render) reads back as this value: no argument holds `}` or
    /// `${` in its text (Compose counts them when it looks for the argument's end).
    pub fn is_representable(&self) -> bool {
        self.variables().all(|v| {
            v.modifier.as_ref().is_none_or(|m| {
                m.argument.parts.iter().all(|p| match p {
                    Part::Text(text) => fits_in_argument(text),
                    Part::Variable(_) => true,
                }) && m.argument.is_representable()
            })
        })
    }

    /// The canonical Compose text: `${NAME…}` for every variable, `$` doubled in text.
    pub fn render(&self) -> String {
        self.to_string()
    }

    /// The value Compose gives this string: variables looked up with `lookup`, modifiers
    /// applied; an unset variable without modifier is empty (Compose warns). A required
    /// variable that is unset is an error.
    pub fn resolve(
        &self,
        lookup: &dyn Fn(&str) -> Option<String>,
    ) -> Result<String, MissingVariable> {
        let mut out = String::new();
        for part in &self.parts {
            match part {
                Part::Text(text) => out.push_str(text),
                Part::Variable(variable) => out.push_str(&variable.resolve(lookup)?),
            }
        }
        Ok(out)
    }
}

impl Variable {
    fn named(name: &str) -> Variable {
        Variable {
            name: name.to_owned(),
            modifier: None,
        }
    }

    /// The default's text, when the variable has a literal `-`/`:-` default.
    pub fn literal_default(&self) -> Option<&str> {
        self.modifier
            .as_ref()
            .filter(|m| m.operator == Operator::Default)
            .and_then(|m| m.argument.as_literal())
    }

    /// Whether an unset variable is an error (`?`/`:?`).
    pub fn is_required(&self) -> bool {
        self.modifier
            .as_ref()
            .is_some_and(|m| m.operator == Operator::Required)
    }

    fn resolve(&self, lookup: &dyn Fn(&str) -> Option<String>) -> Result<String, MissingVariable> {
        let value = lookup(&self.name);
        let Some(modifier) = &self.modifier else {
            return Ok(value.unwrap_or_default());
        };
        let present = value
            .as_deref()
            .is_some_and(|v| !(modifier.empty_is_unset && v.is_empty()));
        match (modifier.operator, present) {
            (Operator::Default, false) => modifier.argument.resolve(lookup),
            (Operator::Required, false) => Err(MissingVariable {
                name: self.name.clone(),
                message: modifier.argument.resolve(lookup)?,
            }),
            (Operator::Alternative, true) => modifier.argument.resolve(lookup),
            _ => Ok(value.unwrap_or_default()),
        }
    }
}

impl fmt::Display for Interpolated {
    /// The canonical Compose text.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for part in &self.parts {
            match part {
                Part::Text(text) => f.write_str(&text.replace('$', "$$"))?,
                Part::Variable(variable) => write!(f, "{variable}")?,
            }
        }
        Ok(())
    }
}

impl fmt::Display for Variable {
    /// `${NAME}`, `${NAME:-default}`, …
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "${{{}", self.name)?;
        if let Some(modifier) = &self.modifier {
            if modifier.empty_is_unset {
                f.write_str(":")?;
            }
            write!(f, "{}{}", modifier.operator.symbol(), modifier.argument)?;
        }
        f.write_str("}")
    }
}

fn is_name_start(b: u8) -> bool {
    b == b'_' || b.is_ascii_alphabetic()
}

/// The end of the name starting at `start`.
fn name_end(text: &str, start: usize) -> usize {
    text[start..]
        .bytes()
        .position(|b| !(b == b'_' || b.is_ascii_alphanumeric()))
        .map_or(text.len(), |n| start + n)
}

/// The `}` closing the `${` at `open`: each `${` opens, each `}` closes.
fn closing_brace(text: &str, open: usize) -> Option<usize> {
    let bytes = text.as_bytes();
    let mut depth = 0usize;
    let mut i = open;
    while i < bytes.len() {
        if bytes[i] == b'$' && bytes.get(i + 1) == Some(&b'{') {
            depth += 1;
            i += 2;
            continue;
        }
        if bytes[i] == b'}' {
            depth -= 1;
            if depth == 0 {
                return Some(i);
            }
        }
        i += 1;
    }
    None
}

/// The inside of `${…}`: a name, then optionally `[:]` and `-`, `?` or `+` and the argument.
fn braced(inner: &str, offset: usize) -> Result<Variable, InterpolationError> {
    let invalid = |problem| InterpolationError { offset, problem };
    if !inner.bytes().next().is_some_and(is_name_start) {
        return Err(invalid(
            "`${` must be followed by a variable name (a letter or `_`, then letters, digits, `_`)",
        ));
    }
    let end = name_end(inner, 0);
    let name = &inner[..end];
    let rest = &inner[end..];
    if rest.is_empty() {
        return Ok(Variable::named(name));
    }
    let (empty_is_unset, rest) = match rest.strip_prefix(':') {
        Some(after) => (true, after),
        None => (false, rest),
    };
    let operator = match rest.bytes().next() {
        Some(b'-') => Operator::Default,
        Some(b'?') => Operator::Required,
        Some(b'+') => Operator::Alternative,
        _ => {
            return Err(invalid(
                "after a variable's name, `${…}` takes `:-`, `-`, `:?`, `?`, `:+` or `+`",
            ))
        }
    };
    // The argument starts after the operator; its own errors are placed in the whole text.
    let argument_start = offset + 2 + (inner.len() - rest.len()) + 1;
    let argument = Interpolated::parse(&rest[1..]).map_err(|e| InterpolationError {
        offset: argument_start + e.offset,
        problem: e.problem,
    })?;
    Ok(Variable {
        name: name.to_owned(),
        modifier: Some(Modifier {
            operator,
            empty_is_unset,
            argument,
        }),
    })
}

/// Whether `text` can be a literal argument (a default, a message): Compose ends an
/// argument at its first unmatched `}` and counts `${` as an opening.
pub fn fits_in_argument(text: &str) -> bool {
    !text.contains('}') && !text.contains("${")
}

/// Doubles every `$`: `text` as a Compose literal.
pub fn escape(text: &str) -> String {
    Interpolated::text(text).render()
}
