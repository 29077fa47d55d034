//! Which workspace package an image is built from, and what that makes of its scope.
//!
//! Without `changes.package`, an image's package is the one whose directory holds its build
//! context most closely. With it (a context at a workspace root, a Dockerfile building one
//! package of it), the named package is the image's: the context's other packages leave
//! the scope unless that package depends on them, and the root lockfile counts through what
//! it resolves for the image rather than as a file.

use std::rc::Rc;

use super::deps::ImageDeps;
use crate::lockfile::LockfileKind;
use crate::scope::is_within;
use crate::workspace::{Dependencies, Ecosystem, Package, Workspace};

/// A package a topology names for an image (`changes.package`).
pub(super) struct Named<'t> {
    /// As written: a package's, crate's or Go module's name, or a directory.
    pub name: &'t str,
    /// Read as a directory, from the repository root.
    pub dir: String,
}

/// Why a named package was not found: the packages the build context holds, by label.
pub(super) struct NotFound(pub Vec<String>);

/// What an image whose build context is `context` depends on through its workspace, and
/// the problems found in its dependency graph.
pub(super) fn image_deps_in(
    workspaces: &[Rc<Workspace>],
    context: &str,
    named: Option<&Named<'_>>,
) -> Result<(ImageDeps, Vec<String>), NotFound> {
    let mut deps = ImageDeps {
        declared_in: workspaces
            .iter()
            .map(|w| w.declared_in().to_owned())
            .collect(),
        ..ImageDeps::default()
    };
    let found = match named {
        None => holding(workspaces, context),
        Some(named) => Some(find(workspaces, context, named)?),
    };
    let Some((workspace, package)) = found else {
        return Ok((deps, Vec::new()));
    };
    let dependencies = workspace.dependencies(package);
    deps.package = Some((workspace.clone(), package.dir.clone()));
    deps.packages = dependencies
        .packages
        .iter()
        .map(|p| (p.dir.clone(), p.label().to_owned()))
        .collect();
    deps.manifests = std::iter::once(package)
        .chain(&dependencies.packages)
        .map(|p| workspace.manifest_of(p))
        .collect();
    let mut locked = dependencies.clone();
    if named.is_some() {
        deps.outside = Some(outside(workspace, context, package, &dependencies));
        // An install at a JavaScript workspace's root (npm, pnpm, yarn) brings the root
        // package's dependencies too (the build's tools, often); `cargo build -p` builds
        // only what the crate depends on.
        let root = (workspace.root_package())
            .filter(|_| workspace.ecosystem() == Ecosystem::JavaScript)
            .filter(|root| is_within(&root.dir, context) && root.dir != package.dir);
        if let Some(root) = root.filter(|root| !locked.packages.contains(root)) {
            locked.packages.push(root.clone());
        }
    }
    deps.roots = workspace.lockfile_roots(package, &locked);
    let by_name = matches!(workspace.lockfile(), Some((_, LockfileKind::Cargo)));
    for root in &deps.roots {
        deps.roots_key.push_str(&format!("root {}\n", root.dir));
        if by_name {
            // Cargo.lock finds a crate's entry by its name.
            let name = root.name.as_deref().unwrap_or_default();
            deps.roots_key.push_str(&format!("name {name}\n"));
        }
        for (name, range) in &root.dependencies {
            deps.roots_key
                .push_str(&format!("dependency {name} {range}\n"));
        }
        for name in &root.dev_only {
            deps.roots_key.push_str(&format!("dev-only {name}\n"));
        }
    }
    deps.lockfile = workspace
        .lockfile()
        .map(|(path, kind)| (path.to_owned(), kind));
    if deps.lockfile.is_some() && workspace.ecosystem() == Ecosystem::JavaScript {
        deps.patches = workspace.patch_dir();
        deps.root_manifest = (workspace.root_package()).map(|root| workspace.manifest_of(root));
    }
    Ok((deps, dependencies.notes))
}

/// The package holding `context` most closely, and its workspace (the first one, of a
/// JavaScript and a Cargo package of one directory).
fn holding<'w>(
    workspaces: &'w [Rc<Workspace>],
    context: &str,
) -> Option<(&'w Rc<Workspace>, &'w Package)> {
    workspaces
        .iter()
        .filter_map(|workspace| Some((workspace, workspace.package_of(context)?)))
        .rev()
        .max_by_key(|(_, package)| package.dir.len())
}

/// The package `named` names in the build context `context`: by name in the first
/// workspace that has it, else by directory.
fn find<'w>(
    workspaces: &'w [Rc<Workspace>],
    context: &str,
    named: &Named<'_>,
) -> Result<(&'w Rc<Workspace>, &'w Package), NotFound> {
    let found = workspaces.iter().find_map(|workspace| {
        let package = workspace.package_named(named.name, &named.dir)?;
        is_within(&package.dir, context).then_some((workspace, package))
    });
    found.ok_or_else(|| {
        let mut known: Vec<String> = (workspaces.iter())
            .flat_map(|w| w.packages_within(context))
            .map(|p| p.label().to_owned())
            .collect();
        known.sort();
        known.dedup();
        NotFound(known)
    })
}

/// The paths of the build context that are not the image's: the directories of the
/// workspace packages in it that the image's package neither is, nor depends on, nor lies
/// in; and the workspace's lockfile and `patch-package` directory when they are in the
/// context (what the lockfile resolves for the image, patched, is compared instead).
fn outside(
    workspace: &Workspace,
    context: &str,
    package: &Package,
    dependencies: &Dependencies,
) -> Vec<String> {
    let used: Vec<&str> = std::iter::once(package)
        .chain(&dependencies.packages)
        .map(|p| p.dir.as_str())
        .collect();
    let mut outside: Vec<String> = workspace
        .packages_within(context)
        .filter(|p| !used.iter().any(|dir| is_within(dir, &p.dir)))
        .map(|p| p.dir.clone())
        .collect();
    if let Some((lockfile, _)) = workspace.lockfile() {
        if is_within(lockfile, context) {
            outside.push(lockfile.to_owned());
        }
        // `patch-package`'s patches are compared as the closures holding what they patch.
        let patches = workspace.patch_dir().filter(|dir| is_within(dir, context));
        outside.extend(patches);
    }
    outside
}

/// The note for an image built from a workspace root holding other packages without a
/// `changes.package`: every change of any of them deploys it. `dockerfile` is its
/// Dockerfile, from the repository root: the package holding it is the likely one.
pub(super) fn root_context_note(
    workspaces: &[Rc<Workspace>],
    role: &str,
    context: &str,
    dockerfile: &str,
) -> Option<String> {
    let workspace = workspaces.iter().find(|w| w.root() == context)?;
    let others = workspace
        .packages_within(context)
        .filter(|p| p.dir != context)
        .count();
    if others == 0 {
        return None;
    }
    let place = if context.is_empty() {
        "the repository root".to_owned()
    } else {
        context.to_owned()
    };
    let example = match workspace.package_of(dockerfile) {
        Some(holder) if holder.dir != context => holder.label().to_owned(),
        _ => "<its package>".to_owned(),
    };
    Some(format!(
        "`{role}` is built from {place}, the root of a workspace of {others} package{} besides, so a change in any of them deploys it; if its image is built from one of them, name it in its `[services.changes]`: package = \"{example}\"",
        if others == 1 { "" } else { "s" }
    ))
}
