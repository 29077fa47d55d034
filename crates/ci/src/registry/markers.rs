//! Markers kept as tags in the registry: one tag per environment in each image's repository.

use std::collections::BTreeMap;

use topo_core::value::ImageRef;
use topo_core::ValidTopology as Topology;

use super::client::{Client, Manifest, Repository};
use crate::markers::{Marker, MarkerError, Markers};
use topo_core::credentials::Credentials;

/// The label holding the commit an image was built from.
pub const REVISION_LABEL: &str = "org.opencontainers.image.revision";

/// The label holding the fingerprint an image was built for.
pub const FINGERPRINT_LABEL: &str = "topo.fingerprint";

/// The registry the topology's production images are pushed to (`None`: Docker Hub).
pub fn registry_of(topology: &Topology) -> Option<String> {
    let repository = topo_core::naming::production_repository(
        topology.production.registry.as_deref(),
        &topology.project,
        "any",
    );
    ImageRef::parse(&repository)
        .ok()
        .and_then(|image| image.registry)
}

/// Where one service's marker lives.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Target {
    /// The image repository (`127.0.0.1:5000/shop-web`).
    pub repository: String,
    /// The role, when the service runs another service's image: its tag is then
    /// `<env>.<role>` in that image's repository.
    pub runs_image_of_another: Option<String>,
}

impl Target {
    /// The tag that marks this service in `env`.
    pub fn tag(&self, env: &str) -> String {
        topo_core::naming::marker_tag(env, self.runs_image_of_another.as_deref())
    }
}

/// Markers read from and written to registry tags.
pub struct RegistryStore {
    client: Client,
    targets: BTreeMap<String, Target>,
}

impl RegistryStore {
    /// The store of `topology`'s services (by container name), reached with `credentials`.
    pub fn for_topology(topology: &Topology, credentials: Credentials) -> RegistryStore {
        let targets = topology
            .services
            .iter()
            .map(|service| {
                let owner = topology.image_owner(service);
                let target = Target {
                    repository: topo_core::naming::production_repository(
                        topology.production.registry.as_deref(),
                        &topology.project,
                        &owner.role,
                    ),
                    runs_image_of_another: (owner.role != service.role)
                        .then(|| service.role.to_string()),
                };
                (
                    topo_core::naming::container_name(&topology.project, &service.role),
                    target,
                )
            })
            .collect();
        RegistryStore {
            client: Client::new(credentials),
            targets,
        }
    }

    /// Where each service's marker lives, by container name.
    pub fn targets(&self) -> &BTreeMap<String, Target> {
        &self.targets
    }

    /// The markers of `env`, and a note for each service without one (why, and what it
    /// means). An unreachable registry or refused credentials are errors: "no marker"
    /// would deploy every service.
    pub fn load(&self, env: &str) -> Result<(Markers, Vec<String>), MarkerError> {
        let mut markers = Markers::default();
        let mut notes = Vec::new();
        for (container, target) in &self.targets {
            let tag = target.tag(env);
            let repository = repository_of(&target.repository)?;
            let Some((digest, labels)) = self.client.labels(&repository, &tag)? else {
                notes.push(format!(
                    "{container}: the registry has no tag `{}:{tag}`: never deployed to {env} with registry markers (or the tag was deleted), so it deploys.",
                    target.repository
                ));
                continue;
            };
            let commit = labels.get(REVISION_LABEL).cloned();
            let fingerprint = labels.get(FINGERPRINT_LABEL).cloned();
            if commit.is_none() && fingerprint.is_none() {
                notes.push(format!(
                    "{container}: `{}:{tag}` ({digest}) has neither the {REVISION_LABEL} nor the {FINGERPRINT_LABEL} label (not built by `topo build`), so it deploys.",
                    target.repository
                ));
                continue;
            }
            let image = match &fingerprint {
                Some(fingerprint) => format!("{}:{fingerprint}", target.repository),
                None => format!("{}@{digest}", target.repository),
            };
            markers.set(
                env,
                container,
                Marker {
                    commit: commit.unwrap_or_default(),
                    fingerprint,
                    image: Some(image),
                    // An image's labels carry no digests: the next plan computes them.
                    digests: None,
                    deployed_at: String::new(),
                },
            );
        }
        Ok((markers, notes))
    }

    /// Points each deployed service's tag at the manifest its marker's image names
    /// (`repo@sha256:…` or `repo:tag`), without moving a blob.
    pub fn record(&self, env: &str, deploys: &[(String, Marker)]) -> Result<(), MarkerError> {
        for (container, marker) in deploys {
            let target = self.targets.get(container).ok_or_else(|| {
                MarkerError::InvalidService(format!("{container} is not a service of the topology"))
            })?;
            let image = marker.image.as_deref().ok_or_else(|| {
                MarkerError::InvalidService(format!(
                    "{container}: no image to mark (registry markers point a tag at the deployed image)"
                ))
            })?;
            let source = ImageRef::parse_literal(image).map_err(|problem| {
                MarkerError::InvalidService(format!("{container}: the image `{image}` {problem}"))
            })?;
            let reference = source
                .digest
                .clone()
                .or_else(|| source.fixed_tag().map(str::to_owned))
                .unwrap_or_else(|| "latest".to_owned());
            let from = Repository::of(&source);
            let to = repository_of(&target.repository)?;
            if from != to {
                return Err(MarkerError::InvalidService(format!(
                    "{container}: the image `{image}` is not in {}, where its marker lives",
                    target.repository
                )));
            }
            let manifest = self.client.manifest(&from, &reference)?.ok_or_else(|| {
                MarkerError::InvalidService(format!(
                    "{container}: the registry has no `{image}`; push it before marking it deployed"
                ))
            })?;
            let manifest = match target.runs_image_of_another {
                // The image's labels are its owner's: this service's own commit and
                // fingerprint go into a copy of the manifest (the same config and layers,
                // so still the same image), as annotations.
                Some(_) => annotated(&manifest, marker).map_err(|problem| {
                    MarkerError::InvalidService(format!("{container}: `{image}`: {problem}"))
                })?,
                None => manifest,
            };
            self.client.put_manifest(&to, &target.tag(env), &manifest)?;
        }
        Ok(())
    }
}

/// `manifest` with the marker's commit and fingerprint as annotations.
fn annotated(manifest: &Manifest, marker: &Marker) -> Result<Manifest, String> {
    let mut document: serde_json::Value = serde_json::from_slice(&manifest.bytes)
        .map_err(|e| format!("the manifest is not valid JSON: {e}"))?;
    if document.get("config").is_none() {
        return Err(
            "an image index cannot carry a marker; deploy a single-platform image".to_owned(),
        );
    }
    let mut annotations = serde_json::Map::new();
    annotations.insert(REVISION_LABEL.to_owned(), marker.commit.clone().into());
    if let Some(fingerprint) = &marker.fingerprint {
        annotations.insert(FINGERPRINT_LABEL.to_owned(), fingerprint.clone().into());
    }
    document["annotations"] = serde_json::Value::Object(annotations);
    let bytes = serde_json::to_vec(&document).expect("a JSON value serialises");
    Ok(Manifest::new(manifest.media_type.clone(), bytes))
}

fn repository_of(repository: &str) -> Result<Repository, MarkerError> {
    let image = ImageRef::parse_literal(repository).map_err(|problem| {
        MarkerError::InvalidService(format!("the repository `{repository}` {problem}"))
    })?;
    Ok(Repository::of(&image))
}
