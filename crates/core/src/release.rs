//! The build report: what `topo build` made, the document `topo render --images` and
//! `topo deploy --images` read to run exactly those images.
//!
//! It lives here, beside the model, because both the renderer (no engine) and the driver
//! read it; topo-core only describes it, the driver writes it.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// The version of the build report.
pub const BUILD_REPORT_VERSION: u32 = 1;

/// The build report (`topo build --format json`).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
#[schemars(title = "topo build report")]
pub struct BuildReport {
    /// The document's format version (1).
    pub version: u32,
    /// The commit the images were built from (full SHA), when known.
    pub revision: Option<String>,
    /// One entry per image, in topology order.
    pub images: Vec<BuiltImage>,
}

/// One production image.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct BuiltImage {
    /// The image by its fingerprint tag: `<registry>/<project>-<role>:<fingerprint>`.
    pub image: String,
    /// The containers that run it (`vendure-server`, `vendure-worker`).
    pub containers: Vec<String>,
    /// The fingerprint of its sources (its tag).
    pub fingerprint: String,
    /// Every tag it was given (the fingerprint's, then the short commit's).
    pub tags: Vec<String>,
    /// The engine's image id (`sha256:…`); none when the registry had it already and
    /// nothing was built.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    /// The registry's digest (`sha256:…`), once pushed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub digest: Option<String>,
    /// What happened to it.
    pub outcome: BuildOutcome,
    /// Whether it was pushed by this run.
    #[serde(default)]
    pub pushed: bool,
    /// Seconds spent on it.
    pub seconds: f64,
    /// Bytes sent to the registry (0 when nothing was pushed).
    #[serde(default)]
    pub bytes_pushed: u64,
}

/// What happened to one image.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "kebab-case")]
pub enum BuildOutcome {
    /// Built now.
    Built,
    /// Found in the engine under its fingerprint tag: not built again.
    Reused,
    /// Found in the registry under its fingerprint tag: neither built nor pushed.
    AlreadyPushed,
}

impl BuildOutcome {
    /// `built`, `reused`, `already-pushed`.
    pub fn as_str(self) -> &'static str {
        match self {
            BuildOutcome::Built => "built",
            BuildOutcome::Reused => "reused",
            BuildOutcome::AlreadyPushed => "already-pushed",
        }
    }
}

impl BuildReport {
    /// Reads a build report; the error says where it is not one.
    pub fn parse(text: &str) -> Result<BuildReport, serde_json::Error> {
        serde_json::from_str(text)
    }

    /// The JSON document.
    pub fn to_json(&self) -> String {
        let mut text = serde_json::to_string_pretty(self).expect("a report serialises");
        text.push('\n');
        text
    }

    /// The reference each container runs: its image's digest reference when pushed
    /// (`<repository>@sha256:…`), else its fingerprint tag.
    pub fn image_of(&self, container: &str) -> Option<String> {
        let image = self
            .images
            .iter()
            .find(|i| i.containers.iter().any(|c| c == container))?;
        Some(match &image.digest {
            Some(digest) => match crate::value::ImageRef::parse(&image.image) {
                Ok(reference) => format!("{}@{digest}", reference.full_name()),
                Err(_) => image.image.clone(),
            },
            None => image.image.clone(),
        })
    }

    /// The JSON Schema of the document (`docs/build.schema.json`).
    pub fn schema_json() -> String {
        let schema = schemars::schema_for!(BuildReport);
        let mut text = serde_json::to_string_pretty(&schema).expect("a schema serialises");
        text.push('\n');
        text
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn report(digest: Option<&str>) -> BuildReport {
        BuildReport {
            version: BUILD_REPORT_VERSION,
            revision: Some("a".repeat(40)),
            images: vec![BuiltImage {
                image: "localhost:5000/shop-web:3f2a".to_owned(),
                containers: vec!["shop-web".to_owned(), "shop-worker".to_owned()],
                fingerprint: "3f2a".to_owned(),
                tags: vec!["3f2a".to_owned(), "aaaaaaa".to_owned()],
                id: Some("sha256:1".to_owned()),
                digest: digest.map(str::to_owned),
                outcome: BuildOutcome::Built,
                pushed: digest.is_some(),
                seconds: 1.5,
                bytes_pushed: 0,
            }],
        }
    }

    #[test]
    fn containers_run_the_digest_once_pushed_else_the_fingerprint_tag() {
        let built = report(None);
        assert_eq!(
            built.image_of("shop-worker").as_deref(),
            Some("localhost:5000/shop-web:3f2a")
        );
        assert_eq!(built.image_of("shop-db"), None);
        let pushed = report(Some("sha256:abc"));
        assert_eq!(
            pushed.image_of("shop-web").as_deref(),
            Some("localhost:5000/shop-web@sha256:abc")
        );
    }

    #[test]
    fn the_document_reads_back() {
        let built = report(Some("sha256:abc"));
        assert_eq!(BuildReport::parse(&built.to_json()).expect("reads"), built);
        let error = BuildReport::parse("{\"version\": 1}").expect_err("incomplete");
        assert!(error.to_string().contains("missing field"), "{error}");
    }
}
