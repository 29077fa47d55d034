//! The order services deploy in, and the versions each keeps for a rollback.
//!
//! A deployed container carries its history in a label (`topo.history`: the tags it and
//! the containers it replaced ran, newest first, at most `keep_images`): a rollback reads
//! the previous version there, and an image no container's history names any more is
//! removed after the deploy.

use std::collections::{BTreeSet, HashMap};

use topo_core::spec::{labels, ContainerSpec, ImageRef, RuntimeSpec};

use crate::engine::Engine;
use crate::error::SimError;

/// The application's containers in dependency order (the database and the proxy are not
/// deployed: the database is verified, the proxy switched).
pub(crate) fn deploy_order(spec: &RuntimeSpec) -> Vec<&ContainerSpec> {
    let skip: BTreeSet<&str> = spec
        .database
        .iter()
        .map(|d| d.container.as_str())
        .chain(spec.proxy.iter().map(|p| p.container.as_str()))
        .chain(spec.accessories.iter().map(|a| a.container.as_str()))
        .collect();
    let mut done: BTreeSet<&str> = BTreeSet::new();
    let mut order = Vec::new();
    let candidates: Vec<&ContainerSpec> = spec
        .containers
        .iter()
        .filter(|c| !skip.contains(c.name.as_str()))
        .collect();
    while order.len() < candidates.len() {
        let before = order.len();
        for container in &candidates {
            if done.contains(container.name.as_str()) {
                continue;
            }
            let ready = container
                .depends_on
                .keys()
                .all(|d| skip.contains(d.as_str()) || done.contains(d.as_str()));
            if ready {
                done.insert(container.name.as_str());
                order.push(*container);
            }
        }
        if order.len() == before {
            // A cycle (validation refuses them): the rest in spec order rather than never.
            order.extend(
                candidates
                    .iter()
                    .filter(|c| !done.contains(c.name.as_str()))
                    .copied(),
            );
            break;
        }
    }
    order
}

/// The tags a container's history label lists, newest first (its image when it has no
/// history yet).
pub(crate) fn history_of(labels: &HashMap<String, String>) -> Vec<String> {
    match labels.get(labels::HISTORY) {
        Some(history) => history
            .split(',')
            .filter(|t| !t.is_empty())
            .map(str::to_owned)
            .collect(),
        None => labels
            .get(labels::IMAGE)
            .map(|image| vec![tag_of(image)])
            .unwrap_or_default(),
    }
}

/// Every image a container of the project runs or keeps in its history.
pub(super) async fn kept_images(
    engine: &Engine,
    project: &str,
) -> Result<BTreeSet<String>, SimError> {
    let mut kept = BTreeSet::new();
    for summary in engine.project_containers(project, None).await? {
        let labels = summary.labels.unwrap_or_default();
        if let Some(image) = labels.get(labels::IMAGE) {
            let repository =
                ImageRef::parse(image).map_or_else(|_| image.clone(), |i| i.full_name());
            for tag in history_of(&labels) {
                kept.insert(format!("{repository}:{tag}"));
            }
            kept.insert(image.clone());
        }
    }
    Ok(kept)
}

/// The tag of an image reference (`latest` when none).
pub(crate) fn tag_of(image: &str) -> String {
    ImageRef::parse(image)
        .ok()
        .and_then(|image| image.tag_or_latest().map(str::to_owned))
        .unwrap_or_else(|| "latest".to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(labels: &[(&str, &str)], expect: &[&str]) {
        let labels: HashMap<String, String> = labels
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect();
        assert_eq!(history_of(&labels), expect);
    }

    #[test]
    fn histories() {
        check(&[], &[]);
        check(
            &[(labels::IMAGE, "registry:5000/acme/shop-web:v3")],
            &["v3"],
        );
        check(
            &[
                (labels::IMAGE, "shop-web:v3"),
                (labels::HISTORY, "v3,v2,v1"),
            ],
            &["v3", "v2", "v1"],
        );
        check(&[(labels::HISTORY, "")], &[]);
        assert_eq!(tag_of("registry:5000/shop-web"), "latest");
        assert_eq!(tag_of("registry:5000/shop-web:abc123"), "abc123");
    }
}
