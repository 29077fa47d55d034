//! `unconfined-in-prod`: what topo renders by default, missing from a hand-written
//! production file.

use expect_test::expect;

use super::Cases;

pub(super) fn unconfined_in_prod(c: &mut Cases) {
    c.fires(
        r#"
        //- docker-compose.prod.yml
        services:
          api:
            image: ghcr.io/acme/api:1.0
            healthcheck: { test: [CMD, "true"] }
            cap_drop: [NET_RAW]
        "#,
        expect![[r#"
            docker-compose.prod.yml:2:3: warning[unconfined-in-prod]: `api` has a writable root filesystem (no `read_only: true`) in production
            docker-compose.prod.yml:2:3: warning[unconfined-in-prod]: `api` has no memory limit (`mem_limit`) in production
            docker-compose.prod.yml:2:3: warning[unconfined-in-prod]: `api` has no process limit (`pids_limit`) in production
            docker-compose.prod.yml:2:3: warning[unconfined-in-prod]: `api` keeps the engine's default capabilities (no `cap_drop: [ALL]`) in production
        "#]],
    );
    // Confined in both spellings of the limits; a service with `configs:` may stay writable.
    c.misses(
        r#"
        //- docker-compose.prod.yml
        services:
          api:
            image: ghcr.io/acme/api:1.0
            healthcheck: { test: [CMD, "true"] }
            cap_drop: [all]
            read_only: true
            mem_limit: 512m
            pids_limit: 100
          proxy:
            image: nginx:1.27
            healthcheck: { test: [CMD, "true"] }
            cap_drop: [ALL]
            configs: [{ source: routes, target: /etc/nginx/conf.d/default.conf }]
            deploy: { resources: { limits: { memory: 256m, pids: 64 } } }
        configs:
          routes: { content: "" }
        "#,
        expect![[""]],
    );
    // A database's password: a file, not a variable (`POSTGRES_PASSWORD_FILE` is fine).
    c.fires(
        r#"
        //- docker-compose.prod.yml
        services:
          db:
            image: postgres:17
            healthcheck: { test: [CMD, "true"] }
            cap_drop: [ALL]
            read_only: true
            mem_limit: 1g
            pids_limit: 100
            environment:
              POSTGRES_PASSWORD: ${DB_PASSWORD:?set it}
          other:
            image: postgres:17
            healthcheck: { test: [CMD, "true"] }
            cap_drop: [ALL]
            read_only: true
            mem_limit: 1g
            pids_limit: 100
            environment:
              POSTGRES_PASSWORD_FILE: /run/secrets/DB_PASSWORD
        "#,
        expect![[r#"
            docker-compose.prod.yml:2:3: warning[unconfined-in-prod]: `db` passes its password in the variable `POSTGRES_PASSWORD` (the image reads `POSTGRES_PASSWORD_FILE`: a `secrets:` file under /run/secrets) in production
        "#]],
    );
}
