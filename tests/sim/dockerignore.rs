//! `.dockerignore` as topo reads it (`topo_core::dockerignore`: what topo-sim leaves out
//! of a context, and topo-ci out of a scope) against what the engine's builds put in an
//! image. Each case is a context holding the same files and its own ignore file, built
//! `FROM scratch` with `COPY . /ctx/`; the image's files are what the build saw.
//!
//! BuildKit (through Compose v2, as Compose, buildx and topo-sim build) must agree file for
//! file. The classic builder (`DOCKER_BUILDKIT=0`) skips a directory it excludes unless an
//! exception's text starts with it, so it may see fewer files than BuildKit, never more: a
//! file it sees that topo left out would be a change no plan deploys.

use std::collections::BTreeSet;
use std::path::Path;
use std::process::Command;

use topo_core::dockerignore::DockerIgnore;

use super::{common, text};

/// The files of every case's context (the Dockerfile and the ignore file aside).
const FILES: &[&str] = &[
    "#c",
    "&",
    ".env",
    "[!x]",
    "[]",
    "a/b/w.txt",
    "a/b/z.md",
    "a/y.md",
    "a^b",
    "ab",
    "abc/d.txt",
    "app/main.js",
    "app/node_modules/n/index.js",
    "barfoo",
    "docs/keep.md",
    "docs/other.txt",
    "f1",
    "f{1,2}",
    "node_modules/m/index.js",
    "x$y",
    "x.md",
    "y",
    "é.txt",
];

/// What each case shows, and its ignore file.
const CASES: &[(&str, &str)] = &[
    ("a glob is anchored at the root", "*.md\n"),
    (
        "`**` reaches any depth; `!` keeps",
        "**/*.md\n!docs/keep.md\n",
    ),
    ("braces are literal, not alternatives", "f{1,2}\n"),
    ("`!` in a class is a member", "[!x]\n"),
    ("`^` negates a class; a directory takes its files", "[^x]\n"),
    ("a leading `**` is a bare suffix", "**foo\n"),
    ("a trailing `**` is a bare prefix", "ab**\n"),
    (
        "only a line starting with `#` is a comment",
        "  #c\n#x.md\n y \n",
    ),
    (
        "patterns are cleaned as paths",
        "a/../x.md\n./docs/\n/barfoo\n",
    ),
    (
        "an exception inside an excluded directory",
        "a\n!a/b/w.txt\n",
    ),
    ("everything but", "*\n!**/keep.md\n!Dockerfile\n"),
    ("`*` stays within one directory", "*/*.md\n"),
    ("`?` is one character, not a `/`", "?.txt\n?\n"),
    ("`\\` escapes", "x\\.md\n\\[!x\\]\n"),
    (
        "`$` is literal; `^` an anchor beside a wildcard",
        "a^b*\nx$y\n",
    ),
    ("hidden files", ".*\n"),
    ("`node_modules` at any depth", "**/node_modules\n"),
    ("`node_modules` at the root", "node_modules\n"),
    ("a class range", "[a-c]*\n"),
    (
        "`[` and `&&` in a class are members, as Go reads them",
        "[[]*\n[y&&z]\n",
    ),
    ("a `*` in a class, as moby writes it for Go", "[*]\n"),
    ("trailing slashes and spaces", "docs/   \nx.md/\n"),
    ("`**` between directories", "a/**/w.txt\n**/b\n"),
    (
        "a byte-order mark is not part of the first line",
        "\u{feff}x.md\n",
    ),
    ("the last matching line wins", "docs\n!docs\ndocs/keep.md\n"),
    (
        "an exception before any exclusion keeps nothing",
        "!x.md\n*.md\n",
    ),
];

const PROJECT: &str = "topo-dockerignore";

#[test]
fn dockerignore_is_read_as_the_engines_builds_read_it() {
    if !common::compose_v2_available("dockerignore conformance") {
        return;
    }
    let dir = tempfile::tempdir().expect("temp dir");
    let mut compose = String::from("services:\n");
    for (n, (_, ignore)) in CASES.iter().enumerate() {
        let context = dir.path().join(format!("ctx-{n}"));
        for file in FILES {
            let path = context.join(file);
            std::fs::create_dir_all(path.parent().expect("a parent")).expect("mkdir");
            std::fs::write(&path, format!("{file}\n")).expect("write");
        }
        std::fs::write(context.join("Dockerfile"), "FROM scratch\nCOPY . /ctx/\n").expect("write");
        std::fs::write(context.join(".dockerignore"), ignore).expect("write");
        compose.push_str(&format!(
            "  case-{n}:\n    build: ./ctx-{n}\n    image: {PROJECT}:{n}\n"
        ));
    }
    std::fs::write(dir.path().join("compose.yaml"), compose).expect("write");
    let built = Command::new("docker")
        .args(["compose", "-p", PROJECT, "build", "--quiet"])
        .current_dir(dir.path())
        .output()
        .expect("docker compose runs");
    assert!(built.status.success(), "{}", text(&built.stderr));

    let mut disagreements = Vec::new();
    for (n, (what, ignore)) in CASES.iter().enumerate() {
        let rules = DockerIgnore::parse(ignore).expect("every case's ignore file is valid");
        let ours: BTreeSet<&str> = FILES
            .iter()
            .copied()
            .filter(|file| !rules.excludes(file))
            .collect();
        let buildkit = files_of(&format!("{PROJECT}:{n}"), dir.path());
        let classic_image = format!("{PROJECT}-classic:{n}");
        build_classic(&classic_image, &dir.path().join(format!("ctx-{n}")));
        let classic = files_of(&classic_image, dir.path());
        let buildkit: BTreeSet<&str> = buildkit.iter().map(String::as_str).collect();
        if buildkit != ours {
            let only_buildkit: Vec<_> = buildkit.difference(&ours).collect();
            let only_topo: Vec<_> = ours.difference(&buildkit).collect();
            disagreements.push(format!(
                "{what} ({ignore:?}): BuildKit alone got {only_buildkit:?}, topo alone keeps {only_topo:?}"
            ));
        }
        let missed: Vec<&str> = classic
            .iter()
            .map(String::as_str)
            .filter(|file| !ours.contains(file))
            .collect();
        if !missed.is_empty() {
            disagreements.push(format!(
                "{what} ({ignore:?}): the classic builder got {missed:?}, which topo leaves out"
            ));
        }
        common::docker(&["rmi", "-f", &format!("{PROJECT}:{n}"), &classic_image]);
    }
    assert!(disagreements.is_empty(), "{}", disagreements.join("\n"));
}

#[test]
fn an_ignore_file_the_engine_refuses_is_refused() {
    if !common::docker_available("dockerignore refusal") {
        return;
    }
    let dir = tempfile::tempdir().expect("temp dir");
    std::fs::write(
        dir.path().join("Dockerfile"),
        "FROM scratch\nCOPY . /ctx/\n",
    )
    .expect("write");
    std::fs::write(dir.path().join("kept"), "kept\n").expect("write");
    std::fs::write(dir.path().join(".dockerignore"), "kept\n!\n").expect("write");
    let build = Command::new("docker")
        .args(["build", "-q", "-t", "topo-dockerignore-refused:1", "."])
        .env("DOCKER_BUILDKIT", "0")
        .current_dir(dir.path())
        .output()
        .expect("docker build runs");
    assert!(!build.status.success(), "the engine refuses a bare `!`");
    assert!(
        text(&build.stderr).contains("illegal exclusion pattern"),
        "{}",
        text(&build.stderr)
    );
    let error = DockerIgnore::parse("kept\n!\n").expect_err("a bare `!` is refused");
    assert!(error.starts_with("line 2: `!`"), "{error}");
}

/// `DOCKER_BUILDKIT=0 docker build -t IMAGE CONTEXT`, which must succeed.
fn build_classic(image: &str, context: &Path) {
    let output = Command::new("docker")
        .args(["build", "-q", "-t", image, "."])
        .env("DOCKER_BUILDKIT", "0")
        .current_dir(context)
        .output()
        .expect("docker build runs");
    assert!(output.status.success(), "{}", text(&output.stderr));
}

/// The files the image `image` holds under `/ctx`, the Dockerfile and ignore file aside:
/// the files its build was sent.
fn files_of(image: &str, scratch: &Path) -> BTreeSet<String> {
    let container = common::docker(&["create", image, "/none"]);
    let container = container.trim();
    let archive = scratch.join("export.tar");
    common::docker(&[
        "export",
        "-o",
        archive.to_str().expect("a UTF-8 path"),
        container,
    ]);
    common::docker(&["rm", container]);
    let listing = Command::new("tar")
        .arg("-tf")
        .arg(&archive)
        .output()
        .expect("tar runs");
    assert!(listing.status.success(), "{}", text(&listing.stderr));
    text(&listing.stdout)
        .lines()
        .filter_map(|line| line.strip_prefix("ctx/"))
        .filter(|file| !file.is_empty() && !file.ends_with('/'))
        .filter(|file| !matches!(*file, "Dockerfile" | ".dockerignore"))
        .map(str::to_owned)
        .collect()
}
