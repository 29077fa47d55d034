//! Dockerfiles only BuildKit builds, as Compose builds them: a cache mount that persists
//! across runs of the project, a bind mount from another stage, an independent stage. The
//! classic builder (`DOCKER_BUILDKIT=0`) refuses them naming the line.

use super::{text, Stack};

/// The fixture's prod target, rewritten to need BuildKit.
const DOCKERFILE: &str = r#"FROM topo-test/busybox:latest AS base
WORKDIR /srv

FROM base AS dev
CMD ["httpd", "-f", "-p", "8080", "-h", "/srv/www"]

FROM base AS assets
RUN mkdir -p /out && echo "assets built in their own stage" > /out/assets.txt

FROM base AS prod
ARG GREETING=unset
COPY www /srv/www
RUN echo "$GREETING" > /srv/www/greeting.txt
RUN --mount=type=cache,target=/cache sh -c 'echo run >> /cache/runs && wc -l < /cache/runs | tr -d " " > /srv/www/cache-runs.txt'
RUN --mount=type=bind,from=assets,source=/out,target=/assets cp /assets/assets.txt /srv/www/
CMD ["httpd", "-f", "-p", "8080", "-h", "/srv/www"]
"#;

#[test]
fn buildkit_only_dockerfiles_build_and_cache_mounts_persist() {
    let with_args = |t: String| {
        t.replacen(
            "context = \"apps/web\"\n",
            "context = \"apps/web\"\nbuild_args = { GREETING = { dev = \"hello dev\", prod = \"hello prod\" } }\n",
            1,
        )
    };
    let Some(stack) = Stack::new("BuildKit-only Dockerfile", "simkit", with_args) else {
        return;
    };
    let web = stack.dir.path().join("apps/web");
    std::fs::write(web.join("Dockerfile"), DOCKERFILE).expect("write");
    unique_sources(&web);
    let read = |file: &str| {
        text(&common_docker(&[
            "exec",
            &stack.container("web"),
            "cat",
            &format!("/srv/www/{file}"),
        ]))
        .trim()
        .to_owned()
    };

    let first = stack.sim(&["up"]);
    assert!(first.status.success(), "{}", text(&first.stderr));
    assert_eq!(read("assets.txt"), "assets built in their own stage");
    // The topology's build arguments, the prod value for prod-sim.
    assert_eq!(read("greeting.txt"), "hello prod");
    let runs: u32 = read("cache-runs.txt").parse().expect("a count");
    // A source change rebuilds the step; the cache mount still holds the earlier run's file.
    std::fs::write(web.join("www/changed.html"), "changed\n").expect("write");
    let second = stack.sim(&["up"]);
    assert!(second.status.success(), "{}", text(&second.stderr));
    let progress = text(&second.stderr);
    assert!(
        progress.contains("[prod 3/4] RUN --mount=type=cache"),
        "{progress}"
    );
    assert!(
        !progress.contains("[dev "),
        "the dev stage is not built for prod: {progress}"
    );
    assert_eq!(read("cache-runs.txt"), (runs + 1).to_string());
    // Other build arguments are another image: rebuilt, not reused.
    let topology = std::fs::read_to_string(stack.topology()).expect("topology");
    std::fs::write(
        stack.topology(),
        topology.replace("hello prod", "hello again"),
    )
    .expect("write");
    let third = stack.sim(&["up"]);
    assert!(third.status.success(), "{}", text(&third.stderr));
    assert_eq!(read("greeting.txt"), "hello again");

    // The classic builder cannot: refused at the line, nothing started.
    stack.sim(&["down", "--volumes"]);
    std::fs::write(web.join("www/changed.html"), "again\n").expect("write");
    let classic = stack.sim_with(&[("DOCKER_BUILDKIT", "0")], &["up"]);
    let stderr = text(&classic.stderr);
    assert_eq!(classic.status.code(), Some(1), "{stderr}");
    assert!(stderr.contains("failed at Dockerfile:14"), "{stderr}");
    assert!(stderr.contains("`RUN --mount`"), "{stderr}");
    assert!(stderr.contains("needs BuildKit"), "{stderr}");
    assert!(stderr.contains("the classic builder builds"), "{stderr}");
    assert_eq!(stack.leftovers(), Vec::<String>::new());
}

fn common_docker(args: &[&str]) -> Vec<u8> {
    std::process::Command::new("docker")
        .args(args)
        .output()
        .expect("docker runs")
        .stdout
}

/// A build secret reaches the step that mounts it, from the environment of the process that
/// builds, and is nowhere in the image: not in its history, labels, environment or layers.
#[test]
fn build_secrets_reach_the_build_and_stay_out_of_the_image() {
    const VALUE: &str = "s3cr3t-7f1c-topo-test-value";
    let with_secret = |t: String| {
        t.replacen(
            "context = \"apps/web\"\n",
            "context = \"apps/web\"\nbuild_secrets = [\"TOPO_TEST_TOKEN\"]\n",
            1,
        )
    };
    let Some(stack) = Stack::new("build secrets", "simsecret", with_secret) else {
        return;
    };
    let web = stack.dir.path().join("apps/web");
    let dockerfile = std::fs::read_to_string(web.join("Dockerfile")).expect("Dockerfile");
    std::fs::write(
        web.join("Dockerfile"),
        dockerfile.replace(
            "COPY www /srv/www",
            "COPY www /srv/www\nRUN --mount=type=secret,id=TOPO_TEST_TOKEN sha256sum /run/secrets/TOPO_TEST_TOKEN | cut -d' ' -f1 > /srv/www/secret.txt",
        ),
    )
    .expect("write");
    unique_sources(&web);
    // Without the variable: refused before building, the variable named.
    let unset = stack.sim(&["build"]);
    let stderr = text(&unset.stderr);
    assert_eq!(unset.status.code(), Some(1), "{stderr}");
    assert!(
        stderr.contains("TOPO_TEST_TOKEN") && stderr.contains("not set"),
        "{stderr}"
    );

    let built = stack.sim_with(&[("TOPO_TEST_TOKEN", VALUE)], &["up"]);
    assert!(built.status.success(), "{}", text(&built.stderr));
    let read = common_docker(&[
        "exec",
        &stack.container("web"),
        "cat",
        "/srv/www/secret.txt",
    ]);
    let expected = std::process::Command::new("sh")
        .args([
            "-c",
            &format!("printf %s '{VALUE}' | sha256sum | cut -d' ' -f1"),
        ])
        .output()
        .expect("sha256sum runs");
    assert_eq!(
        text(&read).trim(),
        text(&expected.stdout).trim(),
        "the step read the secret's value"
    );
    let image = format!("{}-web:prod-sim", stack.project);
    let history = text(&common_docker(&["history", "--no-trunc", &image]));
    assert!(!history.contains(VALUE), "{history}");
    let inspected = text(&common_docker(&["image", "inspect", &image]));
    assert!(!inspected.contains(VALUE), "{inspected}");
    let saved = std::process::Command::new("docker")
        .args(["save", &image])
        .output()
        .expect("docker save");
    assert!(saved.status.success());
    // `docker save` writes each layer as an uncompressed tar inside the archive.
    assert!(
        !saved
            .stdout
            .windows(VALUE.len())
            .any(|w| w == VALUE.as_bytes()),
        "the secret is in a layer"
    );
    // The rendered prod-sim file passes the secret by name, never by value.
    let render = std::process::Command::new(assert_cmd::cargo::cargo_bin("topo"))
        .args(["render", "--mode", "prod-sim", "-t"])
        .arg(stack.topology())
        .output()
        .expect("topo runs");
    assert!(render.status.success(), "{}", text(&render.stderr));
    let rendered = std::fs::read_to_string(stack.dir.path().join("docker-compose.prod-sim.yml"))
        .expect("rendered");
    assert!(
        rendered.contains("environment: TOPO_TEST_TOKEN"),
        "{rendered}"
    );
    assert!(!rendered.contains(VALUE));
}

/// Sources no earlier run built: images outlive a test run, and a reused image would run
/// no build step at all.
fn unique_sources(context: &std::path::Path) {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .expect("after 1970")
        .as_nanos();
    std::fs::write(context.join("www/run.html"), nanos.to_string()).expect("write");
}
