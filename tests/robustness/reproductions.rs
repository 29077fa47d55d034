//! The fuzzer's reproductions (`tests/fixtures/robustness/`), each run through the real
//! `topo` binary: no panic, no hang, a located error or a valid result, and time linear in
//! the input.

use std::path::Path;
use std::time::Duration;

use assert_cmd::Command;

use crate::common;

/// A generous bound for one command on inputs that used to take minutes (a debug build on
/// a loaded machine takes a few seconds).
const SLOW: Duration = Duration::from_secs(60);

fn topo() -> Command {
    let mut command = Command::cargo_bin("topo").expect("the topo binary is built");
    command.env("NO_COLOR", "1").timeout(SLOW);
    command
}

/// A fixture folder copied into a fresh directory (commands write beside their inputs).
fn fixture(name: &str) -> tempfile::TempDir {
    let dir = tempfile::tempdir().expect("tempdir");
    common::copy_dir(
        &common::root().join("tests/fixtures/robustness").join(name),
        dir.path(),
    );
    dir
}

fn stderr_of(output: &std::process::Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}

/// Runs `topo ARGS` in `dir`; its output, after checking it did not panic.
fn run(dir: &Path, args: &[&str]) -> std::process::Output {
    let output = topo()
        .current_dir(dir)
        .args(args)
        .output()
        .expect("topo runs");
    let stderr = stderr_of(&output);
    assert_ne!(output.status.code(), Some(101), "panicked: {stderr}");
    assert!(!stderr.contains("panicked"), "{stderr}");
    output
}

/// `topo check` accepts the topology `import` wrote.
fn imported_topology_checks(dir: &Path) -> String {
    let output = run(dir, &["check", "-t", "t.toml", "--format", "short"]);
    assert!(
        output.status.success(),
        "the imported topology does not check: {}",
        stderr_of(&output)
    );
    std::fs::read_to_string(dir.join("t.toml")).expect("written")
}

#[test]
fn a_dockerfile_line_with_a_multibyte_character_is_read() {
    let dir = fixture("01-lint-dockerfile-char-boundary");
    let output = run(dir.path(), &["lint", "docker-compose.prod-sim.yml"]);
    assert_eq!(output.status.code(), Some(0), "{}", stderr_of(&output));
    assert!(stderr_of(&output).contains("topo lint: 0 errors"));
}

#[test]
fn a_database_image_in_one_file_only_is_the_database_of_every_mode() {
    let dir = fixture("02-import-db-no-image-in-prod");
    let output = run(
        dir.path(),
        &[
            "import",
            "docker-compose.yml",
            "docker-compose.prod.yml",
            "-o",
            "t.toml",
        ],
    );
    assert!(output.status.success(), "{}", stderr_of(&output));
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        stdout.contains("docker-compose.prod.yml:2:3: check: the database names no image here"),
        "{stdout}"
    );
    let text = imported_topology_checks(dir.path());
    assert!(text.contains("major = 17"), "{text}");
}

#[test]
fn a_database_major_too_large_to_pin_is_refused_where_it_is_written() {
    let dir = fixture("03-import-db-major-overflow");
    let output = run(
        dir.path(),
        &["import", "docker-compose.yml", "-o", "t.toml"],
    );
    assert_eq!(output.status.code(), Some(1));
    let stderr = stderr_of(&output);
    assert!(
        stderr.starts_with("docker-compose.yml:3:12: error: the image `postgres:99999999999999999999` names the version"),
        "{stderr}"
    );
    assert!(stderr.contains("tag the database image with its real major"));
    assert!(!dir.path().join("t.toml").exists());
}

#[test]
fn a_duplicated_role_inside_a_dependency_cycle_is_reported() {
    let dir = fixture("04-check-duplicate-role-in-cycle");
    let output = run(
        dir.path(),
        &["check", "-t", "topology.toml", "--format", "short"],
    );
    assert_eq!(output.status.code(), Some(1));
    let stderr = stderr_of(&output);
    assert!(
        stderr.contains("topology.toml:8:8: error[duplicate-name]: the role `a` is used twice"),
        "{stderr}"
    );
    assert!(
        stderr.contains(
            "topology.toml:10:16: error[dependency-cycle]: dependency cycle between `a`, `b`"
        ),
        "{stderr}"
    );
}

#[test]
fn a_column_past_65535_is_reported_on_one_line_with_its_hint() {
    let dir = fixture("05-check-miette-column-65536");
    let output = run(dir.path(), &["check", "-t", "topology.toml"]);
    assert_eq!(output.status.code(), Some(1));
    let stderr = stderr_of(&output);
    assert!(
        stderr.contains("topology.toml:1:65550: error[syntax]: invalid TOML"),
        "{stderr}"
    );
    assert!(stderr.contains("  help: fix the TOML syntax"), "{stderr}");
    assert!(stderr.contains("topology.toml: 1 error, 0 warnings"));
}

#[test]
fn a_lint_finding_past_column_65535_is_reported_on_one_line() {
    let dir = fixture("06-lint-miette-column-65536");
    let output = run(dir.path(), &["lint", "docker-compose.prod.yml"]);
    assert_eq!(output.status.code(), Some(1));
    let stderr = stderr_of(&output);
    assert!(
        stderr
            .contains("docker-compose.prod.yml:1:65579: error[privileged]: `web` runs privileged"),
        "{stderr}"
    );
    assert!(stderr.contains("  help: drop the privilege"), "{stderr}");
    // The finding miette can draw is still drawn.
    assert!(
        stderr.contains("╭─[docker-compose.prod.yml:1:12]"),
        "{stderr}"
    );
}

#[test]
fn an_empty_container_name_does_not_hang_import() {
    let dir = fixture("07-import-hang-empty-container-name");
    let output = run(
        dir.path(),
        &["import", "docker-compose.yml", "-o", "t.toml"],
    );
    assert!(output.status.success(), "{}", stderr_of(&output));
    let text = imported_topology_checks(dir.path());
    assert!(text.contains("role = \"web\""), "{text}");
    assert!(text.contains("A = \"b\""), "{text}");
}

#[test]
fn thousands_of_syntax_errors_are_capped_and_fast() {
    let dir = tempfile::tempdir().expect("tempdir");
    // 100,000 syntax errors on one 200 KB line (the reproduction's `gen.sh 100000`).
    let text = format!("project = \"shop\"\nx = [{}]\n", "x,".repeat(100_000));
    std::fs::write(dir.path().join("topology.toml"), text).expect("write");
    for format in ["human", "short"] {
        let output = run(
            dir.path(),
            &["check", "-t", "topology.toml", "--format", format],
        );
        assert_eq!(output.status.code(), Some(1));
        let stderr = stderr_of(&output);
        let errors = stderr
            .lines()
            .filter(|l| l.contains("error[syntax]") || l.contains("× invalid TOML"))
            .count();
        assert_eq!(errors, topo_core::limit::MAX_REPORTED, "{format}");
        assert!(
            stderr.contains(&format!(
                "topology.toml: … and {} more not shown",
                100_000 - topo_core::limit::MAX_REPORTED
            )),
            "{format}: {}",
            &stderr[stderr.len().saturating_sub(500)..]
        );
    }
    // JSON lists every one.
    let output = run(
        dir.path(),
        &["check", "-t", "topology.toml", "--format", "json"],
    );
    let report: serde_json::Value = serde_json::from_slice(&output.stdout).expect("JSON");
    assert_eq!(
        report["diagnostics"].as_array().map(Vec::len),
        Some(100_000)
    );
}

#[test]
fn a_large_block_import_drops_is_quoted_in_linear_time() {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut text = String::from("services:\n  web:\n    build: .\n    sysctls:\n");
    for i in 0..50_000 {
        text += &format!("      net.core.k{i}: {i}\n");
    }
    std::fs::write(dir.path().join("docker-compose.yml"), text).expect("write");
    let output = run(
        dir.path(),
        &["import", "docker-compose.yml", "-o", "t.toml"],
    );
    assert!(output.status.success(), "{}", stderr_of(&output));
    let topology = std::fs::read_to_string(dir.path().join("t.toml")).expect("written");
    assert!(topology.contains("#     net.core.k49999: 49999"), "quoted");
}

#[test]
fn lint_findings_of_many_services_are_capped_and_fast() {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut text = String::from("services:\n");
    for i in 0..10_000 {
        text += &format!("  s{i}:\n    image: app:{i}\n    privileged: true\n");
    }
    std::fs::write(dir.path().join("docker-compose.prod.yml"), text).expect("write");
    for format in ["text", "short"] {
        let output = run(
            dir.path(),
            &["lint", "docker-compose.prod.yml", "--format", format],
        );
        assert_eq!(output.status.code(), Some(1));
        let stderr = stderr_of(&output);
        // Per service: `privileged` (an error), `missing-healthcheck` and four
        // `unconfined-in-prod` (warnings).
        let tail: String = stderr
            .chars()
            .rev()
            .take(500)
            .collect::<Vec<_>>()
            .into_iter()
            .rev()
            .collect();
        assert!(
            stderr.contains("docker-compose.prod.yml: … and 59900 more not shown"),
            "{format}: {tail}"
        );
        assert!(
            stderr.contains("topo lint: 10000 errors, 50000 warnings"),
            "{tail}"
        );
    }
}

/// The outcome of importing one folder of `09-import-invalid`: the topology written, or
/// the refusal.
fn import_09(case: &str) -> Result<String, String> {
    let dir = fixture(&format!("09-import-invalid/{case}"));
    let output = run(
        dir.path(),
        &["import", "docker-compose.yml", "-o", "t.toml"],
    );
    let stderr = stderr_of(&output);
    assert!(!stderr.contains("a bug in topo import"), "{case}: {stderr}");
    if output.status.success() {
        Ok(imported_topology_checks(dir.path()))
    } else {
        assert_eq!(output.status.code(), Some(1), "{case}");
        assert!(!dir.path().join("t.toml").exists(), "{case}");
        // Every line is `file:line:column: error: …`.
        for line in stderr.lines() {
            let located = line.split(": error: ").next().is_some_and(|place| {
                place.starts_with("docker-compose.yml:")
                    && place.split(':').skip(1).all(|n| n.parse::<u32>().is_ok())
            });
            assert!(located, "{case}: not located: {line}");
        }
        Err(stderr)
    }
}

#[test]
fn compose_files_import_into_valid_topologies_or_are_refused_where_they_cannot() {
    // Representable: imported, with a note where something was dropped or renamed.
    let cases: [(&str, &str); 8] = [
        ("b-alias", "docker-compose.yml:5:7"),
        ("b-ctrl", "security_opt label=\\u{8}"),
        ("b-dupgen", "role = \"web\""),
        ("b-label", "role = \"web-2\""),
        ("b-major016", "major = 16\nimage = \"postgres:016-alpine\""),
        (
            "b-selfdep",
            "waits for itself, which can never happen: dropped",
        ),
        ("build-backslash", "outside it: guessed `.`"),
        ("proxy-two-upstreams", "gets it first: kept `storefront`"),
    ];
    for (case, expected) in cases {
        let text = import_09(case).unwrap_or_else(|e| panic!("{case} refused: {e}"));
        assert!(text.contains(expected), "{case}: {text}");
    }
    let dupgen = import_09("b-dupgen").expect("imported");
    assert!(dupgen.contains("generated = [\"dist\"]"), "{dupgen}");
    // Not representable: refused where it is written.
    for (case, expected) in [
        ("b-envspace", "docker-compose.yml:5:7: error: a topology cannot hold what is written here: `MY VAR` is not a valid environment variable name"),
        ("b-proxyport", "docker-compose.yml:5:3: error: a topology cannot hold what is written here: host port 80/tcp is published by both `proxy` and `web`"),
        ("bigmajor", "docker-compose.yml:3:12: error: the image `postgres:9685477580` names the version `9685477580`"),
    ] {
        let refusal = import_09(case).expect_err(case);
        assert!(refusal.starts_with(expected), "{case}: {refusal}");
    }
    // A relative container path is dropped with a note (Compose refuses it as well).
    let relvol = import_09("b-relvol").expect("imported");
    assert!(relvol.contains("is not absolute"), "{relvol}");
    assert!(!relvol.contains("relative/path\""), "{relvol}");
}

#[test]
fn a_generated_path_that_is_the_source_path_itself_is_refused_by_check() {
    let dir = fixture("10-render-then-import-invalid");
    let output = run(
        dir.path(),
        &["check", "-t", "topology.toml", "--format", "short"],
    );
    assert_eq!(output.status.code(), Some(1));
    assert!(
        stderr_of(&output).contains(
            "topology.toml:6:14: error[generated-path-outside-source]: the generated path `./` of `web` is not inside its source path `/app`"
        ),
        "{}",
        stderr_of(&output)
    );
    // Written the way people write paths, a generated path comes back from its render.
    let topology = "project = \"p\"\n[[services]]\nrole = \"web\"\ncontext = \".\"\nsource_path = \"/app\"\ngenerated = [\"./dist\", \"node_modules/\"]\n";
    std::fs::write(dir.path().join("topology.toml"), topology).expect("write");
    assert!(run(dir.path(), &["render", "-t", "topology.toml"])
        .status
        .success());
    let files = [
        "docker-compose.yml",
        "docker-compose.prod-sim.yml",
        "docker-compose.prod.yml",
    ];
    let rendered: Vec<String> = files
        .iter()
        .map(|f| std::fs::read_to_string(dir.path().join(f)).expect("rendered"))
        .collect();
    let mut args = vec!["import"];
    args.extend(files);
    args.push("--force");
    let output = run(dir.path(), &args);
    assert!(output.status.success(), "{}", stderr_of(&output));
    assert!(run(dir.path(), &["render", "-t", "topology.toml"])
        .status
        .success());
    for (file, before) in files.iter().zip(&rendered) {
        let after = std::fs::read_to_string(dir.path().join(file)).expect("rendered");
        assert_eq!(&after, before, "{file}");
    }
}

#[test]
fn a_finding_reached_through_an_alias_points_at_the_alias() {
    let dir = fixture("11-alias-finding-position");
    let output = run(
        dir.path(),
        &["lint", "docker-compose.yml", "--format", "short"],
    );
    assert!(
        stderr_of(&output).starts_with("docker-compose.yml:6:8: error[host-reference-unknown]"),
        "{}",
        stderr_of(&output)
    );
    let output = run(dir.path(), &["lint", "docker-compose.yml"]);
    let stderr = stderr_of(&output);
    assert!(stderr.contains("╭─[docker-compose.yml:6:8]"), "{stderr}");
    assert!(stderr.contains(" 6 │   web: *app"), "{stderr}");
}

/// Positions in every JSON report lie inside the text: on an existing line, at most one
/// column past its end.
#[test]
fn reported_positions_are_inside_their_lines() {
    let cases: [(&str, &[&str], &str); 3] = [
        (
            "11-alias-finding-position",
            &["lint", "docker-compose.yml", "--format", "json"],
            "docker-compose.yml",
        ),
        (
            "06-lint-miette-column-65536",
            &["lint", "docker-compose.prod.yml", "--format", "json"],
            "docker-compose.prod.yml",
        ),
        (
            "05-check-miette-column-65536",
            &["check", "-t", "topology.toml", "--format", "json"],
            "topology.toml",
        ),
    ];
    for (case, args, file) in cases {
        let dir = fixture(case);
        let output = run(dir.path(), args);
        let report: serde_json::Value = serde_json::from_slice(&output.stdout).expect("JSON");
        let list = report
            .get("findings")
            .or_else(|| report.get("diagnostics"))
            .and_then(serde_json::Value::as_array)
            .expect("a list")
            .clone();
        assert!(!list.is_empty(), "{case}");
        let text = std::fs::read_to_string(dir.path().join(file)).expect("input");
        let lines: Vec<&str> = text.lines().collect();
        for item in list {
            let line = item["line"].as_u64().expect("line") as usize;
            let column = item["column"].as_u64().expect("column") as usize;
            let length = lines
                .get(line - 1)
                .unwrap_or_else(|| panic!("{case}: no line {line}"))
                .chars()
                .count();
            assert!(
                column <= length + 1,
                "{case}: {line}:{column} past {length}"
            );
        }
    }
}

/// The line and column of `offset` by a scan: `\n`, `\r\n` and a lone `\r` end a line.
fn scanned(text: &str, offset: usize) -> (u32, u32) {
    let (mut line, mut column) = (1, 1);
    for (i, c) in text[..offset].char_indices() {
        if c == '\n' || (c == '\r' && !text[i + 1..].starts_with('\n')) {
            line += 1;
            column = 1;
        } else {
            column += 1;
        }
    }
    (line, column)
}

#[test]
fn positions_count_a_lone_carriage_return_as_a_line_break_like_yaml() {
    use topo_core::compose::ComposeFile;
    use topo_core::import::{import, ImportOptions};
    // Found by `cargo xtask fuzz`: a note at the parser's line 4 whose offset the line
    // index put on line 3, and a syntax error with the offset 0 at line 4. (A production
    // file named `docker-compose.yml` also made import write two modes to one file name.)
    let text = "services:\n  db:\n\r    image: postgres:17\n    restart: always\n";
    let file = ComposeFile::read("docker-compose.yml", text).expect("Compose");
    let imported = import(
        &[(file, topo_core::Mode::Production)],
        &ImportOptions::default(),
    )
    .expect("imported");
    assert!(!imported.checks.is_empty());
    for note in &imported.checks {
        assert_eq!(
            (note.pos.line, note.pos.column),
            scanned(text, note.pos.offset),
            "{}",
            note.message
        );
    }
    let broken = "services:\n  db:\n\n    image: x\n  db:docker";
    let error = ComposeFile::read("c.yml", broken).expect_err("invalid");
    let pos = error.pos.expect("a position");
    assert!(pos.offset > 0, "{error:?}");
    assert_eq!((pos.line, pos.column), scanned(broken, pos.offset));
    // A file of byte-order marks is no Compose file, refused at a position of the text
    // (the first mark is no column, the others are).
    let marks = "\u{feff}".repeat(5);
    let error = ComposeFile::read("c.yml", marks.as_str()).expect_err("not Compose");
    let pos = error.pos.expect("a position");
    assert!(pos.offset <= marks.len());
    let (line, column) = scanned(&marks, pos.offset);
    assert_eq!(
        (pos.line, pos.column),
        (line, column - u32::from(pos.offset > 0))
    );
}
