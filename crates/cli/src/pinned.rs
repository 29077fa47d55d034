//! `topo render --images FILE` / `--plan FILE`: the production images pinned, so that
//! `docker compose -f docker-compose.prod.yml up -d` runs exactly what CI built — by digest
//! from a build report of pushed images, else by the fingerprint tag.

use std::collections::BTreeMap;
use std::path::Path;

use topo_core::release::BuildReport;
use topo_core::value::ImageRef;
use topo_core::ValidTopology;

use crate::error::CommandError;

/// The image of each production container, by container name: the plan's fingerprint tags
/// first, a build report's images over them (a digest is the stronger pin).
pub fn pinned(
    topology: &ValidTopology,
    images: Option<&Path>,
    plan: Option<&Path>,
) -> Result<BTreeMap<String, ImageRef>, CommandError> {
    let containers: Vec<String> = topology
        .services
        .iter()
        .map(|s| topo_core::naming::container_name(&topology.project, &s.role))
        .collect();
    let mut pinned = BTreeMap::new();
    let mut pin = |path: &Path, container: &str, image: &str| {
        if !containers.iter().any(|c| c == container) {
            return Err(CommandError::Located(vec![format!(
                "{}: error: names the container `{container}`, which this topology does not have: was it made for another topology?",
                path.display()
            )]));
        }
        pinned.insert(container.to_owned(), reference(path, image)?);
        Ok(())
    };
    if let Some(path) = plan {
        let text = read(path)?;
        let plan = topo_ci::plan::Plan::parse(&text)
            .map_err(|e| not_a(path, "topo-ci plan document", (e.line(), e.column()), &e))?;
        for service in &plan.services {
            pin(path, &service.container, &service.image)?;
        }
    }
    if let Some(path) = images {
        let text = read(path)?;
        let report = BuildReport::parse(&text)
            .map_err(|e| not_a(path, "topo build report", (e.line(), e.column()), &e))?;
        for image in &report.images {
            for container in &image.containers {
                let image = report
                    .image_of(container)
                    .expect("a container of the report has an image");
                pin(path, container, &image)?;
            }
        }
    }
    Ok(pinned)
}

fn read(path: &Path) -> Result<String, CommandError> {
    std::fs::read_to_string(path).map_err(CommandError::io("read", path))
}

fn not_a(
    path: &Path,
    what: &str,
    (line, column): (usize, usize),
    error: &dyn std::fmt::Display,
) -> CommandError {
    CommandError::Located(vec![format!(
        "{}:{line}:{column}: error: not a {what}: {error}",
        path.display()
    )])
}

fn reference(path: &Path, image: &str) -> Result<ImageRef, CommandError> {
    ImageRef::parse_literal(image).map_err(|problem| {
        CommandError::Located(vec![format!(
            "{}: error: `{image}` is not an image reference: {problem}",
            path.display()
        )])
    })
}
