#!/usr/bin/env bash
# .ci/container-smoke.sh — the container as production runs it, with TLS on and a master key
# mounted as a file:
#   1. container-smoke (the shared tool: builds the Dockerfile unchanged, runs it as a sidecar,
#      checks its HEALTHCHECK, non-root, the listener and SIGTERM → exit 0) with mTLS on;
#   2. the same image run again: `hexclave health` from the host verifies the certificate by its
#      CA, `podman exec <c> hexclave stores create|list` works with nothing but the container's own
#      settings, and a container without a master key refuses to start;
#   3. container-smoke again on a throwaway PostgreSQL on the host's loopback (the containers
#      share the host's network namespace, so 127.0.0.1 is the host's), as `--workers 2`; then
#      the image as docs/deployment.md runs replicas: read-only, no /data volume, the admin token
#      from the environment, HTTPS /readyz and /healthz.
# Usage: bash .ci/container-smoke.sh [path/to/container-smoke]
#   (default: $CONTAINER_SMOKE, ../shared/tools/container-smoke, /work/shared/tools/container-smoke).
# Needs root (podman, runuser), openssl, curl, PostgreSQL's binaries, Node 24. ≈ 3½ min with the
# image cache warm (CT_WORK, default ~/.cache/hexclave-container); the first run on a machine also
# builds the stand-in base image and compiles better-sqlite3: ≈ 11 min on a busy 2-core machine.
set -euo pipefail
cd "$(dirname "$0")/.."
REPO=$PWD
t() { echo "[$(date +%T)] $*"; }
fail() { echo "FAIL: $*" >&2; exit 1; }

smoke=""
for candidate in "${1:-}" "${CONTAINER_SMOKE:-}" ../shared/tools/container-smoke /work/shared/tools/container-smoke; do
  if [ -n "$candidate" ] && [ -x "$candidate" ]; then smoke=$(cd "$(dirname "$candidate")" && pwd)/$(basename "$candidate"); break; fi
done
[ -n "$smoke" ] || fail "container-smoke not found: pass its path"
command -v openssl >/dev/null || fail "openssl is needed to make the test certificates"
PG_BIN=${PG_BIN:-$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -1)}
[ -x "$PG_BIN/initdb" ] || fail "no PostgreSQL binaries (apt-get install postgresql, or set PG_BIN)"
[ -f dist/src/cli/main.js ] || npm run build >/dev/null

WORK=$(mktemp -d /tmp/hexclave-ct-XXXXXX)
chmod 755 "$WORK"
CONTAINER=hexclave-smoke-extra
# The image and podman settings container-smoke made (same defaults as the tool).
CT_WORK=${CT_WORK:-${XDG_CACHE_HOME:-$HOME/.cache}/hexclave-container}
export CT_WORK CONTAINERS_STORAGE_CONF=$CT_WORK/storage.conf CONTAINERS_CONF=$CT_WORK/containers.conf
IMAGE=localhost/hexclave-smoke:ci
PG_DATA=$WORK/pg/data
as_postgres() { if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi; }
cleanup() {
  podman rm -f -t 5 "$CONTAINER" >/dev/null 2>&1 || true
  podman volume rm -f hexclave-smoke-extra >/dev/null 2>&1 || true
  if [ -f "$PG_DATA/postmaster.pid" ]; then as_postgres "$PG_BIN/pg_ctl" -D "$PG_DATA" -m immediate stop >/dev/null 2>&1 || true; fi
  rm -rf "$WORK"
}
trap cleanup EXIT

t "test certificates (a CA, the server's for localhost/127.0.0.1, a client's), a master key file"
S=$WORK/secrets
mkdir -p "$S"
cd "$S"
ec() { openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -subj "/CN=$1" -keyout "$2.key" "${@:3}" 2>/dev/null; }
ec hexclave-smoke-ca ca -x509 -days 2 -out ca.crt
ec localhost server -out server.csr
ec smoke-client client -out client.csr
openssl x509 -req -in server.csr -CA ca.crt -CAkey ca.key -CAcreateserial -days 2 -out server.crt \
  -extfile <(printf 'subjectAltName=DNS:localhost,IP:127.0.0.1\nextendedKeyUsage=serverAuth\n') 2>/dev/null
openssl x509 -req -in client.csr -CA ca.crt -CAkey ca.key -CAcreateserial -days 2 -out client.crt \
  -extfile <(printf 'extendedKeyUsage=clientAuth\n') 2>/dev/null
head -c 32 /dev/urandom | base64 > master.key
rm -f ./*.csr ca.key ca.srl
# As Kubernetes mounts a Secret with fsGroup: readable by the image's user (node, uid 1000) only.
chown 1000:1000 ./* && chmod 0400 ./*.key && chmod 0444 ./*.crt
cd "$REPO"
MOUNT="-v $S:/run/hexclave:ro"
TLS="-e HEXCLAVE_TLS_SERVER_CERT=/run/hexclave/server.crt -e HEXCLAVE_TLS_SERVER_KEY=/run/hexclave/server.key"
KEY="-e HEXCLAVE_MASTER_KEY_FILE=/run/hexclave/master.key"

# The build context is the checkout's own files (tracked or new, not ignored): no node_modules, so
# container-smoke skips its plaintext `buf curl` probe, which a TLS listener cannot answer; step 2
# checks health from the host over TLS instead.
CTX=$WORK/context
mkdir -p "$CTX"
git ls-files -z --cached --others --exclude-standard | tar --null -T - --ignore-failed-read -cf - 2>/dev/null | tar -xf - -C "$CTX"

t "1/3 container-smoke: SQLite, mTLS on, master key from a 0400 file"
CT_ENV="$MOUNT $TLS -e HEXCLAVE_TLS_CLIENT_CA=/run/hexclave/ca.crt $KEY" bash "$smoke" "$CTX"

t "2/3 the image by hand: health over TLS from the host, podman exec hexclave, no master key"
port() { node -e 'const s=require("net").createServer().listen(0,"127.0.0.1",()=>{console.log(s.address().port);s.close()})'; }
PORT=$(port)
podman rm -f -t 0 "$CONTAINER" >/dev/null 2>&1 || true
podman volume rm -f hexclave-smoke-extra >/dev/null 2>&1 || true
# shellcheck disable=SC2086
podman run -d --name "$CONTAINER" --network host --pull=never -v hexclave-smoke-extra:/data \
  $MOUNT $TLS $KEY -e HEXCLAVE_LISTEN=127.0.0.1:$PORT "$IMAGE" >/dev/null
healthy=
for _ in $(seq 1 40); do podman healthcheck run "$CONTAINER" >/dev/null 2>&1 && { healthy=1; break; }; sleep 1; done
[ -n "$healthy" ] || { podman logs --tail 20 "$CONTAINER"; fail "the TLS container never became healthy"; }
HEXCLAVE_TLS_CA=$S/ca.crt node dist/src/cli/main.js health --address "localhost:$PORT" \
  || fail "hexclave health from the host did not verify the server by its CA"
if node dist/src/cli/main.js health --address "127.0.0.1:$PORT" --timeout 2000 >/dev/null 2>&1; then
  fail "a plaintext health check reached the TLS listener"
fi
# Inside the container the CLI needs nothing: its server's address, its certificate (pinned), and
# the first admin token the server wrote to /data.
podman exec "$CONTAINER" hexclave stores create smoke-store --description "container smoke" >/dev/null \
  || fail "podman exec hexclave stores create failed"
podman exec "$CONTAINER" hexclave stores list | grep -q smoke-store \
  || fail "podman exec hexclave stores list does not show the store"
[ "$(podman exec "$CONTAINER" stat -c %a /data/admin.token)" = 600 ] || fail "/data/admin.token is not 0600"
podman stop -t 10 "$CONTAINER" >/dev/null
[ "$(podman inspect --format '{{.State.ExitCode}}' "$CONTAINER")" = 0 ] || fail "SIGTERM exit code not 0"
podman rm -f "$CONTAINER" >/dev/null
# NODE_ENV=production (the image's): no master key, no start — never a generated key.
# shellcheck disable=SC2086
if out=$(podman run --rm --network host --pull=never $MOUNT $TLS -e HEXCLAVE_LISTEN=127.0.0.1:$PORT "$IMAGE" 2>&1); then
  fail "the container started without a master key"
fi
grep -q "no master key" <<<"$out" || fail "no master key: unexpected output: $out"
echo "  health over TLS from the host, podman exec hexclave stores list, refusal without a master key: OK"

t "3/3 container-smoke: PostgreSQL on the host's loopback, --workers 2, TLS on"
mkdir -p "$WORK/pg"
PG_PASSWORD=$(openssl rand -hex 16)
printf '%s' "$PG_PASSWORD" > "$WORK/pg/password"
[ "$(id -u)" = 0 ] && chown -R postgres:postgres "$WORK/pg"
as_postgres "$PG_BIN/initdb" -D "$PG_DATA" -U hexclave --pwfile="$WORK/pg/password" --auth=scram-sha-256 \
  --encoding=UTF8 --no-locale --no-sync >/dev/null
PG_PORT=$(port)
as_postgres "$PG_BIN/pg_ctl" -D "$PG_DATA" -l "$WORK/pg/log" -w \
  -o "-p $PG_PORT -c listen_addresses=127.0.0.1 -c unix_socket_directories=$WORK/pg" start >/dev/null
URL="postgres://hexclave:$PG_PASSWORD@127.0.0.1:$PG_PORT/postgres"
CT_ENV="$MOUNT $TLS $KEY -e HEXCLAVE_DATABASE_URL=$URL -e HEXCLAVE_WORKERS=2" bash "$smoke" "$CTX"
# As docs/deployment.md runs replicas: a read-only root file system and no volume at /data (the
# image's own, read-only), the admin token from the environment, and the CLI beside the server.
# Its probes are the HTTPS ones the manifests use: /readyz and /healthz with the server's certificate.
ADMIN_TOKEN=$(openssl rand -base64 33)
PORT=$(port)
HTTP_PORT=$(port)
# shellcheck disable=SC2086
podman run -d --name "$CONTAINER" --network host --pull=never --read-only $MOUNT $TLS $KEY \
  -e HEXCLAVE_DATABASE_URL="$URL" -e HEXCLAVE_ADMIN_TOKEN="$ADMIN_TOKEN" \
  -e HEXCLAVE_LISTEN=127.0.0.1:$PORT -e HEXCLAVE_HTTP_LISTEN=127.0.0.1:$HTTP_PORT "$IMAGE" >/dev/null
healthy=
for _ in $(seq 1 40); do podman healthcheck run "$CONTAINER" >/dev/null 2>&1 && { healthy=1; break; }; sleep 1; done
[ -n "$healthy" ] || { podman logs --tail 20 "$CONTAINER"; fail "the read-only PostgreSQL container never became healthy"; }
for probe in readyz healthz; do
  code=$(curl -s -o /dev/null -w '%{http_code}' --cacert "$S/ca.crt" "https://localhost:$HTTP_PORT/$probe")
  [ "$code" = 200 ] || fail "GET /$probe over HTTPS answered $code (want 200)"
done
podman exec "$CONTAINER" hexclave stores create pg-store >/dev/null || fail "podman exec hexclave stores create (PostgreSQL) failed"
podman exec "$CONTAINER" hexclave stores list | grep -q pg-store || fail "podman exec hexclave stores list (PostgreSQL) does not show the store"
podman stop -t 10 "$CONTAINER" >/dev/null
[ "$(podman inspect --format '{{.State.ExitCode}}' "$CONTAINER")" = 0 ] || fail "SIGTERM exit code not 0 (PostgreSQL, read-only)"
podman rm -f "$CONTAINER" >/dev/null
# The server really used PostgreSQL: it migrated the database, and both workers left the registry on SIGTERM.
tables=$(PGPASSWORD=$PG_PASSWORD "$PG_BIN/psql" -h 127.0.0.1 -p "$PG_PORT" -U hexclave -d postgres -Atc \
  "select count(*) from information_schema.tables where table_name in ('stores','entries','tokens','servers')")
[ "$tables" = 4 ] || fail "the container did not migrate PostgreSQL (found $tables of 4 tables)"
left=$(PGPASSWORD=$PG_PASSWORD "$PG_BIN/psql" -h 127.0.0.1 -p "$PG_PORT" -U hexclave -d postgres -Atc "select count(*) from servers")
[ "$left" = 0 ] || fail "$left server processes still registered after SIGTERM (not a clean stop)"
t "OK: container smoke with TLS on SQLite and PostgreSQL"
