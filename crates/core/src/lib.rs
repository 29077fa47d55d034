//! topo-core: one typed topology, the single source of truth of a containerised
//! application, and everything derived from it.
//!
//! The flow is load → validate → runtime spec → render:
//!
//! ```
//! use topo_core::model::{Database, EnvValue, Health, Port, Service, Topology};
//! use topo_core::{render, validate, Mode, RenderOptions, ValidateOptions};
//!
//! let mut topology = Topology::new("shop");
//! let mut database = Database::postgres(17);
//! database.password = Some(EnvValue::secret("DB_PASSWORD").into());
//! topology.database = Some(database);
//! let mut web = Service::build("web", "apps/web");
//! web.ports.push(Port::same(8080).into());
//! web.health = Some(Health::http("/health", 8080).into());
//! topology.services.push(web);
//!
//! let valid = validate(topology, &ValidateOptions::default()).expect("a valid topology");
//! let file = render(&valid.topology, Mode::ProdSim, &RenderOptions::default());
//! assert_eq!(file.file_name, "docker-compose.prod-sim.yml");
//! assert!(file.contents.contains("container_name: shop-web"));
//! assert!(file.contents.contains("target: prod"));
//! assert!(!file.contents.contains("type: bind"));
//! ```
//!
//! From a file, [`load`] does the first two steps and reports every problem with
//! its position.
//!
//! topo-core knows nothing about Docker, git or async; its only I/O is reading a topology
//! file it is asked to load ([`load_path`]), the optional existence check of build contexts
//! during validation, and what `lint` reads through its `Host`.
#![deny(missing_docs)]

pub mod accessory;
pub mod agreement;
pub mod compose;
pub mod credentials;
pub mod diagnostic;
pub mod dockerignore;
mod engine;
pub use engine::DatabaseVersion;
pub mod example;
mod files;
pub mod import;
pub mod limit;
pub mod lint;
mod load;
pub mod model;
pub mod naming;
pub mod release;
pub mod render;
pub mod report;
pub mod schema;
mod spanned;
pub mod spec;
pub mod text;
pub mod valid;
pub mod validate;
pub mod value;

pub use diagnostic::{Diagnostic, Severity, SourceFile};
pub use files::{load_path, load_source, LoadError, Loaded};
pub use load::{parse, repository_of};
pub use render::{render, render_all, RenderOptions, RenderedFile};
pub use spanned::Spanned;
pub use spec::{runtime_spec, Mode, RuntimeSpec, SpecOptions};
pub use validate::{validate, ValidTopology, ValidateOptions, Validated};

/// Parses and validates a topology: `Ok` with its warnings, or every diagnostic. Unknown
/// keys do not hide the other problems: the rest of the topology is checked in the same
/// run when the unknown keys can be left out.
pub fn load(
    source: &SourceFile,
    options: &ValidateOptions<'_>,
) -> Result<Validated, Vec<Diagnostic>> {
    match load::parse_past_unknown_keys(source) {
        (Some(topology), shape) if shape.is_empty() => validate(topology, options),
        (Some(topology), mut shape) => {
            shape.extend(validate::diagnose(&topology, options));
            shape.sort_by_key(|d| d.span.as_ref().map_or(usize::MAX, |s| s.start));
            Err(shape)
        }
        (None, shape) => Err(shape),
    }
}
