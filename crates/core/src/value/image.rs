//! Image references: `[registry/]repository[:tag][@digest]`, the one place an image name
//! is taken apart.
//!
//! The grammar is the engine's (distribution's `reference` package): the first path
//! component is a registry when it has a `.` or a `:` or is `localhost`; the tag follows
//! the last component's first `:`; a digest follows `@`. In Compose files a component may
//! read a variable (`ghcr.io/acme/web:${TAG:-latest}`): the parts are split outside `${…}`,
//! and the tag is parsed as an [`Interpolated`] value.

use std::fmt;

use serde::ser::SerializeStruct;

use super::interpolated::{Interpolated, InterpolationError, Operator, Variable};

/// An image reference.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct ImageRef {
    /// The registry (`ghcr.io`, `localhost:5000`), when the reference names one.
    pub registry: Option<String>,
    /// The repository path inside the registry (`acme/vendure-server`, `postgres`).
    pub repository: String,
    /// The tag; none means the engine reads `latest` (unless a digest pins the image).
    pub tag: Option<Interpolated>,
    /// The content digest (`sha256:…`), which pins the image whatever its tag says.
    pub digest: Option<String>,
}

impl ImageRef {
    /// Takes a reference apart. The only error is a tag that is not a valid Compose
    /// template (`web:${TAG`); the offset is in `reference`.
    pub fn parse(reference: &str) -> Result<ImageRef, InterpolationError> {
        let (name, digest) = match outside_variables(reference, b'@').last() {
            Some(at) => (&reference[..at], Some(reference[at + 1..].to_owned())),
            None => (reference, None),
        };
        let last_slash = outside_variables(name, b'/').last();
        let last_start = last_slash.map_or(0, |i| i + 1);
        let (path, tag) = match outside_variables(&name[last_start..], b':').next() {
            Some(colon) => {
                let at = last_start + colon;
                let tag = Interpolated::parse(&name[at + 1..]).map_err(|e| InterpolationError {
                    offset: at + 1 + e.offset,
                    problem: e.problem,
                })?;
                (&name[..at], Some(tag))
            }
            None => (name, None),
        };
        let (registry, repository) = split_registry(path);
        Ok(ImageRef {
            registry,
            repository,
            tag,
            digest,
        })
    }

    /// The image `name` under `prefix` (a registry and namespace such as `ghcr.io/acme`,
    /// or none), tagged `tag`.
    pub fn named(prefix: Option<&str>, name: &str, tag: Interpolated) -> ImageRef {
        let full = prefix.map_or_else(|| name.to_owned(), |prefix| format!("{prefix}/{name}"));
        let (registry, repository) = split_registry(&full);
        ImageRef {
            registry,
            repository,
            tag: Some(tag),
            digest: None,
        }
    }

    /// The last path component (`vendure-server` of `ghcr.io/acme/vendure-server:1`).
    pub fn name(&self) -> &str {
        outside_variables(&self.repository, b'/')
            .last()
            .map_or(&self.repository, |i| &self.repository[i + 1..])
    }

    /// Registry and namespace before the name (`ghcr.io/acme` of
    /// `ghcr.io/acme/vendure-server`): what `production.registry` holds.
    pub fn prefix(&self) -> Option<String> {
        let full = self.full_name();
        let name_start = full.len() - self.name().len();
        (name_start > 0).then(|| full[..name_start - 1].to_owned())
    }

    /// Registry and repository, without tag or digest: what the engine calls the
    /// repository (`ghcr.io/acme/vendure-server`).
    pub fn full_name(&self) -> String {
        match &self.registry {
            Some(registry) => format!("{registry}/{}", self.repository),
            None => self.repository.clone(),
        }
    }

    /// The tag when it is fixed text.
    pub fn fixed_tag(&self) -> Option<&str> {
        self.tag.as_ref().and_then(Interpolated::as_literal)
    }

    /// The tag, `latest` when there is none. `None` when a variable chooses it.
    pub fn tag_or_latest(&self) -> Option<&str> {
        match &self.tag {
            None => Some("latest"),
            Some(tag) => tag.as_literal(),
        }
    }

    /// The variable that chooses the tag, when the whole tag is one (`${TAG:?…}`).
    pub fn tag_variable(&self) -> Option<&Variable> {
        self.tag.as_ref().and_then(Interpolated::as_variable)
    }

    /// This reference with the fixed tag `tag` (and no digest).
    pub fn with_tag(&self, tag: &str) -> ImageRef {
        ImageRef {
            registry: self.registry.clone(),
            repository: self.repository.clone(),
            tag: Some(Interpolated::text(tag)),
            digest: None,
        }
    }

    /// The reference with an explicit `latest` when it has neither tag nor digest, as the
    /// engine reads it.
    pub fn or_latest(mut self) -> ImageRef {
        if self.tag.is_none() && self.digest.is_none() {
            self.tag = Some(Interpolated::text("latest"));
        }
        self
    }

    /// The major version the tag names: `17` of `17`, `17.2-alpine`, `pg17`, `latest-pg16`.
    /// `None` for `latest`, a variable, no tag, or a number too large to be a version.
    pub fn tag_major(&self) -> Option<u32> {
        let tag = self.fixed_tag()?;
        let digits = |text: &str| -> Option<u32> {
            let end = text.bytes().take_while(u8::is_ascii_digit).count();
            text[..end].parse().ok()
        };
        digits(tag).or_else(|| digits(&tag[tag.find("pg")? + 2..]))
    }

    /// Whether the reference leaves the version open: no tag, `latest`, or a variable
    /// defaulting to `latest`. A digest pins it; a variable without such a default is the
    /// deploying environment's choice, not an open version.
    pub fn is_unpinned(&self) -> bool {
        if self.digest.is_some() {
            return false;
        }
        match &self.tag {
            // A reference that is one variable may carry its tag in it.
            None => Interpolated::parse(&self.full_name())
                .map_or(true, |name| name.as_variable().is_none()),
            Some(tag) => match (tag.as_literal(), tag.as_variable()) {
                (Some(text), _) => text == "latest",
                (None, Some(variable)) => variable.modifier.as_ref().is_some_and(|m| {
                    m.operator == Operator::Default && m.argument.as_literal() == Some("latest")
                }),
                (None, None) => false,
            },
        }
    }
}

impl ImageRef {
    /// A reference written literally, as a topology writes images: read, then held to what
    /// the engine accepts ([`ImageRef::literal_problem`]); the error says what is wrong.
    pub fn parse_literal(reference: &str) -> Result<ImageRef, &'static str> {
        let parsed = ImageRef::parse(reference).map_err(|e| e.problem)?;
        parsed.literal_problem().map_or(Ok(parsed), Err)
    }

    /// Why the reference is not one the engine accepts, if it is not (for references
    /// written literally, as a topology writes them): the registry a host name with an
    /// optional port, each path component lowercase letters and digits joined by `.`, `_`,
    /// `__` or `-`, the tag `[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}`, the digest `algorithm:hex`.
    pub fn literal_problem(&self) -> Option<&'static str> {
        let host = |text: &str| {
            let (name, port) = text.split_once(':').unwrap_or((text, "0"));
            !name.is_empty()
                && name.split('.').all(|part| {
                    !part.is_empty() && part.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
                })
                && port.parse::<u16>().is_ok()
        };
        let component = |part: &str| {
            !part.is_empty()
                && part.starts_with(|c: char| c.is_ascii_lowercase() || c.is_ascii_digit())
                && part.ends_with(|c: char| c.is_ascii_lowercase() || c.is_ascii_digit())
                && part
                    .bytes()
                    .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b"._-".contains(&b))
        };
        if self.registry.as_deref().is_some_and(|r| !host(r)) {
            return Some("the registry is not a host name (with an optional port)");
        }
        if !self.repository.split('/').all(component) {
            return Some(
                "a repository is lowercase letters and digits, joined by `.`, `_`, `-` or `/`",
            );
        }
        let tag_ok = |tag: &str| {
            (1..=128).contains(&tag.len())
                && !tag.starts_with(['.', '-'])
                && tag
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b"_.-".contains(&b))
        };
        match &self.tag {
            Some(tag) if !tag.as_literal().is_some_and(tag_ok) => {
                return Some("a tag is letters, digits, `_`, `.` and `-` (at most 128)")
            }
            _ => {}
        }
        let digest_ok = |digest: &str| {
            digest.split_once(':').is_some_and(|(algorithm, hex)| {
                !algorithm.is_empty()
                    && algorithm
                        .bytes()
                        .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit())
                    && !hex.is_empty()
                    && hex.bytes().all(|b| b.is_ascii_hexdigit())
            })
        };
        match &self.digest {
            Some(digest) if !digest_ok(digest) => Some("a digest is `algorithm:hex` (`sha256:…`)"),
            _ => None,
        }
    }
}

impl fmt::Display for ImageRef {
    /// The reference as Compose and the engine read it.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.full_name())?;
        if let Some(tag) = &self.tag {
            write!(f, ":{tag}")?;
        }
        if let Some(digest) = &self.digest {
            write!(f, "@{digest}")?;
        }
        Ok(())
    }
}

impl serde::Serialize for ImageRef {
    /// `{"repository": "<registry>/<repository>", "tag": {"fixed": …} | {"variable": …}}`:
    /// the shape configuration hashes have always been computed from (changing it would
    /// make every deployed container look reconfigured).
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        #[derive(serde::Serialize)]
        #[serde(rename_all = "kebab-case")]
        enum Tag<'a> {
            Fixed(&'a str),
            Variable(&'a str),
        }
        let tag = match (&self.tag, self.tag_variable()) {
            (_, Some(variable)) => Tag::Variable(&variable.name),
            (Some(tag), None) => Tag::Fixed(tag.as_literal().unwrap_or_default()),
            (None, None) => Tag::Fixed(""),
        };
        let mut out = serializer.serialize_struct("ImageRef", 2)?;
        out.serialize_field("repository", &self.full_name())?;
        out.serialize_field("tag", &tag)?;
        out.end()
    }
}

/// `registry/repository` from a name without tag and digest.
fn split_registry(path: &str) -> (Option<String>, String) {
    match outside_variables(path, b'/').next() {
        Some(slash) if is_registry(&path[..slash]) => {
            (Some(path[..slash].to_owned()), path[slash + 1..].to_owned())
        }
        _ => (None, path.to_owned()),
    }
}

/// Is the first path component a registry (`ghcr.io`, `localhost:5000`, `localhost`,
/// or a variable standing for one)?
fn is_registry(component: &str) -> bool {
    component.contains(['.', ':', '$']) || component == "localhost"
}

/// The offsets of `byte` in `text` outside `${…}`.
fn outside_variables(text: &str, byte: u8) -> impl DoubleEndedIterator<Item = usize> + '_ {
    let bytes = text.as_bytes();
    let mut depth = 0usize;
    let mut found = Vec::new();
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'$' if bytes.get(i + 1) == Some(&b'{') => {
                depth += 1;
                i += 1;
            }
            b'}' if depth > 0 => depth -= 1,
            b if b == byte && depth == 0 => found.push(i),
            _ => {}
        }
        i += 1;
    }
    found.into_iter()
}
