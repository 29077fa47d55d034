//! What each database engine means for a container: image, data directory, port,
//! environment and health check. Adding MySQL or MariaDB means adding a match arm here.

use crate::model::Engine;
use crate::valid::HardeningDefaults;
use crate::value::{ImageRef, Interpolated};

impl Engine {
    /// The engine's name as written in the topology.
    pub fn as_str(self) -> &'static str {
        match self {
            Engine::Postgres => "postgres",
        }
    }

    /// The official image repository.
    pub fn official_repository(self) -> &'static str {
        match self {
            Engine::Postgres => "postgres",
        }
    }

    /// The official image at a major version: `postgres:17`.
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
        }
    }

    /// Where the server keeps its data inside the container.
    pub fn data_dir(self) -> &'static str {
        match self {
            Engine::Postgres => "/var/lib/postgresql/data",
        }
    }

    /// The schemes of its connection URLs, the usual one first.
    pub fn url_schemes(self) -> &'static [&'static str] {
        match self {
            Engine::Postgres => &["postgresql", "postgres"],
        }
    }

    /// The server's port inside the container.
    pub fn port(self) -> u16 {
        match self {
            Engine::Postgres => 5432,
        }
    }

    /// The variables the image reads to create its database: (user, database, password).
    pub fn env_names(self) -> (&'static str, &'static str, &'static str) {
        match self {
            Engine::Postgres => ("POSTGRES_USER", "POSTGRES_DB", "POSTGRES_PASSWORD"),
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
        }
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
}
