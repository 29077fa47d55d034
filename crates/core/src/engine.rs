//! What each database engine means for a container: image, data directory, port,
//! environment and health check. Adding an engine means adding a match arm here.

use std::fmt;

use crate::model::Engine;
use crate::valid::HardeningDefaults;
use crate::value::{ImageRef, Interpolated};

impl Engine {
    /// The engine's name as written in the topology.
    pub fn as_str(self) -> &'static str {
        match self {
            Engine::Postgres => "postgres",
            Engine::Mariadb => "mariadb",
        }
    }

    /// The engine's name as people write it.
    pub fn display_name(self) -> &'static str {
        match self {
            Engine::Postgres => "PostgreSQL",
            Engine::Mariadb => "MariaDB",
        }
    }

    /// The official image repository.
    pub fn official_repository(self) -> &'static str {
        match self {
            Engine::Postgres => "postgres",
            Engine::Mariadb => "mariadb",
        }
    }

    /// The official image at a pinned version: `postgres:17`, `mariadb:11.8`.
    pub fn official_image(self, major: &str) -> ImageRef {
        ImageRef::named(None, self.official_repository(), Interpolated::text(major))
    }

    /// What the server's container gets when the topology says nothing: the capabilities
    /// its entrypoint needs (it starts as root, takes ownership of the data directory and
    /// switches to the `postgres` user) and the socket directory it writes.
    pub fn hardening(self) -> HardeningDefaults {
        match self {
            Engine::Postgres => HardeningDefaults {
                memory: "2g",
                millicpus: 2000,
                pids: 1024,
                capabilities: &["CHOWN", "DAC_OVERRIDE", "FOWNER", "SETGID", "SETUID"],
                writable: &["/run/postgresql"],
                read_only: true,
            },
            // The entrypoint gives the data and socket directories to `mysql` (it needs
            // DAC_OVERRIDE to look inside them once they are), then drops root; InnoDB
            // writes its temporary files to /tmp.
            Engine::Mariadb => HardeningDefaults {
                memory: "2g",
                millicpus: 2000,
                pids: 1024,
                capabilities: &["CHOWN", "DAC_OVERRIDE", "SETGID", "SETUID"],
                writable: &["/run/mysqld", "/tmp"],
                read_only: true,
            },
        }
    }

    /// Where the server keeps its data inside the container.
    pub fn data_dir(self) -> &'static str {
        match self {
            Engine::Postgres => "/var/lib/postgresql/data",
            Engine::Mariadb => "/var/lib/mysql",
        }
    }

    /// The schemes of its connection URLs, the usual one first.
    pub fn url_schemes(self) -> &'static [&'static str] {
        match self {
            Engine::Postgres => &["postgresql", "postgres"],
            Engine::Mariadb => &["mysql", "mariadb"],
        }
    }

    /// The server's port inside the container.
    pub fn port(self) -> u16 {
        match self {
            Engine::Postgres => 5432,
            Engine::Mariadb => 3306,
        }
    }

    /// The variables the image reads to create its database: (user, database, password).
    pub fn env_names(self) -> (&'static str, &'static str, &'static str) {
        match self {
            Engine::Postgres => ("POSTGRES_USER", "POSTGRES_DB", "POSTGRES_PASSWORD"),
            Engine::Mariadb => ("MARIADB_USER", "MARIADB_DATABASE", "MARIADB_PASSWORD"),
        }
    }

    /// Variables the image needs besides the user, database and password. MariaDB's
    /// refuses to start without a root password: a random one, never printed anywhere
    /// topo reads, since nothing in the topology logs in as root.
    pub fn extra_env(self) -> &'static [(&'static str, &'static str)] {
        match self {
            Engine::Postgres => &[],
            Engine::Mariadb => &[("MARIADB_RANDOM_ROOT_PASSWORD", "1")],
        }
    }

    /// The health check, as an exec-form command. It asks over TCP on 127.0.0.1: the
    /// official image's init phase runs a server on the Unix socket only, and a socket
    /// probe would call that temporary server ready.
    pub fn health_command(self, user: &str, database: &str) -> Vec<String> {
        match self {
            Engine::Postgres => ["pg_isready", "-h", "127.0.0.1", "-U", user, "-d", database]
                .map(str::to_owned)
                .to_vec(),
            // The official image's own check; `--connect` asks over TCP, which the
            // init phase's temporary server (`--skip-networking`) never answers.
            Engine::Mariadb => ["healthcheck.sh", "--connect", "--innodb_initialized"]
                .map(str::to_owned)
                .to_vec(),
        }
    }

    /// A command, run inside the database container, that prints the *running server's*
    /// version: what a deploy compares with the pinned major. (The image tag and the
    /// binaries can say one thing and a data directory upgraded in place another; the
    /// server answers for what it is.)
    pub fn version_command(self, user: &str, database: &str) -> Vec<String> {
        match self {
            Engine::Postgres => [
                "psql",
                "-X",
                "-q",
                "-t",
                "-A",
                "-U",
                user,
                "-d",
                database,
                "-c",
                "SHOW server_version_num",
            ]
            .map(str::to_owned)
            .to_vec(),
            Engine::Mariadb => self.version_command_from(user, database, "127.0.0.1"),
        }
    }

    /// The same question asked over TCP of the server at `host`, from another container of
    /// the database's image given the database container's environment and secrets (a
    /// Swarm deploy cannot exec into a task on another node: it runs this as a job). The
    /// password is the one the container was given, as a file or a variable; PGPASSWORD
    /// and MYSQL_PWD keep it off the command line.
    pub fn version_command_from(self, user: &str, database: &str, host: &str) -> Vec<String> {
        let script = match self {
            Engine::Postgres => format!(
                "PGPASSWORD=\"${{POSTGRES_PASSWORD:-$(cat \"$POSTGRES_PASSWORD_FILE\")}}\" exec psql -X -q -t -A -h {} -U {} -d {} -c 'SHOW server_version_num'",
                shell_word(host),
                shell_word(user),
                shell_word(database)
            ),
            Engine::Mariadb => format!(
                "MYSQL_PWD=\"${{MARIADB_PASSWORD:-$(cat \"$MARIADB_PASSWORD_FILE\")}}\" exec mariadb --protocol=tcp --skip-ssl -h {} -u {} -N -B -e 'SELECT VERSION()' {}",
                shell_word(host),
                shell_word(user),
                shell_word(database)
            ),
        };
        vec!["sh".to_owned(), "-c".to_owned(), script]
    }

    /// Reads a pinned version as a topology writes it: a major (`17`) for PostgreSQL, a
    /// release series (`11.8`) for MariaDB, which numbers its major releases so.
    pub fn parse_version(self, text: &str) -> Result<DatabaseVersion, String> {
        let number = |t: &str| -> Option<u32> {
            (!t.is_empty() && t.bytes().all(|b| b.is_ascii_digit()))
                .then(|| t.parse().ok())
                .flatten()
        };
        match self {
            Engine::Postgres => number(text)
                .map(|major| DatabaseVersion { major, minor: None })
                .ok_or_else(|| "pin a major version, e.g. 17".to_owned()),
            Engine::Mariadb => text
                .split_once('.')
                .and_then(|(major, minor)| {
                    Some(DatabaseVersion {
                        major: number(major)?,
                        minor: Some(number(minor)?),
                    })
                })
                .ok_or_else(|| {
                    "MariaDB numbers its major releases by two numbers: pin the series, e.g. \"11.8\"".to_owned()
                }),
        }
    }

    /// The version in what [`Engine::version_command`] printed, as precise as the pin:
    /// `170011` → 17, `11.8.9-MariaDB-0+deb13u1 from Debian` → 11.8.
    pub fn version_of_output(self, output: &str) -> Option<DatabaseVersion> {
        match self {
            Engine::Postgres => self
                .major_of_version_output(output)
                .map(|major| DatabaseVersion { major, minor: None }),
            // The client may warn on a line of its own before the answer.
            Engine::Mariadb => output.lines().find_map(|line| {
                let mut numbers = line.trim().split(['.', '-']);
                let major = numbers.next()?.parse().ok()?;
                let minor = numbers.next()?.parse().ok()?;
                Some(DatabaseVersion {
                    major,
                    minor: Some(minor),
                })
            }),
        }
    }

    /// The major version in what [`Engine::version_command`] printed: `170011` → 17,
    /// `90624` → 9.
    pub fn major_of_version_output(self, output: &str) -> Option<u32> {
        match self {
            Engine::Postgres => {
                // server_version_num is major × 10000 + minor since 10, and
                // 9.6.24 = 90624 before it.
                let number: u32 = output.trim().parse().ok()?;
                Some(number / 10_000)
            }
            Engine::Mariadb => self.version_of_output(output).map(|v| v.major),
        }
    }
}

/// A database server's pinned version: a major (PostgreSQL 17), or the release series an
/// engine numbers its majors by (MariaDB 11.8).
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize)]
pub struct DatabaseVersion {
    /// The first number.
    pub major: u32,
    /// The second, for an engine whose majors have two.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub minor: Option<u32>,
}

impl DatabaseVersion {
    /// Whether an image tag names this version: its leading numbers (`17.2-alpine`,
    /// `11.8.9-noble`) start with the pinned ones. `None` when the tag names no number.
    pub fn named_by_tag(self, tag: &str) -> Option<bool> {
        let mut numbers = tag.split(['.', '-']).map(|t| t.parse::<u32>().ok());
        let major = numbers.next().flatten()?;
        Some(
            major == self.major
                && self
                    .minor
                    .is_none_or(|minor| numbers.next().flatten() == Some(minor)),
        )
    }
}

impl fmt::Display for DatabaseVersion {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.minor {
            Some(minor) => write!(f, "{}.{minor}", self.major),
            None => write!(f, "{}", self.major),
        }
    }
}

/// `text` as one word for `sh -c` (single-quoted when it needs quoting).
fn shell_word(text: &str) -> String {
    if !text.is_empty()
        && text
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"-_.".contains(&b))
    {
        text.to_owned()
    } else {
        format!("'{}'", text.replace('\'', r"'\''"))
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn server_versions() {
        use crate::model::Engine;
        let major = |text| Engine::Postgres.major_of_version_output(text);
        assert_eq!(major("170011\n"), Some(17));
        assert_eq!(major("150013"), Some(15));
        assert_eq!(major("90624"), Some(9));
        assert_eq!(major("psql: error"), None);
    }

    #[test]
    fn mariadb_versions() {
        use crate::model::Engine;
        let version = |text| {
            Engine::Mariadb
                .version_of_output(text)
                .map(|v| v.to_string())
        };
        assert_eq!(
            version("11.8.9-MariaDB-0+deb13u1 from Debian\n").as_deref(),
            Some("11.8")
        );
        assert_eq!(version("10.11.14-MariaDB").as_deref(), Some("10.11"));
        assert_eq!(version("ERROR 1045 (28000)"), None);
        let pinned = Engine::Mariadb.parse_version("11.8").expect("a series");
        assert_eq!(pinned.named_by_tag("11.8"), Some(true));
        assert_eq!(pinned.named_by_tag("11.8.9-noble"), Some(true));
        assert_eq!(pinned.named_by_tag("11.4"), Some(false));
        assert_eq!(pinned.named_by_tag("11"), Some(false));
        assert_eq!(pinned.named_by_tag("latest"), None);
        assert!(Engine::Mariadb.parse_version("11").is_err());
        assert!(Engine::Postgres.parse_version("17").is_ok());
        assert!(Engine::Postgres.parse_version("17.2").is_err());
    }
}
