//! A first topology from the repository in front of `topo init`: each Dockerfile is a
//! service (its directory the build context, its stage names the dev and production
//! targets, its `EXPOSE` the port, its `WORKDIR` the source path), each `package.json`
//! beside one gives the dev command (its `dev` script, run by the package manager its
//! lockfile names) and what the code talks to: a PostgreSQL or MariaDB driver makes a
//! `[database]`, a Redis client a `cache` accessory, each reached through `url_of`.
//! Every guess is a `# topo init:` comment at the line it made, naming the file and line
//! it came from. (Compose files in the repository go through `topo import` instead.)
//!
//! Reading is the caller's: this module sees the files' paths and texts only.

use std::collections::BTreeSet;

use super::document::{Document, Table, Toml};
use super::{ImportError, Imported, Note};
use crate::compose::Pos;

/// A file of the repository: its path relative to the repository root (`/`-separated)
/// and its text.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RepositoryFile {
    /// `apps/web/Dockerfile`.
    pub path: String,
    /// Its contents.
    pub text: String,
}

/// The file names `topo init` reads: give it every file so named (outside `.git`,
/// `node_modules` and other generated directories).
pub const READ_FILES: &[&str] = &[
    "Dockerfile",
    "package.json",
    "package-lock.json",
    "pnpm-lock.yaml",
    "yarn.lock",
    "bun.lock",
    "bun.lockb",
    "requirements.txt",
    "pyproject.toml",
];

/// What a service's code talks to, from its dependencies.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
enum Needs {
    Postgres,
    Mariadb,
    Redis,
}

/// Dependency names (npm and PyPI) that mean a server the code talks to.
const DRIVERS: &[(&str, Needs)] = &[
    ("pg", Needs::Postgres),
    ("postgres", Needs::Postgres),
    ("@prisma/client", Needs::Postgres),
    ("psycopg", Needs::Postgres),
    ("psycopg2", Needs::Postgres),
    ("psycopg2-binary", Needs::Postgres),
    ("asyncpg", Needs::Postgres),
    ("mariadb", Needs::Mariadb),
    ("mysql2", Needs::Mariadb),
    ("mysqlclient", Needs::Mariadb),
    ("pymysql", Needs::Mariadb),
    ("redis", Needs::Redis),
    ("ioredis", Needs::Redis),
    ("bullmq", Needs::Redis),
    ("celery[redis]", Needs::Redis),
];

/// One service found: a Dockerfile's directory.
struct Found<'a> {
    role: String,
    context: String,
    dockerfile: &'a RepositoryFile,
    needs: Vec<(Needs, Note)>,
}

/// A topology for `project` from the repository's files. `Err` when it holds no Dockerfile
/// (nothing to build a service from).
pub fn from_repository(files: &[RepositoryFile], project: &str) -> Result<Imported, ImportError> {
    let mut dockerfiles: Vec<&RepositoryFile> = files
        .iter()
        .filter(|f| file_name(&f.path) == "Dockerfile")
        .collect();
    dockerfiles.sort_by(|a, b| a.path.cmp(&b.path));
    if dockerfiles.is_empty() {
        return Err(ImportError::NoFiles);
    }
    let mut checks = Vec::new();
    let mut roles = BTreeSet::new();
    let found: Vec<Found<'_>> = dockerfiles
        .into_iter()
        .map(|dockerfile| {
            let context = directory(&dockerfile.path);
            let role = unique_role(&context, project, &mut roles);
            let needs = needs(files, &context);
            Found {
                role,
                context,
                dockerfile,
                needs,
            }
        })
        .collect();
    let all: BTreeSet<Needs> = found
        .iter()
        .flat_map(|f| f.needs.iter().map(|(n, _)| *n))
        .collect();
    let mut document = Document::default();
    let mut top = Table::new(None);
    top.comment("Written by `topo init` from the repository's Dockerfiles and package files.\nCheck every `topo init:` comment, then delete it; `topo render` writes the Compose files from here on.");
    top.set("project", Toml::str(project));
    document.push(top);
    let database = database_table(&found, &all, project, &mut checks);
    let has_database = database.is_some();
    if let Some(table) = database {
        document.push(table);
    }
    for service in &found {
        for table in service_tables(service, files, has_database, &mut checks) {
            document.push(table);
        }
    }
    if all.contains(&Needs::Redis) {
        let mut table = Table::new(Some("[[accessories]]"));
        let first = found
            .iter()
            .flat_map(|f| &f.needs)
            .find(|(n, _)| *n == Needs::Redis)
            .map(|(_, note)| note.clone())
            .expect("some service needs Redis");
        table.set("role", Toml::str("cache"));
        table.set("image", Toml::str("redis:7.2"));
        table.note(&mut checks, Note { message: "guessed: a Redis client is a dependency here, so the stack has a Redis server; pin the version you run".to_owned(), ..first });
        document.push(table);
    }
    let (text, origins) = document.text_and_origins();
    super::validate(&text, &origins)?;
    // The notes are the importer's comments: said as `topo init`'s.
    let text = text.replace("# topo import: ", "# topo init: ");
    Ok(Imported { text, checks })
}

/// `[database]`, when a service's dependencies name a driver.
fn database_table(
    found: &[Found<'_>],
    all: &BTreeSet<Needs>,
    project: &str,
    checks: &mut Vec<Note>,
) -> Option<Table> {
    let engine = [Needs::Postgres, Needs::Mariadb]
        .into_iter()
        .find(|n| all.contains(n))?;
    let origin = found
        .iter()
        .flat_map(|f| &f.needs)
        .find(|(n, _)| *n == engine)
        .map(|(_, note)| note.clone())
        .expect("some service needs it");
    let mut table = Table::new(Some("[database]"));
    let (name, major, version) = match engine {
        Needs::Postgres => ("postgres", Toml::Int(17), "17"),
        _ => ("mariadb", Toml::str("11.8"), "11.8"),
    };
    table.set("engine", Toml::str(name));
    table.set("major", major);
    table.note(checks, Note {
        message: format!("guessed: a {name} driver is a dependency here, so the stack has a {name} {version} server; pin the major your data was created with"),
        ..origin
    });
    table.set(
        "password",
        Toml::Inline(vec![
            ("secret".to_owned(), Toml::str("DB_PASSWORD")),
            (
                "dev".to_owned(),
                Toml::str(format!("{project}-dev-password")),
            ),
        ]),
    );
    Some(table)
}

/// A service's `[[services]]` table and its `[services.env]`.
fn service_tables(
    service: &Found<'_>,
    files: &[RepositoryFile],
    has_database: bool,
    checks: &mut Vec<Note>,
) -> Vec<Table> {
    let mut table = Table::new(Some("[[services]]"));
    let dockerfile = &service.dockerfile;
    let stages = stages(&dockerfile.text);
    table.set("role", Toml::str(&service.role));
    table.set("context", Toml::str(&service.context));
    let at = |line: usize, message: String| Note {
        file: dockerfile.path.clone(),
        pos: Pos {
            line: u32::try_from(line).unwrap_or(u32::MAX),
            column: 1,
            offset: 0,
        },
        message,
    };
    let (dev, prod) = targets(&stages, &mut table, checks, &at);
    if let Some(workdir) = dev.or(prod).and_then(|s| s.workdir.as_ref()) {
        if workdir.starts_with('/') && workdir != "/app" {
            table.set("source_path", Toml::str(workdir));
        }
    }
    let package = files
        .iter()
        .find(|f| f.path == join(&service.context, "package.json"));
    let scripts = package.and_then(|p| serde_json::from_str::<serde_json::Value>(&p.text).ok());
    // The dev script for dev; production runs the image's own CMD.
    if scripts
        .as_ref()
        .and_then(|p| p.pointer("/scripts/dev"))
        .is_some()
    {
        let runner = package_manager(files, &service.context);
        table.set(
            "command",
            Toml::Inline(vec![(
                "dev".to_owned(),
                Toml::strings(&[runner, "run", "dev"]),
            )]),
        );
        table.set("generated", Toml::strings(&["node_modules"]));
    }
    if let Some(prod) = prod.filter(|p| !p.cmd) {
        table.note(checks, at(prod.line, format!("the production stage `{}` says nothing to run (no CMD): it runs its base image's; give it a CMD, or `command = {{ prod = [...] }}`", prod.name.clone().unwrap_or_default())));
    }
    if let Some(port) = prod.or(dev).and_then(|s| s.expose) {
        table.set("ports", Toml::Array(vec![Toml::Int(i64::from(port))]));
    }
    let mut waits = Vec::new();
    let mut env = Table::new(Some("[services.env]"));
    for (need, _) in &service.needs {
        match need {
            Needs::Postgres | Needs::Mariadb if has_database => {
                waits.push(("db".to_owned(), Toml::str("healthy")));
                env.set(
                    "DATABASE_URL",
                    Toml::Inline(vec![("url_of".to_owned(), Toml::str("db"))]),
                );
            }
            Needs::Redis => {
                waits.push(("cache".to_owned(), Toml::str("healthy")));
                env.set(
                    "REDIS_URL",
                    Toml::Inline(vec![("url_of".to_owned(), Toml::str("cache"))]),
                );
            }
            _ => {}
        }
    }
    waits.dedup();
    if !waits.is_empty() {
        table.set("depends_on", Toml::Inline(waits));
    }
    if env.is_empty() {
        vec![table]
    } else {
        vec![table, env]
    }
}

/// The dev and production stages, written as `targets` when not named `dev` and `prod`.
fn targets<'s>(
    stages: &'s [Stage],
    table: &mut Table,
    checks: &mut Vec<Note>,
    at: &dyn Fn(usize, String) -> Note,
) -> (Option<&'s Stage>, Option<&'s Stage>) {
    let named = |names: &[&str]| {
        stages.iter().find(|s| {
            s.name
                .as_deref()
                .is_some_and(|n| names.contains(&n.to_ascii_lowercase().as_str()))
        })
    };
    let dev = named(&["dev", "development", "develop", "local"]);
    let prod = named(&["prod", "production", "release", "runtime", "final"]).or_else(|| {
        stages
            .iter()
            .rev()
            .find(|s| s.name.is_some() && Some(*s) != dev)
    });
    match (dev, prod) {
        (Some(dev), Some(prod)) => {
            let mut targets = Vec::new();
            if dev.name.as_deref() != Some("dev") {
                targets.push(("dev".to_owned(), Toml::str(dev.name.clone().unwrap_or_default())));
            }
            if prod.name.as_deref() != Some("prod") {
                targets.push(("prod".to_owned(), Toml::str(prod.name.clone().unwrap_or_default())));
            }
            if !targets.is_empty() {
                table.set("targets", Toml::Inline(targets));
            }
        }
        _ => table.note(checks, at(stages.first().map_or(1, |s| s.line), "the Dockerfile has no stages named for dev and production: topo builds the targets `dev` and `prod`; add them (`FROM … AS dev`, `FROM … AS prod`) or set `targets`".to_owned())),
    }
    (dev, prod)
}

/// One `FROM` of a Dockerfile, with what its stage says.
#[derive(Debug, PartialEq, Eq)]
struct Stage {
    name: Option<String>,
    line: usize,
    workdir: Option<String>,
    expose: Option<u16>,
    /// Whether it says what to run (`CMD` or `ENTRYPOINT`).
    cmd: bool,
}

/// The stages of a Dockerfile: `FROM image [AS name]`, with the stage's last `WORKDIR` and
/// first `EXPOSE`d port. (Continuation lines and parser directives are not interpreted.)
fn stages(text: &str) -> Vec<Stage> {
    let mut stages: Vec<Stage> = Vec::new();
    for (index, line) in text.lines().enumerate() {
        let words: Vec<&str> = line.split_whitespace().collect();
        let Some(instruction) = words.first() else {
            continue;
        };
        match instruction.to_ascii_uppercase().as_str() {
            "FROM" => {
                let name = match words.as_slice() {
                    [_, .., as_word, name] if as_word.eq_ignore_ascii_case("as") => {
                        Some((*name).to_owned())
                    }
                    _ => None,
                };
                // `FROM base AS dev` starts from the stage `base`, with its settings.
                let parent = words.get(1).and_then(|image| {
                    stages.iter().find(|s| {
                        s.name
                            .as_deref()
                            .is_some_and(|n| n.eq_ignore_ascii_case(image))
                    })
                });
                let (workdir, expose, cmd) = parent.map_or((None, None, false), |p| {
                    (p.workdir.clone(), p.expose, p.cmd)
                });
                stages.push(Stage {
                    name,
                    line: index + 1,
                    workdir,
                    expose,
                    cmd,
                });
            }
            "CMD" | "ENTRYPOINT" => {
                if let Some(stage) = stages.last_mut() {
                    stage.cmd = true;
                }
            }
            "WORKDIR" => {
                if let (Some(stage), Some(path)) = (stages.last_mut(), words.get(1)) {
                    stage.workdir = Some((*path).to_owned());
                }
            }
            "EXPOSE" => {
                if let Some(stage) = stages.last_mut() {
                    let port = words.get(1).and_then(|p| p.split('/').next()?.parse().ok());
                    stage.expose = stage.expose.or(port);
                }
            }
            _ => {}
        }
    }
    stages
}

/// What the code of `context` talks to, each with where its dependency is written: the
/// `dependencies` of its `package.json` (not its dev dependencies), the lines of its
/// `requirements.txt` and `pyproject.toml`.
fn needs(files: &[RepositoryFile], context: &str) -> Vec<(Needs, Note)> {
    let mut out: Vec<(Needs, Note)> = Vec::new();
    let mut add = |need: Needs, file: &RepositoryFile, line: usize| {
        if !out.iter().any(|(n, _)| *n == need) {
            out.push((
                need,
                Note {
                    file: file.path.clone(),
                    pos: Pos {
                        line: u32::try_from(line).unwrap_or(u32::MAX),
                        column: 1,
                        offset: 0,
                    },
                    message: String::new(),
                },
            ));
        }
    };
    let path = join(context, "package.json");
    if let Some(file) = files.iter().find(|f| f.path == path) {
        let package: serde_json::Value = serde_json::from_str(&file.text).unwrap_or_default();
        if let Some(dependencies) = package.get("dependencies").and_then(|d| d.as_object()) {
            for (dependency, need) in DRIVERS {
                if dependencies.contains_key(*dependency) {
                    let quoted = format!("\"{dependency}\"");
                    let line = file
                        .text
                        .lines()
                        .position(|l| l.contains(&quoted))
                        .unwrap_or(0);
                    add(*need, file, line + 1);
                }
            }
        }
    }
    for name in ["requirements.txt", "pyproject.toml"] {
        let path = join(context, name);
        let Some(file) = files.iter().find(|f| f.path == path) else {
            continue;
        };
        for (index, line) in file.text.lines().enumerate() {
            for (dependency, need) in DRIVERS {
                if names_dependency(line, dependency) {
                    add(*need, file, index + 1);
                }
            }
        }
    }
    out.sort_by_key(|(n, _)| *n);
    out
}

/// Whether a line of a package file names `dependency`: `"pg": "^8"`, `psycopg2==2.9`,
/// `redis>=5`, `"redis[hiredis]"`.
fn names_dependency(line: &str, dependency: &str) -> bool {
    let line = line
        .trim()
        .trim_start_matches(['"', '\''])
        .to_ascii_lowercase();
    line.strip_prefix(dependency).is_some_and(|rest| {
        rest.is_empty()
            || rest.starts_with(['"', '\'', '=', '>', '<', '~', '!', ' ', '[', ';', ','])
    })
}

/// The package manager a lockfile beside `context` (or at the root) names.
fn package_manager<'a>(files: &[RepositoryFile], context: &str) -> &'a str {
    let has = |name: &str| {
        files
            .iter()
            .any(|f| f.path == join(context, name) || f.path == name)
    };
    if has("pnpm-lock.yaml") {
        "pnpm"
    } else if has("yarn.lock") {
        "yarn"
    } else if has("bun.lock") || has("bun.lockb") {
        "bun"
    } else {
        "npm"
    }
}

/// A role from a directory (`apps/web` → `web`, the root → `app`), unique in `taken`.
fn unique_role(context: &str, project: &str, taken: &mut BTreeSet<String>) -> String {
    let last = context.rsplit('/').next().unwrap_or(context);
    let mut base: String = last
        .to_ascii_lowercase()
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() { c } else { '-' })
        .collect();
    base = base.trim_matches('-').to_owned();
    if base.is_empty() || base == "." || base == project || base == "db" || base == "proxy" {
        base = "app".to_owned();
    }
    let mut role = base.clone();
    let mut n = 2;
    while !taken.insert(role.clone()) {
        role = crate::naming::numbered_role(&base, n);
        n += 1;
    }
    role
}

fn file_name(path: &str) -> &str {
    path.rsplit('/').next().unwrap_or(path)
}

/// The directory of a file (`.` at the root).
fn directory(path: &str) -> String {
    match path.rsplit_once('/') {
        Some((dir, _)) => dir.to_owned(),
        None => ".".to_owned(),
    }
}

fn join(directory: &str, name: &str) -> String {
    if directory == "." {
        name.to_owned()
    } else {
        format!("{directory}/{name}")
    }
}
