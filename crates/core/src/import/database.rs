//! `[database]` from the PostgreSQL container: engine and pinned major from the image, the
//! user, database and password from the image's variables, the data volume, the dev port
//! and the health check's timings.

use crate::compose::MountKind;
use crate::model::{Engine, EnvValue, TemplatePart};
use crate::value::ImageRef;
use crate::DatabaseVersion;
use crate::{naming, Mode};

use super::document::{Table, Toml};
use super::settings::Settings;
use super::values::{literal, port_number};
use super::{env, hardening, health, leftovers, Container, ImportError, Note, Plan};

/// The major pinned when the image names none: the newest PostgreSQL at the time of writing.
/// The version written when the files name none: the newest each engine's image offers
/// long-term (the user is told to pin their data directory's).
fn guessed(engine: Engine) -> DatabaseVersion {
    match engine {
        Engine::Postgres => DatabaseVersion {
            major: 17,
            minor: None,
        },
        Engine::Mariadb => DatabaseVersion {
            major: 11,
            minor: Some(8),
        },
    }
}

/// `major = 17`, or MariaDB's `major = "11.8"`.
fn major_toml(version: DatabaseVersion) -> Toml {
    match version.minor {
        None => Toml::Int(i64::from(version.major)),
        Some(_) => Toml::str(version.to_string()),
    }
}

/// The `[database]` table.
pub(super) fn import(
    plan: &Plan<'_>,
    container: &Container<'_>,
    settings: &mut Settings,
    checks: &mut Vec<Note>,
) -> Result<Table, ImportError> {
    let engine = engine_of(container).unwrap_or_default();
    let mut table = Table::new(Some("[database]"));
    table.read_from(container.prod().note_here(""));
    super::service::absent_modes(plan, container, &mut table, checks);
    table.set("engine", Toml::str(engine.as_str()));
    image_and_major(container, engine, &mut table, checks)?;
    if container.role != "db" {
        table.set("role", Toml::str(&container.role));
    }
    credentials(plan, container, engine, &mut table, checks);
    data_volume(plan, container, engine, &mut table, checks);
    dev_port(container, engine, &mut table, checks);
    if let Some((check, notes)) = health::read(container.prod()) {
        for note in notes {
            table.note(checks, note);
        }
        if let health::Test::Command(words) = &check.test {
            let ours = engine.health_command("", "");
            if words.first() != ours.first() {
                table.note(
                    checks,
                    container.prod().note_at(
                        "healthcheck",
                        format!(
                            "the database's health check `{}` is replaced by topo's `{}`",
                            words.join(" "),
                            ours[0]
                        ),
                    ),
                );
            }
        }
        let timings = health::timings(&check);
        if !timings.is_empty() {
            table.set("health", Toml::Inline(timings));
        }
    }
    hardening::confinement(container, engine.hardening(), &mut table, checks);
    for seen in &container.seen {
        for key in ["depends_on", "command"] {
            if seen.view.get(key).is_some() {
                leftovers::dropped(
                    seen,
                    key,
                    "cannot be written for the database (topo runs the engine's own)",
                    &mut table,
                    checks,
                );
            }
        }
        let aliases: Vec<String> = seen
            .view
            .networks()
            .into_iter()
            .flat_map(|a| a.aliases)
            .filter(|a| *a != naming::container_name(&plan.project, &container.role))
            .collect();
        if !aliases.is_empty() {
            table.note(
                checks,
                seen.note_at(
                    "networks",
                    format!(
                        "the database's aliases {} cannot be written in the topology: dropped",
                        aliases.join(", ")
                    ),
                ),
            );
        }
    }
    leftovers::container_keys(
        plan,
        container,
        &["depends_on", "command"],
        false,
        settings,
        &mut table,
        checks,
    );
    Ok(table)
}

fn image_and_major(
    container: &Container<'_>,
    engine: Engine,
    table: &mut Table,
    checks: &mut Vec<Note>,
) -> Result<(), ImportError> {
    // The most production-like file that names the image (another may leave it out).
    let named = [Mode::Production, Mode::ProdSim, Mode::Dev]
        .into_iter()
        .find_map(|mode| {
            let seen = container.get(mode)?;
            let (image, pos) = seen.view.image()?;
            Some((seen, image, pos))
        });
    let Some((prod, written, pos)) = named else {
        let seen = container.prod();
        table.note(checks, seen.note_here(format!("the database names no image: guessed {}, which runs `{}`; pin the major your data directory was created with", guessed(engine), engine.official_image(&guessed(engine).to_string()))));
        table.set("major", major_toml(guessed(engine)));
        return Ok(());
    };
    let image = literal(&written).unwrap_or_else(|raw| {
        table.note(checks, prod.note(pos, format!("the image `{raw}` reads a variable; topo writes the database's image literally: set the image you run")));
        raw
    });
    for seen in &container.seen {
        match seen.view.image() {
            Some((other, other_pos)) if other != written => {
                table.note(checks, seen.note(other_pos, format!("the database runs `{other}` here but `{written}` in {}: one image in every mode now, `{image}`", prod.file.name)));
            }
            Some(_) => {}
            None => table.note(checks, seen.note_here(format!("the database names no image here; {} runs `{written}`: one image in every mode now, `{image}`", prod.file.name))),
        }
    }
    let parsed = ImageRef::parse(&image).ok();
    let tag = parsed
        .as_ref()
        .and_then(ImageRef::fixed_tag)
        .unwrap_or_default();
    // As the pin reads it: PostgreSQL's major (`17` of `17.2-alpine`), MariaDB's series
    // (`11.8` of `11.8.3`).
    let version = parsed
        .as_ref()
        .and_then(ImageRef::tag_major)
        .and_then(|major| match guessed(engine).minor {
            None => Some(DatabaseVersion { major, minor: None }),
            Some(_) => {
                let numbers: Vec<&str> = tag.split(['.', '-']).take(2).collect();
                engine.parse_version(&numbers.join(".")).ok()
            }
        });
    match version {
        // Digits no major can be (`postgres:99999999999`): a tag topo cannot pin.
        None if tag.starts_with(|c: char| c.is_ascii_digit()) => {
            return Err(ImportError::refused(prod.note(
                pos,
                format!("the image `{image}` names the version `{tag}`, which is no major a topology can pin: tag the database image with its real major (e.g. `{}`)", engine.official_image(&guessed(engine).to_string())),
            )));
        }
        Some(major) => {
            table.set("major", major_toml(major));
            if image != engine.official_image(&major.to_string()).to_string() {
                table.set("image", Toml::str(&image));
            }
        }
        None => {
            table.note(checks, prod.note(pos, format!("`{image}` names no major version: guessed {}, which runs `{}`; pin the major your data directory was created with (`SELECT VERSION()`, `SHOW server_version`)", guessed(engine), engine.official_image(&guessed(engine).to_string()))));
            table.set("major", major_toml(guessed(engine)));
        }
    }
    Ok(())
}

fn credentials(
    plan: &Plan<'_>,
    container: &Container<'_>,
    engine: Engine,
    table: &mut Table,
    checks: &mut Vec<Note>,
) {
    let (user_var, name_var, password_var) = engine.env_names();
    let given: Vec<Mode> = container.seen.iter().map(|s| s.mode).collect();
    let variables = env::import(container, &given);
    let find = |var: &str| variables.iter().find(|v| v.name == var);
    let literal = |variable: &env::Variable, table: &mut Table, checks: &mut Vec<Note>| -> String {
        for note in &variable.notes {
            table.note(checks, note.clone());
        }
        match &variable.value {
            EnvValue::Literal(text) | EnvValue::PerMode { prod: text, .. } => text.clone(),
            EnvValue::Template(_) | EnvValue::UrlOf(_) => String::new(),
            EnvValue::Secret { var, dev, .. } => {
                let at = container.prod().note_here(format!("`{}` reads the variable `{var}`; topo writes the database's {} literally: guessed `{}`", variable.name, if variable.name == user_var { "user" } else { "name" }, dev.clone().unwrap_or_default()));
                table.note(checks, at);
                dev.clone().unwrap_or_default()
            }
        }
    };
    // The official image's defaults: the user `postgres`, a database named after the user.
    let user = find(user_var).map_or_else(|| "postgres".to_owned(), |v| literal(v, table, checks));
    let name = find(name_var).map_or_else(|| user.clone(), |v| literal(v, table, checks));
    if user != plan.project {
        table.set("user", Toml::str(&user));
    }
    if name != plan.project {
        table.set("name", Toml::str(&name));
    }
    match find(password_var).map(|v| (v, &v.value)) {
        Some((variable, EnvValue::Secret { var, dev, .. })) => {
            for note in &variable.notes {
                table.note(checks, note.clone());
            }
            table.set("password", secret_toml(var, dev.as_deref(), None));
        }
        found => {
            table.note(checks, container.prod().note_here(format!("no usable `{password_var}`: topo requires a password, read from `DB_PASSWORD` (set it on the host; locally too)")));
            if let Some((variable, _)) = found {
                for note in &variable.notes {
                    table.note(checks, note.clone());
                }
            }
            table.set("password", secret_toml("DB_PASSWORD", None, None));
        }
    }
    for variable in variables
        .iter()
        .filter(|v| ![user_var, name_var, password_var].contains(&v.name.as_str()))
        .filter(|v| !engine.extra_env().iter().any(|(name, _)| *name == v.name))
    {
        // Where it is written (a `NAME_FILE` entry read back as `NAME` included).
        let message = format!("the database's `{}` cannot be written in the topology (topo sets only {user_var}, {name_var} and {password_var}): dropped", variable.name);
        table.note(
            checks,
            Note {
                message,
                ..variable.at.clone()
            },
        );
    }
}

/// The imported database's role, its URL in the usual scheme, and the schemes it speaks:
/// what a value reading `postgresql://shop:${DB_PASSWORD}@shop-db:5432/shop` is derived from.
pub(super) fn url(plan: &Plan<'_>) -> Option<(String, Vec<TemplatePart>, &'static [&'static str])> {
    let container = &plan.containers[plan.database?];
    let engine = engine_of(container).unwrap_or_default();
    let (user_var, name_var, password_var) = engine.env_names();
    let given: Vec<Mode> = container.seen.iter().map(|s| s.mode).collect();
    let variables = env::import(container, &given);
    let value = |var: &str| variables.iter().find(|v| v.name == var).map(|v| &v.value);
    let text = |var: &str| match value(var)? {
        EnvValue::Literal(text) | EnvValue::PerMode { prod: text, .. } => Some(text.clone()),
        EnvValue::Secret { dev, .. } => dev.clone(),
        _ => None,
    };
    let user = text(user_var).unwrap_or_else(|| "postgres".to_owned());
    let name = text(name_var).unwrap_or_else(|| user.clone());
    let password = match value(password_var) {
        Some(EnvValue::Secret { var, .. }) => var.clone(),
        _ => "DB_PASSWORD".to_owned(),
    };
    let host = naming::container_name(&plan.project, &container.role);
    let url = crate::validate::database_url(engine, &user, &password, &host, &name);
    Some((container.role.clone(), url.whole, engine.url_schemes()))
}

/// `{ secret = "VAR", dev = "default" }`.
pub(super) fn secret_toml(var: &str, dev: Option<&str>, file: Option<bool>) -> Toml {
    let mut entries = vec![("secret".to_owned(), Toml::str(var))];
    if let Some(dev) = dev {
        entries.push(("dev".to_owned(), Toml::str(dev)));
    }
    if let Some(file) = file {
        entries.push(("file".to_owned(), Toml::Bool(file)));
    }
    Toml::Inline(entries)
}

fn data_volume(
    plan: &Plan<'_>,
    container: &Container<'_>,
    engine: Engine,
    table: &mut Table,
    checks: &mut Vec<Note>,
) {
    let mut purpose: Option<String> = None;
    let mut moved: Vec<String> = Vec::new();
    for seen in container.seen.iter().rev() {
        for mount in seen.view.mounts() {
            let derived =
                |purpose: &str| naming::volume_name(&plan.project, &container.role, purpose);
            match (mount.kind, &mount.source) {
                (MountKind::Volume, Some(source)) if mount.target.trim_end_matches('/') == engine.data_dir() => {
                    let found = plan.purpose_of(source, &container.role);
                    let engine_name = plan.volume_engine_name(seen.file, source);
                    if engine_name != derived(&found) && !moved.contains(&engine_name) {
                        moved.push(engine_name.clone());
                        table.note(checks, seen.note(mount.pos, format!("the data is in the volume `{engine_name}`; topo's volume is `{}`: copy the data across before switching (e.g. `docker run --rm -v {engine_name}:/from -v {}:/to alpine cp -a /from/. /to/`)", derived(&found), derived(&found))));
                    }
                    if purpose.as_ref().is_some_and(|p| *p != found) {
                        table.note(checks, seen.note(mount.pos, "the files keep the data in different volumes: topo uses one"));
                    }
                    purpose.get_or_insert(found);
                }
                _ => table.note(checks, seen.note(mount.pos, format!("the database mount of `{}` cannot be written in the topology (topo mounts one named volume at {}): dropped", mount.target, engine.data_dir()))),
            }
        }
    }
    match purpose {
        Some(purpose) if purpose != "data" => table.set("volume", Toml::str(&purpose)),
        Some(_) => {}
        None => table.note(
            checks,
            container.prod().note_here(format!(
                "the database has no named volume at {}: topo keeps its data in `{}`",
                engine.data_dir(),
                naming::volume_name(&plan.project, &container.role, "data")
            )),
        ),
    }
}

fn dev_port(container: &Container<'_>, engine: Engine, table: &mut Table, checks: &mut Vec<Note>) {
    for seen in &container.seen {
        for port in seen.view.ports() {
            let host = port.published.as_deref().and_then(port_number);
            match (seen.mode, host) {
                (Mode::Dev, Some(host)) if port_number(&port.target) == Some(engine.port()) => {
                    table.set("dev_port", Toml::Int(i64::from(host)));
                }
                (Mode::Dev, _) => table.note(checks, seen.note(port.pos, format!("the database port `{}` cannot be written in the topology (dev publishes {} on 127.0.0.1 only): dropped", port.target, engine.port()))),
                _ => table.note(checks, seen.note(port.pos, format!("the database is published in the {} file; topo never publishes it outside dev: dropped", seen.mode))),
            }
        }
    }
}

/// The engine a container runs, by its image's name (`postgres`, `postgis`, `mariadb`),
/// else by the data directory it keeps or the password variable it reads.
pub(super) fn engine_of(container: &Container<'_>) -> Option<crate::model::Engine> {
    use crate::model::Engine;
    let named = |engine: Engine, name: &str| match engine {
        Engine::Postgres => name.contains("postgres") || name.contains("postgis"),
        Engine::Mariadb => name.contains("mariadb"),
    };
    let engines = [Engine::Postgres, Engine::Mariadb];
    engines
        .into_iter()
        .find(|engine| {
            container.seen.iter().any(|s| {
                s.view.image().is_some_and(|(image, _)| {
                    ImageRef::parse(&image).is_ok_and(|i| named(*engine, i.name()))
                })
            })
        })
        .or_else(|| {
            engines.into_iter().find(|engine| {
                container.seen.iter().any(|s| {
                    // MySQL keeps /var/lib/mysql too: only MariaDB's own variables say MariaDB.
                    (*engine == Engine::Postgres
                        && s.view
                            .mounts()
                            .iter()
                            .any(|m| m.target.trim_end_matches('/') == engine.data_dir()))
                        || s.view
                            .environment()
                            .iter()
                            .any(|e| e.name == engine.env_names().2)
                })
            })
        })
}
