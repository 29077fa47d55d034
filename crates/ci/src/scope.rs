//! Which files matter to a service: its build context, its extra include globs, the
//! workspace packages it depends on and the global files, minus the excluded globs.
//!
//! Globs follow git: `*` stays within one directory, `**` crosses them, and a glob naming a
//! directory covers everything under it.

use globset::{GlobSet, GlobSetBuilder};
use topo_core::dockerignore::DockerIgnore;
use topo_core::valid::{Ci, Service};
use topo_core::validate::compile_glob;

use crate::repo::join;

/// How one path relates to a service.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Match {
    /// In the service's own scope (its context or an include glob).
    Own,
    /// In a workspace package the service's package depends on.
    Workspace,
    /// A global file: it affects every service.
    Global,
    /// It would count, but an exclude glob drops it.
    Excluded,
    /// Nothing to do with the service.
    Outside,
}

/// A service's scope, with every glob anchored at the repository root.
#[derive(Clone, Debug)]
pub struct Scope {
    own_dir: Option<String>,
    workspace: Vec<(String, String)>,
    include: Patterns,
    global: Patterns,
    exclude: Patterns,
    exclude_prefixes: Vec<String>,
    /// Paths of the build context that are not the image's (other workspace packages'
    /// directories, the lockfile): out of the scope unless a glob or a package brings them.
    outside: Vec<String>,
    /// Where include and global globs can match: their leading literal components.
    reach: Vec<String>,
    /// Whether the topology names the image's package (`with_named_package`).
    named_package: bool,
    /// The build context's `.dockerignore` (`with_dockerignore`).
    ignore: Option<Ignore>,
    roots: Vec<String>,
    /// Everything that decides which files are in: its directory, globs and packages.
    definition: String,
}

/// What the engine leaves out of the build context: out of the scope.
#[derive(Clone, Debug)]
struct Ignore {
    /// The build context, from the repository root.
    context: String,
    rules: DockerIgnore,
    /// The Dockerfile and the ignore files: the engine gets them whatever the rules say.
    always: [String; 3],
    /// Where the rules can match, from the repository root.
    reach: Vec<String>,
}

/// Globs split by shape: a literal path or `literal/**` is a directory prefix, matched by a
/// string comparison; only the rest goes to a [`GlobSet`], whose construction costs far more
/// than a plan of an unchanged service does.
#[derive(Clone, Debug)]
struct Patterns {
    prefixes: Vec<String>,
    globs: GlobSet,
}

impl Patterns {
    fn new(globs: &[String]) -> Result<Patterns, ScopeError> {
        let mut prefixes = Vec::new();
        let mut rest = Vec::new();
        for glob in globs {
            let literal = literal_prefix(glob);
            let tail = glob.strip_prefix(literal.as_str()).unwrap_or(glob);
            if tail.is_empty() || (tail == "/**" && !literal.is_empty()) {
                prefixes.push(literal);
            } else {
                rest.push(glob.clone());
            }
        }
        let globs = if rest.is_empty() {
            GlobSet::empty()
        } else {
            glob_set(&rest)?
        };
        Ok(Patterns { prefixes, globs })
    }

    fn is_match(&self, path: &str) -> bool {
        self.prefixes.iter().any(|prefix| is_within(path, prefix)) || self.globs.is_match(path)
    }
}

/// A glob of the topology that does not compile (validation normally catches it first).
#[derive(Debug, thiserror::Error)]
#[error("invalid glob `{glob}`: {message}")]
pub struct ScopeError {
    /// The glob.
    pub glob: String,
    /// Why.
    pub message: String,
}

impl Scope {
    /// The scope of the image `owner` builds (a service running another's image passes
    /// the owner), for a topology whose directory is `prefix` inside the repository.
    pub fn of(ci: &Ci, owner: &Service, prefix: &str) -> Result<Scope, ScopeError> {
        let own_dir = Some(
            join(prefix, &normalise(&owner.build.context))
                .trim_end_matches('/')
                .to_owned(),
        );
        let anchored = |globs: &mut dyn Iterator<Item = &String>| -> Vec<String> {
            globs.map(|glob| anchor(prefix, &normalise(glob))).collect()
        };
        let include = anchored(&mut owner.changes.include.iter());
        let global = anchored(&mut ci.global_files.iter());
        let exclude = anchored(&mut ci.exclude.iter().chain(&owner.changes.exclude));
        let roots = outermost(
            own_dir
                .iter()
                .cloned()
                .chain(include.iter().chain(&global).map(|g| literal_prefix(g)))
                .collect(),
        );
        let reach = include.iter().chain(&global).map(|g| literal_prefix(g));
        let reach = reach.collect();
        let definition = format!(
            "own {}\ninclude {include:?}\nglobal {global:?}\nexclude {exclude:?}\n",
            own_dir.as_deref().unwrap_or_default()
        );
        Ok(Scope {
            definition,
            own_dir,
            workspace: Vec::new(),
            include: Patterns::new(&include)?,
            global: Patterns::new(&global)?,
            exclude_prefixes: exclude.iter().map(|g| literal_prefix(g)).collect(),
            exclude: Patterns::new(&exclude)?,
            outside: Vec::new(),
            reach,
            named_package: false,
            ignore: None,
            roots,
        })
    }

    /// The scope with the directories of the workspace packages the service depends on
    /// (directory and the package's name, from the repository root).
    pub fn with_workspace(mut self, packages: Vec<(String, String)>) -> Scope {
        let mut roots = std::mem::take(&mut self.roots);
        roots.extend(packages.iter().map(|(dir, _)| dir.clone()));
        self.roots = outermost(roots);
        for (dir, name) in &packages {
            self.definition.push_str(&format!("package {dir} {name}\n"));
        }
        self.workspace = packages;
        self
    }

    /// The scope of an image built from one package of its build context (the topology
    /// names it): without `outside`, paths of the context (directories or files, from the
    /// repository root) that are not the image's, unless a workspace package or a glob
    /// brings them back; and a file of a package it depends on is that package's, even
    /// in the context.
    pub fn with_named_package(mut self, outside: Vec<String>) -> Scope {
        self.definition.push_str("named package\n");
        for path in &outside {
            self.definition.push_str(&format!("outside {path}\n"));
        }
        self.outside = outside;
        self.named_package = true;
        self
    }

    /// The scope without what the build's ignore file (its blob `id`: the Dockerfile's own,
    /// or the context's `.dockerignore`) leaves out of the context the engine gets: never
    /// the Dockerfile (`dockerfile`, from the context) nor an ignore file.
    pub fn with_dockerignore(mut self, rules: DockerIgnore, id: &str, dockerfile: &str) -> Scope {
        let Some(context) = self.own_dir.clone().filter(|_| !rules.is_empty()) else {
            return self;
        };
        self.definition.push_str(&format!("dockerignore {id}\n"));
        let from_root = |path: &str| match path {
            "" => context.clone(),
            path => join(&context, path),
        };
        let [own, context_wide] = topo_core::dockerignore::ignore_files(dockerfile);
        self.ignore = Some(Ignore {
            always: [
                from_root(&topo_core::dockerignore::normalise(dockerfile)),
                from_root(&own),
                from_root(&context_wide),
            ],
            // Where each line can match: its pattern's leading literal components.
            reach: rules
                .patterns()
                .map(|p| from_root(&literal_prefix(p)))
                .collect(),
            rules,
            context,
        });
        self
    }

    /// Whether `path`, in the build context, is left out of it by `.dockerignore`.
    fn ignored(&self, path: &str) -> bool {
        let Some(ignore) = &self.ignore else {
            return false;
        };
        let relative = match ignore.context.as_str() {
            "" => Some(path),
            context => path.strip_prefix(context).and_then(|p| p.strip_prefix('/')),
        };
        relative.is_some_and(|relative| {
            !ignore.always.iter().any(|always| always == path) && ignore.rules.excludes(relative)
        })
    }

    /// Whether no file under the directory `dir` can be in the scope, so a walk need not
    /// enter it: it lies in a path outside the image, and no workspace package or glob
    /// reaches into it.
    pub fn skips(&self, dir: &str) -> bool {
        let near = |other: &str| is_within(other, dir) || is_within(dir, other);
        self.outside.iter().any(|path| is_within(dir, path))
            && !self.workspace.iter().any(|(package, _)| near(package))
            && !self.reach.iter().any(|reach| near(reach))
    }

    /// The workspace package (its name) `path` lies in, if it is one the service depends
    /// on.
    pub fn workspace_package(&self, path: &str) -> Option<&str> {
        self.workspace
            .iter()
            .filter(|(dir, _)| is_within(path, dir))
            .max_by_key(|(dir, _)| dir.len())
            .map(|(_, name)| name.as_str())
    }

    /// What decides which files are in the scope (its directory, globs and workspace
    /// packages), as text: two scopes with the same definition hold the same files of any
    /// tree.
    pub fn definition(&self) -> &str {
        &self.definition
    }

    /// The paths under which every file of the scope lies: where diffs and walks start.
    pub fn roots(&self) -> &[String] {
        &self.roots
    }

    /// How `path` (a file, from the repository root) relates to the service.
    pub fn classify(&self, path: &str) -> Match {
        let in_context = self
            .own_dir
            .as_deref()
            .is_some_and(|dir| is_within(path, dir));
        // Looked up only when it decides: most files of a walk are the service's own.
        let in_package = || self.workspace_package(path).is_some();
        let in_image = in_context && !self.outside.iter().any(|out| is_within(path, out));
        // What the engine does not get is not the image's, an include glob aside.
        let ignored = in_image && self.ignored(path);
        let own = in_image && !ignored && !(self.named_package && in_package())
            || self.include.is_match(path);
        let workspace = !own && !ignored && in_package();
        let global = !own && !workspace && self.global.is_match(path);
        match (own || workspace || global, self.exclude.is_match(path)) {
            (false, _) if ignored => Match::Excluded,
            (false, _) => Match::Outside,
            (true, true) => Match::Excluded,
            (true, false) if own => Match::Own,
            (true, false) if workspace => Match::Workspace,
            (true, false) => Match::Global,
        }
    }

    /// Whether every file under the directory `dir` is in the scope, so its tree id alone
    /// stands for its contents: it lies in the build context or a workspace package the
    /// service depends on, and no exclude glob can reach into it.
    pub fn covers_whole(&self, dir: &str) -> bool {
        let whole = self
            .own_dir
            .as_deref()
            .into_iter()
            .chain(self.workspace.iter().map(|(dir, _)| dir.as_str()))
            .any(|whole| is_within(dir, whole));
        let ignore_reach = self.ignore.iter().flat_map(|ignore| &ignore.reach);
        whole
            && !(self
                .exclude_prefixes
                .iter()
                .chain(&self.outside)
                .chain(ignore_reach))
            .any(|prefix| is_within(dir, prefix) || is_within(prefix, dir))
    }
}

/// The roots, sorted, without those inside another: a root inside another root is walked
/// and diffed with it already.
fn outermost(mut roots: Vec<String>) -> Vec<String> {
    roots.sort();
    roots.dedup();
    let nested = |root: &String| {
        roots
            .iter()
            .any(|other| other != root && is_within(root, other))
    };
    roots.iter().filter(|root| !nested(root)).cloned().collect()
}

/// `./apps/server/` → `apps/server`; `.` → ``.
fn normalise(path: &str) -> String {
    let mut parts: Vec<&str> = path
        .split('/')
        .filter(|part| !part.is_empty() && *part != ".")
        .collect();
    if parts.is_empty() {
        parts.push("");
    }
    parts.join("/")
}

/// A path of the topology's (`prefix` is its directory) from the repository root, `.` for
/// the root itself.
pub fn repository_path(prefix: &str, path: &str) -> String {
    let joined = join(prefix, &normalise(path));
    match normalise(&joined) {
        root if root.is_empty() => ".".to_owned(),
        inside => inside,
    }
}

/// The glob, anchored at the repository root (`prefix` is the topology's directory).
fn anchor(prefix: &str, glob: &str) -> String {
    if prefix.is_empty() {
        glob.to_owned()
    } else {
        format!("{}/{glob}", globset::escape(prefix))
    }
}

/// The directory (or file) a glob cannot match outside of: its leading literal components.
/// `packages/*/package.json` → `packages`; `**/*.md` → `` (anywhere).
fn literal_prefix(glob: &str) -> String {
    let is_literal = |part: &&str| !part.contains(['*', '?', '[', '{', '\\']);
    glob.split('/')
        .take_while(is_literal)
        .collect::<Vec<_>>()
        .join("/")
}

/// Whether `path` is `dir` or lies under it (`` holds everything).
pub(crate) fn is_within(path: &str, dir: &str) -> bool {
    dir.is_empty()
        || path == dir
        || (path.len() > dir.len() && path.starts_with(dir) && path.as_bytes()[dir.len()] == b'/')
}

/// Each glob, and everything under what it names (a glob naming a directory covers its
/// contents, as a git pathspec does).
fn glob_set(globs: &[String]) -> Result<GlobSet, ScopeError> {
    let mut builder = GlobSetBuilder::new();
    for glob in globs {
        for pattern in [glob.clone(), format!("{glob}/**")] {
            let compiled = compile_glob(&pattern).map_err(|e| ScopeError {
                glob: glob.clone(),
                message: e.kind().to_string(),
            })?;
            builder.add(compiled);
        }
    }
    builder.build().map_err(|e| ScopeError {
        glob: globs.join(", "),
        message: e.to_string(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use topo_core::model::{Service, Topology};
    use topo_core::{Spanned, ValidateOptions};

    fn scope(prefix: &str, setup: impl FnOnce(&mut Topology, &mut Service)) -> Scope {
        let mut topology = Topology::new("shop");
        let mut service = Service::build("server", "apps/server");
        setup(&mut topology, &mut service);
        topology.services.push(service);
        let valid = topo_core::validate(topology, &ValidateOptions::default())
            .expect("a valid topology")
            .topology;
        Scope::of(&valid.ci, &valid.services[0], prefix).expect("scope")
    }

    fn check(scope: &Scope, path: &str, expect: Match) {
        assert_eq!(scope.classify(path), expect, "{path}");
    }

    #[test]
    fn paths_from_the_repository_root() {
        for (prefix, path, expect) in [
            ("", ".", "."),
            ("", "./apps/web/", "apps/web"),
            ("deploy", ".", "deploy"),
            ("deploy", "apps//server", "deploy/apps/server"),
        ] {
            assert_eq!(repository_path(prefix, path), expect, "{prefix} {path}");
        }
    }

    #[test]
    fn the_context_is_the_scope() {
        let s = scope("", |_, _| {});
        check(&s, "apps/server/src/index.ts", Match::Own);
        check(&s, "apps/server", Match::Own);
        check(&s, "apps/server-old/index.ts", Match::Outside);
        check(&s, "apps/storefront/page.tsx", Match::Outside);
        assert_eq!(s.roots(), ["apps/server"]);
    }

    #[test]
    fn includes_excludes_and_global_files() {
        let s = scope("", |topology, service| {
            topology
                .ci
                .global_files
                .push(Spanned::new("package-lock.json".into()));
            topology.ci.exclude.push(Spanned::new("**/*.md".into()));
            service
                .changes
                .include
                .push(Spanned::new("packages/shared".into()));
            service
                .changes
                .exclude
                .push(Spanned::new("apps/server/test/**".into()));
        });
        check(&s, "packages/shared/src/a.ts", Match::Own);
        check(&s, "packages/other/a.ts", Match::Outside);
        check(&s, "package-lock.json", Match::Global);
        check(&s, "apps/server/README.md", Match::Excluded);
        check(&s, "apps/server/test/a.spec.ts", Match::Excluded);
        check(&s, "README.md", Match::Outside);
        assert_eq!(
            s.roots(),
            ["apps/server", "package-lock.json", "packages/shared"]
        );
        // `**/*.md` can reach anywhere: no directory is whole.
        assert!(!s.covers_whole("apps/server/src"));
    }

    #[test]
    fn what_dockerignore_leaves_out_of_the_context_leaves_the_scope() {
        let rules = "node_modules\n**/*.test.ts\n!keep.test.ts\nDockerfile\n.dockerignore\n";
        let rules = DockerIgnore::parse(rules).expect("valid rules");
        let s = scope("", |_, service| {
            service
                .changes
                .include
                .push(Spanned::new("apps/server/fixtures/a.test.ts".into()));
        })
        .with_dockerignore(rules, "blob", "./Dockerfile");
        check(&s, "apps/server/src/a.ts", Match::Own);
        check(&s, "apps/server/src/a.test.ts", Match::Excluded);
        check(&s, "apps/server/node_modules/x/index.js", Match::Excluded);
        check(&s, "apps/server/keep.test.ts", Match::Own);
        // The engine gets these whatever the rules say; an include glob keeps what it names.
        check(&s, "apps/server/Dockerfile", Match::Own);
        check(&s, "apps/server/.dockerignore", Match::Own);
        check(&s, "apps/server/fixtures/a.test.ts", Match::Own);
        check(&s, "apps/other/a.test.ts", Match::Outside);
        assert!(s.definition().contains("dockerignore blob"));
        // `**/*.test.ts` reaches every directory of the context.
        assert!(!s.covers_whole("apps/server/src"));
        let narrow = DockerIgnore::parse("dist").expect("valid rules");
        let s = scope("", |_, _| {}).with_dockerignore(narrow, "blob", "Dockerfile");
        assert!(s.covers_whole("apps/server/src"));
        assert!(!s.covers_whole("apps/server/dist"));
        // No rule: the scope of no `.dockerignore`.
        let none = DockerIgnore::parse("# nothing\n").expect("valid rules");
        let s = scope("", |_, _| {}).with_dockerignore(none, "blob", "Dockerfile");
        assert!(!s.definition().contains("dockerignore"));
    }

    #[test]
    fn whole_directories_are_those_no_exclude_reaches() {
        let s = scope("", |_, service| {
            service
                .changes
                .exclude
                .push(Spanned::new("apps/server/test/**".into()));
        });
        assert!(s.covers_whole("apps/server/src"));
        assert!(!s.covers_whole("apps/server"));
        assert!(!s.covers_whole("apps/server/test"));
        assert!(!s.covers_whole("apps"));
    }

    #[test]
    fn workspace_dependencies_join_the_scope() {
        let s = scope("", |topology, _| {
            topology
                .ci
                .exclude
                .push(Spanned::new("packages/common/test/**".into()));
        })
        .with_workspace(vec![
            ("packages/common".into(), "@shop/common".into()),
            ("apps/server/vendor/x".into(), "x".into()),
        ]);
        check(&s, "packages/common/src/a.ts", Match::Workspace);
        check(&s, "packages/common/test/a.ts", Match::Excluded);
        check(&s, "packages/commons/a.ts", Match::Outside);
        // Inside the context, a file is the service's own.
        check(&s, "apps/server/vendor/x/a.ts", Match::Own);
        assert_eq!(
            s.workspace_package("packages/common/a"),
            Some("@shop/common")
        );
        assert_eq!(s.roots(), ["apps/server", "packages/common"]);
        assert!(s.covers_whole("packages/common/src"));
        assert!(!s.covers_whole("packages/common"));
    }

    #[test]
    fn a_named_package_leaves_the_contexts_other_packages_out() {
        let s = scope("", |_, service| {
            service.context = Some(Spanned::new(".".into()));
            service
                .changes
                .include
                .push(Spanned::new("apps/admin/shared/**".into()));
        })
        .with_workspace(vec![("packages/common".into(), "@shop/common".into())])
        .with_named_package(vec![
            "apps/admin".into(),
            "apps/web".into(),
            "package-lock.json".into(),
        ]);
        check(&s, "apps/server/src/a.ts", Match::Own);
        check(&s, "tsconfig.json", Match::Own);
        check(&s, "apps/web/src/a.ts", Match::Outside);
        check(&s, "apps/webshop/a.ts", Match::Own);
        check(&s, "package-lock.json", Match::Outside);
        check(&s, "yarn.lock", Match::Own);
        check(&s, "apps/admin/shared/a.ts", Match::Own);
        // A package it depends on is named as such, though it is in the context.
        check(&s, "packages/common/a.ts", Match::Workspace);
        assert!(s.definition().contains("outside apps/web\n"));
        // Walks skip what nothing can bring back.
        assert!(s.skips("apps/web"));
        assert!(s.skips("apps/web/src"));
        assert!(!s.skips("apps/admin"), "an include reaches into it");
        assert!(!s.skips("apps"));
        assert!(!s.covers_whole("apps"));
        assert!(s.covers_whole("apps/server"));
        assert!(!s.covers_whole(""), "the lockfile is not the image's");
    }

    #[test]
    fn a_topology_in_a_subdirectory_anchors_everything_there() {
        let s = scope("deploy", |topology, _| {
            topology.ci.global_files.push(Spanned::new("*.lock".into()));
        });
        check(&s, "deploy/apps/server/x", Match::Own);
        check(&s, "apps/server/x", Match::Outside);
        check(&s, "deploy/yarn.lock", Match::Global);
        check(&s, "deploy/sub/yarn.lock", Match::Outside);
        assert_eq!(s.roots(), ["deploy"]);
    }
}
