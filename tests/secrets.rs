//! One secret-name rule: `topo check`, `topo lint` and `topo import` judge every variable
//! the way `topo_core::value::is_secret_name` does, so none of them says "secret" where
//! another says "literal".

use topo_core::compose::ComposeFile;
use topo_core::import::{import, ImportOptions};
use topo_core::lint::{lint, LintFile, LintOptions};
use topo_core::value::is_secret_name;
use topo_core::{Mode, SourceFile, ValidateOptions};

const NAMES: &[&str] = &[
    "DB_PASSWORD",
    "DB_PASS",
    "SESSION_KEY",
    "STRIPE_API_KEY",
    "JWT_SECRET",
    "GITHUB_TOKEN",
    "PASSWORD_MIN_LENGTH",
    "POSTGRES_PASSWORD_FILE",
    "TOKEN_TTL",
    "AWS_ACCESS_KEY_ID",
    "STRIPE_PUBLISHABLE_KEY",
    "PRIMARY_KEY_COLUMN",
    "DB_HOST",
    "NODE_ENV",
];

/// Does `topo check` refuse `NAME = "value"` as a literal secret?
fn check_calls_it_secret(name: &str) -> bool {
    let text = format!(
        "project = \"shop\"\n[[services]]\nrole = \"web\"\ncontext = \"web\"\n[services.env]\n{name} = \"value\"\n"
    );
    match topo_core::load(
        &SourceFile::new("t.toml", text),
        &ValidateOptions::default(),
    ) {
        Ok(_) => false,
        Err(diagnostics) => diagnostics.iter().any(|d| d.code == "literal-secret"),
    }
}

fn compose(name: &str) -> ComposeFile {
    let text = format!(
        "services:\n  web:\n    image: ghcr.io/acme/shop-web:${{TAG:?set TAG}}\n    healthcheck: {{ test: [CMD, \"true\"] }}\n    environment:\n      {name}: value\n"
    );
    ComposeFile::read("docker-compose.prod.yml", text).expect("valid Compose")
}

/// Does `topo lint` report the literal value of `NAME` in a production file?
fn lint_calls_it_secret(name: &str) -> bool {
    let files = [LintFile::new(compose(name), Mode::Production)];
    lint(&files, &LintOptions::default())
        .findings
        .iter()
        .any(|f| f.rule == "literal-secret")
}

/// Does `topo import` turn the literal into a secret reference?
fn import_calls_it_secret(name: &str) -> bool {
    let imported = import(
        &[(compose(name), Mode::Production)],
        &ImportOptions {
            project: Some("shop".to_owned()),
            ..ImportOptions::default()
        },
    )
    .expect("imports");
    imported
        .text
        .lines()
        .any(|line| line.starts_with(name) && line.contains("secret ="))
}

#[test]
fn check_lint_and_import_share_the_secret_rule() {
    for name in NAMES {
        let expect = is_secret_name(name);
        assert_eq!(check_calls_it_secret(name), expect, "topo check on {name}");
        assert_eq!(lint_calls_it_secret(name), expect, "topo lint on {name}");
        assert_eq!(
            import_calls_it_secret(name),
            expect,
            "topo import on {name}"
        );
    }
}
