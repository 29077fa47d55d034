//! The catalogue of `topo lint`'s rules: stable ids, default levels, what each checks, and
//! the generic hint (a finding may carry a hint about its own case instead). It is the
//! vocabulary of `[lint.rules]`, so it lives with the model.

use crate::model::Level;

/// A lint rule.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Rule {
    /// The stable kebab-case id, as written in findings, suppressions and `[lint.rules]`.
    pub id: &'static str,
    /// The code `topo check` reports a finding of this rule in the topology's own renders
    /// under: `lint/<id>`.
    pub code: &'static str,
    /// The default level (some findings of a rule weigh less: see the rule's docs).
    pub level: Level,
    /// What the rule checks, in one line.
    pub summary: &'static str,
    /// What to do about a finding, when the finding has no more precise hint.
    pub hint: &'static str,
}

/// A rule: its id (a literal, so its check code can be spelt at compile time), level,
/// summary and hint.
macro_rules! define {
    ($id:literal, $level:expr, $summary:expr, $hint:expr $(,)?) => {
        Rule {
            id: $id,
            code: concat!("lint/", $id),
            level: $level,
            summary: $summary,
            hint: $hint,
        }
    };
}

/// Every rule, in the order the documentation lists them.
pub const RULES: &[Rule] = &[
    define!("db-major-drift", Level::Error,
        "The database image's major version differs between environments.",
        "pin one major everywhere (a topology pins it once: `[database] major`); a major upgrade needs a dump and restore"),
    define!("name-drift", Level::Error,
        "The same service has different service or container names in different files.",
        "use one name in every environment, and update what refers to it (depends_on, host variables)"),
    define!("network-drift", Level::Warning,
        "Services join different networks in different files (or the default network in one).",
        "put every environment's services on the same named network"),
    define!("host-reference-unknown", Level::Error,
        "An environment value names a host that is no service, container or alias on that file's network.",
        "name a service of this file (its service name, container_name or an alias on a shared network)"),
    define!("generated-path-bind-mount", Level::Error,
        "A host path is bind-mounted onto or from a container-owned generated path (node_modules, .next, dist, …).",
        "give the generated path its own named or anonymous volume (`- /app/node_modules`) so the host never shadows or feeds it"),
    define!("bind-mount-in-prod", Level::Error,
        "A host path is bind-mounted in prod-sim or production.",
        "bake files into the image (COPY in the Dockerfile) and keep runtime state in named volumes"),
    define!("dev-command-in-prod", Level::Error,
        "A development command (dev server, file watcher, debugger) runs in prod-sim or production.",
        "run the production start command (`node dist/main.js`, `next start`, …)"),
    define!("build-target-not-prod", Level::Error,
        "prod-sim builds a Dockerfile target other than the production one.",
        "build the production target in prod-sim: it exists to test the image production runs"),
    define!("db-port-published", Level::Error,
        "The database port is published on the host in production.",
        "remove `ports:` from the database in production; services reach it over the network (use `expose` or nothing)"),
    define!("literal-secret", Level::Error,
        "A secret-looking variable has a literal value (an error in production, a warning elsewhere).",
        "read it from the environment (`${DB_PASSWORD:?set DB_PASSWORD}`), an env file kept out of git, or a Compose secret"),
    define!("unpinned-image", Level::Warning,
        "An image has no tag or `latest` (an error in production).",
        "pin a version tag (`postgres:17`, `nginx:1.27`), or a digest"),
    define!("missing-healthcheck", Level::Error,
        "A service others wait for with `service_healthy` has no health check (a warning for any other production service).",
        "add a `healthcheck:` (or rely on one the image defines, and suppress this)"),
    define!("privileged", Level::Error,
        "A production service is privileged, mounts the Docker socket, or shares the host's network, PID or IPC namespace.",
        "drop the privilege; if a service truly needs it, suppress this with `# topo-lint: allow privileged` and a reason"),
    define!("unconfined-in-prod", Level::Warning,
        "A production service keeps the engine's default capabilities, a writable root filesystem (a service with `configs:` excepted), or has no memory or process limit.",
        "add `cap_drop: [ALL]` (and `cap_add` for what it needs), `read_only: true` with `tmpfs` for the paths it writes, `mem_limit` and `pids_limit`, a database's password as a `secrets:` file (`POSTGRES_PASSWORD_FILE`): what topo renders by default"),
    define!("topology-drift", Level::Error,
        "The file differs from what the topology renders for its mode.",
        "make the file match the topology (`topo render` writes it), or change the topology"),
    define!("unused-suppression", Level::Warning,
        "A `# topo-lint: allow` comment names an unknown rule or suppresses nothing.",
        "remove the comment, or fix the rule id"),
];

/// The rule with this id. Rules are referred to by literal ids in this crate.
pub(crate) fn rule(id: &str) -> &'static Rule {
    RULES
        .iter()
        .find(|r| r.id == id)
        .expect("rule ids used in the lint are in the catalogue")
}

/// The rule with this id, if there is one.
pub fn find(id: &str) -> Option<&'static Rule> {
    RULES.iter().find(|r| r.id == id)
}
