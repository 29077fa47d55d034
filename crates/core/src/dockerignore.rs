//! `.dockerignore` (or a Dockerfile's own ignore file), read as the engine reads it: the
//! rules of moby's `patternmatcher` and `ignorefile`, which the Docker CLI, BuildKit and
//! Compose share. In short: patterns are anchored at the context root, `*` and `?` never
//! cross `/`, `**` crosses any number of directories, `[…]` is a class negated by `^` (a
//! `!` in it is a member), `{`, `}` and the like are literal, `\` escapes, a pattern
//! matching a directory excludes everything under it, `!` re-includes, and the last
//! matching line wins.
//!
//! Each pattern becomes what moby makes of it, quirks included (a glob is no exact
//! copy: `f{1,2}` names a file with braces, not `f1`; `**foo` matches `barfoo`): an exact
//! path, a prefix (`dir/**`), a suffix (`**/name`), else a regular expression built the
//! way moby builds it and matched by the `regex` crate. `tests/sim/dockerignore.rs`
//! holds the reading to the engine's builds.
//!
//! topo-sim leaves what it excludes out of the contexts it sends; topo-ci leaves it out of
//! the scopes it diffs and fingerprints: one reading of the file for both.

use regex::Regex;

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
    rules: Vec<Rule>,
}

/// One line: its cleaned pattern, how it matches, and whether it re-includes (`!`).
#[derive(Clone, Debug)]
struct Rule {
    pattern: String,
    matcher: Matcher,
    exception: bool,
}

/// How moby matches a pattern: the three cheap forms it recognises, else a regex.
#[derive(Clone, Debug)]
enum Matcher {
    /// Only literal characters: the path itself.
    Exact,
    /// Literal characters then a trailing `**`: paths starting with them.
    Prefix,
    /// A leading `**` then literal characters: paths ending with them (`**/a` also
    /// matches `a`).
    Suffix,
    Regex(Regex),
}

impl DockerIgnore {
    /// Parses the file's text; a line the engine refuses (a bare `!`, a pattern that does
    /// not compile) is an error naming it.
    pub fn parse(text: &str) -> Result<DockerIgnore, String> {
        let text = text.strip_prefix('\u{feff}').unwrap_or(text);
        let mut rules = Vec::new();
        for (index, line) in text.lines().enumerate() {
            let Some(pattern) = read_line(line) else {
                continue;
            };
            let rule = Rule::new(&pattern)
                .map_err(|error| format!("line {}: `{}`: {error}", index + 1, line.trim()))?;
            rules.extend(rule);
        }
        Ok(DockerIgnore { rules })
    }

    /// Whether it has no line: it leaves nothing out.
    pub fn is_empty(&self) -> bool {
        self.rules.is_empty()
    }

    /// Each line's pattern, as cleaned (`/dist/` → `dist`), `!` lines included.
    pub fn patterns(&self) -> impl Iterator<Item = &str> {
        self.rules.iter().map(|rule| rule.pattern.as_str())
    }

    /// Whether any line re-includes (`!pattern`).
    pub fn has_exceptions(&self) -> bool {
        self.rules.iter().any(|rule| rule.exception)
    }

    /// Whether `path` (relative, `/`-separated, clean) is left out of the context: the last
    /// line matching it or one of its parent directories decides (moby's
    /// `MatchesOrParentMatches`, which BuildKit's walk agrees with).
    pub fn excludes(&self, path: &str) -> bool {
        let parents = || path.match_indices('/').map(|(slash, _)| &path[..slash]);
        let mut excluded = false;
        for rule in &self.rules {
            // A line that could not change the answer is not tried, as moby skips it.
            if rule.exception != excluded {
                continue;
            }
            if rule.matches(path) || parents().any(|parent| rule.matches(parent)) {
                excluded = !rule.exception;
            }
        }
        excluded
    }
}

/// One line as moby's `ignorefile.ReadAll` reads it: `None` for a comment (a line
/// *starting* with `#`: an indented `#` is a pattern) or a blank line; else the pattern,
/// trimmed, cleaned as a path (`a/../b` → `b`), its leading `/` dropped, `!` kept.
fn read_line(line: &str) -> Option<String> {
    if line.starts_with('#') {
        return None;
    }
    let line = line.trim();
    if line.is_empty() {
        return None;
    }
    let (exception, pattern) = match line.strip_prefix('!') {
        Some(rest) => (true, rest.trim()),
        None => (false, line),
    };
    let mut pattern = match pattern {
        "" => String::new(),
        pattern => clean(pattern),
    };
    if pattern.len() > 1 && pattern.starts_with('/') {
        pattern.remove(0);
    }
    Some(if exception {
        format!("!{pattern}")
    } else {
        pattern
    })
}

/// A path cleaned as Go's `filepath.Clean` cleans it (lexically: `.` elements and
/// repeated slashes dropped, `..` folded into its parent).
fn clean(path: &str) -> String {
    path_clean::clean(path).to_string_lossy().into_owned()
}

impl Rule {
    /// The rule of a line as `ReadAll` wrote it, as moby's `patternmatcher.New` and
    /// `Pattern.compile` make it; `None` for nothing left to match.
    fn new(line: &str) -> Result<Option<Rule>, String> {
        let line = line.trim();
        if line.is_empty() {
            return Ok(None);
        }
        let cleaned = clean(line);
        let (exception, pattern) = match cleaned.strip_prefix('!') {
            Some("") => return Err("`!` alone re-includes nothing (the engine refuses it)".into()),
            Some(rest) => (true, rest.to_owned()),
            None => (false, cleaned),
        };
        if trailing_escape(&pattern) {
            return Err("a pattern cannot end with an escaping `\\`".into());
        }
        let matcher = compile(&pattern).map_err(|error| error.to_string())?;
        Ok(Some(Rule {
            pattern,
            matcher,
            exception,
        }))
    }

    fn matches(&self, path: &str) -> bool {
        let pattern = self.pattern.as_str();
        match &self.matcher {
            Matcher::Exact => path == pattern,
            Matcher::Prefix => path.starts_with(&pattern[..pattern.len() - 2]),
            Matcher::Suffix => {
                let suffix = &pattern[2..];
                path.ends_with(suffix) || suffix.strip_prefix('/') == Some(path)
            }
            Matcher::Regex(regex) => regex.is_match(path),
        }
    }
}

/// Whether `pattern` ends with a `\` that escapes nothing (Go's `filepath.Match`, which
/// moby asks first, refuses it).
fn trailing_escape(pattern: &str) -> bool {
    pattern.chars().rev().take_while(|c| *c == '\\').count() % 2 == 1
}

/// moby's `Pattern.compile`, character for character: which of the cheap forms the
/// pattern is, else its regular expression.
fn compile(pattern: &str) -> Result<Matcher, regex::Error> {
    #[derive(PartialEq)]
    enum Form {
        Exact,
        Prefix,
        Suffix,
        Regex,
    }
    let mut form = Form::Exact;
    let mut regex = String::from("^");
    let mut chars = pattern.chars().peekable();
    let mut first = true;
    while let Some(c) = chars.next() {
        match c {
            '*' if chars.peek() == Some(&'*') => {
                chars.next();
                // `**/` is read as `**`.
                chars.next_if_eq(&'/');
                if chars.peek().is_none() {
                    if form == Form::Exact {
                        form = Form::Prefix;
                    } else {
                        regex.push_str(".*");
                        form = Form::Regex;
                    }
                } else {
                    regex.push_str("(.*/)?");
                    form = Form::Regex;
                }
                if first {
                    form = Form::Suffix;
                }
            }
            '*' => {
                regex.push_str("[^/]*");
                form = Form::Regex;
            }
            '?' => {
                regex.push_str("[^/]");
                form = Form::Regex;
            }
            '.' | '+' | '(' | ')' | '|' | '{' | '}' | '$' => {
                regex.push('\\');
                regex.push(c);
            }
            '\\' => match chars.next() {
                Some(escaped) => {
                    regex.push('\\');
                    regex.push(escaped);
                    form = Form::Regex;
                }
                None => regex.push('\\'),
            },
            '[' | ']' => {
                regex.push(c);
                form = Form::Regex;
            }
            c => regex.push(c),
        }
        first = false;
    }
    Ok(match form {
        Form::Exact => Matcher::Exact,
        Form::Prefix => Matcher::Prefix,
        Form::Suffix => Matcher::Suffix,
        Form::Regex => {
            regex.push('$');
            Matcher::Regex(Regex::new(&as_rust_classes(&regex))?)
        }
    })
}

/// moby's regular expression, written for Go's `regexp`, with what Go reads literally in a
/// class and the `regex` crate does not escaped: a `[` (a nested class in Rust, unless it
/// opens a POSIX class `[:alpha:]`), `&` and `~` (`&&` and `~~` are set operations). moby
/// copies a pattern's `[` and `]` as they are and writes `[^/]*` for a `*` wherever it is, so
/// `[[]` and `[*]` (read by Go as the class `[^/` repeated, then `]`) reach the engine so.
fn as_rust_classes(go: &str) -> String {
    let mut rust = String::with_capacity(go.len());
    let mut chars = go.chars().peekable();
    // Inside a class, and whether a `]` now would be its first member (a literal).
    let mut class: Option<bool> = None;
    while let Some(c) = chars.next() {
        match (c, class) {
            ('\\', _) => {
                rust.push(c);
                rust.extend(chars.next());
                class = class.map(|_| false);
            }
            ('[', None) => {
                rust.push(c);
                rust.extend(chars.next_if_eq(&'^'));
                class = Some(true);
            }
            (']', Some(false)) => {
                rust.push(c);
                class = None;
            }
            ('[', Some(_)) if chars.peek() == Some(&':') => {
                // A POSIX class, read alike by both: copied to its `:]`.
                rust.push(c);
                while let Some(c) = chars.next() {
                    rust.push(c);
                    if c == ':' && chars.peek() == Some(&']') {
                        rust.extend(chars.next());
                        break;
                    }
                }
                class = Some(false);
            }
            ('[' | '&' | '~', Some(_)) => {
                rust.push('\\');
                rust.push(c);
                class = Some(false);
            }
            (c, Some(_)) => {
                rust.push(c);
                class = Some(false);
            }
            (c, None) => rust.push(c),
        }
    }
    rust
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

    /// moby's quirks, each one `tests/sim/dockerignore.rs` saw the engine's builds keep.
    #[test]
    fn dockerignore_rules_as_moby_reads_them() {
        // Braces are literal; `!` in a class is a member, `^` negates.
        check("f{1,2}", "f1", false);
        check("f{1,2}", "f{1,2}", true);
        check("[!x]", "y", false);
        check("[!x]", "!", true);
        check("[^x]", "y", true);
        check("[^x]", "a/b.txt", true);
        // A leading `**` is a bare suffix, a trailing one a bare prefix.
        check("**foo", "barfoo", true);
        check("**/foo", "foo", true);
        check("**/foo", "barfoo", false);
        check("ab**", "abc/d.txt", true);
        check("a/**", "a", false);
        check("a/**", "a/b", true);
        // Only a line that starts with `#` is a comment; lines are cleaned as paths.
        check("  #c", "#c", true);
        check("a/../x.md", "x.md", true);
        check("x.md/", "x.md", true);
        check("\u{feff}x.md", "x.md", true);
        // `\` escapes; `$` is literal; `^` is too in a literal pattern, an anchor (that
        // never matches) in one with a wildcard.
        check("x\\.md", "x.md", true);
        check("\\[!x\\]", "[!x]", true);
        check("a^b", "a^b", true);
        check("a^b*", "a^b", false);
        check("x$y", "x$y", true);
        // In a class, `[`, `&&` and `~~` are members, as Go reads them; a `*` in a class
        // is moby's `[^/]*` there, which Go reads as the class `[^/` repeated, then `]`.
        check("[[]*", "[!x]", true);
        check("[y&&z]", "&", true);
        check("[y&&z]", "y", true);
        check("[y~~z]", "~", true);
        check("[*]", "]", true);
        check("[*]", "[^]", true);
        check("[*]", "x", false);
        check("[[:digit:]]x", "1x", true);
        check("[]x]", "]", true);
        check("[^]x]", "y", true);
        // An exception only undoes an earlier exclusion.
        check("!x.md\n*.md", "x.md", true);
        check("docs\n!docs\ndocs/keep.md", "docs/other.txt", false);
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
        let error = DockerIgnore::parse("ok\n ! ").expect_err("a bare `!`");
        assert!(error.starts_with("line 2: `!`"), "{error}");
        let error = DockerIgnore::parse("a\\").expect_err("a trailing escape");
        assert!(error.starts_with("line 1: `a\\`"), "{error}");
    }
}
