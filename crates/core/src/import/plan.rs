//! The containers of the input files: matched across files by role, classified (the
//! database, the proxy, services topo builds, the rest), and the project they belong to.

use std::collections::BTreeMap;

use crate::compose::{ComposeFile, Pos, ServiceView};
use crate::spec::labels;
use crate::value::ImageRef;
use crate::{naming, Mode};

use super::document::Table;
use super::{ImportError, ImportOptions, Note};

/// One input file and its mode.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Source<'a> {
    pub file: &'a ComposeFile,
    pub mode: Mode,
}

pub(super) fn sources_by_mode(
    files: &[(ComposeFile, Mode)],
) -> Result<Vec<Source<'_>>, ImportError> {
    if files.is_empty() {
        return Err(ImportError::NoFiles);
    }
    let mut sources: Vec<Source<'_>> = Vec::new();
    for (file, mode) in files {
        if let Some(first) = sources.iter().find(|s| s.mode == *mode) {
            return Err(ImportError::SameMode {
                mode: *mode,
                first: first.file.name.clone(),
                second: file.name.clone(),
            });
        }
        sources.push(Source { file, mode: *mode });
    }
    sources.sort_by_key(|s| s.mode);
    Ok(sources)
}

/// One Compose service as one file writes it.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Seen<'a> {
    pub mode: Mode,
    pub file: &'a ComposeFile,
    pub view: ServiceView<'a>,
}

impl Seen<'_> {
    /// A note about the text at `pos` of this file (its line and column those of its offset).
    pub fn note(&self, pos: Pos, message: impl Into<String>) -> Note {
        Note {
            file: self.file.name.clone(),
            pos: self.file.pos_at(pos.offset),
            message: message.into(),
        }
    }

    /// A note about the service as a whole (at its key).
    pub fn note_here(&self, message: impl Into<String>) -> Note {
        self.note(self.view.key.pos, message)
    }

    /// A note at `key` of the service when written, else at the service's key.
    pub fn note_at(&self, key: &str, message: impl Into<String>) -> Note {
        let pos = self
            .view
            .node
            .entry(key)
            .map_or(self.view.key.pos, |(k, _)| k.pos);
        self.note(pos, message)
    }
}

/// One container across the files: what each mode's file says about it.
#[derive(Clone, Debug)]
pub(crate) struct Container<'a> {
    pub role: String,
    /// In mode order; at most one per mode.
    pub seen: Vec<Seen<'a>>,
    /// The role it would have had, when another container of the same file had it first.
    pub renamed_from: Option<String>,
}

impl<'a> Container<'a> {
    /// The file of `mode`'s view.
    pub fn get(&self, mode: Mode) -> Option<&Seen<'a>> {
        self.seen.iter().find(|s| s.mode == mode)
    }

    /// The first view found in `order`.
    pub fn preferred(&self, order: [Mode; 3]) -> &Seen<'a> {
        order
            .iter()
            .find_map(|&mode| self.get(mode))
            .expect("a container is seen in at least one file")
    }

    /// What production says: production, else prod-sim, else dev.
    pub fn prod(&self) -> &Seen<'a> {
        self.preferred([Mode::Production, Mode::ProdSim, Mode::Dev])
    }
}

/// The containers, classified: what becomes the database, the proxy, services, or stays
/// a comment.
pub(crate) struct Plan<'a> {
    pub sources: Vec<Source<'a>>,
    pub project: String,
    pub options: ImportOptions,
    pub containers: Vec<Container<'a>>,
    pub database: Option<usize>,
    pub proxy: Option<usize>,
    /// Services topo builds, in the order first written.
    pub services: Vec<usize>,
    /// For a service on another's image: the owner's index.
    pub image_of: BTreeMap<usize, usize>,
    /// Third-party images pinned to a version: accessories.
    pub accessories: Vec<usize>,
    /// Containers topo cannot run (no image, or one without a version), kept as comments.
    pub foreign: Vec<usize>,
}

impl<'a> Plan<'a> {
    pub(super) fn new(
        sources: &[Source<'a>],
        project: String,
        options: &ImportOptions,
    ) -> Plan<'a> {
        let containers = gather(sources, &project);
        let mut plan = Plan {
            sources: sources.to_vec(),
            project,
            options: options.clone(),
            containers,
            database: None,
            proxy: None,
            services: Vec::new(),
            image_of: BTreeMap::new(),
            accessories: Vec::new(),
            foreign: Vec::new(),
        };
        plan.classify();
        plan.free_proxy_role();
        plan
    }

    /// With a proxy, `proxy` is its role: another container called so gets `proxy-N`.
    fn free_proxy_role(&mut self) {
        let Some(proxy) = self.proxy else {
            return;
        };
        let reserved = crate::model::Proxy::ROLE;
        for index in 0..self.containers.len() {
            if index == proxy || self.containers[index].role != reserved {
                continue;
            }
            let taken = |n: &usize| {
                let role = naming::numbered(reserved, *n);
                self.containers.iter().any(|c| c.role == role)
            };
            let n = (2..)
                .find(|n| !taken(n))
                .expect("a free number among infinitely many");
            let container = &mut self.containers[index];
            container.renamed_from = Some(reserved.to_owned());
            container.role = naming::numbered(reserved, n);
        }
    }

    fn classify(&mut self) {
        for (index, container) in self.containers.iter().enumerate() {
            let builds = container.seen.iter().any(|s| s.view.get("build").is_some());
            let images: Vec<ImageRef> = container
                .seen
                .iter()
                .filter_map(|s| s.view.image())
                .filter_map(|(image, _)| ImageRef::parse(&image).ok())
                .collect();
            let looks = |what: &str| images.iter().any(|i| i.name().contains(what));
            if !builds && self.database.is_none() && is_database(container) {
                self.database = Some(index);
            } else if !builds
                && self.proxy.is_none()
                && (looks("nginx") || writes_routes(container))
            {
                self.proxy = Some(index);
            } else if builds
                || images.iter().any(|i| {
                    i.tag_variable().is_some() || naming::role_in(i.name(), &self.project).is_some()
                })
            {
                self.services.push(index);
            } else if !builds
                && !images.is_empty()
                && images.iter().all(|i| !i.is_unpinned() && i.literal_problem().is_none())
                // An image the catalogue does not know needs a health check of its own.
                && (images.iter().all(|i| crate::accessory::known(i).is_some())
                    || container.seen.iter().any(|s| s.view.get("healthcheck").is_some()))
            {
                self.accessories.push(index);
            } else {
                self.foreign.push(index);
            }
        }
        // Services on one image: the same image reference, or the same build, in a mode.
        let identities: Vec<Vec<String>> = self
            .services
            .iter()
            .map(|&i| image_identities(&self.containers[i]))
            .collect();
        for (a, &first) in self.services.iter().enumerate() {
            if self.image_of.contains_key(&first) {
                continue;
            }
            let group: Vec<usize> = (a..self.services.len())
                .filter(|&b| identities[b].iter().any(|id| identities[a].contains(id)))
                .map(|b| self.services[b])
                .collect();
            if group.len() < 2 {
                continue;
            }
            // The owner is the one the image is named after, else the first.
            let owner = group
                .iter()
                .copied()
                .find(|&i| {
                    let name = naming::image_name(&self.project, &self.containers[i].role);
                    self.containers[i].seen.iter().any(|s| {
                        s.view.image().is_some_and(|(image, _)| {
                            ImageRef::parse(&image).is_ok_and(|i| i.name() == name)
                        })
                    })
                })
                .unwrap_or(first);
            for member in group.into_iter().filter(|&m| m != owner) {
                self.image_of.insert(member, owner);
            }
        }
    }

    /// The role of the service written under `key` in `file`, when it is imported.
    pub fn role_of_key(&self, file: &ComposeFile, key: &str) -> Option<&str> {
        self.containers
            .iter()
            .enumerate()
            .filter(|(i, _)| !self.foreign.contains(i))
            .find(|(_, c)| {
                c.seen
                    .iter()
                    .any(|s| std::ptr::eq(s.file, file) && s.view.name() == key)
            })
            .map(|(_, c)| c.role.as_str())
    }

    /// The index of the container with this role.
    pub fn index_of_role(&self, role: &str) -> Option<usize> {
        self.containers.iter().position(|c| c.role == role)
    }

    /// Whether a file of `mode` was given.
    pub fn has_mode(&self, mode: Mode) -> bool {
        self.sources.iter().any(|s| s.mode == mode)
    }

    /// The purpose of a volume: its name without the project and role prefixes
    /// (`vendure-db-data`, `db_data` → `data`).
    pub fn purpose_of(&self, volume: &str, role: &str) -> String {
        let purpose =
            naming::suggest_name(strip_project(strip_project(volume, &self.project), role));
        if purpose.is_empty() {
            "data".to_owned()
        } else {
            purpose
        }
    }

    /// The engine's name for the volume `key` of `file`: its `name:`, else Compose's
    /// `<project>_<key>`.
    pub fn volume_engine_name(&self, file: &ComposeFile, key: &str) -> String {
        let named = file
            .root
            .get("volumes")
            .and_then(|v| v.get(key))
            .and_then(|v| v.get("name"))
            .and_then(crate::compose::Node::scalar);
        named.unwrap_or_else(|| {
            let project = file
                .project()
                .and_then(crate::compose::Node::scalar)
                .or_else(|| self.options.compose_project.clone())
                .unwrap_or_else(|| self.project.clone());
            format!("{project}_{key}")
        })
    }

    /// Compose service names other containers may use as host names, and the container
    /// name that replaces each (`db` → `vendure-db`).
    pub fn renamed_hosts(&self) -> Vec<(String, String)> {
        let mut out: Vec<(String, String)> = Vec::new();
        for (index, container) in self.containers.iter().enumerate() {
            if self.foreign.contains(&index) {
                continue;
            }
            let name = naming::container_name(&self.project, &container.role);
            for seen in &container.seen {
                let mut old = vec![seen.view.name().to_owned()];
                old.extend(seen.view.container_name().map(|(n, _)| n));
                for old in old {
                    if !old.is_empty() && old != name && !out.iter().any(|(o, _)| *o == old) {
                        out.push((old, name.clone()));
                    }
                }
            }
        }
        out
    }

    /// Whether the container at `index` has a health check in topo (the database always does).
    pub fn has_health(&self, index: usize) -> bool {
        // What `wiring::health` writes: production's check, when it can be read.
        Some(index) == self.database
            || Some(index) == self.proxy
            || super::health::read(self.containers[index].prod()).is_some()
    }
}

/// The ways a container's image is named in each mode: `dev:image:vendure-server`,
/// `dev:build:apps/server|Dockerfile|dev`.
fn image_identities(container: &Container<'_>) -> Vec<String> {
    let mut out = Vec::new();
    for seen in &container.seen {
        if let Some((image, _)) = seen.view.image() {
            out.push(format!(
                "{}:image:{}",
                seen.mode,
                ImageRef::parse(&image).map_or(image, |i| i.full_name())
            ));
        }
        if let Some(build) = seen.view.build() {
            // Two builds of one context under different image names are two images.
            let named = seen
                .view
                .image()
                .map(|(image, _)| ImageRef::parse(&image).map_or(image, |i| i.full_name()))
                .unwrap_or_default();
            out.push(format!(
                "{}:build:{}|{}|{}|{named}",
                seen.mode,
                build.context,
                build.dockerfile.unwrap_or_default(),
                build.target.unwrap_or_default()
            ));
        }
    }
    out
}

/// Every service of every file, matched across files by role, in the order first written.
fn gather<'a>(sources: &[Source<'a>], project: &str) -> Vec<Container<'a>> {
    let mut containers: Vec<Container<'a>> = Vec::new();
    for source in sources {
        for view in source.file.services() {
            let wanted = role_of(&view, project);
            let seen = Seen {
                mode: source.mode,
                file: source.file,
                view,
            };
            // The first container of this role this file has not described yet; when every
            // one has (two services of one file with one role), the next free `role-N`.
            let mut role = wanted.clone();
            let mut n = 1;
            loop {
                match containers.iter().position(|c| c.role == role) {
                    Some(i) if containers[i].get(source.mode).is_none() => {
                        containers[i].seen.push(seen);
                        break;
                    }
                    Some(_) => {
                        n += 1;
                        role = naming::numbered(&wanted, n);
                    }
                    None => {
                        containers.push(Container {
                            renamed_from: (role != wanted).then(|| wanted.clone()),
                            role,
                            seen: vec![seen],
                        });
                        break;
                    }
                }
            }
        }
    }
    // Two files may call the database differently (`db`, `postgres`): one database.
    merge_databases(&mut containers);
    containers
}

/// A database server: its image is named after an engine topo runs, or (another image) it
/// keeps an engine's data directory or reads its password variable.
fn is_database(container: &Container<'_>) -> bool {
    super::database::engine_of(container).is_some()
}

/// Whether a container is given the routes file topo writes for its proxy.
fn writes_routes(container: &Container<'_>) -> bool {
    container.seen.iter().any(|s| {
        s.view.get("configs").is_some_and(|configs| {
            configs.items().iter().any(|item| {
                item.get("target")
                    .and_then(crate::compose::Node::scalar)
                    .as_deref()
                    == Some(crate::model::Proxy::CONFIG_PATH)
            })
        })
    })
}

fn merge_databases(containers: &mut Vec<Container<'_>>) {
    let is_database =
        |c: &Container<'_>| c.seen.iter().all(|s| s.view.get("build").is_none()) && is_database(c);
    let Some(first) = containers.iter().position(is_database) else {
        return;
    };
    let mut i = first + 1;
    while i < containers.len() {
        let disjoint = containers[i]
            .seen
            .iter()
            .all(|s| containers[first].get(s.mode).is_none());
        if is_database(&containers[i]) && disjoint {
            let merged = containers.remove(i);
            containers[first].seen.extend(merged.seen);
            containers[first].seen.sort_by_key(|s| s.mode);
        } else {
            i += 1;
        }
    }
}

/// The role of a Compose service: its `topo.service` label (the role itself), else its
/// container name or key without the project prefix, made a valid name.
fn role_of(view: &ServiceView<'_>, project: &str) -> String {
    let label = view
        .labels()
        .into_iter()
        .find(|(key, _)| key == labels::SERVICE)
        .and_then(|(_, value)| value)
        .map(|role| naming::suggest_name(&role))
        .filter(|role| !role.is_empty() && role != "network");
    if let Some(role) = label {
        return role;
    }
    let name = view
        .container_name()
        .map(|(name, _)| name)
        .filter(|name| !name.is_empty())
        .unwrap_or_else(|| view.name().to_owned());
    let role = naming::suggest_name(strip_project(&name, project));
    if role.is_empty() || role == "network" {
        format!("{}-service", naming::suggest_name(view.name()))
            .trim_start_matches('-')
            .to_owned()
    } else {
        role
    }
}

/// `vendure-server` or `vendure_server` → `server`.
pub(crate) fn strip_project<'n>(name: &'n str, project: &str) -> &'n str {
    name.strip_prefix(project)
        .and_then(|rest| rest.strip_prefix(['-', '_']))
        .filter(|rest| !rest.is_empty())
        .unwrap_or(name)
}

/// The project: `--project`, else the files' `name:`, else the containers' common prefix,
/// else the Compose project (the directory's name), else `app`.
pub(super) fn project_name(
    sources: &[Source<'_>],
    options: &ImportOptions,
    top: &mut Table,
    checks: &mut Vec<Note>,
) -> String {
    let named: Vec<(Source<'_>, String, Pos)> = sources
        .iter()
        .filter_map(|s| {
            let node = s.file.project()?;
            Some((*s, node.scalar()?, node.pos))
        })
        .collect();
    let first = sources[0].file;
    let note = |pos: Pos, message: String| Note {
        file: first.name.clone(),
        pos,
        message,
    };
    let start = Pos {
        line: 1,
        column: 1,
        offset: 0,
    };
    let chosen = if let Some(project) = &options.project {
        project.clone()
    } else if let Some((source, name, pos)) = named.first() {
        if let Some((other, other_name, other_pos)) = named.iter().find(|(_, n, _)| n != name) {
            top.note(checks, Note {
                file: other.file.name.clone(),
                pos: *other_pos,
                message: format!(
                    "the files name the project differently (`{name}` in {}, `{other_name}` here): kept `{name}`",
                    source.file.name
                ),
            });
        }
        let _ = pos;
        name.clone()
    } else if let Some(prefix) = common_prefix(sources) {
        top.note(
            checks,
            note(
                start,
                format!(
                    "guessed the project `{prefix}` from the container names (no file has `name:`)"
                ),
            ),
        );
        prefix
    } else if let Some(compose) = &options.compose_project {
        top.note(checks, note(start, format!("guessed the project `{compose}` from the files' directory, as Compose names it (no file has `name:`)")));
        compose.clone()
    } else {
        top.note(
            checks,
            note(
                start,
                "no project name found: called it `app`; pass --project NAME".to_owned(),
            ),
        );
        "app".to_owned()
    };
    let valid = naming::suggest_name(&chosen);
    let valid = if valid.is_empty() {
        "app".to_owned()
    } else {
        valid
    };
    if valid != chosen {
        top.note(checks, note(start, format!("the project `{chosen}` is not a valid name (lowercase letters, digits, dashes): it is `{valid}`")));
    }
    valid
}

/// The part before the first `-`/`_` that every container name (or key) shares, when
/// there are at least two.
fn common_prefix(sources: &[Source<'_>]) -> Option<String> {
    let names: Vec<String> = sources
        .iter()
        .flat_map(|s| s.file.services())
        .map(|v| {
            v.container_name()
                .map_or_else(|| v.name().to_owned(), |(n, _)| n)
        })
        .collect();
    let first = names.first()?.split(['-', '_']).next()?.to_owned();
    let shared = names.len() >= 2
        && names.iter().all(|n| {
            n.strip_prefix(&first)
                .is_some_and(|rest| rest.starts_with(['-', '_']))
        });
    shared.then_some(first)
}
