//! The accessories topo knows: third-party servers run from a pinned image (a cache, a
//! queue, object storage, a mail catcher, a search engine). For each, what a topology would
//! otherwise have to spell out: its port, where it keeps its data, its health check, how to
//! ask the running server its version, and the capabilities it needs once all are dropped.
//! An image outside the catalogue is an accessory too, with an explicit health check.

use crate::value::ImageRef;

/// One known accessory image.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Known {
    /// What it is (`redis`).
    pub name: &'static str,
    /// The image names (without registry, namespace or tag) that run it.
    pub images: &'static [&'static str],
    /// The port it serves on.
    pub port: u16,
    /// The schemes of URLs that reach it on that port, the usual one first.
    pub schemes: &'static [&'static str],
    /// The variables its image reads to create its user: (user, password), when it has one.
    pub credentials: Option<(&'static str, &'static str)>,
    /// Where it keeps its data, when it keeps any: a named volume goes there by default.
    pub data: Option<&'static str>,
    /// Its health check (exec form), when the image has the tool for one.
    pub health: Option<&'static [&'static str]>,
    /// A command printing the running server's version, and the text right before the
    /// version number in its output.
    pub version: Option<(&'static [&'static str], &'static str)>,
    /// What it needs back after all capabilities are dropped (its entrypoint drops root).
    pub capabilities: &'static [&'static str],
    /// Paths it writes besides its data (each a tmpfs on a read-only root filesystem).
    pub writable: &'static [&'static str],
}

/// Entrypoints that change the data directory's owner, then drop root.
const DROPS_ROOT: &[&str] = &["CHOWN", "DAC_OVERRIDE", "FOWNER", "SETGID", "SETUID"];

/// The catalogue, by name.
pub const CATALOGUE: &[Known] = &[
    Known {
        name: "redis",
        images: &["redis", "redis-stack-server"],
        port: 6379,
        schemes: &["redis"],
        credentials: None,
        data: Some("/data"),
        health: Some(&["redis-cli", "ping"]),
        version: Some((&["redis-cli", "INFO", "server"], "redis_version:")),
        capabilities: DROPS_ROOT,
        writable: &["/tmp", "/run"],
    },
    Known {
        name: "valkey",
        images: &["valkey"],
        port: 6379,
        schemes: &["redis", "valkey"],
        credentials: None,
        data: Some("/data"),
        health: Some(&["valkey-cli", "ping"]),
        version: Some((&["valkey-cli", "INFO", "server"], "valkey_version:")),
        capabilities: DROPS_ROOT,
        writable: &["/tmp", "/run"],
    },
    Known {
        name: "memcached",
        images: &["memcached"],
        port: 11211,
        schemes: &["memcached"],
        credentials: None,
        data: None,
        // The official image has no client to ask it with: dependents wait for `started`.
        health: None,
        version: None,
        // The official image starts it as the memcache user (`USER`): no root to drop.
        capabilities: &[],
        writable: &["/tmp"],
    },
    Known {
        name: "rabbitmq",
        images: &["rabbitmq"],
        port: 5672,
        schemes: &["amqp"],
        credentials: Some(("RABBITMQ_DEFAULT_USER", "RABBITMQ_DEFAULT_PASS")),
        data: Some("/var/lib/rabbitmq"),
        // Run against RabbitMQ 3.10 (tests/images/build.sh): `ping` passes as soon as the
        // Erlang node is up, seconds before the server has created its default user or
        // accepts AMQP connections; `check_port_connectivity` passes once its listeners
        // accept them. The CLI runs as root with HOME=/var/lib/rabbitmq: started before the
        // server has written its Erlang cookie there, it writes one of its own, owned by
        // root, and the server, which cannot read it, stops on its first start
        // (docker-library/rabbitmq#695). Hence no CLI until the cookie exists.
        health: Some(&[
            "sh",
            "-c",
            "test -f /var/lib/rabbitmq/.erlang.cookie && exec rabbitmq-diagnostics -q check_port_connectivity",
        ]),
        // Prints the bare version (`3.10.8`).
        version: Some((
            &[
                "sh",
                "-c",
                "test -f /var/lib/rabbitmq/.erlang.cookie && exec rabbitmq-diagnostics -q server_version",
            ],
            "",
        )),
        // DAC_OVERRIDE is also what lets the root CLI read the rabbitmq user's cookie (0400).
        capabilities: DROPS_ROOT,
        // The server also writes a log file in /var/log/rabbitmq even when it logs to the
        // console (the official image's configuration): without it, it does not boot on a
        // read-only root filesystem ("failed to open log file ... read-only file system").
        writable: &["/tmp", "/run", "/var/log/rabbitmq"],
    },
    Known {
        name: "minio",
        images: &["minio"],
        port: 9000,
        schemes: &["http"],
        credentials: None,
        data: Some("/data"),
        health: Some(&["mc", "ready", "local"]),
        // Released by date, not by major: the tag pins it, nothing to compare.
        version: None,
        capabilities: &[],
        writable: &["/tmp", "/root/.mc", "/root/.minio"],
    },
    Known {
        name: "mailpit",
        images: &["mailpit"],
        port: 1025,
        schemes: &["smtp"],
        credentials: None,
        data: None,
        health: Some(&["/mailpit", "readyz"]),
        version: Some((&["/mailpit", "version"], "v")),
        capabilities: &[],
        writable: &["/tmp"],
    },
    Known {
        name: "opensearch",
        images: &["opensearch"],
        port: 9200,
        schemes: &["http"],
        credentials: None,
        data: Some("/usr/share/opensearch/data"),
        health: Some(&["curl", "-fsS", "http://127.0.0.1:9200/_cluster/health"]),
        version: Some((
            &["curl", "-fsS", "http://127.0.0.1:9200"],
            "\"number\" : \"",
        )),
        capabilities: &[],
        writable: &["/tmp", "/usr/share/opensearch/logs"],
    },
    Known {
        name: "elasticsearch",
        images: &["elasticsearch"],
        port: 9200,
        schemes: &["http"],
        credentials: None,
        data: Some("/usr/share/elasticsearch/data"),
        health: Some(&["curl", "-fsS", "http://127.0.0.1:9200/_cluster/health"]),
        version: Some((
            &["curl", "-fsS", "http://127.0.0.1:9200"],
            "\"number\" : \"",
        )),
        capabilities: &[],
        writable: &["/tmp", "/usr/share/elasticsearch/logs"],
    },
    Known {
        name: "meilisearch",
        images: &["meilisearch"],
        port: 7700,
        schemes: &["http"],
        credentials: None,
        data: Some("/meili_data"),
        health: Some(&["curl", "-fsS", "http://127.0.0.1:7700/health"]),
        version: Some((
            &["curl", "-fsS", "http://127.0.0.1:7700/version"],
            "\"pkgVersion\":\"",
        )),
        capabilities: &[],
        writable: &["/tmp"],
    },
];

/// What an accessory gets when the topology says nothing of its confinement: the limits of
/// a service, the catalogue's capabilities and writable paths (none, and `/tmp` and `/run`,
/// for an image it does not know), a read-only root filesystem.
pub fn hardening_defaults(known: Option<&'static Known>) -> crate::valid::HardeningDefaults {
    crate::valid::HardeningDefaults {
        memory: "1g",
        millicpus: 1000,
        pids: 512,
        capabilities: known.map_or(&[], |k| k.capabilities),
        writable: known.map_or(&["/tmp", "/run"], |k| k.writable),
        read_only: true,
    }
}

/// The catalogue entry of an image, by its name (`redis` for `docker.io/library/redis:7.2`,
/// `valkey` for `valkey/valkey:8`).
pub fn known(image: &ImageRef) -> Option<&'static Known> {
    let name = image.name();
    CATALOGUE.iter().find(|k| k.images.contains(&name))
}

impl Known {
    /// The major version in the output of the version command: the digits right after
    /// its marker (`redis_version:7.2.4` → 7).
    pub fn major_of_version_output(&self, output: &str) -> Option<u32> {
        let (_, marker) = self.version?;
        output.lines().find_map(|line| {
            let line = line.trim();
            let rest = if marker.is_empty() {
                line
            } else {
                &line[line.find(marker)? + marker.len()..]
            };
            let digits: String = rest.chars().take_while(char::is_ascii_digit).collect();
            digits.parse().ok()
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(image: &str, output: &str, expect: Option<u32>) {
        let image = ImageRef::parse(image).expect("an image reference");
        let known = known(&image).expect("in the catalogue");
        assert_eq!(known.major_of_version_output(output), expect, "{image}");
    }

    #[test]
    fn majors_asked_of_the_servers() {
        check(
            "redis:7.2",
            "# Server\r\nredis_version:7.2.4\r\nredis_git_sha1:0\r\n",
            Some(7),
        );
        check(
            "valkey/valkey:8",
            "redis_version:7.2.4\nvalkey_version:8.0.1\n",
            Some(8),
        );
        check("rabbitmq:3.13-management", "3.13.1\n", Some(3));
        check(
            "getmeili/meilisearch:v1.6",
            r#"{"commitSha":"x","pkgVersion":"1.6.0"}"#,
            Some(1),
        );
        check(
            "opensearchproject/opensearch:2",
            "{\n  \"version\" : {\n    \"number\" : \"2.11.0\",",
            Some(2),
        );
        check(
            "axllent/mailpit:v1.20",
            "mailpit v1.20.4 compiled with go1.23",
            Some(1),
        );
        check("redis:7.2", "ERR unknown command", None);
        assert!(known(&ImageRef::parse("ghcr.io/acme/cache:1").expect("ref")).is_none());
    }
}
