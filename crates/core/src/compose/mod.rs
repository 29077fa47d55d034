//! Compose files as they are written by hand: read with positions, seen through the
//! shapes Compose accepts (short and long syntax alike). `lint` and `import` read them here.

pub mod file;
pub mod service;
pub mod yaml;

pub use file::{ComposeFile, ReadError};
pub use service::{
    Attachment, BuildView, Dependency, EnvEntry, Mount, MountKind, PortEntry, ServiceView, Words,
};
pub use yaml::{Key, Node, Pos, TextPos, Value};

use crate::Mode;

/// The mode a Compose file is for, from its name: `*prod-sim*` is prod-sim, `*prod*` or
/// `*production*` production, anything else dev (`docker-compose.yml`,
/// `compose.override.yaml`). Only the file name counts, not its directory.
pub fn mode_of_file_name(path: &str) -> Mode {
    let name = path
        .rsplit(['/', '\\'])
        .next()
        .unwrap_or(path)
        .to_ascii_lowercase();
    if ["prod-sim", "prod_sim", "prodsim", "prod.sim"]
        .iter()
        .any(|p| name.contains(p))
    {
        Mode::ProdSim
    } else if name.contains("prod") {
        Mode::Production
    } else {
        Mode::Dev
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn modes_from_file_names() {
        for (name, mode) in [
            ("docker-compose.yml", Mode::Dev),
            ("compose.override.yaml", Mode::Dev),
            ("deploy/docker-compose.prod-sim.yml", Mode::ProdSim),
            ("compose.prod_sim.yaml", Mode::ProdSim),
            ("docker-compose.prod.yml", Mode::Production),
            ("compose.production.yaml", Mode::Production),
            ("prod/docker-compose.yml", Mode::Dev),
        ] {
            assert_eq!(mode_of_file_name(name), mode, "{name}");
        }
    }
}
