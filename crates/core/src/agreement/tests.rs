//! `topo check`'s lint of a topology's renders: each finding at the topology's place.

use super::lint_renders;
use crate::diagnostic::{Severity, SourceFile};
use crate::ValidateOptions;

/// The diagnostics as `line:column severity code label`.
fn found(text: &str) -> Vec<String> {
    let source = SourceFile::new("topology.toml", text);
    let validated = crate::load(&source, &ValidateOptions::default()).expect("valid");
    lint_renders(&validated.topology, &source, None)
        .iter()
        .map(|d| {
            let (line, column) = source.line_col(d.span.as_ref().expect("placed").start);
            let severity = match d.severity {
                Severity::Error => "error",
                Severity::Warning => "warning",
            };
            format!("{line}:{column} {severity} {}: {}", d.code, d.message)
        })
        .collect()
}

const WEB: &str = "project = \"shop\"\n\n[[services]]\nrole = \"web\"\ncontext = \".\"\nhealth = { http = \"/\", port = 3000 }\n";

#[test]
fn a_clean_topology_has_nothing() {
    assert_eq!(found(WEB), Vec::<String>::new());
}

#[test]
fn a_dev_command_in_production_is_reported_once_at_the_command() {
    let text = format!("{WEB}command = [\"npm\", \"run\", \"dev\"]\n");
    assert_eq!(
        found(&text),
        ["7:11 error lint/dev-command-in-prod: the command of `shop-web` in prod-sim and production is a development command: `npm run dev` runs the development script"]
    );
}

#[test]
fn an_unknown_host_is_pointed_at_inside_its_value() {
    let text = format!(
        "{WEB}aliases = [\"www\"]\nenv = {{ A_URL = {{ dev = \"http://www/\", prod = \"redis://redis:6379\" }}, B_HOST = \"shop-web\" }}\n"
    );
    let found = found(&text);
    assert_eq!(found.len(), 1, "{found:#?}");
    // `redis` the host, not `redis` the scheme.
    assert!(
        found[0].starts_with(
            "8:56 error lint/host-reference-unknown: `A_URL` of `shop-web` names the host `redis`"
        ),
        "{found:#?}"
    );
}

#[test]
fn the_topologys_levels_weigh_the_findings() {
    let text = format!(
        "{WEB}command = [\"nodemon\", \"x.js\"]\nenv = {{ CACHE_HOST = \"cache\" }}\n\n[lint.rules]\ndev-command-in-prod = \"warning\"\nhost-reference-unknown = \"off\"\n"
    );
    let found = found(&text);
    assert_eq!(found.len(), 1, "{found:#?}");
    assert!(
        found[0].starts_with("7:11 warning lint/dev-command-in-prod"),
        "{found:#?}"
    );
}

#[test]
fn confinement_given_up_is_reported_at_the_key_that_gives_it_up() {
    let text = format!("{WEB}read_only = false\ndrop_capabilities = false\n");
    assert_eq!(
        found(&text),
        [
            "7:13 warning lint/unconfined-in-prod: `shop-web` has a writable root filesystem (no `read_only: true`) in production",
            "8:21 warning lint/unconfined-in-prod: `shop-web` keeps the engine's default capabilities (no `cap_drop: [ALL]`) in production",
        ]
    );
}

#[test]
fn a_word_is_found_as_a_host_not_as_a_scheme_or_inside_a_name() {
    let text = "x = \"redis://redis-2:1,redis:2\"";
    let span = super::locate::narrowed(text, 4..text.len(), "redis");
    assert_eq!(&text[span.clone()], "redis");
    assert_eq!(span.start, text.rfind("redis").expect("there"));
    let text = "x = \"amqp://queue:pw@queue/\"";
    let span = super::locate::narrowed(text, 4..text.len(), "queue");
    assert_eq!(
        span.start,
        text.rfind("queue").expect("there"),
        "after the `@`"
    );
    assert_eq!(super::locate::narrowed(text, 4..8, "absent"), 4..8);
}
