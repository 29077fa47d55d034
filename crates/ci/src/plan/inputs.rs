//! What each service's fingerprint is made of (`topo-ci fingerprint --explain`): the scope
//! whose files are hashed, and the packages its lockfile resolves for it, as a plan computes
//! them. It answers "why is this file (or package) in this service's scope?" before a
//! change does.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use topo_core::naming::container_name;
use topo_core::valid::Service;

use super::{each_service, PlanError, Planner};
use crate::fingerprint::scope_files;
use crate::scope::{Match, Scope};

/// What the fingerprints of the services at a commit are made of.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Explained {
    /// One per service, in topology order.
    pub services: Vec<Inputs>,
    /// What the plan notes about the workspaces and lockfiles it read (cycles, missing
    /// packages, unreadable files, scopes too wide).
    pub notes: Vec<String>,
}

/// What goes into one service's fingerprint.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Inputs {
    /// The container.
    pub container: String,
    /// Its fingerprint (as `topo-ci fingerprint` prints it).
    pub fingerprint: String,
    /// The container whose image it runs (`image_of`): its fingerprint is made of that
    /// image's, and the fields below are empty.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub image_of: Option<String>,
    /// What decides which files are hashed, one line each: `own DIR` (the build context),
    /// the `include`, `global` and `exclude` globs, `package DIR NAME` (a workspace package
    /// it depends on), `named package` and `outside PATH` (the context's paths that are
    /// not its package's), `dockerignore BLOB` (the ignore file read).
    pub scope: Vec<String>,
    /// By directory, for each `package` line of `scope`: the chain of dependencies that
    /// brings it in, from the image's own package (`["server", "@shop/common",
    /// "@shop/utils"]`).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub via: BTreeMap<String, Vec<String>>,
    /// For the `dockerignore` line of `scope`: the ignore file read (the Dockerfile's own,
    /// else the context's `.dockerignore`), from the repository root.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ignore_file: Option<String>,
    /// The lockfile that resolves its package's dependencies, when there is one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub lockfile: Option<LockfileInputs>,
    /// The files of the scope at the commit, in path order, when asked for
    /// ([`ExplainOptions::files`]).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub files: Option<Vec<InputFile>>,
}

/// One file a fingerprint hashes.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct InputFile {
    /// From the repository root.
    pub path: String,
    /// Its mode as git writes it: `100644`, `100755` (executable), `120000` (a symlink),
    /// `160000` (a submodule, whose commit is hashed).
    pub mode: String,
    /// Its blob (or the submodule's commit) id.
    pub id: String,
    /// What makes it the scope's: `own` (the build context or an include glob), `package
    /// NAME` (a workspace package the image depends on), `global` (a global file); or
    /// `patch` for a `patch-package` patch of a package of its closure (not a file of the
    /// scope: hashed with the package).
    pub from: String,
}

/// What `explain` says beyond the scope's definition.
#[derive(Clone, Copy, Debug, Default)]
pub struct ExplainOptions {
    /// List each file of each scope ([`Inputs::files`]).
    pub files: bool,
}

/// The lockfile part of a fingerprint.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct LockfileInputs {
    /// The lockfile, from the repository root.
    pub path: String,
    /// The packages it resolves for the image (`name@version`), in name order: hashed
    /// with their integrity. Empty when it cannot be read.
    pub packages: Vec<String>,
    /// Why it cannot be read: its blob is hashed instead.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub unreadable: Option<String>,
    /// The `patch-package` patches of packages it resolves for the image, from the
    /// repository root: each is hashed with the package it patches.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub patches: Vec<String>,
}

/// What the fingerprint of each service at the commit `committed` was read at is made of
/// (of the one whose container is `only`, when given), computed as `fingerprint` computes
/// them (no markers).
pub fn explain(
    committed: &crate::load::Committed,
    only: Option<&str>,
    options: ExplainOptions,
) -> Result<Explained, PlanError> {
    let (services, notes) = each_service(committed, only, |planner, service, container| {
        planner.inputs(service, container, options)
    })?;
    Ok(Explained { services, notes })
}

impl Planner<'_> {
    fn inputs(
        &mut self,
        service: &Service,
        container: String,
        options: ExplainOptions,
    ) -> Result<Inputs, PlanError> {
        let project = &self.request.topology.project;
        let fingerprint = self.fingerprint(service)?;
        let mut inputs = Inputs {
            container,
            fingerprint,
            image_of: None,
            scope: Vec::new(),
            via: BTreeMap::new(),
            ignore_file: None,
            lockfile: None,
            files: None,
        };
        if service.runs_another_image() {
            let owner = self.request.topology.image_owner(service);
            inputs.image_of = Some(container_name(project, &owner.role));
            return Ok(inputs);
        }
        let scope = self.image_scope(service)?;
        inputs.scope = scope.definition().lines().map(str::to_owned).collect();
        let deps = self.image_deps(service)?;
        inputs.via = deps.chains();
        inputs
            .via
            .retain(|dir, _| deps.packages.iter().any(|(package, _)| package == dir));
        inputs.ignore_file = self.dockerignore(service)?.map(|(_, _, path)| path);
        inputs.lockfile = self.lockfile_inputs(service)?;
        if options.files {
            let mut files = self.input_files(&scope)?;
            let patches = inputs.lockfile.iter().flat_map(|l| &l.patches);
            for path in patches {
                let entry = self.repo.entry_at(self.head_tree, path)?;
                let entry = entry.expect("a patch listed at head is a file there");
                files.push(InputFile {
                    path: path.clone(),
                    mode: entry.kind.as_octal_str().to_string(),
                    id: entry.id.to_string(),
                    from: "patch".to_owned(),
                });
            }
            files.sort_by(|a, b| a.path.cmp(&b.path));
            inputs.files = Some(files);
        }
        Ok(inputs)
    }

    /// The lockfile of the image `owner` builds and the packages it resolves for it, at
    /// head, as `lockfile_key` hashes them.
    pub(super) fn lockfile_inputs(
        &mut self,
        owner: &Service,
    ) -> Result<Option<LockfileInputs>, PlanError> {
        let deps = self.image_deps(owner)?;
        let Some((path, kind)) = deps.lockfile.clone() else {
            return Ok(None);
        };
        let mut inputs = LockfileInputs {
            path,
            packages: Vec::new(),
            unreadable: None,
            patches: Vec::new(),
        };
        let patches = self.patches_of(self.head_tree, &deps)?;
        match self.lockfile_in(self.head_tree, &inputs.path, kind)? {
            None => return Ok(None),
            Some((id, parsed)) => match parsed.as_ref() {
                Ok(lockfile) => {
                    let closure = self.closure_of(id, lockfile, &deps, patches.as_ref());
                    inputs.packages = (closure.iter())
                        .map(|r| format!("{}@{}", r.name, r.version))
                        .collect();
                    inputs.packages.dedup();
                    let applied = (patches.iter().flat_map(|(_, p)| p.iter()))
                        .filter(|p| closure.iter().any(|r| r.name == p.package));
                    inputs.patches = applied.map(|p| p.path.clone()).collect();
                }
                Err(why) => inputs.unreadable = Some(why.clone()),
            },
        }
        Ok(Some(inputs))
    }

    /// The files of `scope` at head, each with what makes it the scope's.
    fn input_files(&self, scope: &Scope) -> Result<Vec<InputFile>, PlanError> {
        let files = scope_files(self.repo, self.head_tree, scope)?;
        Ok(files
            .into_iter()
            .map(|(path, entry, matched)| {
                let from = match matched {
                    Match::Workspace => format!(
                        "package {}",
                        (scope.workspace_package(&path))
                            .expect("a file of a workspace package lies in one")
                    ),
                    Match::Global => "global".to_owned(),
                    _ => "own".to_owned(),
                };
                InputFile {
                    mode: entry.kind.as_octal_str().to_string(),
                    id: entry.id.to_string(),
                    from,
                    path,
                }
            })
            .collect())
    }
}
