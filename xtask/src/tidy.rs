//! `cargo xtask tidy`: the project's conventions, checked (rust-analyzer's `tidy`).
//!
//! - no source file passes [`MAX_FILE_LINES`] lines, no function [`MAX_FN_LINES`];
//! - no `unwrap()` outside tests (`expect("why")` says what was known);
//! - a derived name (`format!("{project}-…")`) is made in `crates/core/src/naming.rs` only
//!   (in the crates: xtask and the tests name no engine object the product creates);
//! - topo-core depends on nothing that talks to Docker, git or an async runtime;
//! - the command line lives in binary code: in topo-ci and topo-sim only their `cli/`
//!   modules (the `cli` feature) and `main.rs` name clap, and only topo-sim's `cli/` names
//!   topo-ci (the driver itself needs neither).
//!
//! `#[test] fn tidy()` runs the checks, so `cargo test --workspace` fails on a violation;
//! `cargo xtask tidy --report` prints the figures (files over 500 lines, functions over 80).

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use anyhow::Context;
use syn::visit::Visit;

/// The longest a source file may be.
pub const MAX_FILE_LINES: usize = 600;
/// The longest a function may be, signature to closing brace.
pub const MAX_FN_LINES: usize = 100;

/// Derived names formatted outside `naming.rs` on purpose: (file, why).
const NAME_ALLOWED: &[(&str, &str)] = &[
    (
        "crates/core/src/lint/across.rs",
        "compares names written in hand-written Compose files; derives none",
    ),
    (
        "crates/core/src/import/plan.rs",
        "suggests a role for a Compose service; a role, not a derived name",
    ),
];

/// Packages topo-core must never depend on, directly or not.
const NOT_IN_CORE: &[&str] = &[
    "bollard",
    "tokio",
    "gix",
    "git2",
    "hyper",
    "futures-util",
    "async-trait",
    "reqwest",
];

/// What the source tree looks like against the conventions.
#[derive(Debug, Default)]
pub struct Findings {
    /// (lines, file) of every file.
    pub files: Vec<(usize, String)>,
    /// (lines, file:line, name) of every function.
    pub functions: Vec<(usize, String, String)>,
    /// `file:line` of every `unwrap()` outside tests.
    pub unwraps: Vec<String>,
    /// `file:line` of every derived name formatted outside `naming.rs`.
    pub names: Vec<String>,
    /// Forbidden packages topo-core reaches.
    pub core_dependencies: Vec<String>,
    /// `file: what` where library code names the command line or the other library.
    pub layering: Vec<String>,
}

impl Findings {
    /// Every violation, one line each.
    pub fn violations(&self) -> Vec<String> {
        let mut out = Vec::new();
        for (lines, file) in self.files.iter().filter(|f| f.0 > MAX_FILE_LINES) {
            out.push(format!(
                "{file}: {lines} lines (at most {MAX_FILE_LINES}): split it"
            ));
        }
        for (lines, at, name) in self.functions.iter().filter(|f| f.0 > MAX_FN_LINES) {
            out.push(format!(
                "{at}: fn {name} is {lines} lines (at most {MAX_FN_LINES}): split it"
            ));
        }
        for at in &self.unwraps {
            out.push(format!("{at}: unwrap() outside tests: use expect(\"why\")"));
        }
        for at in &self.names {
            out.push(format!(
                "{at}: a derived name formatted outside crates/core/src/naming.rs: add it there"
            ));
        }
        for at in &self.layering {
            out.push(format!("{at}: keep it in the `cli` module (binary code)"));
        }
        for package in &self.core_dependencies {
            out.push(format!(
                "topo-core depends on {package}: it knows nothing about Docker, git or async"
            ));
        }
        out
    }

    /// The figures the issue tracker asks for.
    pub fn report(&self) -> String {
        let over = |limit| self.files.iter().filter(|f| f.0 > limit).count();
        let long = |limit| self.functions.iter().filter(|f| f.0 > limit).count();
        format!(
            "{} files, {} over 500 lines, {} over {MAX_FILE_LINES}\n{} functions, {} over 80 lines, {} over {MAX_FN_LINES}\n{} unwrap() outside tests, {} derived names outside naming.rs\n",
            self.files.len(),
            over(500),
            over(MAX_FILE_LINES),
            self.functions.len(),
            long(80),
            long(MAX_FN_LINES),
            self.unwraps.len(),
            self.names.len()
        )
    }
}

/// Checks the workspace at `root`.
pub fn check(root: &Path) -> anyhow::Result<Findings> {
    let mut findings = Findings::default();
    let files = sources(root)?;
    let test_modules = test_module_paths(&files)?;
    for path in &files {
        let text = std::fs::read_to_string(path)
            .with_context(|| format!("cannot read {}", path.display()))?;
        let relative = path
            .strip_prefix(root)
            .expect("sources are under the root")
            .to_string_lossy()
            .replace('\\', "/");
        findings
            .files
            .push((text.lines().count(), relative.clone()));
        findings.layering.extend(layering(&relative, &text));
        let syntax = syn::parse_file(&text).with_context(|| format!("cannot parse {relative}"))?;
        let mut visitor = Visitor {
            file: &relative,
            in_test: is_test_file(&relative, path, &test_modules),
            // Only the crates name engine objects; xtask names its own files and folders.
            names_allowed: !relative.starts_with("crates/")
                || relative == "crates/core/src/naming.rs"
                || NAME_ALLOWED.iter().any(|(file, _)| *file == relative),
            findings: &mut findings,
        };
        visitor.visit_file(&syntax);
    }
    findings.core_dependencies = core_dependencies(root)?;
    Ok(findings)
}

/// Every `.rs` file of the crates, the tests and xtask (fixtures aside).
fn sources(root: &Path) -> anyhow::Result<Vec<PathBuf>> {
    fn walk(dir: &Path, out: &mut Vec<PathBuf>) -> anyhow::Result<()> {
        for entry in std::fs::read_dir(dir).with_context(|| format!("{}", dir.display()))? {
            let path = entry?.path();
            let name = path.file_name().map(|n| n.to_string_lossy().into_owned());
            let skipped = matches!(
                name.as_deref(),
                Some("target" | "fixtures" | "corpus" | "snapshots" | "proptest-regressions")
            );
            if path.is_dir() && !skipped {
                walk(&path, out)?;
            } else if path.extension().is_some_and(|e| e == "rs") {
                out.push(path);
            }
        }
        Ok(())
    }
    let mut out = Vec::new();
    for dir in ["crates", "tests", "xtask"] {
        walk(&root.join(dir), &mut out)?;
    }
    out.sort();
    Ok(out)
}

/// The files and directories of modules declared `#[cfg(test)] mod name;`.
fn test_module_paths(files: &[PathBuf]) -> anyhow::Result<Vec<PathBuf>> {
    let mut out = Vec::new();
    for path in files {
        let text = std::fs::read_to_string(path)?;
        let Ok(syntax) = syn::parse_file(&text) else {
            continue;
        };
        let stem = path.file_stem().map(|s| s.to_string_lossy().into_owned());
        let parent = path.parent().expect("a file has a directory");
        let dir = match stem.as_deref() {
            Some("mod" | "lib" | "main") => parent.to_path_buf(),
            Some(stem) => parent.join(stem),
            None => continue,
        };
        for item in &syntax.items {
            if let syn::Item::Mod(module) = item {
                if module.content.is_none() && is_test_attr(&module.attrs) {
                    let name = module.ident.to_string();
                    out.push(dir.join(format!("{name}.rs")));
                    out.push(dir.join(name));
                }
            }
        }
    }
    Ok(out)
}

fn is_test_file(relative: &str, path: &Path, test_modules: &[PathBuf]) -> bool {
    relative.starts_with("tests/")
        || relative.contains("/tests/")
        || test_modules.iter().any(|m| path.starts_with(m))
}

fn is_test_attr(attrs: &[syn::Attribute]) -> bool {
    attrs.iter().any(|attr| {
        attr.path().is_ident("test")
            || (attr.path().is_ident("cfg")
                && attr
                    .parse_args::<syn::Ident>()
                    .is_ok_and(|ident| ident == "test"))
    })
}

struct Visitor<'a> {
    file: &'a str,
    in_test: bool,
    names_allowed: bool,
    findings: &'a mut Findings,
}

impl Visitor<'_> {
    fn function(&mut self, name: &syn::Ident, start: proc_macro2::Span, end: proc_macro2::Span) {
        let lines = end.end().line + 1 - start.start().line;
        self.findings.functions.push((
            lines,
            format!("{}:{}", self.file, start.start().line),
            name.to_string(),
        ));
    }

    fn in_tests(&mut self, attrs: &[syn::Attribute], visit: impl FnOnce(&mut Self)) {
        let was = self.in_test;
        self.in_test |= is_test_attr(attrs);
        visit(self);
        self.in_test = was;
    }
}

impl<'ast> Visit<'ast> for Visitor<'_> {
    fn visit_item_mod(&mut self, module: &'ast syn::ItemMod) {
        self.in_tests(&module.attrs, |v| syn::visit::visit_item_mod(v, module));
    }

    fn visit_item_fn(&mut self, item: &'ast syn::ItemFn) {
        self.function(
            &item.sig.ident,
            item.sig.fn_token.span,
            item.block.brace_token.span.close(),
        );
        self.in_tests(&item.attrs, |v| syn::visit::visit_item_fn(v, item));
    }

    fn visit_impl_item_fn(&mut self, item: &'ast syn::ImplItemFn) {
        self.function(
            &item.sig.ident,
            item.sig.fn_token.span,
            item.block.brace_token.span.close(),
        );
        self.in_tests(&item.attrs, |v| syn::visit::visit_impl_item_fn(v, item));
    }

    fn visit_trait_item_fn(&mut self, item: &'ast syn::TraitItemFn) {
        if let Some(block) = &item.default {
            self.function(
                &item.sig.ident,
                item.sig.fn_token.span,
                block.brace_token.span.close(),
            );
        }
        syn::visit::visit_trait_item_fn(self, item);
    }

    fn visit_expr_method_call(&mut self, call: &'ast syn::ExprMethodCall) {
        if !self.in_test && call.method == "unwrap" && call.args.is_empty() {
            let line = call.method.span().start().line;
            self.findings.unwraps.push(format!("{}:{line}", self.file));
        }
        syn::visit::visit_expr_method_call(self, call);
    }

    fn visit_macro(&mut self, mac: &'ast syn::Macro) {
        let is_format = mac.path.is_ident("format") || mac.path.is_ident("format_args");
        if is_format && !self.in_test && !self.names_allowed {
            let literal = mac
                .tokens
                .clone()
                .into_iter()
                .next()
                .and_then(|token| syn::parse2::<syn::LitStr>(token.into()).ok());
            if let Some(literal) = literal {
                if is_derived_name(&literal.value()) {
                    let line = literal.span().start().line;
                    self.findings.names.push(format!("{}:{line}", self.file));
                }
            }
        }
        syn::visit::visit_macro(self, mac);
    }
}

/// `{project}-network`, `{}-next`, `{container}-file-{}`: a name that starts with a value
/// and goes on with a dash, the shape of every derived name.
fn is_derived_name(format: &str) -> bool {
    format.starts_with('{')
        && format
            .find('}')
            .is_some_and(|close| format[close + 1..].starts_with('-'))
        && !format.contains(' ')
}

/// What library code of topo-ci or topo-sim names that belongs to the command line.
fn layering(relative: &str, text: &str) -> Vec<String> {
    let library = ["crates/ci/src/", "crates/sim/src/"]
        .iter()
        .find_map(|prefix| relative.strip_prefix(prefix));
    let Some(inside) = library else {
        return Vec::new();
    };
    if inside == "main.rs" || inside.starts_with("cli/") {
        return Vec::new();
    }
    let mut out = Vec::new();
    if text.contains("clap::") || text.contains("use clap") {
        out.push(format!("{relative}: names clap"));
    }
    if relative.starts_with("crates/sim/") && text.contains("topo_ci") {
        out.push(format!("{relative}: names topo_ci"));
    }
    out
}

/// The forbidden packages in topo-core's dependency closure, from `Cargo.lock`.
fn core_dependencies(root: &Path) -> anyhow::Result<Vec<String>> {
    let lock: toml::Table = std::fs::read_to_string(root.join("Cargo.lock"))?.parse()?;
    let mut graph: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for package in lock
        .get("package")
        .and_then(toml::Value::as_array)
        .context("Cargo.lock has packages")?
    {
        let name = package
            .get("name")
            .and_then(toml::Value::as_str)
            .context("a package has a name")?;
        let dependencies: Vec<String> = package
            .get("dependencies")
            .and_then(toml::Value::as_array)
            .map(|deps| {
                deps.iter()
                    .filter_map(toml::Value::as_str)
                    // `name version` when two versions are locked.
                    .map(|d| d.split(' ').next().unwrap_or(d).to_owned())
                    .collect()
            })
            .unwrap_or_default();
        graph
            .entry(name.to_owned())
            .or_default()
            .extend(dependencies);
    }
    let mut seen = BTreeSet::new();
    let mut stack = vec!["topo-core".to_owned()];
    while let Some(name) = stack.pop() {
        if seen.insert(name.clone()) {
            stack.extend(graph.get(&name).into_iter().flatten().cloned());
        }
    }
    Ok(NOT_IN_CORE
        .iter()
        .filter(|forbidden| seen.contains(**forbidden))
        .map(|forbidden| (*forbidden).to_owned())
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tidy() {
        let findings = check(&crate::workspace_root()).expect("the sources read and parse");
        let violations = findings.violations();
        assert!(violations.is_empty(), "tidy:\n{}", violations.join("\n"));
    }

    #[test]
    fn derived_name_shapes() {
        for (format, derived) in [
            ("{project}-network", true),
            ("{}-next", true),
            ("{container}-file-{}", true),
            ("{name}: {value}", false),
            ("{a} - {b}", false),
            ("x-{y}", false),
        ] {
            assert_eq!(is_derived_name(format), derived, "{format}");
        }
    }
}
