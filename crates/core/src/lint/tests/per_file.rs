//! Rules that look at one file at a time (some peek at a sibling file or the host: the
//! production build target, a Dockerfile's stages, a host `node_modules`).

use expect_test::expect;

use super::Cases;

pub(super) fn generated_path_bind_mount(c: &mut Cases) {
    // Onto a generated path, from one, and a source directory whose host `node_modules`
    // and `.next` would shadow the image's (no volume covers them).
    c.fires(
        r#"
        //- docker-compose.yml
        services:
          web:
            image: node:22
            volumes:
              - ./node_modules:/srv/modules
              - ./cache:/app/.next/cache
              - ./apps/web:/app
        //- apps/web/node_modules/
        //- apps/web/.next/
        "#,
        expect![[r#"
            docker-compose.yml:5:9: error[generated-path-bind-mount]: `./node_modules:/srv/modules` bind-mounts the host from the container-owned `node_modules` of `web`
            docker-compose.yml:6:9: error[generated-path-bind-mount]: `./cache:/app/.next/cache` bind-mounts the host onto the container-owned `.next` of `web`
            docker-compose.yml:7:9: error[generated-path-bind-mount]: `./apps/web:/app` brings the host's `./apps/web/.next` into `web` at `/app/.next`, over the container's own
            docker-compose.yml:7:9: error[generated-path-bind-mount]: `./apps/web:/app` brings the host's `./apps/web/node_modules` into `web` at `/app/node_modules`, over the container's own
        "#]],
    );
    // The same source with volumes over the generated paths; a generated path as a named
    // volume; a directory whose name only contains `dist`; a source with no host copy.
    c.misses(
        r#"
        //- docker-compose.yml
        services:
          web:
            image: node:22
            volumes:
              - ./apps/web:/app
              - /app/node_modules
              - next-cache:/app/.next
              - ./docs/distribution:/srv/docs
              - ./apps/api:/api
        volumes:
          next-cache: {}
        //- apps/web/node_modules/
        //- apps/web/.next/
        //- apps/api/src/main.ts
        "#,
        expect![[""]],
    );
}

pub(super) fn bind_mount_in_prod(c: &mut Cases) {
    // Short and long syntax, in prod-sim and production.
    c.fires(
        r#"
        //- docker-compose.prod-sim.yml
        services:
          proxy:
            image: nginx:1.27
            volumes:
              - ./nginx.conf:/etc/nginx/nginx.conf:ro
        //- docker-compose.prod.yml
        services:
          proxy:
            image: nginx:1.27
            healthcheck: { test: [CMD, nginx, -t] }
            volumes:
              - type: bind
                source: ./nginx.conf
                target: /etc/nginx/nginx.conf
        "#,
        expect![[r#"
            docker-compose.prod-sim.yml:5:9: error[bind-mount-in-prod]: `proxy` bind-mounts the host path `./nginx.conf` into `/etc/nginx/nginx.conf` in prod-sim
            docker-compose.prod.yml:6:9: error[bind-mount-in-prod]: `proxy` bind-mounts the host path `./nginx.conf` into `/etc/nginx/nginx.conf` in production
        "#]],
    );
    // The same bind mount in dev; named, anonymous and tmpfs mounts in production.
    c.misses(
        r#"
        //- docker-compose.yml
        services:
          proxy:
            image: nginx:1.27
            volumes:
              - ./nginx.conf:/etc/nginx/nginx.conf:ro
        //- docker-compose.prod.yml
        services:
          proxy:
            image: nginx:1.27
            healthcheck: { test: [CMD, nginx, -t] }
            volumes:
              - cache:/var/cache/nginx
              - /var/log/nginx
              - type: tmpfs
                target: /tmp
        volumes:
          cache: {}
        "#,
        expect![""],
    );
}

pub(super) fn dev_command_in_prod(c: &mut Cases) {
    c.fires(
        r#"
        //- docker-compose.prod-sim.yml
        services:
          web:
            image: ghcr.io/acme/web:1.0
            command: npm run dev
          worker:
            image: ghcr.io/acme/web:1.0
            command: ["sh", "-c", "npm ci && nodemon src/worker.js"]
          api:
            image: ghcr.io/acme/api:1.0
            entrypoint: [node, --inspect=0.0.0.0:9229, dist/main.js]
        "#,
        expect![[r#"
            docker-compose.prod-sim.yml:4:14: error[dev-command-in-prod]: the command of `web` in prod-sim is a development command: `npm run dev` runs the development script
            docker-compose.prod-sim.yml:7:14: error[dev-command-in-prod]: the command of `worker` in prod-sim is a development command: `nodemon` restarts on file changes
            docker-compose.prod-sim.yml:10:17: error[dev-command-in-prod]: the entrypoint of `api` in prod-sim is a development command: `--inspect=0.0.0.0:9229` opens a debugger port
        "#]],
    );
    // Production start commands (`vite preview` is not the dev server); a dev command in dev.
    c.misses(
        r#"
        //- docker-compose.yml
        services:
          web:
            image: ghcr.io/acme/web:1.0
            command: npm run dev
        //- docker-compose.prod-sim.yml
        services:
          web:
            image: ghcr.io/acme/web:1.0
            command: npm start
          preview:
            image: ghcr.io/acme/web:1.0
            command: [npx, vite, preview]
          api:
            image: ghcr.io/acme/api:1.0
            entrypoint: ["sh", "-c", "npm run migrate && node dist/main.js"]
        "#,
        expect![[""]],
    );
}

pub(super) fn build_target_not_prod(c: &mut Cases) {
    // Another target than production's; no target where the Dockerfile's last stage is not
    // production's; a development stage with no production file to compare with.
    c.fires(
        r#"
        //- docker-compose.prod-sim.yml
        services:
          web:
            build: { context: ./web, target: dev }
          api:
            build: ./api
        //- docker-compose.prod.yml
        services:
          web:
            build: { context: ./web, target: prod }
            healthcheck: { test: [CMD, "true"] }
          api:
            build: { context: ./api, target: runtime }
            healthcheck: { test: [CMD, "true"] }
        //- api/Dockerfile
        FROM node:22 AS runtime
        CMD ["node", "main.js"]
        FROM runtime AS debug
        CMD ["node", "--inspect", "main.js"]
        "#,
        expect![[r#"
            docker-compose.prod-sim.yml:3:38: error[build-target-not-prod]: prod-sim builds `web` from the target `dev`; production builds `prod` (related: docker-compose.prod.yml:3:38)
            docker-compose.prod-sim.yml:5:5: error[build-target-not-prod]: prod-sim builds `api` from the Dockerfile's last stage `debug`; production builds `runtime` (related: docker-compose.prod.yml:6:38)
        "#]],
    );
    c.fires(
        r#"
        //- docker-compose.prod-sim.yml
        services:
          web:
            build:
              context: ./web
              target: builder
          api:
            build:
              context: ./api
              dockerfile: docker/api.Dockerfile
        //- api/docker/api.Dockerfile
        FROM node:22
        FROM node:22 AS development
        "#,
        expect![[r#"
            docker-compose.prod-sim.yml:5:15: error[build-target-not-prod]: prod-sim builds `web` from the target `builder`, a development or build stage
            docker-compose.prod-sim.yml:7:5: error[build-target-not-prod]: prod-sim builds `api` from the Dockerfile's last stage `development`, a development stage
        "#]],
    );
    // The production target; no target where the last stage is production's; a stage name
    // that is no development stage; a Dockerfile that cannot be read.
    c.misses(
        r#"
        //- docker-compose.prod-sim.yml
        services:
          web:
            build: { context: ./web, target: prod }
          api:
            build: ./api
          jobs:
            build: { context: ./jobs, target: runtime }
          admin:
            build: ./admin
        //- docker-compose.prod.yml
        services:
          web:
            build: { context: ./web, target: prod }
            healthcheck: { test: [CMD, "true"] }
          api:
            build: { context: ./api, target: runtime }
            healthcheck: { test: [CMD, "true"] }
        //- api/Dockerfile
        FROM node:22 AS deps
        FROM node:22-slim AS runtime
        "#,
        expect![""],
    );
}

pub(super) fn db_port_published(c: &mut Cases) {
    // On every interface (an error), on loopback only (a warning), long syntax.
    c.fires(
        r#"
        //- docker-compose.prod.yml
        services:
          db:
            image: postgres:17
            healthcheck: { test: [CMD, pg_isready] }
            ports:
              - "5432:5432"
          cache:
            image: redis:7.4
            healthcheck: { test: [CMD, redis-cli, ping] }
            ports:
              - 127.0.0.1:6379:6379
              - target: 6380
                published: "6380"
        "#,
        expect![[r#"
            docker-compose.prod.yml:6:9: error[db-port-published]: the postgres port 5432 of `db` is published on the host in production
            docker-compose.prod.yml:11:9: warning[db-port-published]: the redis port 6379 of `cache` is published on the host (loopback only) in production
            docker-compose.prod.yml:12:9: error[db-port-published]: the redis port 6380 of `cache` is published on the host in production
        "#]],
    );
    // `expose` is not publishing; a published port of another image; the database port
    // published in dev.
    c.misses(
        r#"
        //- docker-compose.yml
        services:
          db:
            image: postgres:17
            ports: ["5432:5432"]
        //- docker-compose.prod.yml
        services:
          db:
            image: postgres:17
            healthcheck: { test: [CMD, pg_isready] }
            expose: ["5432"]
          proxy:
            image: nginx:1.27
            healthcheck: { test: [CMD, nginx, -t] }
            ports: ["80:80"]
        "#,
        expect![""],
    );
}

pub(super) fn literal_secret(c: &mut Cases) {
    // A literal (a warning in dev), `$$` being a literal dollar, a password in a URL.
    c.fires(
        r#"
        //- docker-compose.yml
        services:
          db:
            image: postgres:17
            environment:
              POSTGRES_PASSWORD: hunter2
          api:
            image: ghcr.io/acme/api:1.0
            environment:
              - JWT_SECRET=pa$$word
              - DATABASE_URL=postgres://app:hunter2@db:5432/app
              - STRIPE_API_KEY=sk_test_123
        "#,
        expect![[r#"
            docker-compose.yml:5:26: warning[literal-secret]: `POSTGRES_PASSWORD` of `db` is a literal secret in dev
            docker-compose.yml:9:20: warning[literal-secret]: `JWT_SECRET` of `api` is a literal secret in dev
            docker-compose.yml:10:22: warning[literal-secret]: `DATABASE_URL` of `api` holds a literal password in its URL
            docker-compose.yml:11:24: warning[literal-secret]: `STRIPE_API_KEY` of `api` is a literal secret in dev
        "#]],
    );
    // In production: an error, and a `${VAR:-default}` falls back to a literal.
    c.fires(
        r#"
        //- docker-compose.prod.yml
        services:
          api:
            image: ghcr.io/acme/api:1.0
            healthcheck: { test: [CMD, "true"] }
            environment:
              SESSION_SECRET: abc123
              DB_PASSWORD: ${DB_PASSWORD:-devpass}
        "#,
        expect![[r#"
            docker-compose.prod.yml:6:23: error[literal-secret]: `SESSION_SECRET` of `api` is a literal secret in production
            docker-compose.prod.yml:7:20: error[literal-secret]: `DB_PASSWORD` of `api` falls back to a literal default in production
        "#]],
    );
    // Names about secrets that are no secret, a path to one, read from the environment
    // (with a `:?` message, or a default outside production), an empty value, a URL whose
    // password is a variable.
    c.misses(
        r#"
        //- docker-compose.yml
        services:
          api:
            image: ghcr.io/acme/api:1.0
            environment:
              PASSWORD_MIN_LENGTH: "12"
              TOKEN_TTL: 3600
              PRIMARY_KEY_COLUMN: id
              DB_PASSWORD_FILE: /run/secrets/db_password
              JWT_SECRET: ${JWT_SECRET:?set JWT_SECRET}
              COOKIE_SECRET: ${COOKIE_SECRET:-dev-cookie}
              API_TOKEN: ""
              DATABASE_URL: postgres://app:${DB_PASSWORD}@api:5432/app
        "#,
        expect![[""]],
    );
    // In production, a default that is itself a variable is no literal.
    c.misses(
        r#"
        //- docker-compose.prod.yml
        services:
          api:
            image: ghcr.io/acme/api:1.0
            healthcheck: { test: [CMD, "true"] }
            environment:
              DB_PASSWORD: ${DB_PASSWORD:-${POSTGRES_PASSWORD}}
              JWT_SECRET: ${JWT_SECRET:-$OTHER_SECRET}
        "#,
        expect![""],
    );
}

pub(super) fn unpinned_image(c: &mut Cases) {
    // No tag (a warning in dev), `latest` (an error in production), a `latest` default, a
    // registry port that is no tag.
    c.fires(
        r#"
        //- docker-compose.yml
        services:
          proxy:
            image: nginx
          web:
            image: localhost:5000/web
        //- docker-compose.prod.yml
        services:
          proxy:
            image: nginx:latest
            healthcheck: { test: [CMD, nginx, -t] }
          web:
            image: ghcr.io/acme/web:${TAG:-latest}
            healthcheck: { test: [CMD, "true"] }
          api:
            image: ${REGISTRY}/api
            healthcheck: { test: [CMD, "true"] }
          worker:
            image: ghcr.io/${ORG}/worker
            healthcheck: { test: [CMD, "true"] }
        "#,
        expect![[r#"
            docker-compose.yml:3:12: warning[unpinned-image]: `proxy` runs `nginx`, which names no version
            docker-compose.yml:5:12: warning[unpinned-image]: `web` runs `localhost:5000/web`, which names no version
            docker-compose.prod.yml:3:12: error[unpinned-image]: `proxy` runs `nginx:latest`, which names no version
            docker-compose.prod.yml:6:12: error[unpinned-image]: `web` runs `ghcr.io/acme/web:${TAG:-latest}`, which names no version
            docker-compose.prod.yml:9:12: error[unpinned-image]: `api` runs `${REGISTRY}/api`, which names no version
            docker-compose.prod.yml:12:12: error[unpinned-image]: `worker` runs `ghcr.io/${ORG}/worker`, which names no version
        "#]],
    );
    // A version, a digest, a tag variable, and the image a `build:` produces.
    c.misses(
        r#"
        //- docker-compose.yml
        services:
          proxy:
            image: nginx:1.27
          cache:
            image: redis@sha256:3e8b2f5a
          web:
            image: ghcr.io/acme/web:${TAG}
          api:
            image: api
            build: ./api
          tool:
            image: ${TOOL_IMAGE}
        "#,
        expect![[""]],
    );
}

pub(super) fn missing_healthcheck(c: &mut Cases) {
    // Waited for with `service_healthy` (an error, in any mode; a disabled check is none);
    // a long-running production service without one (a warning).
    c.fires(
        r#"
        //- docker-compose.yml
        services:
          db:
            image: postgres:17
            healthcheck:
              disable: true
          api:
            image: ghcr.io/acme/api:1.0
            depends_on:
              db:
                condition: service_healthy
        //- docker-compose.prod.yml
        services:
          api:
            image: ghcr.io/acme/api:1.0
        "#,
        expect![[r#"
            docker-compose.yml:2:3: error[missing-healthcheck]: `api` waits for `db` to be healthy, but it has no health check (related: docker-compose.yml:9:7)
            docker-compose.prod.yml:2:3: warning[missing-healthcheck]: `api` has no health check in production: nothing tells a deploy it is ready
        "#]],
    );
    // Production jobs (`restart: "no"`, or waited for to complete), a check switched off on
    // purpose, a dev service nobody waits for, a health check that is there.
    c.misses(
        r#"
        //- docker-compose.yml
        services:
          mailpit:
            image: axllent/mailpit:v1.21
        //- docker-compose.prod.yml
        services:
          migrate:
            image: ghcr.io/acme/api:1.0
            restart: "no"
          seed:
            image: ghcr.io/acme/api:1.0
          metrics:
            image: ghcr.io/acme/metrics:1.0
            healthcheck: { disable: true }
          api:
            image: ghcr.io/acme/api:1.0
            healthcheck: { test: [CMD, "true"] }
            depends_on:
              seed: { condition: service_completed_successfully }
        "#,
        expect![""],
    );
}

pub(super) fn privileged(c: &mut Cases) {
    c.fires(
        r#"
        //- docker-compose.prod.yml
        services:
          agent:
            image: ghcr.io/acme/agent:1.0
            healthcheck: { test: [CMD, "true"] }
            privileged: true
            network_mode: host
            pid: host
            cap_add: [NET_ADMIN, SYS_ADMIN]
            volumes:
              - /var/run/docker.sock:/var/run/docker.sock:ro
        "#,
        expect![[r#"
            docker-compose.prod.yml:5:17: error[privileged]: `agent` runs privileged (every device, every capability) in production
            docker-compose.prod.yml:6:19: error[privileged]: `agent` shares the host's network namespace (`network_mode: host`) in production
            docker-compose.prod.yml:7:10: error[privileged]: `agent` shares the host's pid namespace (`pid: host`) in production
            docker-compose.prod.yml:8:26: error[privileged]: `agent` adds the capability `SYS_ADMIN` in production
            docker-compose.prod.yml:10:9: error[bind-mount-in-prod]: `agent` bind-mounts the host path `/var/run/docker.sock` into `/var/run/docker.sock` in production
            docker-compose.prod.yml:10:9: error[privileged]: `agent` mounts the Docker socket (root on the host) in production
        "#]],
    );
    // Capabilities as Docker reads them: in any case, with or without `CAP_`.
    c.fires(
        r#"
        //- docker-compose.prod.yml
        services:
          agent:
            image: ghcr.io/acme/agent:1.0
            healthcheck: { test: [CMD, "true"] }
            cap_add: [sys_admin, all]
          sidecar:
            image: ghcr.io/acme/agent:1.0
            healthcheck: { test: [CMD, "true"] }
            cap_add: [Cap_Sys_Admin]
        "#,
        expect![[r#"
            docker-compose.prod.yml:5:15: error[privileged]: `agent` adds the capability `sys_admin` in production
            docker-compose.prod.yml:5:26: error[privileged]: `agent` adds the capability `all` in production
            docker-compose.prod.yml:9:15: error[privileged]: `sidecar` adds the capability `Cap_Sys_Admin` in production
        "#]],
    );
    // Explicitly unprivileged, a harmless capability, a private namespace; privileges in dev.
    c.misses(
        r#"
        //- docker-compose.yml
        services:
          agent:
            image: ghcr.io/acme/agent:1.0
            privileged: true
            network_mode: host
        //- docker-compose.prod.yml
        services:
          agent:
            image: ghcr.io/acme/agent:1.0
            healthcheck: { test: [CMD, "true"] }
            privileged: false
            cap_add: [NET_BIND_SERVICE]
            ipc: private
            network_mode: bridge
        "#,
        expect![""],
    );
}
