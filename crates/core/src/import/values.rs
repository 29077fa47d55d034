//! Compose values read back into what they mean: interpolations, image references,
//! durations and paths. The inverse of what `render/compose.rs` writes.

use std::time::Duration;

/// A Compose string after interpolation syntax is understood.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(super) enum Interpolated {
    /// Plain text (`$$` read back as `$`).
    Literal(String),
    /// The whole value is one variable: `${VAR}`, `$VAR`, `${VAR:-default}`, `${VAR:?message}`.
    Variable {
        /// The variable.
        name: String,
        /// The default used when it is unset (`:-` or `-`).
        default: Option<String>,
        /// Whether an unset variable is an error (`:?` or `?`).
        required: bool,
    },
    /// Text with variables inside (`postgres://app:${DB_PASSWORD}@db/app`), as written.
    Mixed(String),
}

impl Interpolated {
    /// Reads a Compose string.
    pub(super) fn parse(text: &str) -> Interpolated {
        if let Some(variable) = whole_variable(text) {
            return variable;
        }
        let mut literal = String::new();
        let mut rest = text;
        while let Some(i) = rest.find('$') {
            literal.push_str(&rest[..i]);
            let after = &rest[i + 1..];
            if let Some(tail) = after.strip_prefix('$') {
                literal.push('$');
                rest = tail;
            } else if after.starts_with('{')
                || after.starts_with(|c: char| c == '_' || c.is_ascii_alphabetic())
            {
                return Interpolated::Mixed(text.to_owned());
            } else {
                // A lone `$` before anything else is kept by Compose as it is.
                literal.push('$');
                rest = after;
            }
        }
        literal.push_str(rest);
        Interpolated::Literal(literal)
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

/// `${VAR…}` or `$VAR` as the whole value.
fn whole_variable(text: &str) -> Option<Interpolated> {
    if let Some(inner) = text.strip_prefix("${").and_then(|t| t.strip_suffix('}')) {
        let name_end = inner
            .find(|c: char| !(c == '_' || c.is_ascii_alphanumeric()))
            .unwrap_or(inner.len());
        let (name, modifier) = inner.split_at(name_end);
        if name.is_empty() || inner.contains("${") {
            return None;
        }
        let variable = |default: Option<&str>, required| Interpolated::Variable {
            name: name.to_owned(),
            default: default.map(|d| d.replace("$$", "$")),
            required,
        };
        return match modifier {
            "" => Some(variable(None, false)),
            _ if modifier.starts_with(":-") => Some(variable(Some(&modifier[2..]), false)),
            _ if modifier.starts_with('-') => Some(variable(Some(&modifier[1..]), false)),
            _ if modifier.starts_with(":?") || modifier.starts_with('?') => {
                Some(variable(None, true))
            }
            _ => None,
        };
    }
    let name = text.strip_prefix('$')?;
    let valid = name
        .chars()
        .next()
        .is_some_and(|c| c == '_' || c.is_ascii_alphabetic())
        && name.chars().all(|c| c == '_' || c.is_ascii_alphanumeric());
    valid.then(|| Interpolated::Variable {
        name: name.to_owned(),
        default: None,
        required: false,
    })
}

/// An image reference split the way topo names images.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(super) struct Image {
    /// Registry and path before the name (`ghcr.io/acme`), if any.
    pub prefix: Option<String>,
    /// The last path component (`vendure-server`, `postgres`).
    pub name: String,
    /// The tag.
    pub tag: Tag,
}

/// An image tag as written.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(super) enum Tag {
    /// No tag: the engine reads `latest`.
    None,
    /// A fixed tag (`17`, `dev`, `1.4.2`), digest included if any.
    Fixed(String),
    /// `${VAR…}`: the deploying environment chooses.
    Variable(String),
}

impl Image {
    /// Splits `[prefix/]name[:tag]`, where the tag may be an interpolation.
    pub(super) fn parse(reference: &str) -> Image {
        let (path, tag) = match reference.find(":$") {
            Some(i) => {
                let tag = match Interpolated::parse(&reference[i + 1..]) {
                    Interpolated::Variable { name, .. } => Tag::Variable(name),
                    _ => Tag::Fixed(reference[i + 1..].to_owned()),
                };
                (&reference[..i], tag)
            }
            None => {
                let name_start = reference.rfind('/').map_or(0, |i| i + 1);
                match reference[name_start..].split_once(':') {
                    Some((_, tag)) => (
                        &reference[..name_start + reference[name_start..].len() - tag.len() - 1],
                        Tag::Fixed(tag.to_owned()),
                    ),
                    None => (reference, Tag::None),
                }
            }
        };
        match path.rsplit_once('/') {
            Some((prefix, name)) => Image {
                prefix: Some(prefix.to_owned()),
                name: name.to_owned(),
                tag,
            },
            None => Image {
                prefix: None,
                name: path.to_owned(),
                tag,
            },
        }
    }

    /// `prefix/name` without the tag.
    pub(super) fn repository(&self) -> String {
        match &self.prefix {
            Some(prefix) => format!("{prefix}/{}", self.name),
            None => self.name.clone(),
        }
    }
}

/// A Compose duration (`10s`, `1m30s`, `500ms`), when topo can read it too.
pub(super) fn duration(text: &str) -> Option<Duration> {
    crate::validate::parse_duration(text)
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
    fn images() {
        let image =
            Image::parse("ghcr.io/acme/vendure-server:${TAG:?set TAG to the image tag to deploy}");
        assert_eq!(image.prefix.as_deref(), Some("ghcr.io/acme"));
        assert_eq!(image.name, "vendure-server");
        assert_eq!(image.tag, Tag::Variable("TAG".to_owned()));
        let image = Image::parse("registry.local:5000/pg/postgres:16.4-bookworm");
        assert_eq!(image.repository(), "registry.local:5000/pg/postgres");
        assert_eq!(image.tag, Tag::Fixed("16.4-bookworm".to_owned()));
        let image = Image::parse("registry.local:5000/postgres");
        assert_eq!((image.name.as_str(), image.tag), ("postgres", Tag::None));
        assert_eq!(
            Image::parse("vendure-server:dev").tag,
            Tag::Fixed("dev".to_owned())
        );
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
