//! Checking what a topology means: names, references, paths, values.
//!
//! Every check runs and every problem is reported; nothing stops at the first.
//! The only way to a [`ValidTopology`] is through here, so the spec builder never
//! sees a topology with errors.

mod ci;
mod deploy;
mod graph;
mod lint;
mod names;
mod paths;
mod values;

use std::ops::Deref;
use std::path::Path;

use crate::diagnostic::{has_errors, Diagnostic};
use crate::model::Topology;

/// What validation may look at beyond the topology itself.
#[derive(Clone, Copy, Debug, Default)]
pub struct ValidateOptions<'a> {
    /// The repository (the topology file's directory): when given, a build context or
    /// Dockerfile that does not exist there is reported (as a warning).
    pub repository: Option<&'a Path>,
}

/// A topology without errors. Only [`validate`] makes one.
#[derive(Clone, Debug)]
pub struct ValidTopology(Topology);

impl Deref for ValidTopology {
    type Target = Topology;
    fn deref(&self) -> &Topology {
        &self.0
    }
}

impl ValidTopology {
    /// The topology.
    pub fn into_inner(self) -> Topology {
        self.0
    }
}

/// A valid topology and the warnings found on the way.
#[derive(Clone, Debug)]
pub struct Validated {
    /// The topology.
    pub topology: ValidTopology,
    /// Warnings: nothing is refused because of them.
    pub warnings: Vec<Diagnostic>,
}

/// Checks a topology. `Ok` when it has no errors (it may have warnings), otherwise every
/// diagnostic, errors and warnings, in source order.
pub fn validate(
    topology: Topology,
    options: &ValidateOptions<'_>,
) -> Result<Validated, Vec<Diagnostic>> {
    let diagnostics = diagnose(&topology, options);
    if has_errors(&diagnostics) {
        Err(diagnostics)
    } else {
        Ok(Validated {
            topology: ValidTopology(topology),
            warnings: diagnostics,
        })
    }
}

/// Every problem of a topology, in source order.
pub fn diagnose(topology: &Topology, options: &ValidateOptions<'_>) -> Vec<Diagnostic> {
    let mut out = Vec::new();
    names::check(topology, &mut out);
    graph::check(topology, &mut out);
    paths::check(topology, options.repository, &mut out);
    values::check(topology, &mut out);
    ci::check(topology, &mut out);
    deploy::check(topology, &mut out);
    lint::check(topology, &mut out);
    out.sort_by(|a, b| {
        let position = |d: &Diagnostic| d.span.as_ref().map_or(usize::MAX, |s| s.start);
        position(a)
            .cmp(&position(b))
            .then_with(|| a.code.cmp(b.code))
            .then_with(|| a.message.cmp(&b.message))
    });
    out
}

pub use ci::compile_glob;
pub(crate) use paths::{escapes as path_escapes, generated_inside, relative_to_source};
pub(crate) use values::{looks_secret, parse_duration};
