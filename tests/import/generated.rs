//! The round trip over generated topologies, not only the fixtures: for every topology that
//! validates, `import(render(t))` renders the same bytes as `t` and needs no checks; and
//! `topo check` and `topo lint` agree on both (no check error ⇒ no lint error in the renders).
//!
//! The generator writes `topology.toml` text from choices among values that have broken
//! the round trip or are easy to get wrong: a role that repeats the project (`shop-web` in
//! `shop`), `$` in contexts, Dockerfiles, targets, paths, commands and literals, paths as
//! people write them (`./x/`, `a/../b`), secrets with and without local defaults, per-mode
//! values and commands, ports (dev-only, UDP, another host port), `depends_on` with every
//! condition, HTTP and command health checks, generated paths, volumes, aliases, images of
//! other services, a database with its own image, a proxy with routes, and the settings.
//! Candidates that do not validate are skipped (`prop_assume!`).

use proptest::prelude::*;

use topo_core::compose::ComposeFile;
use topo_core::import::{import, ImportOptions};
use topo_core::lint::{LintFile, LintOptions};
use topo_core::{RenderOptions, SourceFile, ValidateOptions};

const PROJECTS: [&str; 4] = ["shop", "a", "my-app2", "x-y"];
const ROLES: [&str; 8] = [
    "web", "api", "worker", "shop-web", "a1", "db2", "x-y-web", "jobs",
];
const CONTEXTS: [&str; 8] = [
    ".",
    "apps/web",
    "apps/we$b",
    "./x/",
    "a/../b",
    "svc/$$",
    "dir with space",
    "apps/api/",
];
const DOCKERFILES: [&str; 3] = ["Dockerfile.dev", "docker/Docker$file", "./Dockerfile"];
const SOURCES: [&str; 4] = ["/app", "/srv/app", "/srv/$x", "/usr/src/app/"];
const GENERATED: [&str; 6] = ["node_modules", "dist", "./build", ".next", "$cache", "a/b/"];
const WORDS: [&str; 6] = ["node", "server.js", "--price=$5", "$HOME", "a b", "-c"];
const ENV_NAMES: [&str; 6] = [
    "PORT",
    "DB_HOST",
    "API_URL",
    "SECRET_KEY",
    "NODE_ENV",
    "X_1",
];
const LITERALS: [&str; 7] = [
    "3000",
    "true",
    "db",
    "costs $5",
    "${NOT_A_VAR}",
    "",
    "a'b\"c",
];
const PATHS: [&str; 4] = ["/data", "/srv/app/uploads", "/var/$cache", "/x/y/"];
const PURPOSES: [&str; 3] = ["data", "uploads", "cache-2"];
const HTTP: [&str; 3] = ["/health", "/", "/a?b=$c"];

/// A build: context, Dockerfile and targets (dev, prod), as indices into the pools.
type Build = (usize, Option<usize>, Option<(usize, usize)>);

/// One service, as indices into the pools (resolved against the others when written).
#[derive(Clone, Debug)]
struct Svc {
    role: usize,
    /// `None`: runs the image of the first service.
    build: Option<Build>,
    source: Option<usize>,
    generated: Vec<usize>,
    command: Option<(Vec<usize>, Option<Vec<usize>>)>,
    env: Vec<(usize, Env)>,
    ports: Vec<(u16, Option<u16>, bool, bool)>,
    depends: Vec<(usize, u8)>,
    health: Option<(Option<usize>, u16, u8)>,
    volumes: Vec<(usize, usize)>,
    aliases: Vec<usize>,
    route: bool,
}

#[derive(Clone, Debug)]
enum Env {
    Literal(usize),
    Number(i64),
    PerMode(usize, usize),
    Secret(Option<usize>),
}

fn env() -> impl Strategy<Value = Env> {
    prop_oneof![
        (0..LITERALS.len()).prop_map(Env::Literal),
        (-5i64..70_000).prop_map(Env::Number),
        (0..LITERALS.len(), 0..LITERALS.len()).prop_map(|(d, p)| Env::PerMode(d, p)),
        prop::option::of(0..3usize).prop_map(Env::Secret),
    ]
}

fn service() -> impl Strategy<Value = Svc> {
    let build = prop::option::weighted(
        0.85,
        (
            0..CONTEXTS.len(),
            prop::option::of(0..DOCKERFILES.len()),
            prop::option::of((0..3usize, 0..3usize)),
        ),
    );
    let words = prop::collection::vec(0..WORDS.len(), 1..4);
    let command = prop::option::of((words.clone(), prop::option::of(words)));
    let port = (
        1u16..10_000,
        prop::option::of(1u16..10_000),
        any::<bool>(),
        any::<bool>(),
    );
    (
        (0..ROLES.len(), build, prop::option::of(0..SOURCES.len())),
        prop::collection::vec(0..GENERATED.len(), 0..3),
        command,
        prop::collection::vec((0..ENV_NAMES.len(), env()), 0..4),
        prop::collection::vec(port, 0..3),
        prop::collection::vec((0..4usize, 0..3u8), 0..3),
        prop::option::of((prop::option::of(0..HTTP.len()), 1u16..10_000, 0..3u8)),
        prop::collection::vec((0..PURPOSES.len(), 0..PATHS.len()), 0..3),
        prop::collection::vec(0..ROLES.len(), 0..2),
        any::<bool>(),
    )
        .prop_map(
            |(
                (role, build, source),
                generated,
                command,
                env,
                ports,
                depends,
                health,
                volumes,
                aliases,
                route,
            )| Svc {
                role,
                build,
                source,
                generated,
                command,
                env,
                ports,
                depends,
                health,
                volumes,
                aliases,
                route,
            },
        )
}

/// A TOML basic string (the pools hold no control characters).
fn q(text: &str) -> String {
    format!("\"{}\"", text.replace('\\', "\\\\").replace('"', "\\\""))
}

fn list(items: impl IntoIterator<Item = String>) -> String {
    format!("[{}]", items.into_iter().collect::<Vec<_>>().join(", "))
}

fn topology_text(
    project: usize,
    database: Option<(u8, bool, bool, bool)>,
    services: &[Svc],
    proxy: Option<bool>,
    settings: (bool, bool, bool),
) -> String {
    let project = PROJECTS[project];
    let mut t = format!("project = {}\n", q(project));
    if let Some(database) = database {
        t += &database_text(database);
    }
    let roles: Vec<&str> = services.iter().map(|s| ROLES[s.role]).collect();
    for (index, svc) in services.iter().enumerate() {
        t += &format!("\n[[services]]\nrole = {}\n", q(roles[index]));
        t += &build_text(svc, &roles);
        t += &wiring_text(index, services, &roles);
        t += &extras_text(index, svc, &roles, proxy.is_some());
    }
    t + &settings_text(proxy, settings)
}

fn database_text((major, own_image, dev_port, dev_password): (u8, bool, bool, bool)) -> String {
    let mut t = String::new();
    let major = [15, 16, 17][usize::from(major % 3)];
    t += &format!("\n[database]\nmajor = {major}\n");
    if own_image {
        t += &format!(
            "image = {}\n",
            q(&format!("registry.local/p$g:{major}-alpine"))
        );
    }
    if dev_port {
        t += "dev_port = 15432\n";
    }
    t += if dev_password {
        "password = { secret = \"DB_PASSWORD\", dev = \"local\" }\n"
    } else {
        "password = { secret = \"DB_PASSWORD\" }\n"
    };
    t
}

/// How a service's image is made, and its command.
fn build_text(svc: &Svc, roles: &[&str]) -> String {
    let mut t = String::new();
    match svc.build {
        Some((context, dockerfile, targets)) => {
            t += &format!("context = {}\n", q(CONTEXTS[context]));
            if let Some(d) = dockerfile {
                t += &format!("dockerfile = {}\n", q(DOCKERFILES[d]));
            }
            if let Some((dev, prod)) = targets {
                let names = ["dev", "d$v", "build"];
                let prods = ["prod", "runtime", "p$"];
                t += &format!(
                    "targets = {{ dev = {}, prod = {} }}\n",
                    q(names[dev]),
                    q(prods[prod])
                );
            }
            if let Some(s) = svc.source {
                t += &format!("source_path = {}\n", q(SOURCES[s]));
            }
            if !svc.generated.is_empty() {
                t += &format!(
                    "generated = {}\n",
                    list(svc.generated.iter().map(|&g| q(GENERATED[g])))
                );
            }
        }
        None => t += &format!("image_of = {}\n", q(roles[0])),
    }
    if let Some((dev, prod)) = &svc.command {
        let words = |w: &Vec<usize>| list(w.iter().map(|&i| q(WORDS[i])));
        t += &match prod {
            Some(prod) => format!(
                "command = {{ dev = {}, prod = {} }}\n",
                words(dev),
                words(prod)
            ),
            None => format!("command = {}\n", words(dev)),
        };
    }
    t
}

/// Ports, dependencies and health of the `index`th service.
fn wiring_text(index: usize, services: &[Svc], roles: &[&str]) -> String {
    let svc = &services[index];
    let mut t = String::new();
    if !svc.ports.is_empty() {
        let ports = svc.ports.iter().map(|&(container, host, dev_only, udp)| {
            let mut parts = vec![format!("container = {container}")];
            parts.extend(host.map(|h| format!("host = {}", h + 10_000)));
            if udp {
                parts.push("protocol = \"udp\"".to_owned());
            }
            if dev_only || svc.route {
                parts.push("dev_only = true".to_owned());
            }
            format!("{{ {} }}", parts.join(", "))
        });
        t += &format!("ports = {}\n", list(ports));
    }
    let depends: Vec<String> = svc
        .depends
        .iter()
        .filter(|(target, _)| *target < index)
        .map(|&(target, condition)| {
            let healthy = condition == 1 && services[target].health.is_some();
            let completed = condition == 2;
            let condition = if healthy {
                "healthy"
            } else if completed {
                "completed"
            } else {
                "started"
            };
            format!("{} = {}", q(roles[target]), q(condition))
        })
        .collect();
    if !depends.is_empty() {
        t += &format!("depends_on = {{ {} }}\n", depends.join(", "));
    }
    if let Some((http, port, probe)) = svc.health {
        t += &match http {
            Some(path) => format!(
                "health = {{ http = {}, port = {port}, probe = {}, interval = \"3s\" }}\n",
                q(HTTP[path]),
                q(["wget", "curl", "node"][usize::from(probe % 3)])
            ),
            None => "health = { command = [\"check\", \"--x=$y\"], retries = 2 }\n".to_owned(),
        };
    }
    t
}

/// Volumes, aliases, the route and the environment.
fn extras_text(index: usize, svc: &Svc, roles: &[&str], proxied: bool) -> String {
    let mut t = String::new();
    if !svc.volumes.is_empty() {
        let volumes = svc
            .volumes
            .iter()
            .map(|&(p, path)| format!("{} = {}", PURPOSES[p], q(PATHS[path])));
        t += &format!(
            "volumes = {{ {} }}\n",
            volumes.collect::<Vec<_>>().join(", ")
        );
    }
    if !svc.aliases.is_empty() {
        t += &format!(
            "aliases = {}\n",
            list(
                svc.aliases
                    .iter()
                    .map(|&a| q(&format!("{}-alias", ROLES[a])))
            )
        );
    }
    if svc.route && proxied {
        t += &format!(
            "route = {{ paths = [{}], port = 3000 }}\n",
            q(&format!("/{}", roles[index]))
        );
    }
    if !svc.env.is_empty() {
        t += "\n[services.env]\n";
        for (name, value) in &svc.env {
            let value = match value {
                Env::Literal(i) => q(LITERALS[*i]),
                Env::Number(n) => n.to_string(),
                Env::PerMode(d, p) => format!(
                    "{{ dev = {}, prod = {} }}",
                    q(LITERALS[*d]),
                    q(LITERALS[*p])
                ),
                Env::Secret(None) => "{ secret = \"TOKEN\" }".to_owned(),
                Env::Secret(Some(d)) => {
                    format!("{{ secret = \"TOKEN_{d}\", dev = \"local-{d}\" }}")
                }
            };
            t += &format!("{} = {value}\n", ENV_NAMES[*name]);
        }
    }
    t
}

fn settings_text(proxy: Option<bool>, settings: (bool, bool, bool)) -> String {
    let mut t = String::new();
    if let Some(own_image) = proxy {
        t += "\n[proxy]\n";
        if own_image {
            t += "image = \"registry.local/front:1$2\"\nport = 8080\n";
        }
    }
    let (registry, dev_env, files) = settings;
    if registry {
        t += "\n[production]\nregistry = \"ghcr.io/acme\"\ntag_variable = \"RELEASE\"\nlog_max_files = 7\n";
    }
    if dev_env {
        t += "\n[dev]\nenv_file = \"config/.env.$dev\"\n";
    }
    if files {
        t += "\n[files]\ndev = \"compose.yml\"\nproduction = \"compose.production.yml\"\n";
    }
    t
}

fn topologies() -> impl Strategy<Value = String> {
    (
        0..PROJECTS.len(),
        prop::option::of((0..3u8, any::<bool>(), any::<bool>(), any::<bool>())),
        prop::collection::vec(service(), 1..4),
        prop::option::of(any::<bool>()),
        (any::<bool>(), any::<bool>(), any::<bool>()),
    )
        .prop_map(|(project, database, services, proxy, settings)| {
            topology_text(project, database, &services, proxy, settings)
        })
}

/// `topo check` ⇔ `topo lint`: what lint finds wrong in the renders of a topology check
/// accepts (its own lint of the renders included), when it finds anything.
fn check_and_lint_disagree(text: &str) -> Option<String> {
    let source = SourceFile::new("topology.toml", text);
    let loaded = topo_core::load_source(source, &ValidateOptions::default()).ok()?;
    let topology = loaded.validated.topology.clone();
    loaded.check(None).ok()?;
    let files: Vec<LintFile> = topo_core::render_all(&topology, &RenderOptions::default())
        .into_iter()
        .map(|f| {
            let file = ComposeFile::read(f.file_name, f.contents).expect("rendered Compose reads");
            LintFile::new(file, f.mode)
        })
        .collect();
    let options = LintOptions {
        topology: Some(&topology),
        ..LintOptions::default()
    };
    let report = topo_core::lint::lint(&files, &options);
    report.has_errors().then(|| {
        let errors: Vec<String> = report
            .findings
            .iter()
            .filter(|f| f.severity == topo_core::model::Level::Error)
            .map(|f| format!("{}: error[{}]: {}", f.place, f.rule, f.message))
            .collect();
        format!("check accepts it, lint finds:\n{}", errors.join("\n"))
    })
}

proptest! {
    #![proptest_config(ProptestConfig {
        cases: 400,
        max_global_rejects: 100_000,
        ..ProptestConfig::default()
    })]

    #[test]
    fn generated_topologies_survive_render_import_render(text in topologies()) {
        let source = SourceFile::new("topology.toml", text.as_str());
        let valid = topo_core::load(&source, &ValidateOptions::default());
        prop_assume!(valid.is_ok());
        let topology = valid.expect("assumed").topology;
        let options = RenderOptions::default();
        let rendered = topo_core::render_all(&topology, &options);
        let files: Vec<_> = rendered
            .iter()
            .map(|f| (ComposeFile::read(f.file_name.clone(), f.contents.clone()).expect("rendered Compose reads"), f.mode))
            .collect();
        let imported = import(&files, &ImportOptions::default())
            .unwrap_or_else(|e| panic!("import refused the render of\n{text}\n{e}"));
        prop_assert!(imported.checks.is_empty(), "checks {:#?} for\n{}\nimported:\n{}", imported.checks, text, imported.text);
        let again = crate::common::load_valid("imported", &imported.text);
        for topology in [&text, &imported.text] {
            let disagreement = check_and_lint_disagree(topology);
            prop_assert!(disagreement.is_none(), "{}\ntopology:\n{}", disagreement.unwrap_or_default(), topology);
        }
        for (before, after) in rendered.iter().zip(topo_core::render_all(&again, &options)) {
            prop_assert!(
                before.contents == after.contents,
                "{} differs:\n{}\ntopology:\n{}\nimported:\n{}",
                before.file_name,
                topo_core::render::unified_diff(&before.contents, &after.contents, &before.file_name),
                text,
                imported.text
            );
        }
    }
}
