//! Go modules: each directory with a `go.mod`, named by its `module` path, depending on the
//! modules it `require`s.
//!
//! Where a module gets another's files from is Go's answer, in one of two modes:
//! - **Workspace mode**, with a `go.work` at or above the build context: its `use`
//!   directories are the workspace's modules, and a requirement of one of them (by its module
//!   path) is that module's directory.
//! - **Module mode**, without one: the nearest `go.mod` is the main module, and a
//!   requirement is another module's directory only through a `replace` naming that
//!   directory (`example.com/shop/common => ../common`); without one, Go downloads it,
//!   whatever the repository holds. Every module of the repository is read (one walk of the
//!   tree) only for a module named in `changes.package` out of a context holding others.
//!
//! A replacement by a directory (in the requiring module's `go.mod`, or in `go.work`, which
//! wins) is recorded as the range `path:DIR`, DIR from the repository root, as for Cargo,
//! and the module there is read too. Go applies only the main module's replacements; each
//! module's own are followed here, which differs only where two modules of one repository
//! replace a third differently. `go.sum` is a file of its module's directory: it is in the
//! scope with the module, not compared by closure.

use std::collections::{BTreeMap, BTreeSet};

use gix::objs::tree::EntryKind;
use gix::ObjectId;
use gomod_parser::{GoMod, Replacement};

use super::cargo::PATH;
use super::manifest::Manifest;
use super::{normalise, read_packages, Ecosystem, Package, Workspace};
use crate::lockfile::one_line;
use crate::repo::{join, GitError, Repo};

/// The file declaring a Go workspace.
pub(super) const GO_WORK: &str = "go.work";
/// The file declaring a Go module.
pub(super) const GO_MOD: &str = "go.mod";

/// The Go workspace `go.work` in `root` declares, if there is one.
pub(super) fn work_at(
    repo: &Repo,
    tree: ObjectId,
    root: &str,
) -> Result<Option<Workspace>, GitError> {
    let declared_in = join(root, GO_WORK);
    let Some(bytes) = repo.read_file(tree, &declared_in)? else {
        return Ok(None);
    };
    let mut notes = Vec::new();
    let work = parse_work(&String::from_utf8_lossy(&bytes)).unwrap_or_else(|why| {
        notes.push(format!(
            "{declared_in} cannot be read ({why}): no workspace graph is read from it, so no service's scope includes the Go modules it depends on"
        ));
        Work::default()
    });
    let mut uses = Vec::new();
    for dir in &work.uses {
        match normalise(root, dir) {
            Some(dir) => uses.push(dir),
            None => notes.push(format!(
                "{declared_in} uses {dir}, which is not a directory of the repository: its module is not followed"
            )),
        }
    }
    let replaced = local_replacements(root, &work.replace);
    let mut packages = BTreeMap::new();
    read_modules(
        repo,
        tree,
        uses.clone(),
        &replaced,
        &mut packages,
        &mut notes,
    )?;
    for dir in uses.iter().filter(|dir| !packages.contains_key(*dir)) {
        notes.push(format!(
            "{declared_in} uses {dir}, which holds no go.mod: Go refuses the workspace, and no module is read there"
        ));
    }
    // A module only a replacement reaches is known by its directory, not its path.
    let used: BTreeSet<String> = uses.into_iter().collect();
    let unnamed = (packages.keys())
        .filter(|dir| !used.contains(*dir))
        .cloned()
        .collect();
    let mut workspace = Workspace::new(
        Ecosystem::Go,
        root,
        declared_in,
        packages,
        &unnamed,
        None,
        notes,
    );
    workspace.by_module_path = true;
    Ok(Some(workspace))
}

/// The main module in `root`, in module mode (no `go.work` holds the build context), and
/// the modules its replacements by a directory reach, in turn, if `root` has a `go.mod`.
pub(super) fn module_at(
    repo: &Repo,
    tree: ObjectId,
    root: &str,
) -> Result<Option<Workspace>, GitError> {
    let declared_in = join(root, GO_MOD);
    if repo.entry_at(tree, &declared_in)?.is_none() {
        return Ok(None);
    }
    let mut workspace = module_mode(repo, tree, root, declared_in, vec![root.to_owned()])?;
    workspace.go_main_module = true;
    Ok(Some(workspace))
}

/// Every Go module of the repository, in module mode: each directory of the tree with a
/// `go.mod`, if there is one; they link only through replacements by a directory. One walk
/// of the whole tree, for a module an image is named to be built from (`changes.package`)
/// out of a context holding others, which no `go.mod` or `go.work` declares together.
pub(super) fn modules_of(repo: &Repo, tree: ObjectId) -> Result<Option<Workspace>, GitError> {
    let mut dirs = BTreeSet::new();
    let mut visit = |path: &str, kind: EntryKind, _: &gix::oid| -> bool {
        let name = path.rsplit('/').next().unwrap_or(path);
        if kind == EntryKind::Tree {
            // Go ignores these directories; `vendor` holds copies of downloaded modules,
            // `node_modules` a JavaScript workspace's.
            return !(name.starts_with(['.', '_'])
                || ["testdata", "vendor", "node_modules"].contains(&name));
        }
        if name == GO_MOD {
            dirs.insert(path.rsplit_once('/').map_or("", |(dir, _)| dir).to_owned());
        }
        false
    };
    repo.walk("", tree, &mut visit)?;
    if dirs.is_empty() {
        return Ok(None);
    }
    // The root module's `go.mod` when there is one: no file declares the modules together.
    let pending = dirs.into_iter().collect();
    module_mode(repo, tree, "", GO_MOD.to_owned(), pending).map(Some)
}

/// The modules of module mode in the directories `pending` and those their replacements
/// by a directory reach, as a workspace at `root` declared in `declared_in`.
fn module_mode(
    repo: &Repo,
    tree: ObjectId,
    root: &str,
    declared_in: String,
    pending: Vec<String>,
) -> Result<Workspace, GitError> {
    let mut packages = BTreeMap::new();
    let mut notes = Vec::new();
    read_modules(
        repo,
        tree,
        pending,
        &BTreeMap::new(),
        &mut packages,
        &mut notes,
    )?;
    let unnamed = BTreeSet::new();
    Ok(Workspace::new(
        Ecosystem::Go,
        root,
        declared_in,
        packages,
        &unnamed,
        None,
        notes,
    ))
}

/// Reads into `packages` the module of each directory of `pending` and of each directory
/// a replacement names, in turn; `work` are `go.work`'s replacements (module path →
/// directory), which win over a module's own.
fn read_modules(
    repo: &Repo,
    tree: ObjectId,
    pending: Vec<String>,
    work: &BTreeMap<String, String>,
    packages: &mut BTreeMap<String, Package>,
    notes: &mut Vec<String>,
) -> Result<(), GitError> {
    let parse = |bytes: &[u8], dir: &str| parse_module(bytes, dir, work);
    let path = |_: &Package, range: &str| range.strip_prefix(PATH).map(str::to_owned);
    read_packages((repo, tree, GO_MOD), pending, parse, path, packages, notes)
}

/// A `go.mod` in `dir`: its module path, and each requirement's version, or `path:DIR`
/// where a replacement (`work`'s first, then its own) names a directory.
fn parse_module(
    bytes: &[u8],
    dir: &str,
    work: &BTreeMap<String, String>,
) -> Result<Manifest, String> {
    let text = std::str::from_utf8(bytes).map_err(|_| "not UTF-8".to_owned())?;
    let module: GoMod = text.parse().map_err(|e: String| one_line(&e))?;
    if module.module.is_empty() {
        return Err("no `module` directive".to_owned());
    }
    let own: Vec<(String, String)> = (module.replace.iter())
        .filter_map(|r| match &r.replacement {
            Replacement::FilePath(path) => Some((r.module_path.clone(), path.clone())),
            Replacement::Module(_) => None,
        })
        .collect();
    let own = local_replacements(dir, &own);
    let dependencies = (module.require.iter())
        .map(|required| {
            let name = &required.module.module_path;
            let range = match work.get(name).or_else(|| own.get(name)) {
                Some(dir) => format!("{PATH}{dir}"),
                None => required.module.version.clone(),
            };
            (name.clone(), range)
        })
        .collect();
    Ok(Manifest {
        name: Some(module.module),
        dependencies,
        ..Manifest::default()
    })
}

/// Replacements by a relative directory (`./x`, `../x`; Go reads any other as a module
/// path), from the directory `from` of the file declaring them: module path → directory
/// from the repository root. One leading above the repository is no directory of it.
fn local_replacements(from: &str, replace: &[(String, String)]) -> BTreeMap<String, String> {
    (replace.iter())
        .filter(|(_, path)| path.starts_with("./") || path.starts_with("../"))
        .filter_map(|(module, path)| Some((module.clone(), normalise(from, path)?)))
        .collect()
}

/// What topo-ci reads of a `go.work`.
#[derive(Debug, Default, PartialEq, Eq)]
struct Work {
    /// The `use` directories, as written.
    uses: Vec<String>,
    /// Each `replace`: the module path, and what replaces it, as written (a directory, or a
    /// module path when a version follows it, which is no directory: left out).
    replace: Vec<(String, String)>,
}

/// Reads the `use` and `replace` directives of a `go.work` (the same line syntax as
/// `go.mod`: one directive per line, or a parenthesised block of them; `//` comments;
/// quoted paths). Other directives are not needed and not checked.
fn parse_work(text: &str) -> Result<Work, String> {
    let mut work = Work::default();
    let mut block: Option<(String, usize)> = None;
    for (number, line) in text.lines().enumerate().map(|(i, l)| (i + 1, l)) {
        let words = words(line).map_err(|why| format!("line {number}: {why}"))?;
        let bare = |word: &Word, text: &str| !word.quoted && word.text == text;
        let (verb, rest) = match (&block, words.as_slice()) {
            (_, []) => continue,
            (Some(_), [close]) if bare(close, ")") => {
                block = None;
                continue;
            }
            (Some((verb, _)), rest) => (verb.clone(), rest),
            (None, [verb, open]) if bare(open, "(") => {
                block = Some((verb.text.clone(), number));
                continue;
            }
            (None, [verb, rest @ ..]) => (verb.text.clone(), rest),
        };
        let rest: Vec<&str> = rest.iter().map(|w| w.text.as_str()).collect();
        match (verb.as_str(), rest.as_slice()) {
            ("use", [dir]) => work.uses.push((*dir).to_owned()),
            ("use", _) => return Err(format!("line {number}: `use` takes one directory")),
            ("replace", [module, "=>", path] | [module, _, "=>", path]) => {
                work.replace
                    .push(((*module).to_owned(), (*path).to_owned()));
            }
            ("replace", [_, "=>", _, _] | [_, _, "=>", _, _]) => {}
            ("replace", _) => {
                return Err(format!(
                    "line {number}: `replace` is `module [version] => replacement [version]`"
                ))
            }
            _ => {}
        }
    }
    match block {
        Some((verb, opened)) => Err(format!(
            "the `{verb} (` block of line {opened} is not closed"
        )),
        None => Ok(work),
    }
}

/// A word of a `go.work` line: its text, and whether it was quoted (a quoted `(` opens
/// no block).
#[derive(Debug, PartialEq, Eq)]
struct Word {
    text: String,
    quoted: bool,
}

/// The words of one `go.work` line, as Go's `modfile` lexer splits them: a `//` comment
/// ends the line outside quotes; `(` and `)` are words of their own; an interpreted
/// (`"./a b"`, with `\\` escapes) or raw (`` `./a` ``) string is one word, spaces and `//`
/// included.
fn words(line: &str) -> Result<Vec<Word>, String> {
    let mut words = Vec::new();
    let mut rest = line.trim_start();
    while !rest.is_empty() && !rest.starts_with("//") {
        let (word, after) = match rest.chars().next().expect("rest is not empty") {
            quote @ ('"' | '`') => quoted(rest, quote)?,
            paren @ ('(' | ')') => (paren.to_string(), &rest[1..]),
            _ => {
                let end = rest
                    .find(|c: char| c.is_whitespace() || c == '(' || c == ')')
                    .unwrap_or(rest.len());
                let end = rest[..end].find("//").unwrap_or(end);
                (rest[..end].to_owned(), &rest[end..])
            }
        };
        words.push(Word {
            text: word,
            quoted: rest.starts_with(['"', '`']),
        });
        rest = after.trim_start();
    }
    Ok(words)
}

/// The value of the string `rest` starts with (quoted by `quote`), and what follows it.
fn quoted(rest: &str, quote: char) -> Result<(String, &str), String> {
    let mut value = String::new();
    let mut chars = rest.char_indices().skip(1);
    while let Some((at, c)) = chars.next() {
        match c {
            c if c == quote => return Ok((value, &rest[at + 1..])),
            '\\' if quote == '"' => match chars.next().map(|(_, e)| e) {
                Some('\\') => value.push('\\'),
                Some('"') => value.push('"'),
                Some(other) => {
                    return Err(format!("the escape `\\{other}` in a quoted path is not read: write the character itself"))
                }
                None => break,
            },
            c => value.push(c),
        }
    }
    Err(format!("a path quoted by {quote} is not closed"))
}

#[cfg(test)]
mod tests {
    use expect_test::{expect, Expect};

    use super::*;

    fn check_work(text: &str, expect: Expect) {
        expect.assert_debug_eq(&parse_work(text));
    }

    fn check_module(text: &str, expect: Expect) {
        let work = BTreeMap::from([("example.com/shop/api".to_owned(), "apps/api".to_owned())]);
        expect.assert_debug_eq(&parse_module(text.as_bytes(), "services/web", &work));
    }

    #[test]
    fn a_go_work_and_its_blocks() {
        check_work(
            "go 1.22\n\n// the apps\nuse ./services/api\nuse (\n\t./libs/common // shared\n\t\"./services/web\"\n)\nreplace example.com/x => ../x\nreplace (\n\texample.com/y v1.0.0 => ./y\n\texample.com/z => example.com/fork/z v1.2.0\n)\ntoolchain go1.22.1\n",
            expect![[r#"
                Ok(
                    Work {
                        uses: [
                            "./services/api",
                            "./libs/common",
                            "./services/web",
                        ],
                        replace: [
                            (
                                "example.com/x",
                                "../x",
                            ),
                            (
                                "example.com/y",
                                "./y",
                            ),
                        ],
                    },
                )
            "#]],
        );
    }

    #[test]
    fn quoted_paths_keep_their_spaces_and_slashes() {
        check_work(
            "use (\n\t\"./my app\" // spaced\n\t`./a//b`\n\t\"./q\\\"uote\\\\d\"\n\t./c//comment\n\t\"(\"\n)\nreplace \"example.com/x\" => \"../x y\"\n",
            expect![[r#"
                Ok(
                    Work {
                        uses: [
                            "./my app",
                            "./a//b",
                            "./q\"uote\\d",
                            "./c",
                            "(",
                        ],
                        replace: [
                            (
                                "example.com/x",
                                "../x y",
                            ),
                        ],
                    },
                )
            "#]],
        );
    }

    #[test]
    fn what_cannot_be_read_of_a_go_work() {
        check_work(
            "go 1.22\nuse (\n\t./a\n",
            expect![[r#"
                Err(
                    "the `use (` block of line 2 is not closed",
                )
            "#]],
        );
        check_work(
            "use (\n\t\"./a b\n)\n",
            expect![[r#"
                Err(
                    "line 2: a path quoted by \" is not closed",
                )
            "#]],
        );
        check_work(
            "use \"./a\\x41\"\n",
            expect![[r#"
                Err(
                    "line 1: the escape `\\x` in a quoted path is not read: write the character itself",
                )
            "#]],
        );
        check_work(
            "use ./a ./b\n",
            expect![[r#"
                Err(
                    "line 1: `use` takes one directory",
                )
            "#]],
        );
        check_work(
            "replace example.com/x ../x\n",
            expect![[r#"
                Err(
                    "line 1: `replace` is `module [version] => replacement [version]`",
                )
            "#]],
        );
    }

    #[test]
    fn a_go_mod_with_replacements_by_directory() {
        check_module(
            "module example.com/shop/web\n\ngo 1.22\n\nrequire (\n\texample.com/shop/common v0.0.0\n\texample.com/shop/api v0.0.0\n\tgithub.com/google/uuid v1.6.0 // indirect\n\texample.com/fork v1.0.0\n)\n\nreplace example.com/shop/common => ../../libs/common\n\nreplace example.com/shop/api => ../api\n\nreplace example.com/fork => example.com/forked v1.0.1\n\nreplace example.com/outside => ../../../outside\n",
            expect![[r#"
                Ok(
                    Manifest {
                        name: Some(
                            "example.com/shop/web",
                        ),
                        dependencies: {
                            "example.com/fork": "v1.0.0",
                            "example.com/shop/api": "path:apps/api",
                            "example.com/shop/common": "path:libs/common",
                            "github.com/google/uuid": "v1.6.0",
                        },
                        workspaces: None,
                        package_manager: None,
                        dev_only: {},
                        patch_dir: None,
                    },
                )
            "#]],
        );
        check_module(
            "go 1.22\n",
            expect![[r#"
                Err(
                    "no `module` directive",
                )
            "#]],
        );
    }
}
