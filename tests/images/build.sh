#!/usr/bin/env bash
# tests/images/build.sh — build, fully offline, the Docker base images topo's integration tests use.
#
#   tests/images/build.sh                  # all eight images
#   tests/images/build.sh IMAGE...         # only these: busybox, nginx, postgres:17, postgres:15, postgres
#                                          # (both majors), redis, mariadb, rabbitmq, memcached; a topo-test/
#                                          # prefix is accepted
#
# No container registry is reachable on the test machines, so nothing is pulled: each image is a root
# filesystem assembled from Debian packages (Debian's mirrors are reachable) and `docker import`ed.
#
#   topo-test/busybox:latest  Debian's busybox-static: /bin/busybox and a symlink per applet, /etc/passwd
#                             and /etc/group (root, nobody), /tmp 1777, /www/index.html (so that
#                             `httpd -f -p 8080 -h /www` + `wget -q -O /dev/null http://127.0.0.1:8080/`
#                             succeed). CMD ["sh"].
#   topo-test/postgres:17     `debootstrap --variant=minbase trixie` + postgresql-17 (no recommends), with
#                             an entrypoint honouring the official `postgres` image's contract
#                             (POSTGRES_USER / POSTGRES_PASSWORD / POSTGRES_DB, PGDATA=/var/lib/postgresql/data,
#                             initdb on an empty data dir, postgres exec'd as PID 1 by the postgres user).
#   topo-test/postgres:15     the same with `debootstrap --variant=minbase bookworm` + postgresql-15 and the
#                             same entrypoint (for a database of another major than a topology pins).
#   topo-test/nginx:latest    `debootstrap --variant=minbase trixie` + nginx, laid out as the official
#                             `nginx` image: /etc/nginx/nginx.conf includes /etc/nginx/conf.d/*.conf only
#                             (no sites-enabled), conf.d/default.conf serves /usr/share/nginx/html on port
#                             80, access/error logs are the container's stdout/stderr, workers run as user
#                             nginx. CMD ["nginx", "-g", "daemon off;"], STOPSIGNAL SIGQUIT, EXPOSE 80;
#                             `kill -HUP 1` / `nginx -s reload` reload the configuration.
#   topo-test/redis:7         `debootstrap --variant=minbase bookworm` + redis-server 7.0, laid out as the
#                             official `redis` image: data in /data, an entrypoint that gives /data to the
#                             redis user and drops root (setpriv), redis-cli for health and `INFO server`.
#   topo-test/mariadb:11.8    `debootstrap --variant=minbase trixie` + mariadb-server 11.8 (no recommends),
#                             laid out as the official `mariadb` image: data in /var/lib/mysql, the socket in
#                             /run/mysqld, mariadbd exec'd as PID 1 by the mysql user (setpriv), listening on
#                             0.0.0.0:3306 with skip-name-resolve; an entrypoint honouring the official
#                             image's contract (MARIADB_USER / MARIADB_PASSWORD / MARIADB_DATABASE and the
#                             root-password options, the *_FILE variants, init on an empty data dir) and its
#                             /usr/local/bin/healthcheck.sh (--connect over TCP, --innodb_initialized).
#                             root@localhost also authenticates by unix socket: `docker exec C mariadb -e ...`
#                             needs no password. CMD ["mariadbd"], EXPOSE 3306. On a read-only root filesystem
#                             /tmp (InnoDB's temporary files) and /run/mysqld (or /run) must be tmpfs.
#   topo-test/rabbitmq:3      `debootstrap --variant=minbase bookworm` + rabbitmq-server 3.10 (Erlang 25), laid
#                             out as the official `rabbitmq` image: data (and the Erlang cookie the server makes
#                             on its first start) in /var/lib/rabbitmq, which is also HOME, /root/.erlang.cookie a
#                             link to it; upstream's scripts on the PATH (not Debian's su wrappers), so
#                             `docker exec C rabbitmq-diagnostics ...` runs as root; conf.d/10-defaults.conf as
#                             the official image's (log.console = true, guest allowed from the network); its
#                             entrypoint gives /var/lib/rabbitmq to the rabbitmq user and drops root (setpriv);
#                             rabbitmq-server itself creates RABBITMQ_DEFAULT_USER / RABBITMQ_DEFAULT_PASS on a
#                             node's first start. The node is rabbit@<hostname>, as in the official image (its
#                             data does not follow a new container unless RABBITMQ_NODENAME is fixed). No Python
#                             (rabbitmqadmin is the management plugin's client). CMD ["rabbitmq-server"]. On a
#                             read-only root filesystem /var/log/rabbitmq must be writable (it writes a log file
#                             there whatever the console logging).
#   topo-test/memcached:1     `debootstrap --variant=minbase bookworm` + memcached 1.6 without Perl (which serves
#                             only the package's scripts), as the official `memcached` image: run as the memcache
#                             user from the start (USER), CMD ["memcached"] on port 11211, options alone run
#                             memcached. No client inside (`echo version | nc HOST 11211` from busybox).
#
# Content cache: the recipe is this file. Its sha256 is stored in each image as the label
# `topo.test-recipe`; an image whose tag already carries the current hash is reused, so a second run
# does nothing (well under a second). Editing this file rebuilds every image on its next build.
#
# Environment: TOPO_SHARED — the shared dir holding tools/debian-newer (default: <repo>/../shared).
# Needs root (debootstrap, chroot) and a running Docker engine.
set -Eeuo pipefail
export LC_ALL=C
export PATH=$PATH:/usr/local/sbin:/usr/sbin:/sbin

readonly BUSYBOX_TAG=topo-test/busybox:latest
readonly NGINX_TAG=topo-test/nginx:latest
readonly REDIS_TAG=topo-test/redis:7
readonly MARIADB_TAG=topo-test/mariadb:11.8
readonly RABBITMQ_TAG=topo-test/rabbitmq:3
readonly MEMCACHED_TAG=topo-test/memcached:1
readonly POSTGRES_REPO=topo-test/postgres
readonly RECIPE_LABEL=topo.test-recipe
# PostgreSQL major -> the Debian suite that packages it.
declare -rA PG_SUITE=([17]=trixie [15]=bookworm)

script=$(readlink -f "${BASH_SOURCE[0]}")
here=$(dirname "$script")
repo=$(git -C "$here" rev-parse --show-toplevel 2>/dev/null || (cd "$here/../.." && pwd))
shared=${TOPO_SHARED:-$repo/../shared}
debian_newer=$shared/tools/debian-newer
recipe=$(sha256sum "$script" | cut -d' ' -f1)

log() { printf '[images] %s\n' "$*"; }
die() { printf '[images] error: %s\n' "$*" >&2; exit 1; }
trap 'rc=$?; printf "[images] error: command failed (exit %s) at line %s: %s\n" "$rc" "$LINENO" "$BASH_COMMAND" >&2' ERR

usage() { sed -n '2,8p' "$script" | sed 's/^# \{0,1\}//'; }

# ---------------------------------------------------------------------------------------------------
# Scratch directories: one per image, under /var/tmp, removed on every exit path. Anything mounted
# below one (debootstrap mounts /proc and /sys in its target) is unmounted first; a directory that
# still has mounts is left in place rather than risk deleting through them.
work=""
mounts_under() { awk -v p="$1/" 'substr($5, 1, length(p)) == p { print $5 }' /proc/self/mountinfo | sort -r; }
drop_work() {
  [[ -n $work && -d $work ]] || { work=""; return 0; }
  local m
  for m in $(mounts_under "$work"); do umount "$m" 2>/dev/null || umount -l "$m" 2>/dev/null || true; done
  if [[ -n $(mounts_under "$work") ]]; then
    printf '[images] warning: %s still has mounts; not removing it\n' "$work" >&2
  else
    rm -rf --one-file-system "$work"
  fi
  work=""
}
new_work() {
  work=$(mktemp -d "/var/tmp/topo-image-$1.XXXXXX")
  chmod 755 "$work"
}
trap 'drop_work' EXIT
trap 'printf "[images] error: interrupted (SIGINT)\n" >&2; exit 130' INT
trap 'printf "[images] error: terminated (SIGTERM)\n" >&2; exit 143' TERM

now() { printf '%s' "$EPOCHREALTIME"; }
since() { awk -v a="$1" -v b="$EPOCHREALTIME" 'BEGIN { printf "%.1f", b - a }'; }

# Run a noisy command with its output in a log file; on failure show the log's tail and stop.
quietly() {
  local logfile=$1; shift
  if ! "$@" >"$logfile" 2>&1; then
    printf '[images] error: %s failed; last lines of its output:\n' "$1" >&2
    tail -n 40 "$logfile" | sed 's/^/    /' >&2
    die "$1 failed (full log was $logfile, removed with the scratch dir)"
  fi
}

# ---------------------------------------------------------------------------------------------------
# Content cache.
recipe_of() { docker image inspect -f "{{ index .Config.Labels \"$RECIPE_LABEL\" }}" "$1" 2>/dev/null || true; }
image_id() { docker image inspect -f '{{.Id}}' "$1" 2>/dev/null || true; }
image_size() { docker image inspect -f '{{.Size}}' "$1" | awk '{ printf "%.1f MB", $1 / 1e6 }'; }

# After re-tagging, the previous build of a tag is dangling: remove it (quietly keep it if in use).
drop_old() {
  local old=$1 tag=$2
  [[ -n $old && $old != "$(image_id "$tag")" ]] || return 0
  docker rmi "$old" >/dev/null 2>&1 || true
}

# ---------------------------------------------------------------------------------------------------
# Debian sources.
debian_uri() {
  local line uri=""
  if [[ -x $debian_newer ]] && line=$("$debian_newer" sources-line 2>/dev/null); then
    uri=$(awk '{ print $2 }' <<<"$line")
  fi
  [[ -n $uri ]] || uri=$(awk '/^URIs:/ { print $2; exit }' /etc/apt/sources.list.d/debian.sources 2>/dev/null || true)
  [[ -n $uri ]] || uri=$(awk '/^deb / { print $2; exit }' /etc/apt/sources.list 2>/dev/null || true)
  [[ -n $uri ]] || uri=http://deb.debian.org/debian
  printf '%s' "$uri"
}

# apt-get with a wait for apt's locks: someone (e.g. a background `apt-get install debootstrap`) may
# hold them. Retries for up to ~10 minutes while the failure is a lock, fails at once otherwise.
apt_get() {
  local out i
  for ((i = 0; i < 120; i++)); do
    if out=$(DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=30 "$@" 2>&1); then return 0; fi
    if grep -qiE 'could not get lock|unable to lock|unable to acquire|lock-frontend|resource temporarily unavailable' <<<"$out"; then
      ((i % 6 == 0)) && log "apt is locked by another process; waiting"
      sleep 5
      continue
    fi
    printf '%s\n' "$out" >&2
    return 1
  done
  printf '%s\n' "$out" >&2
  return 1
}

ensure_debootstrap() {
  command -v debootstrap >/dev/null && return 0
  # A background install may be under way (its log ends with "done" when finished, and apt or dpkg
  # runs meanwhile): give it a few minutes.
  local i
  for ((i = 0; i < 60; i++)); do
    command -v debootstrap >/dev/null && return 0
    [[ -f /tmp/debootstrap.log && $(tail -n 1 /tmp/debootstrap.log 2>/dev/null) != done ]] || break
    if command -v pgrep >/dev/null && ! pgrep -x 'apt-get|apt|dpkg' >/dev/null; then break; fi
    ((i == 0)) && log "debootstrap is being installed in the background (/tmp/debootstrap.log); waiting"
    sleep 5
  done
  command -v debootstrap >/dev/null && return 0
  log "installing debootstrap (apt-get install -y -qq debootstrap)"
  if ! apt_get install -y -qq debootstrap >/dev/null; then
    log "install failed; running apt-get update -qq and retrying"
    apt_get update -qq || die "apt-get update failed"
    apt_get install -y -qq debootstrap >/dev/null || die "could not install debootstrap"
  fi
  command -v debootstrap >/dev/null || die "debootstrap still missing after installing it"
}

# Download busybox-static's .deb into DIR: trixie's via debian-newer, else bookworm's via apt-get.
# begin_build TAG WORK [root]: returns 1 when TAG is already built from this recipe; otherwise
# sets the caller's t0 and old (bash's dynamic scope), logs, and makes the work directory.
begin_build() {
  local tag=$1
  if [[ $(recipe_of "$tag") == "$recipe" ]]; then
    log "$tag: reused (recipe ${recipe:0:12} already built)"
    return 1
  fi
  [[ ${3:-} != root || $(id -u) == 0 ]] || die "building $tag needs root (debootstrap, chroot)"
  t0=$(now)
  old=$(image_id "$tag")
  log "$tag: building (recipe ${recipe:0:12})"
  new_work "$2"
}

download_busybox() {
  local dir=$1
  if [[ -x $debian_newer ]] && "$debian_newer" download "$dir" busybox-static >/dev/null 2>&1 &&
    compgen -G "$dir/busybox-static_*.deb" >/dev/null; then
    log "  got busybox-static from trixie (debian-newer)"
    return 0
  fi
  log "  debian-newer unavailable or failed ($debian_newer); using bookworm's apt-get download"
  if ! (cd "$dir" && apt-get -q -o APT::Sandbox::User=root download busybox-static >/dev/null 2>&1); then
    apt_get update -qq || die "apt-get update failed"
    (cd "$dir" && apt-get -q -o APT::Sandbox::User=root download busybox-static >/dev/null) ||
      die "could not download busybox-static"
  fi
}

# ---------------------------------------------------------------------------------------------------
build_busybox() {
  local tag=$BUSYBOX_TAG t0 old root x bb a
  begin_build "$tag" busybox || return 0
  root=$work/root x=$work/x
  install -d -o "$(id -u _apt 2>/dev/null || echo 0)" "$work/debs"
  download_busybox "$work/debs"
  dpkg-deb -x "$(compgen -G "$work/debs/busybox-static_*.deb" | head -n 1)" "$x"
  for bb in "$x/bin/busybox" "$x/usr/bin/busybox"; do [[ -x $bb ]] && break; done
  [[ -x $bb ]] || die "no busybox binary in the busybox-static package"

  log "  assembling the rootfs"
  install -d -m 755 "$root"/{bin,sbin,usr/bin,usr/sbin,etc,root,www,proc,sys,dev,var}
  install -d -m 1777 "$root/tmp" "$root/var/tmp"
  chmod 700 "$root/root"
  install -m 755 "$bb" "$root/bin/busybox"
  "$root/bin/busybox" --list-full | while read -r a; do
    [[ -n $a && $a != bin/busybox ]] || continue
    mkdir -p "$root/$(dirname "$a")"
    ln -sfn /bin/busybox "$root/$a"
  done
  for a in bin/sh usr/sbin/httpd usr/bin/wget bin/sleep usr/bin/nc bin/cat bin/echo bin/false; do
    [[ -L $root/$a ]] || die "busybox has no applet $a"
  done
  printf '%s\n' 'root:x:0:0:root:/root:/bin/sh' 'nobody:x:65534:65534:nobody:/nonexistent:/bin/false' >"$root/etc/passwd"
  printf '%s\n' 'root:x:0:' 'nobody:x:65534:' >"$root/etc/group"
  printf '%s\n' '<!doctype html><title>topo-test</title><p>ok</p>' >"$root/www/index.html"

  log "  docker import"
  tar --numeric-owner --owner=0 --group=0 -C "$root" -cf - . |
    docker import \
      -c 'ENV PATH=/usr/sbin:/usr/bin:/sbin:/bin' \
      -c 'CMD ["sh"]' \
      -c "LABEL $RECIPE_LABEL=$recipe" \
      -m "topo test image (tests/images/build.sh, recipe $recipe)" \
      - "$tag" >/dev/null
  drop_work
  drop_old "$old" "$tag"
  log "$tag: built in $(since "$t0") s ($(image_size "$tag"))"
}

# ---------------------------------------------------------------------------------------------------
# The postgres image's entrypoint: the part of the official image's docker-entrypoint.sh the tests
# rely on. Written into the rootfs as /usr/local/bin/docker-entrypoint.sh.
write_pg_entrypoint() {
  cat >"$1" <<'ENTRYPOINT'
#!/usr/bin/env bash
# docker-entrypoint.sh (topo-test/postgres) — follows the official postgres image's contract:
# POSTGRES_USER (default postgres), POSTGRES_PASSWORD (required unless POSTGRES_HOST_AUTH_METHOD=trust),
# POSTGRES_DB (default = user), POSTGRES_INITDB_ARGS, POSTGRES_HOST_AUTH_METHOD (default scram-sha-256),
# the *_FILE variants, /docker-entrypoint-initdb.d (*.sh, *.sql, *.sql.gz), PGDATA.
set -Eeuo pipefail
: "${PGDATA:=/var/lib/postgresql/data}"
export PGDATA

file_env() { # VAR [DEFAULT]: VAR, or the contents of the file named by VAR_FILE, or DEFAULT
  local var=$1 file_var=${1}_FILE val=${2:-}
  if [[ -n ${!var:-} && -n ${!file_var:-} ]]; then
    echo "error: both $var and $file_var are set (but are exclusive)" >&2
    exit 1
  fi
  if [[ -n ${!var:-} ]]; then
    val=${!var}
  elif [[ -n ${!file_var:-} ]]; then
    val=$(<"${!file_var}")
  fi
  export "$var=$val"
  unset "$file_var"
}

# As root, commands run as the postgres user; setpriv needs no setuid bit, so it also works under
# --security-opt no-new-privileges:true.
as_pg=()
if [[ $(id -u) == 0 ]]; then
  if command -v setpriv >/dev/null; then
    as_pg=(setpriv --reuid=postgres --regid=postgres --init-groups --)
  elif command -v runuser >/dev/null; then
    as_pg=(runuser -u postgres --)
  else
    echo "error: neither setpriv nor runuser is available" >&2
    exit 1
  fi
fi

quote_ident() { local s=${1//\"/\"\"}; printf '"%s"' "$s"; }

init_db() {
  file_env POSTGRES_PASSWORD
  file_env POSTGRES_USER postgres
  file_env POSTGRES_DB "$POSTGRES_USER"
  file_env POSTGRES_INITDB_ARGS
  : "${POSTGRES_HOST_AUTH_METHOD:=scram-sha-256}"
  if [[ -z $POSTGRES_PASSWORD && $POSTGRES_HOST_AUTH_METHOD != trust ]]; then
    cat >&2 <<'EOF'
Error: Database is uninitialized and superuser password is not specified.
       You must specify POSTGRES_PASSWORD to a non-empty value for the superuser.
       For example, "-e POSTGRES_PASSWORD=password" on "docker run".
       (Or set POSTGRES_HOST_AUTH_METHOD=trust to allow all connections without a password.)
EOF
    exit 1
  fi

  local pwfile="" args=()
  if [[ -n $POSTGRES_PASSWORD ]]; then
    pwfile=$(mktemp /tmp/pgpass.XXXXXX)
    printf '%s\n' "$POSTGRES_PASSWORD" >"$pwfile"
    [[ ${#as_pg[@]} == 0 ]] || chown postgres:postgres "$pwfile"
    args+=(--pwfile="$pwfile")
  fi
  echo "initdb: initializing $PGDATA (superuser $POSTGRES_USER)"
  # shellcheck disable=SC2086 # POSTGRES_INITDB_ARGS is a list of words, as in the official image
  "${as_pg[@]}" initdb -D "$PGDATA" --username="$POSTGRES_USER" "${args[@]}" \
    --encoding=UTF8 --locale=C.UTF-8 \
    --auth-local=trust --auth-host="$POSTGRES_HOST_AUTH_METHOD" $POSTGRES_INITDB_ARGS
  [[ -z $pwfile ]] || rm -f "$pwfile"
  printf '\nhost all all all %s\n' "$POSTGRES_HOST_AUTH_METHOD" >>"$PGDATA/pg_hba.conf"

  if [[ $POSTGRES_DB != postgres ]]; then
    # Single-user mode: no server (and no TCP listener) is up while the database is created.
    echo "initdb: creating database $POSTGRES_DB"
    printf 'CREATE DATABASE %s OWNER %s;\n' "$(quote_ident "$POSTGRES_DB")" "$(quote_ident "$POSTGRES_USER")" |
      "${as_pg[@]}" postgres --single -D "$PGDATA" -c exit_on_error=true -c listen_addresses= postgres >/dev/null
  fi

  local f scripts=()
  shopt -s nullglob
  scripts=(/docker-entrypoint-initdb.d/*)
  shopt -u nullglob
  if ((${#scripts[@]})); then
    # A temporary server on the Unix socket only (listen_addresses=''), as in the official image.
    "${as_pg[@]}" pg_ctl -D "$PGDATA" -o "-c listen_addresses=''" -w start
    export PGUSER=$POSTGRES_USER PGDATABASE=$POSTGRES_DB PGHOST=/run/postgresql
    for f in "${scripts[@]}"; do
      case $f in
        *.sh) if [[ -x $f ]]; then echo "running $f"; "$f"; else echo "sourcing $f"; . "$f"; fi ;;
        *.sql) echo "running $f"; psql -v ON_ERROR_STOP=1 --no-password --no-psqlrc -f "$f" ;;
        *.sql.gz) echo "running $f"; gzip -dc "$f" | psql -v ON_ERROR_STOP=1 --no-password --no-psqlrc ;;
        *) echo "ignoring $f" ;;
      esac
    done
    unset PGUSER PGDATABASE PGHOST
    "${as_pg[@]}" pg_ctl -D "$PGDATA" -m fast -w stop
  fi
  echo "initdb: done; starting the server"
}

if [[ $# == 0 || ${1:0:1} == - ]]; then
  set -- postgres "$@"
fi
if [[ $1 != postgres ]]; then
  exec "$@"
fi

if [[ ${#as_pg[@]} != 0 ]]; then
  mkdir -p "$PGDATA" /run/postgresql
  chown postgres:postgres "$PGDATA" /run/postgresql
  find "$PGDATA" \! -user postgres -exec chown postgres:postgres '{}' +
  chmod 2775 /run/postgresql
fi
chmod 700 "$PGDATA" || :
if [[ ! -s $PGDATA/PG_VERSION ]]; then
  init_db
else
  echo "PostgreSQL data in $PGDATA already initialized (version $(<"$PGDATA/PG_VERSION")); skipping initdb"
fi
unset POSTGRES_PASSWORD
exec "${as_pg[@]}" "$@"
ENTRYPOINT
  chmod 755 "$1"
}

# ---------------------------------------------------------------------------------------------------
# Debian root filesystems (postgres and nginx images), built in $work/root.

# debootstrap --variant=minbase SUITE with the comma-separated PACKAGES included (dependencies resolved,
# no Recommends), in $work/root, split into its two stages: after the first (download + unpack), the
# function named by HOOK (may be empty) runs with the rootfs as argument, before any package is
# configured. Services are never started in the chroot (policy-rc.d). Everything mounted below the
# rootfs is unmounted afterwards.
debootstrap_rootfs() {
  local suite=$1 packages=$2 hook=${3:-} root=$work/root uri t m
  ensure_debootstrap
  uri=$(debian_uri)
  t=$(now)
  log "  debootstrap --variant=minbase --include=$packages $suite ($uri): download + unpack"
  quietly "$work/debootstrap-1.log" debootstrap --variant=minbase --foreign \
    --include="$packages" "$suite" "$root" "$uri"
  # No fsync per unpacked file (the rootfs is thrown away if anything fails); no service starts.
  mkdir -p "$root/etc/dpkg/dpkg.cfg.d" "$root/usr/sbin"
  echo force-unsafe-io >"$root/etc/dpkg/dpkg.cfg.d/topo-unsafe-io"
  printf '#!/bin/sh\nexit 101\n' >"$root/usr/sbin/policy-rc.d"
  chmod 755 "$root/usr/sbin/policy-rc.d"
  [[ -z $hook ]] || "$hook" "$root"
  log "  ... $(since "$t") s; debootstrap --second-stage: configure"
  t=$(now)
  quietly "$work/debootstrap-2.log" chroot "$root" /usr/bin/env -i \
    PATH=/usr/sbin:/usr/bin:/sbin:/bin HOME=/root DEBIAN_FRONTEND=noninteractive \
    /debootstrap/debootstrap --second-stage
  log "  ... $(since "$t") s"
  for m in $(mounts_under "$root"); do umount "$m" 2>/dev/null || umount -l "$m"; done
  [[ -z $(mounts_under "$root") ]] || die "could not unmount everything below $root"
  rm -f "$root/etc/dpkg/dpkg.cfg.d/topo-unsafe-io" "$root/usr/sbin/policy-rc.d"
}

# No package caches or lists, docs, man pages or message translations (LANG is C.UTF-8), no logs, and
# not the files debootstrap copied from this host (Docker provides them).
slim_rootfs() {
  local root=$1
  rm -rf "$root"/var/lib/apt/lists/* "$root"/var/cache/apt/* "$root"/var/cache/debconf/*-old \
    "$root"/usr/share/doc/* "$root"/usr/share/man/* "$root"/usr/share/info/* "$root"/usr/share/locale/* \
    "$root"/var/log/*.log "$root"/var/log/apt/* "$root"/debootstrap \
    "$root/etc/resolv.conf" "$root/etc/hostname"
}

# drop_packages ROOT PACKAGE...: purge what a test image never runs though a package it keeps depends on
# it (an interpreter for the package's extra scripts): dpkg --force-depends leaves the dependent installed.
drop_packages() {
  local root=$1
  shift
  quietly "$work/dpkg-purge.log" chroot "$root" /usr/bin/env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin \
    DEBIAN_FRONTEND=noninteractive dpkg --purge --force-depends "$@"
}

# import_rootfs ROOT TAG STOPSIGNAL [CHANGE...]: `docker import` ROOT with the Dockerfile instructions
# CHANGE... and the recipe label, then set STOPSIGNAL and tag the result TAG: this engine's
# `docker import -c` rejects STOPSIGNAL ("not a valid change command", Docker 20.10), so a two-line
# build on top of the (untagged) import sets it, offline. TAG only ever names a finished image.
import_rootfs() {
  local root=$1 tag=$2 signal=$3 t a id changes=()
  shift 3
  for a in "$@" "LABEL $RECIPE_LABEL=$recipe"; do changes+=(-c "$a"); done
  t=$(now)
  log "  docker import"
  id=$(tar --numeric-owner -C "$root" --exclude='./proc/*' --exclude='./sys/*' --exclude='./dev/*' -cf - . |
    docker import "${changes[@]}" -m "topo test image (tests/images/build.sh, recipe $recipe)" -)
  printf 'FROM %s\nSTOPSIGNAL %s\n' "$id" "$signal" >"$work/Dockerfile"
  # Its output (the legacy builder's deprecation notice) only shows if it fails.
  if ! docker build -q -t "$tag" - <"$work/Dockerfile" >"$work/docker-build.log" 2>&1; then
    docker rmi "$id" >/dev/null 2>&1 || true
    printf '[images] error: docker build failed; its output:\n' >&2
    sed 's/^/    /' "$work/docker-build.log" >&2
    die "could not set STOPSIGNAL on the imported image"
  fi
  log "  ... $(since "$t") s"
}

# ---------------------------------------------------------------------------------------------------
# build_postgres MAJOR: topo-test/postgres:MAJOR from Debian's postgresql-MAJOR (suite PG_SUITE[MAJOR]).
no_main_cluster() { # debootstrap hook: postgresql-common creates no "main" cluster (no initdb at build time)
  mkdir -p "$1/etc/postgresql-common/createcluster.d"
  echo 'create_main_cluster = false' >"$1/etc/postgresql-common/createcluster.d/topo-no-main.conf"
}

build_postgres() {
  local major=$1 suite=${PG_SUITE[$1]} tag=$POSTGRES_REPO:$1 t0 old root f
  begin_build "$tag" "postgres$major" root || return 0
  root=$work/root
  debootstrap_rootfs "$suite" "postgresql-$major" no_main_cluster

  log "  configuring the rootfs"
  [[ -x $root/usr/lib/postgresql/$major/bin/postgres ]] || die "postgresql-$major is not installed in the rootfs"
  chroot "$root" id postgres >/dev/null || die "no postgres user in the rootfs"
  chroot "$root" sh -c 'command -v setpriv || command -v runuser' >/dev/null ||
    die "neither setpriv nor runuser in the rootfs"
  # No cluster from the package (in case one was created anyway).
  rm -rf "$root/etc/postgresql/$major" "$root/var/lib/postgresql/$major"
  slim_rootfs "$root"
  # As the official image: listen on all addresses by default (initdb copies this sample).
  f=$root/usr/share/postgresql/$major/postgresql.conf.sample
  sed -ri "s!^#?(listen_addresses)\s*=\s*\S+.*!\1 = '*'!" "$f"
  grep -q "^listen_addresses = '\*'" "$f" || die "could not set listen_addresses in $f"
  install -d -o 0 -g 0 -m 755 "$root/docker-entrypoint-initdb.d"
  install -d -m 2775 "$root/run/postgresql"
  install -d -m 700 "$root/var/lib/postgresql/data"
  chroot "$root" chown postgres:postgres /run/postgresql /var/lib/postgresql /var/lib/postgresql/data
  write_pg_entrypoint "$root/usr/local/bin/docker-entrypoint.sh"
  ln -sfn usr/local/bin/docker-entrypoint.sh "$root/docker-entrypoint.sh"

  # STOPSIGNAL: the official image stops with SIGINT (fast shutdown: open sessions are cut, no
  # timeout, no crash recovery).
  import_rootfs "$root" "$tag" SIGINT \
    "ENV PATH=/usr/lib/postgresql/$major/bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin" \
    "ENV PG_MAJOR=$major" \
    'ENV PGDATA=/var/lib/postgresql/data' \
    'ENV LANG=C.UTF-8' \
    'VOLUME /var/lib/postgresql/data' \
    'EXPOSE 5432' \
    'ENTRYPOINT ["docker-entrypoint.sh"]' \
    'CMD ["postgres"]'
  drop_work
  drop_old "$old" "$tag"
  log "$tag: built in $(since "$t0") s ($(image_size "$tag"))"
}

# ---------------------------------------------------------------------------------------------------
# The nginx image's configuration: the official image's nginx.conf (plus Debian's dynamic modules, if
# any are installed), its conf.d/default.conf and welcome page.
write_nginx_conf() {
  local root=$1
  cat >"$root/etc/nginx/nginx.conf" <<'CONF'
user  nginx;
worker_processes  auto;

error_log  /var/log/nginx/error.log notice;
pid        /run/nginx.pid;

include /etc/nginx/modules-enabled/*.conf;

events {
    worker_connections  1024;
}

http {
    include       /etc/nginx/mime.types;
    default_type  application/octet-stream;

    log_format  main  '$remote_addr - $remote_user [$time_local] "$request" '
                      '$status $body_bytes_sent "$http_referer" '
                      '"$http_user_agent" "$http_x_forwarded_for"';

    access_log  /var/log/nginx/access.log  main;

    sendfile        on;

    keepalive_timeout  65;

    include /etc/nginx/conf.d/*.conf;
}
CONF
  # Only IPv4 (the official image adds [::]:80 only where IPv6 is available).
  cat >"$root/etc/nginx/conf.d/default.conf" <<'CONF'
server {
    listen       80;
    server_name  localhost;

    location / {
        root   /usr/share/nginx/html;
        index  index.html index.htm;
    }

    error_page   500 502 503 504  /50x.html;
    location = /50x.html {
        root   /usr/share/nginx/html;
    }
}
CONF
  cat >"$root/usr/share/nginx/html/index.html" <<'HTML'
<!DOCTYPE html>
<html>
<head>
<title>Welcome to nginx!</title>
</head>
<body>
<h1>Welcome to nginx!</h1>
<p>If you see this page, the nginx web server is successfully installed and working
(topo-test/nginx, built offline from Debian's nginx package).</p>
</body>
</html>
HTML
  cat >"$root/usr/share/nginx/html/50x.html" <<'HTML'
<!DOCTYPE html>
<html>
<head>
<title>Error</title>
</head>
<body>
<h1>An error occurred.</h1>
<p>Sorry, the page you are looking for is currently unavailable.</p>
</body>
</html>
HTML
}

build_nginx() {
  local tag=$NGINX_TAG t0 old root version
  begin_build "$tag" nginx root || return 0
  root=$work/root
  debootstrap_rootfs trixie nginx

  log "  configuring the rootfs"
  [[ -x $root/usr/sbin/nginx ]] || die "nginx is not installed in the rootfs"
  [[ -x $root/bin/sh ]] || die "no /bin/sh in the rootfs"
  version=$(chroot "$root" dpkg-query -W -f '${Version}' nginx)
  # The official image's worker user: nginx, uid/gid 101 (when free).
  if ! chroot "$root" getent passwd nginx >/dev/null; then
    local id=101
    if chroot "$root" getent group 101 >/dev/null || chroot "$root" getent passwd 101 >/dev/null; then id=""; fi
    chroot "$root" groupadd --system ${id:+--gid "$id"} nginx
    chroot "$root" useradd --system --gid nginx ${id:+--uid "$id"} --no-create-home \
      --home-dir /nonexistent --shell /usr/sbin/nologin --comment 'nginx user' nginx
  fi
  # Nothing from Debian's sites-available / sites-enabled (its default site) or /var/www.
  rm -rf "$root/etc/nginx/sites-available" "$root/etc/nginx/sites-enabled" "$root/var/www"
  rm -f "$root"/etc/nginx/conf.d/*
  mkdir -p "$root/usr/share/nginx/html"
  rm -f "$root"/usr/share/nginx/html/*
  write_nginx_conf "$root"
  slim_rootfs "$root"
  install -d -m 755 "$root/var/log/nginx" "$root/var/lib/nginx" "$root/run"
  rm -f "$root"/var/log/nginx/*
  chroot "$root" nginx -t -q || die "nginx -t fails in the rootfs"
  rm -f "$root"/var/log/nginx/* "$root/run/nginx.pid"
  # As the official image: the logs are the container's stdout and stderr.
  ln -sfn /dev/stdout "$root/var/log/nginx/access.log"
  ln -sfn /dev/stderr "$root/var/log/nginx/error.log"

  # STOPSIGNAL SIGQUIT, as the official image: graceful shutdown (workers finish their requests).
  import_rootfs "$root" "$tag" SIGQUIT \
    'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
    "ENV NGINX_VERSION=${version%%-*}" \
    'EXPOSE 80' \
    'CMD ["nginx", "-g", "daemon off;"]'
  drop_work
  drop_old "$old" "$tag"
  log "$tag: built in $(since "$t0") s ($(image_size "$tag"))"
}

# ---------------------------------------------------------------------------------------------------
# build_redis: topo-test/redis:7 from bookworm's redis-server (7.0), an accessory for the tests.
build_redis() {
  local tag=$REDIS_TAG t0 old root
  begin_build "$tag" redis root || return 0
  root=$work/root
  debootstrap_rootfs bookworm redis-server
  log "  configuring the rootfs"
  [[ -x $root/usr/bin/redis-server && -x $root/usr/bin/redis-cli ]] || die "redis is not installed in the rootfs"
  install -d -m 755 "$root/data"
  chroot "$root" chown redis:redis /data
  cat >"$root/usr/local/bin/docker-entrypoint.sh" <<'ENTRYPOINT'
#!/bin/sh
# docker-entrypoint.sh (topo-test/redis): as the official redis image, /data is the redis user's and
# the server runs as that user (setpriv needs no setuid bit: it works under no-new-privileges).
set -e
if [ "$(id -u)" = 0 ]; then
  find /data \! -user redis -exec chown redis:redis '{}' +
  exec setpriv --reuid=redis --regid=redis --init-groups "$0" "$@"
fi
exec "$@"
ENTRYPOINT
  chmod 755 "$root/usr/local/bin/docker-entrypoint.sh"
  slim_rootfs "$root"
  import_rootfs "$root" "$tag" SIGTERM \
    'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
    'WORKDIR /data' \
    'EXPOSE 6379' \
    'ENTRYPOINT ["/usr/local/bin/docker-entrypoint.sh"]' \
    'CMD ["redis-server", "--protected-mode", "no", "--dir", "/data"]'
  drop_work
  drop_old "$old" "$tag"
  log "$tag: built in $(since "$t0") s ($(image_size "$tag"))"
}

# ---------------------------------------------------------------------------------------------------
# build_rabbitmq: topo-test/rabbitmq:3 from bookworm's rabbitmq-server (3.10), an accessory for the tests.
build_rabbitmq() {
  local tag=$RABBITMQ_TAG t0 old root version script
  begin_build "$tag" rabbitmq root || return 0
  root=$work/root
  debootstrap_rootfs bookworm rabbitmq-server
  log "  configuring the rootfs"
  [[ -x $root/usr/lib/rabbitmq/bin/rabbitmq-server && -x $root/usr/lib/rabbitmq/bin/rabbitmq-diagnostics ]] ||
    die "rabbitmq-server is not installed in the rootfs"
  chroot "$root" id rabbitmq >/dev/null || die "no rabbitmq user in the rootfs"
  version=$(chroot "$root" dpkg-query -W -f '${Version}' rabbitmq-server)
  [[ $version == 3.* ]] || die "rabbitmq-server is $version, not 3.x"
  # As the official image: upstream's scripts on the PATH, run as whoever calls them (root included, so
  # `docker exec C rabbitmq-diagnostics ...` works), not Debian's wrappers (which re-run the CLI through
  # `su rabbitmq` and send the server's output to /var/log/rabbitmq/startup_log).
  for script in "$root"/usr/lib/rabbitmq/bin/rabbitmq*; do
    [[ -L $script ]] || continue
    ln -sfn "/usr/lib/rabbitmq/bin/${script##*/}" "$root/usr/sbin/${script##*/}"
  done
  # No management plugin, so no rabbitmqadmin (its client) and no Python for it.
  rm -f "$root/usr/bin/rabbitmqadmin"
  drop_packages "$root" python3 # first: its prerm runs python3.11
  drop_packages "$root" python3-minimal python3.11 python3.11-minimal libpython3-stdlib libpython3.11-minimal \
    libpython3.11-stdlib
  # No state from the package's postinst (its Erlang cookie, an empty mnesia directory): the server
  # makes both on its first start, in the data directory, which is also the rabbitmq user's HOME.
  rm -rf "$root/var/lib/rabbitmq" "$root"/var/log/rabbitmq/* "$root"/etc/rabbitmq/*
  install -d -m 1777 "$root/var/lib/rabbitmq" "$root/etc/rabbitmq" "$root/etc/rabbitmq/conf.d" "$root/var/log/rabbitmq"
  chroot "$root" chown rabbitmq:rabbitmq /var/lib/rabbitmq /etc/rabbitmq /etc/rabbitmq/conf.d /var/log/rabbitmq
  # As the official image: root's CLI finds the server's cookie whatever its HOME.
  ln -sfn /var/lib/rabbitmq/.erlang.cookie "$root/root/.erlang.cookie"
  cat >"$root/etc/rabbitmq/conf.d/10-defaults.conf" <<'CONF'
## The official rabbitmq image's defaults (topo-test/rabbitmq).
## allow access to the guest user from anywhere on the network
loopback_users.guest = false

## Send all logs to stdout/TTY. Necessary to see logs when running via
## a container
log.console = true
CONF
  chroot "$root" chown rabbitmq:rabbitmq /etc/rabbitmq/conf.d/10-defaults.conf
  cat >"$root/usr/local/bin/docker-entrypoint.sh" <<'ENTRYPOINT'
#!/usr/bin/env bash
# docker-entrypoint.sh (topo-test/rabbitmq) — the official rabbitmq image's (3.9 and later): as root, the
# data directory becomes the rabbitmq user's and the script runs again as that user (setpriv needs no
# setuid bit: it also works under no-new-privileges). RABBITMQ_DEFAULT_USER, RABBITMQ_DEFAULT_PASS and
# RABBITMQ_DEFAULT_VHOST are read by rabbitmq-server itself, on a node's first start; the variables the
# official image no longer supports are refused as it refuses them.
set -euo pipefail

if [[ ${1:-} == rabbitmq* && $(id -u) == 0 ]]; then
  if [[ $1 == rabbitmq-server ]]; then
    find /var/lib/rabbitmq \! -user rabbitmq -exec chown rabbitmq '{}' +
  fi
  exec setpriv --reuid=rabbitmq --regid=rabbitmq --init-groups "${BASH_SOURCE[0]}" "$@"
fi

deprecated=(
  RABBITMQ_DEFAULT_PASS_FILE RABBITMQ_DEFAULT_USER_FILE
  RABBITMQ_MANAGEMENT_SSL_CACERTFILE RABBITMQ_MANAGEMENT_SSL_CERTFILE RABBITMQ_MANAGEMENT_SSL_DEPTH
  RABBITMQ_MANAGEMENT_SSL_FAIL_IF_NO_PEER_CERT RABBITMQ_MANAGEMENT_SSL_KEYFILE RABBITMQ_MANAGEMENT_SSL_VERIFY
  RABBITMQ_SSL_CACERTFILE RABBITMQ_SSL_CERTFILE RABBITMQ_SSL_DEPTH RABBITMQ_SSL_FAIL_IF_NO_PEER_CERT
  RABBITMQ_SSL_KEYFILE RABBITMQ_SSL_VERIFY RABBITMQ_VM_MEMORY_HIGH_WATERMARK
)
old_env=""
for var in "${deprecated[@]}"; do
  if [[ -n ${!var:-} ]]; then
    echo "error: $var is set but deprecated" >&2
    old_env=1
  fi
done
if [[ -n $old_env ]]; then
  echo "error: deprecated environment variables detected; use a configuration file instead" >&2
  exit 1
fi

# If the long and short hostnames differ, use long names.
if [[ -z ${RABBITMQ_USE_LONGNAME:-} && $(hostname) != "$(hostname -s)" ]]; then
  export RABBITMQ_USE_LONGNAME=true
fi

exec "$@"
ENTRYPOINT
  chmod 755 "$root/usr/local/bin/docker-entrypoint.sh"
  slim_rootfs "$root"
  import_rootfs "$root" "$tag" SIGTERM \
    'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
    'ENV RABBITMQ_DATA_DIR=/var/lib/rabbitmq' \
    "ENV RABBITMQ_VERSION=${version%%-*}" \
    'ENV HOME=/var/lib/rabbitmq' \
    'ENV LANG=C.UTF-8' \
    'ENV LANGUAGE=C.UTF-8' \
    'ENV LC_ALL=C.UTF-8' \
    'VOLUME /var/lib/rabbitmq' \
    'EXPOSE 4369 5671 5672 25672' \
    'ENTRYPOINT ["docker-entrypoint.sh"]' \
    'CMD ["rabbitmq-server"]'
  drop_work
  drop_old "$old" "$tag"
  log "$tag: built in $(since "$t0") s ($(image_size "$tag"))"
}

# ---------------------------------------------------------------------------------------------------
# build_memcached: topo-test/memcached:1 from bookworm's memcached (1.6), an accessory for the tests.
build_memcached() {
  local tag=$MEMCACHED_TAG t0 old root version
  begin_build "$tag" memcached root || return 0
  root=$work/root
  debootstrap_rootfs bookworm memcached
  log "  configuring the rootfs"
  [[ -x $root/usr/bin/memcached ]] || die "memcached is not installed in the rootfs"
  chroot "$root" id memcache >/dev/null || die "no memcache user in the rootfs"
  version=$(chroot "$root" dpkg-query -W -f '${Version}' memcached)
  [[ $version == 1.* ]] || die "memcached is $version, not 1.x"
  # Perl serves only the package's scripts (memcached-tool, damemtop), which the official image has not.
  rm -rf "$root/usr/share/memcached/scripts"
  drop_packages "$root" perl perl-modules-5.36 libperl5.36 libgdbm-compat4
  cat >"$root/usr/local/bin/docker-entrypoint.sh" <<'ENTRYPOINT'
#!/bin/sh
# docker-entrypoint.sh (topo-test/memcached): the official memcached image's: options alone run memcached.
set -e
if [ "${1#-}" != "$1" ]; then
  set -- memcached "$@"
fi
exec "$@"
ENTRYPOINT
  chmod 755 "$root/usr/local/bin/docker-entrypoint.sh"
  slim_rootfs "$root"
  # As the official image: the server runs as the memcache user from the start (USER), so it needs no
  # capability and drops no privilege.
  import_rootfs "$root" "$tag" SIGTERM \
    'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
    "ENV MEMCACHED_VERSION=${version%%-*}" \
    'USER memcache' \
    'EXPOSE 11211' \
    'ENTRYPOINT ["docker-entrypoint.sh"]' \
    'CMD ["memcached"]'
  drop_work
  drop_old "$old" "$tag"
  log "$tag: built in $(since "$t0") s ($(image_size "$tag"))"
}

# ---------------------------------------------------------------------------------------------------
# The mariadb image's entrypoint: the part of the official image's docker-entrypoint.sh the tests rely
# on. Written into the rootfs as /usr/local/bin/docker-entrypoint.sh.
write_mariadb_entrypoint() {
  cat >"$1" <<'ENTRYPOINT'
#!/usr/bin/env bash
# docker-entrypoint.sh (topo-test/mariadb) — follows the official mariadb image's contract: on an empty
# data directory one of MARIADB_ROOT_PASSWORD, MARIADB_ROOT_PASSWORD_HASH, MARIADB_RANDOM_ROOT_PASSWORD or
# MARIADB_ALLOW_EMPTY_ROOT_PASSWORD is required; MARIADB_ROOT_HOST (default %), MARIADB_DATABASE,
# MARIADB_USER with MARIADB_PASSWORD or MARIADB_PASSWORD_HASH, MARIADB_INITDB_SKIP_TZINFO; each also as
# <NAME>_FILE (not both), the MYSQL_* names as fallbacks; /docker-entrypoint-initdb.d (*.sh, *.sql,
# *.sql.gz, *.sql.xz, *.sql.zst); healthcheck@localhost and $DATADIR/.my-healthcheck.cnf for healthcheck.sh.
# Unlike the official image, root@localhost also authenticates by unix socket (the OS root user, e.g.
# `docker exec`, needs no password), and an initialized data directory is started as it is (no
# mariadb-upgrade, no restore from a backup, no replication or MARIADB_MYSQL_LOCALHOST_USER).
set -Eeuo pipefail
shopt -s nullglob

log() { printf '%s [%s] [Entrypoint]: %s\n' "$(date --rfc-3339=seconds)" "$1" "${*:2}"; }
note() { log Note "$@"; }
warn() { log Warn "$@" >&2; }
error() { log ERROR "$@" >&2; exit 1; }

file_env() { # VAR [DEFAULT]: VAR, or the contents of the file named by VAR_FILE, or DEFAULT
  local var=$1 file_var=${1}_FILE val=${2:-}
  if [[ -n ${!var:-} && -n ${!file_var:-} ]]; then
    error "Both $var and $file_var are set (but are exclusive)"
  fi
  if [[ -n ${!var:-} ]]; then
    val=${!var}
  elif [[ -n ${!file_var:-} ]]; then
    [[ -r ${!file_var} ]] || error "$file_var: cannot read ${!file_var}"
    val=$(<"${!file_var}")
  fi
  export "$var=$val"
  unset "$file_var"
}

# mariadb_file_env MYSQL_X [DEFAULT]: MARIADB_X (or its file), else MYSQL_X (or its file), else DEFAULT;
# both names get the value, as in the official image.
mariadb_file_env() {
  local mysql=$1 maria=MARIADB_${1#MYSQL_}
  file_env "$mysql" "${2:-}"
  file_env "$maria" "${!mysql}"
  export "$mysql=${!maria}"
}

setup_env() {
  mariadb_file_env MYSQL_ROOT_HOST %
  mariadb_file_env MYSQL_DATABASE
  mariadb_file_env MYSQL_USER
  mariadb_file_env MYSQL_PASSWORD
  mariadb_file_env MYSQL_ROOT_PASSWORD
  file_env MARIADB_PASSWORD_HASH
  file_env MARIADB_ROOT_PASSWORD_HASH
  file_env MYSQL_ALLOW_EMPTY_PASSWORD
  file_env MARIADB_ALLOW_EMPTY_ROOT_PASSWORD "$MYSQL_ALLOW_EMPTY_PASSWORD"
  export MYSQL_ALLOW_EMPTY_PASSWORD=$MARIADB_ALLOW_EMPTY_ROOT_PASSWORD
  file_env MYSQL_RANDOM_ROOT_PASSWORD
  file_env MARIADB_RANDOM_ROOT_PASSWORD "$MYSQL_RANDOM_ROOT_PASSWORD"
  export MYSQL_RANDOM_ROOT_PASSWORD=$MARIADB_RANDOM_ROOT_PASSWORD
  : "${MARIADB_INITDB_SKIP_TZINFO:=${MYSQL_INITDB_SKIP_TZINFO:-}}"
  export MARIADB_INITDB_SKIP_TZINFO MYSQL_INITDB_SKIP_TZINFO=$MARIADB_INITDB_SKIP_TZINFO
}

# DATADIR, SOCKET and PORT as the server would use them (`mariadbd --verbose --help` lists the values of
# the configuration files and the arguments). Piped, not a here-string: no temporary file.
server_config() {
  local help errors
  if ! help=$("$@" --verbose --help 2>/dev/null); then
    errors=$("$@" --verbose --help 2>&1 >/dev/null) || true
    error $'mariadbd failed while attempting to check config\n\tcommand was: '"$* --verbose --help"$'\n\t'"$errors"
  fi
  # awk reads to the end: an early exit would fail the pipeline with SIGPIPE.
  config_value() { printf '%s\n' "$help" | awk -v k="$1" '!found && $1 == k && /^[^ \t]/ { sub(/^[^ \t]+[ \t]+/, ""); print; found = 1 }'; }
  DATADIR=$(config_value datadir) SOCKET=$(config_value socket) PORT=$(config_value port)
  DATADIR=${DATADIR%/}
  [[ -n $DATADIR && -n $SOCKET && -n $PORT ]] || error "could not read datadir, socket and port from mariadbd --verbose --help"
}

# SQL string literal contents: \ and ' escaped, newlines as \n.
sql_escape() {
  local s=${1//\\/\\\\}
  s=${s//$'\n'/\\n}
  printf '%s' "${s//\'/\\\'}"
}

random_password() {
  local raw
  raw=$(head -c 512 /dev/urandom | LC_ALL=C tr -dc 'A-Za-z0-9')
  printf '%s' "${raw:0:32}"
}

# SQL on stdin, as the MariaDB user mysql (unix socket auth, created by mariadb-install-db for the OS
# user mysql and dropped at the end of the init), in MARIADB_DATABASE if there is one. Init scripts
# (/docker-entrypoint-initdb.d/*.sh, sourced) may call it too, as in the official image.
docker_process_sql() {
  if [[ ${1:-} == --dont-use-mysql-root-password ]]; then shift; fi
  if [[ -n ${MARIADB_DATABASE:-} ]]; then
    set -- --database="$MARIADB_DATABASE" "$@"
  fi
  mariadb --protocol=socket --user=mysql --host=localhost --socket="$SOCKET" "$@"
}

temp_server_start() {
  # No networking: nothing outside the container (and no TCP health check) reaches this server.
  "$@" --skip-networking --default-time-zone=SYSTEM --socket="$SOCKET" --wsrep_on=OFF \
    --expire-logs-days=0 --loose-innodb_buffer_pool_load_at_startup=0 &
  server_pid=$!
  note "Waiting for server startup"
  local i
  for ((i = 0; i < 300; i++)); do
    if MARIADB_DATABASE='' docker_process_sql --database=mysql <<<'SELECT 1' &>/dev/null; then
      return 0
    fi
    kill -0 "$server_pid" 2>/dev/null || error "Unable to start server (it exited)."
    sleep 0.1
  done
  error "Unable to start server (no answer after 30 s)."
}

temp_server_stop() {
  kill "$server_pid"
  wait "$server_pid"
}

verify_minimum_env() {
  if [[ -z $MARIADB_ROOT_PASSWORD && -z $MARIADB_ROOT_PASSWORD_HASH && -z $MARIADB_ALLOW_EMPTY_ROOT_PASSWORD &&
    -z $MARIADB_RANDOM_ROOT_PASSWORD ]]; then
    error $'Database is uninitialized and password option is not specified\n\tYou need to specify one of MARIADB_ROOT_PASSWORD, MARIADB_ROOT_PASSWORD_HASH, MARIADB_ALLOW_EMPTY_ROOT_PASSWORD and MARIADB_RANDOM_ROOT_PASSWORD'
  fi
  if [[ -n $MARIADB_ROOT_PASSWORD_HASH && -n $MARIADB_ROOT_PASSWORD$MARIADB_ALLOW_EMPTY_ROOT_PASSWORD$MARIADB_RANDOM_ROOT_PASSWORD ]]; then
    error "Cannot specify MARIADB_ROOT_PASSWORD_HASH and another MARIADB_ROOT_PASSWORD* option."
  fi
  if [[ -n $MARIADB_PASSWORD && -n $MARIADB_PASSWORD_HASH ]]; then
    error "Cannot specify MARIADB_PASSWORD_HASH and MARIADB_PASSWORD option."
  fi
}

init_files() {
  local f
  for f; do
    case $f in
      *.sh)
        if [[ -x $f ]]; then note "$0: running $f"; "$f"; else note "$0: sourcing $f"; . "$f"; fi ;;
      *.sql) note "$0: running $f"; docker_process_sql <"$f" ;;
      *.sql.gz) note "$0: running $f"; gzip -dc "$f" | docker_process_sql ;;
      *.sql.xz) note "$0: running $f"; xz -dc "$f" | docker_process_sql ;;
      *.sql.zst) note "$0: running $f"; zstd -dc "$f" | docker_process_sql ;;
      *) warn "$0: ignoring $f" ;;
    esac
  done
}

setup_db() {
  if [[ -z $MARIADB_INITDB_SKIP_TZINFO && -d /usr/share/zoneinfo ]]; then
    note "Loading time zone information"
    mariadb-tzinfo-to-sql --skip-write-binlog /usr/share/zoneinfo 2>/dev/null |
      MARIADB_DATABASE='' docker_process_sql --database=mysql
  fi
  if [[ -n $MARIADB_RANDOM_ROOT_PASSWORD ]]; then
    MARIADB_ROOT_PASSWORD=$(random_password)
    export MARIADB_ROOT_PASSWORD MYSQL_ROOT_PASSWORD=$MARIADB_ROOT_PASSWORD
    note "GENERATED ROOT PASSWORD: $MARIADB_ROOT_PASSWORD"
  fi

  local root_auth root_host sql="" host hc_password
  if [[ -n $MARIADB_ROOT_PASSWORD_HASH ]]; then
    root_auth="mysql_native_password USING '$(sql_escape "$MARIADB_ROOT_PASSWORD_HASH")'"
  else
    root_auth="mysql_native_password USING PASSWORD('$(sql_escape "$MARIADB_ROOT_PASSWORD")')"
  fi
  # root@localhost: the password, or the OS root user by unix socket.
  sql+="ALTER USER 'root'@'localhost' IDENTIFIED VIA $root_auth OR unix_socket;"$'\n'
  if [[ -n $MARIADB_ROOT_HOST && $MARIADB_ROOT_HOST != localhost ]]; then
    root_host=$(sql_escape "$MARIADB_ROOT_HOST")
    sql+="CREATE USER 'root'@'$root_host' IDENTIFIED VIA $root_auth;"$'\n'
    sql+="GRANT ALL ON *.* TO 'root'@'$root_host' WITH GRANT OPTION;"$'\n'
    sql+="GRANT PROXY ON ''@'%' TO 'root'@'$root_host' WITH GRANT OPTION;"$'\n'
  fi
  # As the official image: a healthcheck user (USAGE only) whose password healthcheck.sh reads.
  hc_password=$(random_password)
  for host in 127.0.0.1 ::1 localhost; do
    sql+="CREATE USER IF NOT EXISTS healthcheck@'$host' IDENTIFIED BY '$hc_password';"$'\n'
    sql+="SET PASSWORD FOR healthcheck@'$host' = PASSWORD('$hc_password');"$'\n'
    sql+="GRANT USAGE ON *.* TO healthcheck@'$host';"$'\n'
  done
  (
    umask 077
    printf '[mariadb-client]\nport=%s\nsocket=%s\nuser=healthcheck\npassword=%s\n' "$PORT" "$SOCKET" "$hc_password" \
      >"$DATADIR/.my-healthcheck.cnf"
  )
  if [[ -n $MARIADB_DATABASE ]]; then
    note "Creating database $MARIADB_DATABASE"
    sql+="CREATE DATABASE IF NOT EXISTS \`${MARIADB_DATABASE//\`/\`\`}\`;"$'\n'
  fi
  if [[ -n $MARIADB_USER ]]; then
    if [[ -z $MARIADB_PASSWORD && -z $MARIADB_PASSWORD_HASH ]]; then
      warn "MARIADB_USER is set without MARIADB_PASSWORD or MARIADB_PASSWORD_HASH: no user created"
    else
      local user
      user=$(sql_escape "$MARIADB_USER")
      note "Creating user $MARIADB_USER"
      if [[ -n $MARIADB_PASSWORD_HASH ]]; then
        sql+="CREATE USER '$user'@'%' IDENTIFIED BY PASSWORD '$(sql_escape "$MARIADB_PASSWORD_HASH")';"$'\n'
      else
        sql+="CREATE USER '$user'@'%' IDENTIFIED BY '$(sql_escape "$MARIADB_PASSWORD")';"$'\n'
      fi
      if [[ -n $MARIADB_DATABASE ]]; then
        note "Giving user $MARIADB_USER access to schema $MARIADB_DATABASE"
        local db=${MARIADB_DATABASE//\`/\`\`}
        sql+="GRANT ALL ON \`${db//_/\\_}\`.* TO '$user'@'%';"$'\n'
      fi
    fi
  fi

  note "Securing system users (equivalent to running mysql_secure_installation)"
  MARIADB_DATABASE='' docker_process_sql --database=mysql --binary-mode <<EOSQL
SET @@SESSION.SQL_LOG_BIN=0;
SET @@SESSION.SQL_MODE=REPLACE(@@SESSION.SQL_MODE, 'NO_BACKSLASH_ESCAPES', '');
DROP USER IF EXISTS root@'127.0.0.1', root@'::1', ''@'localhost';
EXECUTE IMMEDIATE CONCAT('DROP USER IF EXISTS root@\'', @@hostname, '\', \'\'@\'', @@hostname, '\'');
$sql
EOSQL
}

init_database() {
  # Check the permissions of the init directory before writing anything.
  ls /docker-entrypoint-initdb.d/ >/dev/null
  note "Initializing database files"
  local args=() arg
  for arg in "${@:2}"; do # mariadbd's arguments, which mariadb-install-db passes on (without whitespace)
    if [[ $arg =~ [[:space:]] ]]; then
      warn "Not passing argument '$arg' to mariadb-install-db because mariadb-install-db does not support arguments with whitespace."
    else
      args+=("$arg")
    fi
  done
  mariadb-install-db --datadir="$DATADIR" --rpm --user=mysql --auth-root-authentication-method=socket \
    --auth-root-socket-user=mysql "${args[@]}" --skip-test-db --old-mode=UTF8_IS_UTF8MB3 \
    --default-time-zone=SYSTEM --enforce-storage-engine= --skip-log-bin --expire-logs-days=0 \
    --loose-innodb_buffer_pool_load_at_startup=0 --loose-innodb_buffer_pool_dump_at_shutdown=0
  note "Database files initialized"

  note "Starting temporary server"
  temp_server_start "$@"
  note "Temporary server started."
  setup_db
  # shellcheck disable=SC2034 # the official image's name for docker_process_sql, for sourced scripts
  mysql=(docker_process_sql)
  init_files /docker-entrypoint-initdb.d/*
  # The mysql@localhost account (and its proxy grant at the container's hostname, which
  # skip-name-resolve would warn about at every start) served the init only.
  MARIADB_DATABASE='' docker_process_sql --database=mysql <<<"SET @@SESSION.SQL_LOG_BIN=0;
DROP USER 'mysql'@'localhost'; DELETE FROM mysql.proxies_priv WHERE User = 'mysql'; FLUSH PRIVILEGES;"
  note "Stopping temporary server"
  temp_server_stop
  note "Temporary server stopped"
  echo
  note "MariaDB init process done. Ready for start up."
  echo
}

want_help() { # an option with which mariadbd prints something and exits
  local arg
  for arg; do
    case $arg in -'?' | --help | --print-defaults | -V | --version) return 0 ;; esac
  done
  return 1
}

if [[ $# == 0 || ${1:0:1} == - ]]; then
  set -- mariadbd "$@"
fi
if [[ $1 != mariadbd && $1 != mysqld ]] || want_help "$@"; then
  exec "$@"
fi

note "Entrypoint script for MariaDB Server ${MARIADB_VERSION:-} started."
server_config "$@"
setup_env
if [[ $(id -u) == 0 ]]; then
  # As root: the data and socket directories become the mysql user's, then the script runs again as
  # that user (setpriv needs no setuid bit: it also works under no-new-privileges). The *_FILE
  # variables were read as root (setup_env) and are passed on as values.
  mkdir -p "$DATADIR" "${SOCKET%/*}"
  find "$DATADIR" \! -user mysql -exec chown mysql:mysql '{}' +
  find "${SOCKET%/*}" -maxdepth 0 \! -user mysql -exec chown mysql:mysql '{}' \;
  note "Switching to dedicated user 'mysql'"
  exec setpriv --reuid=mysql --regid=mysql --init-groups "${BASH_SOURCE[0]}" "$@"
fi

if [[ -d $DATADIR/mysql ]]; then
  note "MariaDB data in $DATADIR already initialized; skipping initialization"
else
  verify_minimum_env
  init_database "$@"
fi
unset MARIADB_PASSWORD MYSQL_PASSWORD MARIADB_ROOT_PASSWORD MYSQL_ROOT_PASSWORD
exec "$@"
ENTRYPOINT
  chmod 755 "$1"
}

# The official image's /usr/local/bin/healthcheck.sh, for the tests this image can run.
write_mariadb_healthcheck() {
  cat >"$1" <<'HEALTHCHECK'
#!/usr/bin/env bash
# healthcheck.sh (topo-test/mariadb) — the official mariadb image's health check, with its arguments:
# tests --connect, --innodb_initialized, --innodb_buffer_pool_loaded, --mariadbupgrade, run in order;
# options --su-mysql, --su=USER, --datadir=DIR, --no-defaults, --defaults-file=F, --defaults-extra-file=F,
# --defaults-group-suffix=S, --no-connect. Exit 0 only if every test passes, and --connect too (run last
# if not given, unless --no-connect): the server accepts TCP connections on 127.0.0.1 (a refused login
# counts: it answered), which the init phase's temporary server (--skip-networking) does not.
# Credentials: the entrypoint's $datadir/.my-healthcheck.cnf (user healthcheck, USAGE only) when it is
# readable, else the client's defaults (as the OS root user: root@localhost by unix socket).
set -Eeuo pipefail

declare -A def=()
nodefaults=""
connect_s=""
datadir=/var/lib/mysql
if [[ -r $datadir/.my-healthcheck.cnf ]]; then
  def[extra_file]=$datadir/.my-healthcheck.cnf
fi

client() {
  mariadb ${nodefaults:+--no-defaults} \
    ${def[file]:+"--defaults-file=${def[file]}"} \
    ${def[extra_file]:+"--defaults-extra-file=${def[extra_file]}"} \
    ${def[group_suffix]:+"--defaults-group-suffix=${def[group_suffix]}"} \
    --skip-ssl --skip-ssl-verify-server-cert --batch --skip-column-names "$@"
}
sql() { client --protocol=socket -e "$1"; }

connect() {
  local s
  s=$(client --protocol=tcp --host=127.0.0.1 --connect-timeout=3 --skip-print-query-on-error \
    -e 'select @@skip_networking' 2>&1) || true
  case $s in
    0 | "ERROR 1820 (HY000)"* | "ERROR 4151 (HY000)"* | "ERROR 1226 (42000)"* | ERROR\ 1[0-9][0-9][0-9]\ \(28000\)*)
      connect_s=0 ;; # it answered (a refused login, an expired password or a locked account included)
    *)
      connect_s=1 ;;
  esac
  return "$connect_s"
}
innodb_initialized() {
  [[ $(sql "select 1 from information_schema.ENGINES WHERE engine='innodb' AND support in ('YES', 'DEFAULT', 'ENABLED')") == 1 ]]
}
innodb_buffer_pool_loaded() {
  [[ $(sql "select VARIABLE_VALUE from information_schema.GLOBAL_STATUS WHERE VARIABLE_NAME='Innodb_buffer_pool_load_status'") =~ 'load completed' ]]
}
mariadbupgrade() {
  local f=$datadir/mariadb_upgrade_info
  [[ -r $f ]] || return 0
  flock --exclusive --nonblock 9 9<"$f"
}

if [[ $# == 0 ]]; then
  echo "At least one argument required" >&2
  exit 1
fi
as_user() { exec setpriv --reuid="$1" --regid="$1" --init-groups "${BASH_SOURCE[0]}" "${@:2}"; }
while [[ $# -gt 0 ]]; do
  test=""
  case $1 in
    --su=*) as_user "${1#*=}" "${@:2}" ;;
    --su) as_user "$2" "${@:3}" ;;
    --su-mysql) as_user mysql "${@:2}" ;;
    --datadir=*) datadir=${1#*=} ;;
    --datadir) shift; datadir=$1 ;;
    --no-defaults) def=(); nodefaults=1 ;;
    --defaults-file=* | --defaults-extra-file=* | --defaults-group-suffix=*)
      n=${1:11}; n=${n%%=*}; def[${n//-/_}]=${1#*=}; nodefaults="" ;;
    --no-connect) connect_s=0 ;;
    --connect | --innodb_initialized | --innodb_buffer_pool_loaded | --mariadbupgrade) test=${1#--} ;;
    --*) echo "healthcheck unknown option or test '${1#--}'" >&2; exit 1 ;;
    *) echo "Unknown healthcheck option $1" >&2; exit 1 ;;
  esac
  if [[ -n $test ]] && ! "$test"; then
    echo "healthcheck $test failed" >&2
    exit 1
  fi
  shift
done
if [[ $connect_s != 0 ]]; then
  connect
fi
HEALTHCHECK
  chmod 755 "$1"
}

# ---------------------------------------------------------------------------------------------------
# build_mariadb: topo-test/mariadb:11.8 from trixie's mariadb-server (11.8).
no_install_db() { # debootstrap hook: the package's postinst finds a "database" and runs no mariadb-install-db
  mkdir -p "$1/var/lib/mysql/mysql"
  touch "$1/var/lib/mysql/mysql/user.frm"
}

build_mariadb() {
  local tag=$MARIADB_TAG t0 old root version conf
  begin_build "$tag" mariadb root || return 0
  root=$work/root
  debootstrap_rootfs trixie mariadb-server,mariadb-client no_install_db

  log "  configuring the rootfs"
  [[ -x $root/usr/sbin/mariadbd && -x $root/usr/bin/mariadb && -x $root/usr/bin/mariadb-install-db ]] ||
    die "mariadb is not installed in the rootfs"
  chroot "$root" id mysql >/dev/null || die "no mysql user in the rootfs"
  chroot "$root" sh -c 'command -v setpriv' >/dev/null || die "no setpriv in the rootfs"
  version=$(chroot "$root" dpkg-query -W -f '${Version}' mariadb-server)
  [[ $version == 1:11.8.* ]] || die "mariadb-server is $version, not 11.8"
  # As the official image: an empty data directory, no mysqld_safe settings, no bind-address, log or
  # user lines from the package's configuration, no name resolution, and /etc/mysql/conf.d (the
  # documented mount point) read after mariadb.conf.d.
  rm -rf "$root/var/lib/mysql" "$root/etc/mysql/mariadb.conf.d/50-mysqld_safe.cnf"
  find "$root/etc/mysql" -type f -name '*.cnf' -exec sed -Ei 's/^(bind-address|log|user\s)/#&/' '{}' +
  conf=$root/etc/mysql/mariadb.conf.d
  printf '[mariadb]\nhost-cache-size=0\nskip-name-resolve\n' >"$conf/05-skipcache.cnf"
  printf '# topo-test: listen on every IPv4 address of the container.\n[mariadb]\nbind-address=0.0.0.0\n' \
    >"$conf/05-bind-address.cnf"
  sed -i -e '/includedir/ {N;s/\(.*\)\n\(.*\)/\n\2\n\1/}' "$root/etc/mysql/mariadb.cnf"
  [[ $(grep includedir "$root/etc/mysql/mariadb.cnf" | tail -n 1) == '!includedir /etc/mysql/conf.d/' ]] ||
    die "could not reorder the includedir lines of /etc/mysql/mariadb.cnf"
  slim_rootfs "$root"
  install -d -m 755 "$root/var/lib/mysql"
  # /run/mysqld (socket, pid file) writable whatever the server's uid, as in the official image.
  install -d -m 1777 "$root/run/mysqld"
  chroot "$root" chown mysql:mysql /var/lib/mysql /run/mysqld
  install -d -o 0 -g 0 -m 755 "$root/docker-entrypoint-initdb.d"
  write_mariadb_entrypoint "$root/usr/local/bin/docker-entrypoint.sh"
  write_mariadb_healthcheck "$root/usr/local/bin/healthcheck.sh"
  chroot "$root" mariadbd --verbose --help >/dev/null 2>&1 || die "mariadbd --verbose --help fails in the rootfs"

  import_rootfs "$root" "$tag" SIGTERM \
    'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
    "ENV MARIADB_VERSION=$version" \
    'ENV LANG=C.UTF-8' \
    'VOLUME /var/lib/mysql' \
    'EXPOSE 3306' \
    'ENTRYPOINT ["docker-entrypoint.sh"]' \
    'CMD ["mariadbd"]'
  drop_work
  drop_old "$old" "$tag"
  log "$tag: built in $(since "$t0") s ($(image_size "$tag"))"
}

# ---------------------------------------------------------------------------------------------------
# Which images: the arguments (image names, deduplicated, in order), or all of them.
targets=()
want() {
  local t
  for t in "${targets[@]}"; do [[ $t != "$1" ]] || return 0; done
  targets+=("$1")
}
(($#)) || set -- busybox postgres:17 postgres:15 nginx redis mariadb rabbitmq memcached
for arg in "$@"; do
  case ${arg#topo-test/} in
    busybox | busybox:latest) want busybox ;;
    nginx | nginx:latest) want nginx ;;
    redis | redis:7) want redis ;;
    mariadb | mariadb:11.8) want mariadb ;;
    rabbitmq | rabbitmq:3) want rabbitmq ;;
    memcached | memcached:1) want memcached ;;
    postgres) want postgres:17; want postgres:15 ;;
    postgres:17 | postgres17) want postgres:17 ;;
    postgres:15 | postgres15) want postgres:15 ;;
    -h | --help) usage; exit 0 ;;
    *)
      usage >&2
      die "unknown image '$arg' (expected: busybox, nginx, postgres:17, postgres:15, postgres, redis, mariadb," \
        "rabbitmq, memcached)"
      ;;
  esac
done

command -v docker >/dev/null || die "docker is not installed"
docker info >/dev/null 2>&1 || die "the Docker engine is not reachable (docker info failed)"

# One build at a time on this machine (tests may call this script concurrently); the cache check
# happens under the lock, so a waiting run reuses what the first one built.
exec 9>/var/tmp/topo-test-images.lock
if ! flock -n 9; then
  log "another build.sh run holds /var/tmp/topo-test-images.lock; waiting"
  flock 9
fi

for target in "${targets[@]}"; do
  case $target in
    busybox) build_busybox ;;
    nginx) build_nginx ;;
    redis) build_redis ;;
    mariadb) build_mariadb ;;
    rabbitmq) build_rabbitmq ;;
    memcached) build_memcached ;;
    postgres:*) build_postgres "${target#postgres:}" ;;
  esac
done
