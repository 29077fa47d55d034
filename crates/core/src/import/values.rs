//! Compose values read back into what a topology can say: the shapes of interpolated
//! strings (read by [`crate::value`]), paths and ports.

use crate::value::{self, Operator};

/// What a Compose string means for a topology value: the shapes topo can carry.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(super) enum Interpolated {
    /// Plain text (`$$` read back as `$`).
    Literal(String),
    /// The whole value is one variable: `${VAR}`, `$VAR`, `${VAR:-default}`, `${VAR:?message}`.
    Variable {
        /// The variable.
        name: String,
        /// The literal default used when it is unset (`:-` or `-`).
        default: Option<String>,
        /// Whether an unset variable is an error (`:?` or `?`).
        required: bool,
    },
    /// Anything else: text with variables inside (`postgres://app:${DB_PASSWORD}@db/app`),
    /// a variable with a computed default or `+`, or text Compose refuses, as written.
    Mixed(String),
}

impl Interpolated {
    /// Reads a Compose string.
    pub(super) fn parse(text: &str) -> Interpolated {
        let Ok(value) = value::Interpolated::parse(text) else {
            return Interpolated::Mixed(text.to_owned());
        };
        if let Some(literal) = value.as_literal() {
            return Interpolated::Literal(literal.to_owned());
        }
        let whole = value.as_variable().filter(|variable| {
            variable.modifier.as_ref().is_none_or(|m| {
                m.operator == Operator::Required
                    || (m.operator == Operator::Default && m.argument.as_literal().is_some())
            })
        });
        match whole {
            Some(variable) => Interpolated::Variable {
                name: variable.name.clone(),
                default: variable.literal_default().map(str::to_owned),
                required: variable.is_required(),
            },
            None => Interpolated::Mixed(text.to_owned()),
        }
    }
}

/// A Compose string that must be a literal (a command's word): `$$` read back as `$`;
/// `Err` with the text as written when it reads a variable.
pub(super) fn literal(text: &str) -> Result<String, String> {
    match Interpolated::parse(text) {
        Interpolated::Literal(literal) => Ok(literal),
        Interpolated::Variable { .. } | Interpolated::Mixed(_) => Err(text.to_owned()),
    }
}

/// A path from a Compose file, made relative to the topology's directory: `directory` is
/// where the Compose files sit as seen from there (`.` when they sit beside it).
pub(super) fn rebase(directory: &str, path: &str) -> String {
    let mut parts: Vec<&str> = Vec::new();
    let joined = if path.starts_with('/') {
        path.to_owned()
    } else {
        format!("{directory}/{path}")
    };
    for part in joined.split('/') {
        match part {
            "" | "." => {}
            ".." if parts.last().is_some_and(|p| *p != "..") => {
                parts.pop();
            }
            _ => parts.push(part),
        }
    }
    let relative = parts.join("/");
    match (path.starts_with('/'), relative.is_empty()) {
        (true, _) => format!("/{relative}"),
        (false, true) => ".".to_owned(),
        (false, false) => relative,
    }
}

/// A path from a Compose file as the topology writes it: [`rebase`]d, except that beside
/// the topology (`directory` is `.`) it is kept as written less the `./` the renderer puts
/// in front, so `apps/web/` or `a/../b` come back as they were; `$$` is read back as `$`
/// (`Err` with the text as written when it reads a variable).
pub(super) fn written_path(directory: &str, path: &str) -> Result<String, String> {
    let path = if directory == "." && !path.starts_with('/') {
        let mut rest = path;
        while let Some(shorter) = rest.strip_prefix("./") {
            rest = shorter;
        }
        if rest.is_empty() {
            ".".to_owned()
        } else {
            rest.to_owned()
        }
    } else {
        rebase(directory, path)
    };
    literal(&path)
}

/// A port number from a Compose port field.
pub(super) fn port_number(text: &str) -> Option<u16> {
    text.parse().ok().filter(|p| *p != 0)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(input: &str, expect: &str) {
        let got = match Interpolated::parse(input) {
            Interpolated::Literal(text) => format!("literal {text}"),
            Interpolated::Variable {
                name,
                default,
                required,
            } => format!("var {name} default={default:?} required={required}"),
            Interpolated::Mixed(text) => format!("mixed {text}"),
        };
        assert_eq!(got, expect, "{input}");
    }

    #[test]
    fn interpolations() {
        check("plain", "literal plain");
        check("costs $$5", "literal costs $5");
        check("a$$b$$$$", "literal a$b$$");
        check(
            "${DB_PASSWORD:-dev pw}",
            "var DB_PASSWORD default=Some(\"dev pw\") required=false",
        );
        check(
            "${DB_PASSWORD:?DB_PASSWORD must be set: the secret of X}",
            "var DB_PASSWORD default=None required=true",
        );
        check("${TOKEN}", "var TOKEN default=None required=false");
        check("$TOKEN", "var TOKEN default=None required=false");
        check("${A-x}", "var A default=Some(\"x\") required=false");
        check("postgres://u:${PW}@db/x", "mixed postgres://u:${PW}@db/x");
        check("$5 off", "literal $5 off");
        check("", "literal ");
    }

    #[test]
    fn paths() {
        assert_eq!(rebase(".", "./apps/server"), "apps/server");
        assert_eq!(rebase(".", "."), ".");
        assert_eq!(rebase("deploy", "../apps/server"), "apps/server");
        assert_eq!(rebase("deploy", "./.env.local"), "deploy/.env.local");
        assert_eq!(rebase(".", "../elsewhere"), "../elsewhere");
        assert_eq!(rebase(".", "/srv/data"), "/srv/data");
        assert_eq!(written_path(".", "./apps/web/"), Ok("apps/web/".to_owned()));
        assert_eq!(written_path(".", "././a/../b"), Ok("a/../b".to_owned()));
        assert_eq!(written_path(".", "./"), Ok(".".to_owned()));
        assert_eq!(written_path(".", "./a$$b"), Ok("a$b".to_owned()));
        assert_eq!(written_path("deploy", "../a$$b"), Ok("a$b".to_owned()));
        assert_eq!(written_path(".", "${DIR}"), Err("${DIR}".to_owned()));
    }
}
