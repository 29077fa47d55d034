//! Settings the topology holds once but Compose files repeat per container: the registry,
//! the production host IP and tag variable, log rotation, the dev env file. The first value
//! seen wins; every disagreement is a note.

use std::fmt::Display;

use crate::model::{DevSettings, ProductionSettings};

use super::document::{Table, Toml};
use super::Note;

/// One setting: its value, where it was first seen, and disagreements.
struct Agreed<T> {
    what: &'static str,
    value: Option<(T, Note)>,
    conflicts: Vec<Note>,
}

impl<T: PartialEq + Display> Agreed<T> {
    fn new(what: &'static str) -> Self {
        Agreed {
            what,
            value: None,
            conflicts: Vec::new(),
        }
    }

    /// `value`, written where `origin` points.
    fn offer(&mut self, value: T, origin: Note) {
        match &self.value {
            None => self.value = Some((value, origin)),
            Some((kept, first)) if *kept != value => self.conflicts.push(Note {
                message: format!(
                    "the {} is `{value}` here but `{kept}` at {}: topo has one, kept `{kept}`",
                    self.what,
                    first.location()
                ),
                ..origin
            }),
            Some(_) => {}
        }
    }

    /// Writes `key = value` unless it is `default`, after the notes.
    fn write(
        self,
        table: &mut Table,
        checks: &mut Vec<Note>,
        key: &str,
        default: Option<&T>,
        toml: impl Fn(&T) -> Toml,
    ) {
        for note in self.conflicts {
            table.note(checks, note);
        }
        if let Some((value, origin)) = self.value {
            if default != Some(&value) {
                table.set_from(key, toml(&value), origin);
            }
        }
    }
}

/// The settings gathered from every container.
pub(super) struct Settings {
    registry: Agreed<String>,
    host_ip: Agreed<String>,
    tag_variable: Agreed<String>,
    log_max_size: Agreed<String>,
    log_max_files: Agreed<u32>,
    env_file: Agreed<String>,
    /// Notes that belong to `[production]` as a whole.
    pub production_notes: Vec<Note>,
}

impl Default for Settings {
    fn default() -> Self {
        Settings {
            registry: Agreed::new("registry"),
            host_ip: Agreed::new("production host IP"),
            tag_variable: Agreed::new("image tag variable"),
            log_max_size: Agreed::new("log file size"),
            log_max_files: Agreed::new("number of log files"),
            env_file: Agreed::new("dev env file"),
            production_notes: Vec::new(),
        }
    }
}

impl Settings {
    /// The registry prefix of production images (`ghcr.io/acme`).
    pub fn registry(&mut self, value: String, origin: Note) {
        self.registry.offer(value, origin);
    }

    /// The address production publishes ports on.
    pub fn host_ip(&mut self, value: String, origin: Note) {
        self.host_ip.offer(value, origin);
    }

    /// The variable holding the tag to deploy.
    pub fn tag_variable(&mut self, value: String, origin: Note) {
        self.tag_variable.offer(value, origin);
    }

    /// json-file log rotation: size of a file and how many are kept.
    pub fn logging(&mut self, max_size: Option<(String, Note)>, max_files: Option<(u32, Note)>) {
        if let Some((size, origin)) = max_size {
            self.log_max_size.offer(size, origin);
        }
        if let Some((files, origin)) = max_files {
            self.log_max_files.offer(files, origin);
        }
    }

    /// The env file every dev container reads.
    pub fn env_file(&mut self, value: String, origin: Note) {
        self.env_file.offer(value, origin);
    }

    /// `[dev]` and `[production]`, each only when it says something.
    pub fn tables(self, checks: &mut Vec<Note>) -> Vec<Table> {
        let dev_defaults = DevSettings::default();
        let mut dev = Table::new(Some("[dev]"));
        self.env_file.write(
            &mut dev,
            checks,
            "env_file",
            Some(&dev_defaults.env_file.to_string()),
            |v| Toml::str(v),
        );
        let defaults = ProductionSettings::default();
        let mut production = Table::new(Some("[production]"));
        for note in self.production_notes {
            production.note(checks, note);
        }
        self.registry
            .write(&mut production, checks, "registry", None, |v| Toml::str(v));
        self.host_ip.write(
            &mut production,
            checks,
            "host_ip",
            Some(&defaults.host_ip.to_string()),
            |v| Toml::str(v),
        );
        self.tag_variable.write(
            &mut production,
            checks,
            "tag_variable",
            Some(&defaults.tag_variable.to_string()),
            |v| Toml::str(v),
        );
        self.log_max_size.write(
            &mut production,
            checks,
            "log_max_size",
            Some(&defaults.log_max_size.to_string()),
            |v| Toml::str(v),
        );
        self.log_max_files.write(
            &mut production,
            checks,
            "log_max_files",
            Some(&defaults.log_max_files),
            |v| Toml::Int(i64::from(*v)),
        );
        [dev, production]
            .into_iter()
            .filter(|t| !t.is_empty())
            .collect()
    }
}
