//! Rules across files (and the topology, and suppressions): each case lints two or three
//! files together; the production file is the reference the others are compared with.

use expect_test::expect;

use super::Cases;

/// The production side of `db-major-drift`'s near misses: two databases of one engine,
/// `db` (17) and `analytics` (15); each case puts a dev file before it.
const PROD_WITH_TWO_POSTGRES: &str = r#"
        //- docker-compose.prod.yml
        services:
          db:
            image: postgres:17
            healthcheck: { test: [CMD, pg_isready] }
          analytics:
            image: postgres:15
            healthcheck: { test: [CMD, pg_isready] }
        "#;

pub(super) fn db_major_drift(c: &mut Cases) {
    // Matched by name; the finding sits in the file that strays from production.
    c.fires(
        r#"
        //- docker-compose.yml
        services:
          db:
            image: postgres:16
        //- docker-compose.prod.yml
        services:
          db:
            image: postgres:17-alpine
            healthcheck: { test: [CMD, pg_isready] }
        "#,
        expect![[r#"
            docker-compose.yml:3:12: error[db-major-drift]: postgres 16 here (`postgres:16`), 17 in docker-compose.prod.yml (`postgres:17-alpine`) (related: docker-compose.prod.yml:3:12)
        "#]],
    );
    // Matched as the one database of the engine under another name (`pg17` is a major too);
    // an untagged image has no major at all.
    c.fires(
        r#"
        //- docker-compose.yml
        services:
          postgres:
            image: pgvector/pgvector:pg16
        //- docker-compose.prod-sim.yml
        services:
          db:
            image: postgres
        //- docker-compose.prod.yml
        services:
          db:
            image: postgres:17
            healthcheck: { test: [CMD, pg_isready] }
        "#,
        expect![[r#"
            docker-compose.yml:2:3: error[name-drift]: the service `postgres` here is `db` in docker-compose.prod.yml (related: docker-compose.prod.yml:2:3)
            docker-compose.yml:3:12: error[db-major-drift]: postgres 16 here (`pgvector/pgvector:pg16`), 17 in docker-compose.prod.yml (`postgres:17`) (related: docker-compose.prod.yml:3:12)
            docker-compose.prod-sim.yml:3:12: error[db-major-drift]: postgres an unpinned major here (`postgres`), 17 in docker-compose.prod.yml (`postgres:17`) (related: docker-compose.prod.yml:3:12)
            docker-compose.prod-sim.yml:3:12: warning[unpinned-image]: `db` runs `postgres`, which names no version
        "#]],
    );
    // A service matched by name is that service's counterpart only: it is no stand-in for
    // another production database of the engine (`analytics` has no counterpart here).
    let dev_db = r#"
        //- docker-compose.yml
        services:
          db:
            image: postgres:17"#;
    c.misses(&[dev_db, PROD_WITH_TWO_POSTGRES].concat(), expect![""]);
    // One database here cannot stand in for two there: which one it is cannot be told.
    let dev_postgres = r#"
        //- docker-compose.yml
        services:
          postgres:
            image: postgres:16"#;
    c.misses(
        &[dev_postgres, PROD_WITH_TWO_POSTGRES].concat(),
        expect![""],
    );
    // Same major in another spelling; and another engine is not another major.
    c.misses(
        r#"
        //- docker-compose.yml
        services:
          db:
            image: postgres:17.2-alpine
          cache:
            image: redis:7
        //- docker-compose.prod.yml
        services:
          db:
            image: docker.io/library/postgres:17
            healthcheck: { test: [CMD, pg_isready] }
          cache:
            image: valkey/valkey:8
            healthcheck: { test: [CMD, valkey-cli, ping] }
        "#,
        expect![""],
    );
}

pub(super) fn name_drift(c: &mut Cases) {
    // `db` is `shop-db` with a project prefix; `web` builds the same context as `shop-web`;
    // `api` keeps its name but runs as another container.
    c.fires(
        r#"
        //- docker-compose.yml
        services:
          db:
            image: postgres:17
          web:
            build: ./apps/web
          api:
            image: ghcr.io/acme/api:1.0
            container_name: api
          worker:
            image: ghcr.io/acme/worker:1.0
        //- docker-compose.prod-sim.yml
        services:
          shop-db:
            image: postgres:17
          shop-web:
            build: { context: apps/web/ }
          api:
            image: ghcr.io/acme/api:1.0
            container_name: shop-api
          worker:
            image: ghcr.io/acme/worker:1.0
            container_name: shop-worker
        "#,
        expect![[r#"
            docker-compose.yml:2:3: error[name-drift]: the service `db` here is `shop-db` in docker-compose.prod-sim.yml (related: docker-compose.prod-sim.yml:2:3)
            docker-compose.yml:4:3: error[name-drift]: the service `web` here is `shop-web` in docker-compose.prod-sim.yml (related: docker-compose.prod-sim.yml:4:3)
            docker-compose.yml:8:21: error[name-drift]: `api` runs as the container `api` here, `shop-api` in docker-compose.prod-sim.yml (related: docker-compose.prod-sim.yml:8:21)
            docker-compose.yml:9:3: error[name-drift]: `worker` has no container_name here (Compose names it `<project>-worker-1`); docker-compose.prod-sim.yml names it `shop-worker` (related: docker-compose.prod-sim.yml:11:21)
        "#]],
    );
    // The same names; a dev-only service with no counterpart; two candidates of the same
    // image cannot be told apart, so neither is a rename.
    c.misses(
        r#"
        //- docker-compose.yml
        services:
          db:
            image: postgres:17
            container_name: shop-db
          mailpit:
            image: axllent/mailpit:v1.21
          job-a:
            image: ghcr.io/acme/jobs:1.0
        //- docker-compose.prod-sim.yml
        services:
          db:
            image: postgres:17
            container_name: shop-db
          nightly:
            image: ghcr.io/acme/jobs:1.0
          weekly:
            image: ghcr.io/acme/jobs:1.0
        "#,
        expect![[""]],
    );
}

pub(super) fn network_drift(c: &mut Cases) {
    // Dev leaves its services on the default network; production names one.
    c.fires(
        r#"
        //- docker-compose.yml
        services:
          web:
            image: nginx:1.27
        //- docker-compose.prod-sim.yml
        services:
          web:
            image: nginx:1.27
            networks: [backend]
        networks:
          backend: {}
        "#,
        expect![[r#"
            docker-compose.yml:2:3: warning[network-drift]: services here join the default network; in docker-compose.prod-sim.yml they join `backend` (related: docker-compose.prod-sim.yml:4:16)
        "#]],
    );
    // Other keys, the same network on the engine (`name:`), with or without aliases.
    c.misses(
        r#"
        //- docker-compose.yml
        services:
          web:
            image: nginx:1.27
            networks: [net]
        networks:
          net:
            name: shop-network
        //- docker-compose.prod-sim.yml
        services:
          web:
            image: nginx:1.27
            networks:
              backend:
                aliases: [www]
        networks:
          backend:
            name: shop-network
        "#,
        expect![[""]],
    );
}

pub(super) fn host_reference_unknown(c: &mut Cases) {
    // A name another file uses; a URL host; a name that exists, but on another network.
    c.fires(
        r#"
        //- docker-compose.yml
        services:
          postgres:
            image: postgres:17
            networks: [back]
          api:
            image: ghcr.io/acme/api:1.0
            networks: [front]
            environment:
              - DB_HOST=db
              - DATABASE_URL=postgres://app:${DB_PASSWORD}@database:5432/app
              - CACHE_ADDR=postgres:6379
        networks:
          back: {}
          front: {}
        //- docker-compose.prod-sim.yml
        services:
          db:
            image: postgres:17
        "#,
        expect![[r#"
            docker-compose.yml:2:3: error[name-drift]: the service `postgres` here is `db` in docker-compose.prod-sim.yml (related: docker-compose.prod-sim.yml:2:3)
            docker-compose.yml:4:16: warning[network-drift]: services here join `back`, `front`; in docker-compose.prod-sim.yml they join the default network (related: docker-compose.prod-sim.yml:2:3)
            docker-compose.yml:9:17: error[host-reference-unknown]: `DB_HOST` of `api` names the host `db`, which is no service, container or alias on its network in this file (related: docker-compose.prod-sim.yml:2:3)
            docker-compose.yml:10:52: error[host-reference-unknown]: `DATABASE_URL` of `api` names the host `database`, which is no service, container or alias on its network in this file
            docker-compose.yml:11:20: error[host-reference-unknown]: `CACHE_ADDR` of `api` names the host `postgres`, which is no service, container or alias on its network in this file
        "#]],
    );
    host_reference_columns(c);
    // A service, a container name, a hostname, an alias; FQDNs, IPs, localhost, variables
    // and variables not named like hosts are left alone.
    c.misses(
        r#"
        //- docker-compose.yml
        services:
          db:
            image: postgres:17
            container_name: shop-db
          cache:
            image: redis:7
            hostname: redis
            networks:
              default:
                aliases: [sessions]
          api:
            image: ghcr.io/acme/api:1.0
            environment:
              DB_HOST: shop-db
              DATABASE_URL: postgres://app:${DB_PASSWORD}@db:5432/app
              REDIS_URL: redis://redis:6379
              SESSION_SERVERS: sessions:6379, cache:6379
              SMTP_HOST: smtp.example.com
              BIND_ADDR: 0.0.0.0
              OTEL_HOST: localhost
              QUEUE_HOST: ${QUEUE_HOST}
              MODE: db
        "#,
        expect![[""]],
    );
}

/// Where `host-reference-unknown` points: cases of the rule whose findings sit in quoted
/// values or after a character of two bytes, so their columns are what is checked.
fn host_reference_columns(c: &mut Cases) {
    // Quoted mapping values: the host is counted from the value's text, not its opening quote
    // (as in the quoted list item).
    c.fires(
        r#"
        //- docker-compose.yml
        services:
          postgres:
            image: postgres:17
          api:
            image: ghcr.io/acme/api:1.0
            environment:
              DB_HOST: "database"
              MONGO_URL: "mongodb://m1:27017,m2:27017/x"
          worker:
            image: ghcr.io/acme/api:1.0
            environment:
              - "DB_HOST=db"
        "#,
        expect![[r#"
            docker-compose.yml:7:17: error[host-reference-unknown]: `DB_HOST` of `api` names the host `database`, which is no service, container or alias on its network in this file
            docker-compose.yml:8:29: error[host-reference-unknown]: `MONGO_URL` of `api` names the host `m1`, which is no service, container or alias on its network in this file
            docker-compose.yml:8:38: error[host-reference-unknown]: `MONGO_URL` of `api` names the host `m2`, which is no service, container or alias on its network in this file
            docker-compose.yml:12:18: error[host-reference-unknown]: `DB_HOST` of `worker` names the host `db`, which is no service, container or alias on its network in this file
        "#]],
    );
    // A character before the host that takes two bytes: columns count characters.
    c.fires(
        r#"
        //- docker-compose.yml
        services:
          postgres:
            image: postgres:17
          api:
            image: ghcr.io/acme/api:1.0
            environment:
              DATABASE_URL: postgres://jürgen:${PW}@database:5432/app
        "#,
        expect![[r#"
            docker-compose.yml:7:45: error[host-reference-unknown]: `DATABASE_URL` of `api` names the host `database`, which is no service, container or alias on its network in this file
        "#]],
    );
}

pub(super) fn topology_drift(c: &mut Cases) {
    // A value changed by hand, a field dropped, a field added.
    c.fires(
        r#"
        //- topology.toml
        project = "shop"

        [[services]]
        role = "web"
        context = "."
        health = { http = "/health", port = 8080 }
        env = { LOG_LEVEL = "info", API_TOKEN = { secret = "API_TOKEN" } }
        //- docker-compose.prod.yml
        name: shop
        services:
          shop-web:
            container_name: shop-web
            image: shop-web:${TAG:?set TAG}
            environment:
              - API_TOKEN=${API_TOKEN:?set API_TOKEN}
              - LOG_LEVEL=debug
            healthcheck:
              test: [CMD, wget, -q, -O, /dev/null, "http://127.0.0.1:8080/health"]
              interval: 10s
              timeout: 5s
              retries: 5
              start_period: 30s
            restart: unless-stopped
            logging:
              driver: json-file
              options: { max-file: "3", max-size: 10m }
            networks: [shop-network]
            stop_grace_period: 1m
        networks:
          shop-network:
            name: shop-network
        "#,
        expect![[r#"
            docker-compose.prod.yml:3:3: error[topology-drift]: `services.shop-web.cap_drop` is missing here; the topology has `[ALL]` (topology.toml renders for production)
            docker-compose.prod.yml:3:3: error[topology-drift]: `services.shop-web.cpus` is missing here; the topology has `1` (topology.toml renders for production)
            docker-compose.prod.yml:3:3: error[topology-drift]: `services.shop-web.mem_limit` is missing here; the topology has `1g` (topology.toml renders for production)
            docker-compose.prod.yml:3:3: error[topology-drift]: `services.shop-web.pids_limit` is missing here; the topology has `512` (topology.toml renders for production)
            docker-compose.prod.yml:3:3: error[topology-drift]: `services.shop-web.read_only` is missing here; the topology has `true` (topology.toml renders for production)
            docker-compose.prod.yml:3:3: error[topology-drift]: `services.shop-web.security_opt` is missing here; the topology has `[no-new-privileges:true]` (topology.toml renders for production)
            docker-compose.prod.yml:3:3: error[topology-drift]: `services.shop-web.tmpfs` is missing here; the topology has `[/run, /tmp]` (topology.toml renders for production)
            docker-compose.prod.yml:8:19: error[topology-drift]: `services.shop-web.environment.LOG_LEVEL` is `debug` here; the topology has `info` (topology.toml renders for production)
            docker-compose.prod.yml:20:24: error[topology-drift]: `services.shop-web.stop_grace_period` (`1m`) is not in the topology (topology.toml renders for production)
        "#]],
    );
    // The render in other spellings: list environment, another `:?` message, durations in
    // other units, the alias equal to the container name and topo's labels left out.
    c.misses(
        r#"
        //- topology.toml
        project = "shop"

        [[services]]
        role = "web"
        context = "."
        health = { http = "/health", port = 8080 }
        env = { LOG_LEVEL = "info", API_TOKEN = { secret = "API_TOKEN" } }
        //- docker-compose.prod.yml
        name: shop
        services:
          shop-web:
            container_name: shop-web
            image: shop-web:$TAG
            environment:
              - API_TOKEN=${API_TOKEN:?set API_TOKEN}
              - LOG_LEVEL=info
            healthcheck:
              test: [CMD, wget, -q, -O, /dev/null, "http://127.0.0.1:8080/health"]
              interval: 10000ms
              timeout: 5s
              retries: 5
              start_period: 0.5m
            restart: unless-stopped
            read_only: true
            tmpfs: [/run, /tmp]
            cap_drop: [ALL]
            security_opt: ["no-new-privileges:true"]
            mem_limit: 1g
            cpus: 1
            pids_limit: 512
            logging:
              driver: json-file
              options: { max-file: "3", max-size: 10m }
            networks: [shop-network]
        networks:
          shop-network:
            name: shop-network
        "#,
        expect![[""]],
    );
}

pub(super) fn unused_suppression(c: &mut Cases) {
    // An allow that silences nothing, and a misspelt rule id.
    c.fires(
        r#"
        //- docker-compose.yml
        services:
          # topo-lint: allow privileged -- only production checks it
          web:
            image: nginx:1.27
            privileged: true
            environment:
              API_TOKEN: dev-token  # topo-lint: allow literal-secrets
        "#,
        expect![[r#"
            docker-compose.yml:2:22: warning[unused-suppression]: `# topo-lint: allow privileged` suppresses nothing here
            docker-compose.yml:7:18: warning[literal-secret]: `API_TOKEN` of `web` is a literal secret in dev
            docker-compose.yml:7:48: warning[unused-suppression]: `literal-secrets` is not a topo lint rule
        "#]],
    );
    // An apostrophe inside a plain value opens no quoted scalar: the comment after it is one.
    c.misses(
        r#"
        //- docker-compose.prod.yml
        services:
          api:
            image: ghcr.io/acme/api:1.0
            healthcheck: { test: [CMD, "true"] }
            environment:
              API_TOKEN: it's-a-token  # topo-lint: allow literal-secret
        "#,
        expect![[r#"
            (1 suppressed)
        "#]],
    );
    // A block scalar's lines are its text, not comments (`#` in a shell script); the comment
    // after it, less indented, is one.
    c.misses(
        r#"
        //- docker-compose.yml
        services:
          web:
            command: |
              echo hi # topo-lint: allow privileged
              # topo-lint: allow privileged -- still the script
            # topo-lint: allow unpinned-image
            image: nginx
        "#,
        expect![[r#"
            (1 suppressed)
        "#]],
    );
    // Every allow silences something: one above a service covers its whole entry, one at
    // the end of a line covers that line, `allow-file` the file.
    c.misses(
        r#"
        //- docker-compose.yml
        # topo-lint: allow-file unpinned-image
        services:
          # topo-lint: allow literal-secret -- throwaway dev credentials
          web:
            image: nginx
            environment:
              API_TOKEN: dev-token
          db:
            image: postgres
            environment:
              POSTGRES_PASSWORD: dev  # topo-lint: allow literal-secret
        "#,
        expect![[r#"
            (4 suppressed)
        "#]],
    );
}
