//! The seeds: the project's own examples and fixtures (topologies, Compose sets,
//! Dockerfiles), the Compose files every valid topology renders, and marker and plan
//! documents written by topo-ci itself.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use topo_core::{Mode, RenderOptions, SourceFile, ValidateOptions};

/// One Compose file of a set: its name, text and mode.
#[derive(Clone, Debug)]
pub struct ComposeSeed {
    pub name: String,
    pub text: String,
    pub mode: Mode,
}

/// Everything the fuzzer starts from, by kind.
#[derive(Debug, Default)]
pub struct Corpus {
    pub topologies: Vec<String>,
    /// Compose files that belong together (one directory, or one render), one per mode.
    pub compose_sets: Vec<Vec<ComposeSeed>>,
    pub dockerfiles: Vec<String>,
    /// Marker and plan documents: (file name, text).
    pub documents: Vec<(String, String)>,
}

impl Corpus {
    /// The corpus of the workspace at `root`.
    pub fn gather(root: &Path) -> anyhow::Result<Corpus> {
        let mut files = Vec::new();
        for dir in ["examples", "tests/fixtures", "tests/corpus"] {
            walk(&root.join(dir), &mut files);
        }
        files.sort();
        let mut corpus = Corpus {
            topologies: vec![topo_core::example::VENDURE.to_owned()],
            ..Corpus::default()
        };
        let mut sets: BTreeMap<PathBuf, Vec<ComposeSeed>> = BTreeMap::new();
        for path in files {
            let Ok(text) = std::fs::read_to_string(&path) else {
                continue;
            };
            let name = path
                .file_name()
                .map_or_else(String::new, |n| n.to_string_lossy().into_owned());
            if name.ends_with(".toml") {
                corpus.topologies.push(text);
            } else if name.ends_with(".yml") || name.ends_with(".yaml") {
                let mode = topo_core::compose::mode_of_file_name(&name);
                let set = sets
                    .entry(path.parent().map(Path::to_path_buf).unwrap_or_default())
                    .or_default();
                // One file per mode: a second of the same mode starts a set of its own.
                if set.iter().any(|s| s.mode == mode) {
                    corpus
                        .compose_sets
                        .push(vec![ComposeSeed { name, text, mode }]);
                } else {
                    set.push(ComposeSeed { name, text, mode });
                }
            } else if name == "Dockerfile" {
                corpus.dockerfiles.push(text);
            }
        }
        corpus.compose_sets.extend(sets.into_values());
        let rendered: Vec<Vec<ComposeSeed>> = corpus
            .topologies
            .iter()
            .filter_map(|text| rendered_set(text))
            .collect();
        corpus.compose_sets.extend(rendered);
        corpus.documents = documents()?;
        Ok(corpus)
    }
}

fn walk(dir: &Path, out: &mut Vec<PathBuf>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        let path = entry.path();
        if path.is_dir() {
            walk(&path, out);
        } else {
            out.push(path);
        }
    }
}

/// The three files a valid topology renders.
pub fn rendered_set(text: &str) -> Option<Vec<ComposeSeed>> {
    let source = SourceFile::new("topology.toml", text);
    let validated = topo_core::load(&source, &ValidateOptions::default()).ok()?;
    Some(
        topo_core::render_all(&validated.topology, &RenderOptions::default())
            .into_iter()
            .map(|file| ComposeSeed {
                name: file.file_name,
                text: file.contents,
                mode: file.mode,
            })
            .collect(),
    )
}

/// A marker document saved by topo-ci's file store, and a plan document.
fn documents() -> anyhow::Result<Vec<(String, String)>> {
    use topo_ci::markers::{FileStore, Marker, Markers};
    let dir = std::env::temp_dir().join(format!("topo-fuzz-seed-{}", std::process::id()));
    let store = FileStore::new(&dir);
    let mut markers = Markers::default();
    for (env, service, commit) in [
        (
            "production",
            "vendure-server",
            "0123456789abcdef0123456789abcdef01234567",
        ),
        (
            "production",
            "vendure-worker",
            "89abcdef0123456789abcdef0123456789abcdef",
        ),
        (
            "staging",
            "vendure-storefront",
            "fedcba9876543210fedcba9876543210fedcba98",
        ),
    ] {
        let mut marker = Marker::now(commit);
        marker.deployed_at = "2025-01-02T03:04:05Z".to_owned();
        marker.fingerprint = Some("f00d".to_owned());
        marker.image = Some(format!("ghcr.io/acme/{service}:f00d"));
        markers.set(env, service, marker);
    }
    store.save(&markers)?;
    let text = std::fs::read_to_string(store.path())?;
    std::fs::remove_dir_all(&dir)?;
    let plan = serde_json::json!({
        "version": 1,
        "head": "0123456789abcdef0123456789abcdef01234567",
        "env": "production",
        "event": { "kind": "push", "ref_name": "main" },
        "deploys": true,
        "topology": "topology.toml",
        "services": [{
            "name": "server", "container": "vendure-server", "action": "deploy",
            "reason": "changed", "detail": "3 files changed", "base": null,
            "fingerprint": "f00d", "image": "ghcr.io/acme/vendure-server:f00d",
            "changed_files": ["apps/server/src/main.ts"], "changed_count": 1,
            "excluded_count": 0
        }],
        "notes": []
    });
    Ok(vec![
        (topo_ci::markers::FILE_NAME.to_owned(), text),
        ("plan.json".to_owned(), serde_json::to_string_pretty(&plan)?),
    ])
}
