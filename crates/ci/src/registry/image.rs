//! An image's labels read from the registry: manifest (or index), then config blob.

use std::collections::BTreeMap;

use super::client::{Client, RegistryError, Repository};

/// A manifest's digest and the labels (and annotations) of the image it names.
pub type Labelled = (String, BTreeMap<String, String>);

impl Client {
    /// The labels of the image `reference` names (for an index, its linux/amd64 image or
    /// its first), with the manifest's own annotations over them, and the manifest's digest;
    /// `None` when there is no such tag.
    pub fn labels(
        &self,
        repository: &Repository,
        reference: &str,
    ) -> Result<Option<Labelled>, RegistryError> {
        let Some(manifest) = self.manifest(repository, reference)? else {
            return Ok(None);
        };
        let what = format!("{}:{reference}", repository.display());
        let invalid = |detail: String| RegistryError {
            doing: "reading",
            image: what.clone(),
            detail,
            help: "the tag does not name an image topo can read".to_owned(),
        };
        let parsed: ManifestDocument = serde_json::from_slice(&manifest.bytes)
            .map_err(|e| invalid(format!("the manifest is not valid: {e}")))?;
        let annotations = parsed.annotations.clone().unwrap_or_default();
        let image = match (parsed.config, parsed.manifests) {
            (Some(config), _) => (manifest.digest.clone(), config),
            (None, Some(entries)) => {
                let chosen = entries
                    .iter()
                    .find(|e| {
                        e.platform
                            .as_ref()
                            .is_some_and(|p| p.os == "linux" && p.architecture == "amd64")
                    })
                    .or(entries.first())
                    .ok_or_else(|| invalid("an empty image index".to_owned()))?;
                let inner = self.manifest(repository, &chosen.digest)?.ok_or_else(|| {
                    invalid(format!(
                        "the index names {}, which is missing",
                        chosen.digest
                    ))
                })?;
                let parsed: ManifestDocument = serde_json::from_slice(&inner.bytes)
                    .map_err(|e| invalid(format!("the manifest is not valid: {e}")))?;
                let config = parsed
                    .config
                    .ok_or_else(|| invalid("a manifest without a config".to_owned()))?;
                (manifest.digest.clone(), config)
            }
            (None, None) => return Err(invalid("a manifest without a config".to_owned())),
        };
        let (digest, config) = image;
        let blob = self.blob(repository, &config.digest)?;
        let config: ImageConfig = serde_json::from_slice(&blob)
            .map_err(|e| invalid(format!("the image config is not valid: {e}")))?;
        let mut labels = config.config.and_then(|c| c.labels).unwrap_or_default();
        labels.extend(annotations);
        Ok(Some((digest, labels)))
    }
}

#[derive(serde::Deserialize)]
struct ManifestDocument {
    annotations: Option<BTreeMap<String, String>>,
    config: Option<Descriptor>,
    manifests: Option<Vec<Descriptor>>,
}

#[derive(serde::Deserialize)]
struct Descriptor {
    digest: String,
    platform: Option<Platform>,
}

#[derive(serde::Deserialize)]
struct Platform {
    os: String,
    architecture: String,
}

#[derive(serde::Deserialize)]
struct ImageConfig {
    config: Option<ContainerConfig>,
}

#[derive(serde::Deserialize)]
struct ContainerConfig {
    #[serde(rename = "Labels")]
    labels: Option<BTreeMap<String, String>>,
}
