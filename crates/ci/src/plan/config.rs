//! The production configuration of services, compared between the marker commit and
//! head: each service's rendered production spec and production build, as a key.

use std::collections::BTreeMap;

use topo_core::spec::container_spec;
use topo_core::{Mode, SourceFile, SpecOptions, ValidTopology, ValidateOptions};

use super::Planner;
use crate::fingerprint::config_key;
use crate::repo::short;

/// Services' configuration keys (production spec and production build), by container
/// name, computed one service at a time as they are needed.
pub(super) struct Configs<'t> {
    topology: &'t ValidTopology,
    keys: BTreeMap<String, Option<String>>,
}

impl<'t> Configs<'t> {
    pub(super) fn new(topology: &'t ValidTopology) -> Self {
        Configs {
            topology,
            keys: BTreeMap::new(),
        }
    }

    /// The key of the service whose container is `container`; none if there is no such
    /// service.
    pub(super) fn key(&mut self, container: &str) -> Option<&str> {
        let topology = self.topology;
        self.keys
            .entry(container.to_owned())
            .or_insert_with(|| {
                let service = topology.service_named(container)?;
                let options = SpecOptions::default();
                let production = container_spec(topology, service, Mode::Production, &options);
                let owner = topology.image_owner(service);
                let build = container_spec(topology, owner, Mode::ProdSim, &options);
                Some(config_key(&production, Some(&build)))
            })
            .as_deref()
    }
}

impl Planner<'_> {
    /// Why the service's configuration differs at `base`, if it does.
    pub(super) fn config_changed(
        &mut self,
        base: gix::ObjectId,
        container: &str,
    ) -> Option<String> {
        let path = self.request.topology_path;
        // The same topology blob on both sides: the same configuration, nothing to parse.
        if self.same_topology(base) {
            return None;
        }
        let base_tree = self.repo.tree_of(base).ok()?;
        let old = self.base_topologies.entry(base).or_insert_with(|| {
            let bytes = self
                .repo
                .read_file(base_tree, path)
                .map_err(|e| e.to_string())?
                .ok_or_else(|| format!("{path} did not exist"))?;
            let source = SourceFile::new(path, String::from_utf8_lossy(&bytes).into_owned());
            topo_core::load(&source, &ValidateOptions::default())
                .map(|valid| valid.topology)
                .map_err(|_| format!("{path} was not a valid topology"))
        });
        let old = old
            .as_ref()
            .map(|topology| Configs::new(topology).key(container).map(str::to_owned));
        let head = self.head.key(container);
        let base = base.to_string();
        let short_base = short(&base);
        match old {
            Err(why) => Some(format!(
                "the production configuration cannot be compared: at {short_base}, {why}"
            )),
            Ok(None) => Some(format!(
                "the service was not in the topology at {short_base}"
            )),
            Ok(Some(old)) if Some(old.as_str()) != head => Some(format!(
                "its production configuration changed since {short_base}"
            )),
            Ok(Some(_)) => None,
        }
    }
}
