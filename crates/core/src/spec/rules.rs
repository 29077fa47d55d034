//! Why the modes differ: every rule by which the spec builder makes one mode's container
//! differ from another's, named in one place. `topo diff` cites them; the builder's code
//! that applies each one names it in a comment (`rule: dev-bind-mounts-the-source`), and a
//! test holds that no difference between the modes of any fixture goes unexplained.

use serde::Serialize;

/// A rule by which the modes differ.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub struct Rule {
    /// Its name, stable for scripts (`dev-bind-mounts-the-source`).
    pub id: &'static str,
    /// Why, in a sentence.
    pub why: &'static str,
}

/// The rules, in the order `topo diff` lists them.
pub const RULES: &[Rule] = &[
    EACH_MODE_BUILDS_ITS_TARGET,
    PRODUCTION_NEVER_BUILDS,
    PRODUCTION_RUNS_THE_PUSHED_IMAGE,
    BUILD_ARGS_PER_MODE,
    COMMAND_PER_MODE,
    VALUE_PER_MODE,
    SECRET_DEFAULTS_ARE_LOCAL,
    SECRETS_AS_FILES,
    DEV_ENV_FILE,
    DEV_BIND_MOUNTS_THE_SOURCE,
    DEV_KEEPS_GENERATED_DIRECTORIES,
    PORTS_PUBLISHED_IN_DEV_ONLY,
    PRODUCTION_BINDS_ITS_HOST_ADDRESS,
    RESTARTED_OUTSIDE_DEV,
    HARDENED_OUTSIDE_DEV,
    ACCESSORY_MODES,
    REPLICAS_ON_SWARM,
    THE_PROXY_SERVES_WHAT_RUNS,
    LABELS_NAME_THE_MODE,
    UNEXPLAINED,
];

/// Dev builds the dev target, prod-sim the production one.
pub const EACH_MODE_BUILDS_ITS_TARGET: Rule = Rule {
    id: "each-mode-builds-its-target",
    why: "dev builds the Dockerfile's dev target (`dev_target`), prod-sim the production target (`prod_target`) that production runs",
};

/// Production runs an image built and pushed beforehand.
pub const PRODUCTION_NEVER_BUILDS: Rule = Rule {
    id: "production-never-builds",
    why: "production runs the image CI built and pushed; dev and prod-sim build theirs on the machine",
};

/// Production's image is the registry's, at the deployed tag.
pub const PRODUCTION_RUNS_THE_PUSHED_IMAGE: Rule = Rule {
    id: "production-runs-the-pushed-image",
    why: "production runs `<registry>/<project>-<role>` at the tag a deploy names (`${TAG}`, a digest once pinned); the local modes run the image they built",
};

/// `build_args = { NAME = { dev, prod } }`.
pub const BUILD_ARGS_PER_MODE: Rule = Rule {
    id: "build-args-per-mode",
    why: "the topology gives this build argument a value per mode (`build_args = { NAME = { dev = …, prod = … } }`)",
};

/// `command = { dev, prod }`.
pub const COMMAND_PER_MODE: Rule = Rule {
    id: "command-per-mode",
    why:
        "the topology gives dev and prod their own command (`command = { dev = […], prod = […] }`)",
};

/// `NAME = { dev, prod }`.
pub const VALUE_PER_MODE: Rule = Rule {
    id: "value-per-mode",
    why: "the topology gives this variable a value per mode (`{ dev = …, prod = … }`)",
};

/// A secret's `dev` default applies locally only.
pub const SECRET_DEFAULTS_ARE_LOCAL: Rule = Rule {
    id: "secret-defaults-are-local",
    why: "a secret's `dev` default is used in the local modes (dev, prod-sim) only; production requires the variable",
};

/// `file = true` (the database's password by default).
pub const SECRETS_AS_FILES: Rule = Rule {
    id: "secrets-as-files",
    why: "prod-sim and production deliver this secret as a file under /run/secrets, named by `<NAME>_FILE` (`file = true`; the database's password by default); dev passes the value",
};

/// `[dev] env_file`.
pub const DEV_ENV_FILE: Rule = Rule {
    id: "dev-env-file",
    why: "dev reads the developer's own env file (`[dev] env_file`); the other modes read only the topology",
};

/// Dev mounts the build context over the source path.
pub const DEV_BIND_MOUNTS_THE_SOURCE: Rule = Rule {
    id: "dev-bind-mounts-the-source",
    why: "dev bind-mounts the build context at `source_path` so edits show without a rebuild; the other modes run what the image holds",
};

/// Dev keeps `generated` directories in named volumes.
pub const DEV_KEEPS_GENERATED_DIRECTORIES: Rule = Rule {
    id: "dev-keeps-generated-directories",
    why: "dev keeps each `generated` directory (node_modules, dist) in a named volume, so the bind mount does not hide the image's own",
};

/// Dev publishes what the other modes reach over the network.
pub const PORTS_PUBLISHED_IN_DEV_ONLY: Rule = Rule {
    id: "ports-published-in-dev-only",
    why: "this port is published in dev only (`dev_only`, the database's `dev_port`, an accessory's `ports`); elsewhere it is reached on the network or through the proxy",
};

/// `[production] host_ip`.
pub const PRODUCTION_BINDS_ITS_HOST_ADDRESS: Rule = Rule {
    id: "production-binds-its-host-address",
    why: "the local modes publish on 127.0.0.1; production on `[production] host_ip`",
};

/// Restart policies.
pub const RESTARTED_OUTSIDE_DEV: Rule = Rule {
    id: "restarted-outside-dev",
    why: "prod-sim and production restart a long-running container unless it was stopped; dev never restarts one",
};

/// Confinement.
pub const HARDENED_OUTSIDE_DEV: Rule = Rule {
    id: "hardened-outside-dev",
    why: "prod-sim and production confine every container (capabilities dropped, read-only root filesystem, limits, no-new-privileges, bounded logs); dev does not",
};

/// `modes = [...]` of an accessory.
pub const ACCESSORY_MODES: Rule = Rule {
    id: "accessory-modes",
    why: "this accessory runs only in the modes its `modes` names, and nothing waits for it elsewhere",
};

/// `replicas` on Swarm.
pub const REPLICAS_ON_SWARM: Rule = Rule {
    id: "replicas-on-swarm",
    why: "production on Swarm (`[production] engine = \"swarm\"`) runs `replicas` tasks of the service; one host runs one container",
};

/// The proxy's routes name the containers of the mode.
pub const THE_PROXY_SERVES_WHAT_RUNS: Rule = Rule {
    id: "the-proxy-serves-what-runs",
    why: "the proxy's configuration follows what runs in the mode (its routes, its certificate's source)",
};

/// `topo.mode` and the configuration hash.
pub const LABELS_NAME_THE_MODE: Rule = Rule {
    id: "labels-name-the-mode",
    why: "every container is labelled with its mode, and its configuration hash follows every other difference",
};

/// What no rule explains: a bug in topo, reported rather than hidden.
pub const UNEXPLAINED: Rule = Rule {
    id: "unexplained",
    why: "no rule of topo explains this difference: please report it",
};
