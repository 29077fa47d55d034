//! Checking what a topology means: names, references, paths, values.
//!
//! Every check runs and every problem is reported; nothing stops at the first.
//! The only way to a [`ValidTopology`] is through here, so the spec builder never
//! sees a topology with errors.

mod accessory;
mod ci;
mod database;
mod deploy;
mod derived;
mod graph;
mod hardening;
mod health;
mod lint;
mod lower;
mod names;
mod paths;
mod settings;
mod tls;
mod values;

use std::path::Path;

use crate::diagnostic::{has_errors, Diagnostic};
use crate::model::Topology;
pub use crate::valid::ValidTopology;

/// What validation may look at beyond the topology itself.
#[derive(Clone, Copy, Debug, Default)]
pub struct ValidateOptions<'a> {
    /// The repository (the topology file's directory): when given, a build context or
    /// Dockerfile that does not exist there is reported (as a warning).
    pub repository: Option<&'a Path>,
}

/// A valid topology and the warnings found on the way.
#[derive(Clone, Debug)]
pub struct Validated {
    /// The topology.
    pub topology: ValidTopology,
    /// Warnings: nothing is refused because of them.
    pub warnings: Vec<Diagnostic>,
}

/// Checks a topology and reads it into a [`ValidTopology`]. `Ok` when it has no errors
/// (it may have warnings), otherwise every diagnostic, errors and warnings, in source order.
pub fn validate(
    topology: Topology,
    options: &ValidateOptions<'_>,
) -> Result<Validated, Vec<Diagnostic>> {
    let (valid, diagnostics) = read(&topology, options);
    if has_errors(&diagnostics) {
        Err(diagnostics)
    } else {
        Ok(Validated {
            topology: valid,
            warnings: diagnostics,
        })
    }
}

/// Every problem of a topology, in source order.
pub fn diagnose(topology: &Topology, options: &ValidateOptions<'_>) -> Vec<Diagnostic> {
    read(topology, options).1
}

/// The typed topology (stand-ins where a value is wrong) and every problem, sorted.
fn read(topology: &Topology, options: &ValidateOptions<'_>) -> (ValidTopology, Vec<Diagnostic>) {
    let mut out = Vec::new();
    let mut valid = lower::topology(topology, options, &mut out);
    derived::lower(topology, &mut valid, &mut out);
    names::check(topology, &mut out);
    graph::check(topology, &mut out);
    values::host_ports(topology, &mut out);
    deploy::check(topology, &valid, &mut out);
    out.sort_by(|a, b| {
        let position = |d: &Diagnostic| d.span.as_ref().map_or(usize::MAX, |s| s.start);
        position(a)
            .cmp(&position(b))
            .then_with(|| a.code.cmp(b.code))
            .then_with(|| a.message.cmp(&b.message))
    });
    (valid, out)
}

pub use ci::compile_glob;
pub(crate) use derived::database_url;
pub(crate) use hardening::memory_of;
pub(crate) use paths::{escapes as path_escapes, generated_inside, relative_to_source};
pub use tls::DEFAULT_RENEW_BEFORE;
