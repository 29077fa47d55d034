use std::collections::HashMap;

use proptest::prelude::*;

use super::*;

/// A value's structure in a few words: `text "…"`, `var NAME[:-…]`; or the error.
fn shape(text: &str) -> String {
    match Interpolated::parse(text) {
        Err(error) => format!("error at {}: {}", error.offset, error.problem),
        Ok(value) => value
            .parts()
            .iter()
            .map(|part| match part {
                Part::Text(text) => format!("text {text:?}"),
                Part::Variable(variable) => format!("var {variable}"),
            })
            .collect::<Vec<_>>()
            .join(" + "),
    }
}

fn check(input: &str, expect: &str) {
    assert_eq!(shape(input), expect, "{input}");
}

#[test]
fn interpolations_parse_as_compose_reads_them() {
    // Each expectation was compared with `docker compose config` 2.26.
    check("plain", r#"text "plain""#);
    check("", "");
    check("costs $$5", r#"text "costs $5""#);
    check("$5 off", r#"text "$5 off""#);
    check("a$", r#"text "a$""#);
    check("$}", r#"text "$}""#);
    check("$$", r#"text "$""#);
    check("${TOKEN}", "var ${TOKEN}");
    check("$TOKEN", "var ${TOKEN}");
    check(
        "x${A}y$B-z",
        r#"text "x" + var ${A} + text "y" + var ${B} + text "-z""#,
    );
    check("${A:-x}y}", r#"var ${A:-x} + text "y}""#);
    check("${A:-${B:-q}}z", r#"var ${A:-${B:-q}} + text "z""#);
    check("${A:?m$$x}", "var ${A:?m$$x}");
    check("${A-x:?y}", "var ${A-x:?y}");
    check("${A:+a${B}}", "var ${A:+a${B}}");
    check("${A:-{}", "var ${A:-{}");
    check("${A:-a}b}", r#"var ${A:-a} + text "b}""#);
    check("${a_b}", "var ${a_b}");
    check("${A", "error at 0: `${` is never closed by `}`");
    check(
        "x${9}",
        "error at 1: `${` must be followed by a variable name (a letter or `_`, then letters, digits, `_`)",
    );
    check(
        "${A x}",
        "error at 0: after a variable's name, `${…}` takes `:-`, `-`, `:?`, `?`, `:+` or `+`",
    );
    check("${A:-${}}", "error at 5: `${` must be followed by a variable name (a letter or `_`, then letters, digits, `_`)");
}

#[test]
fn values_resolve_as_compose_resolves_them() {
    let env: HashMap<&str, &str> = HashMap::from([("SET", "value"), ("EMPTY", "")]);
    let lookup = |name: &str| env.get(name).map(|v| v.to_string());
    let check = |input: &str, expect: Result<&str, &str>| {
        let value = Interpolated::parse(input).expect("valid");
        let got = value.resolve(&lookup);
        assert_eq!(
            got.as_deref().map_err(ToString::to_string),
            expect.map_err(str::to_owned),
            "{input}"
        );
    };
    check("${SET}", Ok("value"));
    check("${UNSET}", Ok(""));
    check("${UNSET:-d}", Ok("d"));
    check("${EMPTY:-d}", Ok("d"));
    check("${EMPTY-d}", Ok(""));
    check("${UNSET-d}", Ok("d"));
    check("${SET:+alt}", Ok("alt"));
    check("${EMPTY:+alt}", Ok(""));
    check("${EMPTY+alt}", Ok("alt"));
    check("${UNSET:-${SET}}", Ok("value"));
    check("a$$b", Ok("a$b"));
    check(
        "${UNSET:?set UNSET}",
        Err("required variable UNSET is missing a value: set UNSET"),
    );
    check("${EMPTY?m}", Ok(""));
    check(
        "${EMPTY:?}",
        Err("required variable EMPTY is missing a value"),
    );
}

fn image(reference: &str) -> String {
    match ImageRef::parse(reference) {
        Err(error) => format!("error at {}", error.offset),
        Ok(image) => format!(
            "registry={} repository={} name={} tag={} digest={} major={:?} unpinned={}",
            image.registry.as_deref().unwrap_or("-"),
            image.repository,
            image.name(),
            image
                .tag
                .as_ref()
                .map_or("-".to_owned(), Interpolated::render),
            image.digest.as_deref().unwrap_or("-"),
            image.tag_major(),
            image.is_unpinned(),
        ),
    }
}

#[test]
fn image_references() {
    let check = |reference: &str, expect: &str| {
        assert_eq!(image(reference), expect, "{reference}");
        if let Ok(parsed) = ImageRef::parse(reference) {
            // Canonical text reads back as the same reference.
            let again = ImageRef::parse(&parsed.to_string()).expect("rendered reparses");
            assert_eq!(again, parsed, "{reference}");
        }
    };
    check(
        "postgres",
        "registry=- repository=postgres name=postgres tag=- digest=- major=None unpinned=true",
    );
    check("postgres:17", "registry=- repository=postgres name=postgres tag=17 digest=- major=Some(17) unpinned=false");
    check("postgres:16.4-bookworm", "registry=- repository=postgres name=postgres tag=16.4-bookworm digest=- major=Some(16) unpinned=false");
    check("pgvector/pgvector:pg17", "registry=- repository=pgvector/pgvector name=pgvector tag=pg17 digest=- major=Some(17) unpinned=false");
    check("timescale/timescaledb:latest-pg16", "registry=- repository=timescale/timescaledb name=timescaledb tag=latest-pg16 digest=- major=Some(16) unpinned=false");
    check("registry.local:5000/pg/postgres:15", "registry=registry.local:5000 repository=pg/postgres name=postgres tag=15 digest=- major=Some(15) unpinned=false");
    check(
        "localhost:5000/web",
        "registry=localhost:5000 repository=web name=web tag=- digest=- major=None unpinned=true",
    );
    check(
        "localhost/web:1",
        "registry=localhost repository=web name=web tag=1 digest=- major=Some(1) unpinned=false",
    );
    check(
        "nginx:latest",
        "registry=- repository=nginx name=nginx tag=latest digest=- major=None unpinned=true",
    );
    check(
        "nginx@sha256:abc",
        "registry=- repository=nginx name=nginx tag=- digest=sha256:abc major=None unpinned=false",
    );
    check("postgres:17@sha256:abc", "registry=- repository=postgres name=postgres tag=17 digest=sha256:abc major=Some(17) unpinned=false");
    check("ghcr.io/acme/vendure-server:${TAG:?set TAG to the image tag to deploy}", "registry=ghcr.io repository=acme/vendure-server name=vendure-server tag=${TAG:?set TAG to the image tag to deploy} digest=- major=None unpinned=false");
    check("ghcr.io/acme/web:${TAG:-latest}", "registry=ghcr.io repository=acme/web name=web tag=${TAG:-latest} digest=- major=None unpinned=true");
    check(
        "${REGISTRY}/web:1",
        "registry=${REGISTRY} repository=web name=web tag=1 digest=- major=Some(1) unpinned=false",
    );
    check(
        "${REGISTRY}/web",
        "registry=${REGISTRY} repository=web name=web tag=- digest=- major=None unpinned=true",
    );
    check(
        "${IMAGE}",
        "registry=- repository=${IMAGE} name=${IMAGE} tag=- digest=- major=None unpinned=false",
    );
    check("acme/web:${TAG:-a/b}", "registry=- repository=acme/web name=web tag=${TAG:-a/b} digest=- major=None unpinned=false");
    check("postgres:99999999999999999999", "registry=- repository=postgres name=postgres tag=99999999999999999999 digest=- major=None unpinned=false");
    check("web:${TAG", "error at 4");
}

#[test]
fn literal_references_the_engine_accepts() {
    for (reference, ok) in [
        ("postgres:17", true),
        ("registry.local:5000/pg/postgres:16.4-bookworm", true),
        ("ghcr.io/acme/web@sha256:3e8b2f5a", true),
        ("my_org/web-app.v2:1.0", true),
        ("registry.local/p$g:15-alpine", false),
        ("Postgres:17", false),
        ("postgres:17$x", false),
        ("postgres:-17", false),
        ("reg:port/x:1", false),
        ("x@sha256:xyz", false),
    ] {
        let parsed = ImageRef::parse(reference).expect("parses");
        assert_eq!(parsed.literal_problem().is_none(), ok, "{reference}");
    }
}

#[test]
fn escaping_and_arguments() {
    assert_eq!(escape("a$b$$"), "a$$b$$$$");
    assert!(fits_in_argument("local pw"));
    assert!(!fits_in_argument("a}b"));
    assert!(!fits_in_argument("a${b"));
    let value = Interpolated::required("TAG", "set TAG");
    assert_eq!(value.render(), "${TAG:?set TAG}");
    assert_eq!(value.as_variable().map(|v| v.is_required()), Some(true));
    assert_eq!(
        Interpolated::with_default("PW", "dev")
            .as_variable()
            .and_then(Variable::literal_default),
        Some("dev")
    );
}

/// Any text, biased towards the characters interpolation is made of.
fn text() -> impl Strategy<Value = String> {
    proptest::collection::vec(
        prop_oneof![
            Just("$".to_owned()),
            Just("{".to_owned()),
            Just("}".to_owned()),
            Just(":".to_owned()),
            Just("-".to_owned()),
            "[a-zA-Z0-9 _/.é]{1,3}",
        ],
        0..6,
    )
    .prop_map(|pieces| pieces.concat())
}

fn name() -> impl Strategy<Value = String> {
    "[A-Za-z_][A-Za-z0-9_]{0,6}"
}

fn interpolated(depth: u32) -> BoxedStrategy<Interpolated> {
    let variable = (name(), proptest::option::of(modifier(depth)))
        .prop_map(|(name, modifier)| Part::Variable(Variable { name, modifier }));
    let part = prop_oneof![text().prop_map(Part::Text), variable];
    proptest::collection::vec(part, 0..4)
        .prop_map(|parts| {
            let mut value = Interpolated::default();
            for part in parts {
                value.push(part);
            }
            value
        })
        .boxed()
}

fn modifier(depth: u32) -> BoxedStrategy<Modifier> {
    let argument = if depth == 0 {
        text().prop_map(Interpolated::text).boxed()
    } else {
        interpolated(depth - 1)
    };
    (
        prop_oneof![
            Just(Operator::Default),
            Just(Operator::Required),
            Just(Operator::Alternative)
        ],
        any::<bool>(),
        argument,
    )
        .prop_map(|(operator, empty_is_unset, argument)| Modifier {
            operator,
            empty_is_unset,
            argument,
        })
        .boxed()
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2000))]

    #[test]
    fn parse_of_render_is_the_value(value in interpolated(2)) {
        prop_assume!(value.is_representable());
        let rendered = value.render();
        prop_assert_eq!(Interpolated::parse(&rendered), Ok(value), "{}", rendered);
    }

    #[test]
    fn parsing_any_text_never_panics_and_rendering_reads_back(text in text()) {
        if let Ok(value) = Interpolated::parse(&text) {
            if value.is_representable() {
                prop_assert_eq!(Interpolated::parse(&value.render()), Ok(value));
            }
        }
    }
}
