//! The database: its pinned major, its image, its password, read into [`Database`].

use crate::diagnostic::Diagnostic;
use crate::engine::DatabaseVersion;
use crate::model::{self, EnvValue};
use crate::valid::{Database, Secret};
use crate::value::ImageRef;
use crate::Spanned;

/// The database of `project`. Problems are reported; stand-ins keep the result whole.
pub(super) fn check(
    project: &str,
    database: &model::Database,
    out: &mut Vec<Diagnostic>,
) -> Database {
    let engine = *database.engine.get();
    let written = database.major.get();
    let parsed = engine.parse_version(written.as_str());
    let version = parsed.clone().unwrap_or_else(|hint| {
        out.push(
            Diagnostic::error("database-major-not-numeric", format!("`{written}` does not pin a {} version", engine.display_name()))
                .at(database.major.span(), hint)
                .help("topo pins the major once and uses it in every mode; minor versions follow the image tag"),
        );
        DatabaseVersion { major: 0, minor: None }
    });
    let official = engine.official_image(&version.to_string());
    let image = match &database.image {
        Some(image) if parsed.is_ok() => {
            checked_image(image, version, &official, database, out).unwrap_or(official)
        }
        _ => official,
    };
    Database {
        engine,
        version,
        image,
        role: database.role.to_string(),
        volume: database.volume.to_string(),
        name: database
            .name
            .as_deref()
            .map_or(project, String::as_str)
            .to_owned(),
        user: database
            .user
            .as_deref()
            .map_or(project, String::as_str)
            .to_owned(),
        password: password(database, out),
        dev_port: database.dev_port.as_ref().map(|port| {
            if **port == 0 {
                out.push(
                    Diagnostic::error("invalid-port", "port 0 cannot be published")
                        .at(port.span(), "use a port from 1 to 65535"),
                );
            }
            **port
        }),
        timing: super::health::timing(&database.health, out),
        stop_timeout: super::deploy::stop_timeout(database.stop_timeout.as_ref(), out),
        hardening: super::hardening::hardening(database.hardening(), engine.hardening(), out),
    }
}

/// The written image, when it reads and its tag names the pinned major.
fn checked_image(
    image: &Spanned<String>,
    major: DatabaseVersion,
    official: &ImageRef,
    database: &model::Database,
    out: &mut Vec<Diagnostic>,
) -> Option<ImageRef> {
    let parsed = match ImageRef::parse_literal(image) {
        Ok(parsed) => parsed,
        Err(problem) => {
            out.push(
                Diagnostic::error(
                    "invalid-value",
                    format!("`{image}` is not an image reference: {problem}"),
                )
                .at(image.span(), "unreadable")
                .help(format!("e.g. `{official}`")),
            );
            return None;
        }
    };
    let engine = database.engine.get().display_name();
    let tag = parsed.fixed_tag().unwrap_or_default();
    // `pg17`, `latest-pg16`: PostgreSQL extensions' images name the major after letters.
    let named = major.named_by_tag(tag).or_else(|| {
        let tag_major = parsed.tag_major()?;
        Some(major.minor.is_none() && tag_major == major.major)
    });
    // What the tag names, as precisely as the pin: `16` of `16-alpine`, `11.4` of `11.4.5`.
    let shown = match parsed.tag_major() {
        Some(_) if tag.starts_with(|c: char| c.is_ascii_digit()) => {
            let precision = if major.minor.is_some() { 2 } else { 1 };
            let numbers: Vec<&str> = tag.split(['.', '-']).take(precision).collect();
            numbers.join(".")
        }
        Some(tag_major) => tag_major.to_string(),
        None => tag.to_owned(),
    };
    match named {
        Some(true) => return Some(parsed.or_latest()),
        Some(false) => out.push(
            Diagnostic::error("database-image-major-mismatch", format!("the database image `{image}` is {engine} {shown}, but the pinned major is {major}"))
                .at(image.span(), format!("tag names major {shown}"))
                .related(database.major.span(), format!("pinned to {major} here"))
                .help(format!("use an image tagged {major} (e.g. `{official}`), or change the pin deliberately")),
        ),
        None => out.push(
            Diagnostic::error("database-image-major-mismatch", format!("the database image `{image}` does not name a major version in its tag"))
                .at(image.span(), "untagged or `latest`: the major could drift")
                .help(format!("tag it with the pinned major, e.g. `{official}`")),
        ),
    }
    None
}

fn password(database: &model::Database, out: &mut Vec<Diagnostic>) -> Secret {
    let stand_in = Secret {
        var: "DB_PASSWORD".to_owned(),
        dev: None,
        file: true,
    };
    match database.password.as_ref() {
        None => {
            out.push(
                Diagnostic::error("missing-key", "the database has no `password`")
                    .at(database.major.span(), "in this [database] table")
                    .help(r#"add `password = { secret = "DB_PASSWORD" }` (the image refuses to start without one)"#),
            );
            stand_in
        }
        Some(password) => match password.get() {
            EnvValue::Secret { var, dev, file } => {
                let name = Spanned::new(database.engine.env_names().2.to_owned());
                super::values::env_entry(&name, password, out);
                // Every engine topo knows reads `<PASSWORD>_FILE` (the official images' convention).
                Secret {
                    var: var.clone(),
                    dev: dev.clone(),
                    file: file.unwrap_or(true),
                }
            }
            _ => {
                out.push(
                    Diagnostic::error("literal-secret", "the database password is written in the topology")
                        .at(password.span(), "a literal secret")
                        .help(r#"reference it instead: `password = { secret = "DB_PASSWORD", dev = "local-only" }`"#),
                );
                stand_in
            }
        },
    }
}
