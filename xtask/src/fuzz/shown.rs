//! What the lint sees and shows in the fuzzer: a finding drawn as `topo lint --format text`
//! draws it, and a disk whose every Dockerfile is the input's.

use std::path::Path;

use miette::{LabeledSpan, NamedSource};
use topo_core::lint::{Finding as LintFinding, Host, Place};

/// A lint finding as the CLI draws it (`topo lint --format text`).
#[derive(Debug)]
pub(super) struct Shown {
    message: String,
    source: NamedSource<String>,
    label: LabeledSpan,
}

impl Shown {
    pub(super) fn new(item: &LintFinding, place: &Place, text: &str) -> Shown {
        let offset = topo_core::text::LineIndex::clamp(text, place.offset);
        let length = text[offset..]
            .find(|c: char| c.is_whitespace() || c == ',' || c == ']')
            .unwrap_or(text.len() - offset)
            .max(1)
            .min(text.len().saturating_sub(offset));
        Shown {
            message: item.message.clone(),
            source: NamedSource::new(place.file.clone(), text.to_owned()),
            label: LabeledSpan::at(offset..offset + length, "here"),
        }
    }
}

impl std::fmt::Display for Shown {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for Shown {}

impl miette::Diagnostic for Shown {
    fn source_code(&self) -> Option<&dyn miette::SourceCode> {
        Some(&self.source)
    }
    fn labels(&self) -> Option<Box<dyn Iterator<Item = LabeledSpan> + '_>> {
        Some(Box::new(std::iter::once(self.label.clone())))
    }
}

/// The disk the lint sees: every Dockerfile is the (mutated) one of the input.
pub(super) struct FuzzHost<'a> {
    pub(super) dockerfile: &'a str,
}

impl Host for FuzzHost<'_> {
    fn read(&self, path: &Path) -> Option<String> {
        path.to_string_lossy()
            .contains("Dockerfile")
            .then(|| self.dockerfile.to_owned())
    }
    fn is_dir(&self, path: &Path) -> bool {
        path.ends_with("node_modules")
    }
}
