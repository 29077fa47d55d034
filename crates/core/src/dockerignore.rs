//! `.dockerignore` (or a Dockerfile's own ignore file), as the engine reads it (moby's
//! pattern matcher): patterns are anchored at the context root, `*` and `?` never cross
//! `/`, `**` crosses any number of directories, a pattern matching a directory excludes
//! everything under it, `!` re-includes, and the last matching line wins. The matching
//! itself is globset's.
//!
//! topo-sim leaves what it excludes out of the contexts it sends; topo-ci leaves it out of
//! the scopes it diffs and fingerprints: one reading of the file for both.

use globset::{Glob, GlobBuilder, GlobMatcher};

/// A path as the engine cleans it: `./a//b/` → `a/b`.
pub fn normalise(path: &str) -> String {
    path.split('/')
        .filter(|part| !part.is_empty() && *part != ".")
        .collect::<Vec<_>>()
        .join("/")
}

/// The ignore files of a build from the Dockerfile `dockerfile` (from the context root), in
/// the order the engine looks for them: the Dockerfile's own, beside it
/// (`app.Dockerfile.dockerignore`, which BuildKit prefers), then the context's
/// `.dockerignore`. The first that exists is the one read.
pub fn ignore_files(dockerfile: &str) -> [String; 2] {
    [
        format!("{}.dockerignore", normalise(dockerfile)),
        ".dockerignore".to_owned(),
    ]
}

/// The parsed lines of a `.dockerignore`.
#[derive(Clone, Debug, Default)]
pub struct DockerIgnore {
    rules: Vec<(GlobMatcher, bool)>,
}

impl DockerIgnore {
    /// Parses the file's text; an invalid pattern is an error naming its line.
    pub fn parse(text: &str) -> Result<DockerIgnore, String> {
        let mut rules = Vec::new();
        for (index, line) in text.lines().enumerate() {
            let line = line.trim();
            if line.is_empty() || line.starts_with('#') {
                continue;
            }
            let (pattern, include) = match line.strip_prefix('!') {
                Some(rest) => (rest.trim(), true),
                None => (line, false),
            };
            let pattern = normalise(pattern);
            if pattern.is_empty() {
                continue;
            }
            let glob: Glob = GlobBuilder::new(&pattern)
                .literal_separator(true)
                .build()
                .map_err(|error| format!("line {}: `{line}`: {error}", index + 1))?;
            rules.push((glob.compile_matcher(), include));
        }
        Ok(DockerIgnore { rules })
    }

    /// Whether it has no line: it leaves nothing out.
    pub fn is_empty(&self) -> bool {
        self.rules.is_empty()
    }

    /// Each line's pattern, as cleaned (`/dist/` → `dist`), `!` lines included.
    pub fn patterns(&self) -> impl Iterator<Item = &str> {
        self.rules.iter().map(|(matcher, _)| matcher.glob().glob())
    }

    /// Whether any line re-includes (`!pattern`).
    pub fn has_exceptions(&self) -> bool {
        self.rules.iter().any(|(_, include)| *include)
    }

    /// Whether `path` (relative, `/`-separated) is left out of the context: the last line
    /// matching it or one of its parent directories decides.
    pub fn excludes(&self, path: &str) -> bool {
        let mut excluded = false;
        for (matcher, include) in &self.rules {
            let matches = std::iter::successors(Some(path), |p| p.rsplit_once('/').map(|(a, _)| a))
                .any(|candidate| matcher.is_match(candidate));
            if matches {
                excluded = !include;
            }
        }
        excluded
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(ignore: &str, path: &str, expect_excluded: bool) {
        let rules = DockerIgnore::parse(ignore).expect("valid patterns");
        assert_eq!(
            rules.excludes(path),
            expect_excluded,
            "{ignore:?} on {path}"
        );
    }

    #[test]
    fn dockerignore_rules() {
        check("node_modules", "node_modules/a/b.js", true);
        check("node_modules", "app/node_modules/x", false);
        check("**/node_modules", "app/node_modules/x", true);
        check("*.md", "README.md", true);
        check("*.md", "docs/README.md", false);
        check("**/*.md", "docs/README.md", true);
        check("/dist/", "dist/index.js", true);
        check("./dist", "dist", true);
        check("*.md\n!README.md", "README.md", false);
        check("*.md\n!README.md", "CHANGES.md", true);
        check("!README.md\n*.md", "README.md", true);
        check("# comment\n\n  build  ", "build/x", true);
        check("a?c", "abc", true);
        check("a?c", "a/c", false);
    }

    #[test]
    fn patterns_are_cleaned_as_the_engine_cleans_them() {
        let rules = DockerIgnore::parse("dist/*.map\n**/*.md\n!/src/keep.md\n./node_modules/")
            .expect("valid patterns");
        let patterns: Vec<&str> = rules.patterns().collect();
        assert_eq!(
            patterns,
            ["dist/*.map", "**/*.md", "src/keep.md", "node_modules"]
        );
        assert!(DockerIgnore::parse("# nothing\n")
            .expect("valid")
            .is_empty());
    }

    #[test]
    fn invalid_pattern_names_its_line() {
        let error = DockerIgnore::parse("ok\n[z-a").expect_err("an invalid range");
        assert!(error.starts_with("line 2:"), "{error}");
    }
}
