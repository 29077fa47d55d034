//! What the rules need to know about images, commands, variables and paths; no findings here.

use crate::value::{ImageRef, Interpolated};

/// A database engine recognised from an image, and the major its tag names.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(super) struct DbImage {
    /// `postgres`, `mysql`, `mariadb`, `mongodb`, `redis`, `valkey`.
    pub engine: &'static str,
    /// The major the tag names (`17` for `postgres:17-alpine`, `pgvector/pgvector:pg17`).
    pub major: Option<String>,
    /// The port the engine listens on.
    pub port: u16,
}

/// The database engine an image runs, if it is one topo knows.
pub(super) fn db_image(image: &str) -> Option<DbImage> {
    let image = ImageRef::parse(image).ok()?;
    let (engine, port) = match image.name() {
        "postgres" | "postgresql" | "postgis" | "timescaledb" | "timescaledb-ha" | "pgvector" => {
            ("postgres", 5432)
        }
        "mysql" => ("mysql", 3306),
        "mariadb" => ("mariadb", 3306),
        "mongo" | "mongodb" => ("mongodb", 27017),
        "redis" | "redis-stack-server" => ("redis", 6379),
        "valkey" => ("valkey", 6379),
        _ => return None,
    };
    Some(DbImage {
        engine,
        major: image.tag_major().map(|major| major.to_string()),
        port,
    })
}

/// An image reference without a version: no tag, `latest`, or a variable defaulting to
/// `latest`. A digest pins it.
pub(super) fn is_unpinned(image: &str) -> bool {
    ImageRef::parse(image).is_ok_and(|image| image.is_unpinned())
}

/// The repository of an image without registry, namespace or tag (`vendure-server` from
/// `ghcr.io/acme/vendure-server:${TAG}`).
pub(super) fn image_basename(image: &str) -> String {
    ImageRef::parse(image).map_or_else(|_| image.to_owned(), |image| image.name().to_owned())
}

/// True when a value reads a variable (`${X}`, `$X`), or is not a template Compose
/// reads at all; `$$` is a literal dollar.
pub(super) fn is_interpolated(value: &str) -> bool {
    Interpolated::parse(value).map_or(true, |value| value.reads_variables())
}

/// The literal default of `${VAR:-default}` / `${VAR-default}`, when the whole value is one.
pub(super) fn interpolation_default(value: &str) -> Option<String> {
    let value = Interpolated::parse(value).ok()?;
    let default = value.as_variable()?.literal_default()?.trim_start();
    (!default.is_empty()).then(|| default.to_owned())
}

pub(super) use crate::value::is_secret_name;

/// The password of a URL value (`postgres://user:secret@db/x`), when it is literal.
pub(super) fn url_password(value: &str) -> Option<&str> {
    let masked = masked(value);
    let authority = url_authority(&masked)?;
    let userinfo = authority.start..authority.start + masked[authority].rfind('@')?;
    let colon = masked[userinfo.clone()].find(':')?;
    let password = &value[userinfo.start + colon + 1..userinfo.end];
    (!password.is_empty() && !is_interpolated(password)).then_some(password)
}

/// `value` with every byte of each `${…}` (braces included, nested ones too) replaced by
/// `$`: the separators of a URL or a list inside a variable's default or message
/// (`${DB_PASSWORD:?set it: the password}`) are not the value's. Byte offsets are kept.
fn masked(value: &str) -> String {
    let bytes = value.as_bytes();
    let mut out = bytes.to_vec();
    let (mut i, mut depth) = (0, 0usize);
    while i < bytes.len() {
        match (bytes[i], bytes.get(i + 1)) {
            (b'$', Some(b'$')) if depth == 0 => i += 1, // `$$`: a literal dollar
            (b'$', Some(b'{')) => {
                depth += 1;
                out[i] = b'$';
                out[i + 1] = b'$';
                i += 1;
            }
            (b'}', _) if depth > 0 => {
                depth -= 1;
                out[i] = b'$';
            }
            _ if depth > 0 => out[i] = b'$',
            _ => {}
        }
        i += 1;
    }
    // Only ASCII bytes were written, each over a whole character: still UTF-8 when every
    // multi-byte character inside a variable became `$`s.
    String::from_utf8(out).unwrap_or_else(|_| value.to_owned())
}

/// The byte range of a URL's authority (`user:pass@host:port`) in `value`.
fn url_authority(value: &str) -> Option<std::ops::Range<usize>> {
    let (scheme, rest) = value.split_once("://")?;
    if scheme.is_empty()
        || !scheme
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "+-.".contains(c))
    {
        return None;
    }
    let start = scheme.len() + 3;
    let len = rest.find(['/', '?', '#']).unwrap_or(rest.len());
    Some(start..start + len)
}

/// The hosts an environment value names, as `(host, byte offset in the value)`:
/// URL hosts for any variable, `host[:port]` lists for variables named like hosts.
/// Separators inside `${…}` do not count.
pub(super) fn hosts_named(name: &str, value: &str) -> Vec<(String, usize)> {
    let masked = masked(value);
    if let Some(authority) = url_authority(&masked) {
        let host_start =
            authority.start + masked[authority.clone()].rfind('@').map_or(0, |i| i + 1);
        return masked[host_start..authority.end]
            .split(',')
            .scan(host_start, |offset, part| {
                let here = *offset;
                *offset += part.len() + 1;
                Some((host_of(&value[here..here + part.len()]).to_owned(), here))
            })
            .collect();
    }
    let upper = name.to_ascii_uppercase();
    let names_hosts = [
        "_HOST",
        "_HOSTNAME",
        "_HOSTS",
        "_ADDR",
        "_ADDRESS",
        "_SERVER",
        "_SERVERS",
        "_BROKERS",
    ]
    .iter()
    .any(|s| upper.ends_with(s));
    if !names_hosts {
        return Vec::new();
    }
    masked
        .split(',')
        .scan(0, |offset, part| {
            let here = *offset + (part.len() - part.trim_start().len());
            *offset += part.len() + 1;
            let written = &value[here..here + part.trim().len()];
            Some((host_of(written).to_owned(), here))
        })
        .collect()
}

fn host_of(host_port: &str) -> &str {
    if host_port.starts_with('[') {
        return host_port; // an IPv6 literal
    }
    host_port.split(':').next().unwrap_or(host_port)
}

/// True when a host is not a name to look up on the Compose network: empty, an IP address,
/// a qualified domain, localhost, the Docker host, or a variable.
pub(super) fn is_external_host(host: &str) -> bool {
    host.is_empty()
        || host.contains('.')
        || host.contains('$')
        || host.starts_with('[')
        || host.contains('*')
        || host.parse::<std::net::IpAddr>().is_ok()
        || matches!(
            host,
            "localhost" | "host.docker.internal" | "gateway.docker.internal"
        )
        || !host
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
}

/// Paths a container generates and owns.
pub(super) const GENERATED: &[&str] = &[
    "node_modules",
    ".next",
    "dist",
    "build",
    ".tanstack",
    ".turbo",
    ".nuxt",
    ".svelte-kit",
    ".output",
    ".parcel-cache",
    ".vite",
    ".angular",
    ".expo",
    "__pycache__",
    ".venv",
];

/// The generated path a mount path ends at or passes through (`/app/node_modules/.bin` →
/// `node_modules`).
pub(super) fn generated_component(path: &str) -> Option<&'static str> {
    path.split(['/', '\\'])
        .filter_map(|component| GENERATED.iter().find(|g| **g == component).copied())
        .next()
}

/// Why a command is a development command, if it is one.
pub(super) fn dev_command(words: &[String]) -> Option<String> {
    // `sh -c "npm run dev"`: look inside the script.
    if let [shell, flag, script, ..] = words {
        if matches!(
            shell.as_str(),
            "sh" | "bash" | "/bin/sh" | "/bin/bash" | "ash"
        ) && flag == "-c"
        {
            let inner: Vec<String> = script
                .split(['&', ';', '|'])
                .flat_map(|part| {
                    shlex::split(part)
                        .unwrap_or_default()
                        .into_iter()
                        .chain(std::iter::once(String::new()))
                })
                .collect();
            return inner.split(String::is_empty).find_map(dev_command_words);
        }
    }
    dev_command_words(words)
}

fn dev_command_words(words: &[String]) -> Option<String> {
    let w: Vec<&str> = words.iter().map(String::as_str).collect();
    let program = |s: &str| s.rsplit('/').next().unwrap_or(s).to_owned();
    for (i, word) in w.iter().enumerate() {
        let name = program(word);
        let next = w.get(i + 1).copied().unwrap_or("");
        let after_run = if next == "run" {
            w.get(i + 2).copied().unwrap_or("")
        } else {
            next
        };
        let found = match name.as_str() {
            "nodemon" | "ts-node-dev" | "webpack-dev-server" | "air" | "reflex" => {
                Some(format!("`{name}` restarts on file changes"))
            }
            "npm" | "yarn" | "pnpm" | "bun" if is_dev_script(after_run) => Some(format!(
                "`{name} {}` runs the development script",
                if next == "run" {
                    format!("run {after_run}")
                } else {
                    after_run.to_owned()
                }
            )),
            "next" | "nuxt" | "nuxi" | "astro" | "remix" | "vite" | "svelte-kit"
                if next == "dev" =>
            {
                Some(format!("`{name} dev` is a development server"))
            }
            "vite" if next.is_empty() || next.starts_with('-') => {
                Some("`vite` without a subcommand is the development server".to_owned())
            }
            "ng" | "webpack" | "vue-cli-service" if next == "serve" => {
                Some(format!("`{name} serve` is a development server"))
            }
            "tsx" if next == "watch" => Some("`tsx watch` restarts on file changes".to_owned()),
            "cargo" if next == "watch" => Some("`cargo watch` rebuilds on file changes".to_owned()),
            "flask" if w.contains(&"--debug") => {
                Some("`flask run --debug` is the development server".to_owned())
            }
            _ => None,
        };
        if found.is_some() {
            return found;
        }
        if *word == "--watch"
            || word.starts_with("--watch=")
            || *word == "-w" && matches!(program(w[0]).as_str(), "node" | "tsc" | "nest")
        {
            return Some(format!("`{word}` restarts on file changes"));
        }
        if *word == "--reload" {
            return Some("`--reload` restarts on file changes".to_owned());
        }
        if word.starts_with("--inspect") {
            return Some(format!("`{word}` opens a debugger port"));
        }
    }
    None
}

fn is_dev_script(script: &str) -> bool {
    script == "dev"
        || script == "develop"
        || script == "watch"
        || script == "serve"
        || script.starts_with("dev:")
        || script.ends_with(":dev")
        || script.ends_with(":watch")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn words(text: &str) -> Vec<String> {
        shlex::split(text).expect("words")
    }

    #[test]
    fn databases_and_majors() {
        let check = |image: &str, expect: Option<(&str, Option<&str>)>| {
            let found = db_image(image);
            assert_eq!(
                found.as_ref().map(|d| (d.engine, d.major.as_deref())),
                expect,
                "{image}"
            );
        };
        check("postgres:16", Some(("postgres", Some("16"))));
        check("postgres:17-alpine", Some(("postgres", Some("17"))));
        check("docker.io/library/postgres", Some(("postgres", None)));
        check("pgvector/pgvector:pg17", Some(("postgres", Some("17"))));
        check(
            "timescale/timescaledb:latest-pg16",
            Some(("postgres", Some("16"))),
        );
        check("mysql:8.4", Some(("mysql", Some("8"))));
        check("ghcr.io/acme/server:1", None);
    }

    #[test]
    fn pins() {
        for (image, unpinned) in [
            ("nginx", true),
            ("nginx:latest", true),
            ("nginx:1.27", false),
            ("nginx@sha256:abc", false),
            ("ghcr.io/acme/web:${TAG}", false),
            ("ghcr.io/acme/web:${TAG:-latest}", true),
            ("localhost:5000/web", true),
        ] {
            assert_eq!(is_unpinned(image), unpinned, "{image}");
        }
    }

    #[test]
    fn interpolation() {
        assert!(is_interpolated("${DB_PASSWORD}"));
        assert!(is_interpolated("pre$VAR"));
        assert!(!is_interpolated("pa$$word"));
        assert_eq!(
            interpolation_default("${DB_PASSWORD:-devpass}").as_deref(),
            Some("devpass")
        );
        assert_eq!(interpolation_default("${DB_PASSWORD:?set it}"), None);
        assert_eq!(
            url_password("postgres://u:hunter2@db:5432/x"),
            Some("hunter2")
        );
        assert_eq!(url_password("postgres://u:${PW}@db/x"), None);
        assert_eq!(url_password("postgres://u:${PW:?set it: a / b}@db/x"), None);
        assert_eq!(url_password("postgres://u:pa$$w?rd@db/x"), None);
        assert_eq!(url_password("redis://:s3cret@cache:6379/0"), Some("s3cret"));
    }

    #[test]
    fn hosts() {
        assert_eq!(hosts_named("DB_HOST", "db"), [("db".to_owned(), 0)]);
        assert_eq!(
            hosts_named("DATABASE_URL", "postgres://u:p@db:5432/x"),
            [("db".to_owned(), 15)]
        );
        assert_eq!(hosts_named("HOSTNAME", "0.0.0.0"), []);
        // A `?`, `/`, `@` or `,` inside a variable's message or default is not the URL's.
        assert_eq!(
            hosts_named(
                "DATABASE_URL",
                "postgresql://shop:${DB_PASSWORD:?DB_PASSWORD must be set: the secret of DATABASE_URL}@shop-db:5432/shop"
            ),
            [("shop-db".to_owned(), 86)]
        );
        assert_eq!(
            hosts_named("SEARCH_URL", "http://u:${K:-a/b@c,d}@search:7700/"),
            [("search".to_owned(), 23)]
        );
        assert_eq!(
            hosts_named("CACHE_HOSTS", "${A:-x,y},cache"),
            [("${A".to_owned(), 0), ("cache".to_owned(), 10)]
        );
        assert_eq!(hosts_named("KAFKA_BROKERS", "k1:9092, k2:9092").len(), 2);
        assert!(is_external_host("api.stripe.com"));
        assert!(is_external_host("10.0.0.1"));
        assert!(!is_external_host("vendure-db"));
    }

    #[test]
    fn dev_commands() {
        for (command, dev) in [
            ("npm run dev", true),
            ("npm run dev:server", true),
            ("yarn dev", true),
            ("pnpm start:dev", true),
            ("next dev -p 3000", true),
            ("nodemon src/index.js", true),
            ("node --watch server.js", true),
            ("uvicorn app:app --reload", true),
            ("sh -c 'npm ci && npm run dev'", true),
            ("node dist/index.js", false),
            ("npm start", false),
            ("next start", false),
            ("vite preview", false),
        ] {
            assert_eq!(dev_command(&words(command)).is_some(), dev, "{command}");
        }
        assert_eq!(
            generated_component("/usr/src/app/node_modules"),
            Some("node_modules")
        );
        assert_eq!(generated_component("./apps/web/.next/cache"), Some(".next"));
        assert_eq!(generated_component("./src"), None);
    }
}
