# shellcheck shell=bash
# Shared by docker/chaos/*.sh: compose, finding the leader, and the downtime report.
#
# The downtime is not measured here. The compose service "load" runs `duoraft watch`, the
# chaos run's checked load (src/harness/chaos) against this cluster, which prints a line
#   write-gap ms=183.2 from_ms=... to_ms=... from=ISO to=ISO last_by=a:7001 next_by=b:7001
# for every stretch of 100 ms or more in which its clients got no write acknowledged. A
# script notes the time just before it injects its fault, heals it, waits until the
# cluster is whole again (a leader and a follower), and reports the gaps that ended after
# that time: the first is the fault's downtime as the clients saw it (from the last write
# acknowledged before the fault to the first one after it), any later ones came while
# the cluster recovered (a restarted voter catching up, for instance).
#
# Settings (environment): CHAOS_COMPOSE_FILE (default: ../docker-compose.yml beside this
# folder), CHAOS_RECOVERY_S (how long the cluster may take to be whole again, default 90).
set -euo pipefail

CHAOS_DIR=$(cd -- "$(dirname -- "${BASH_SOURCE[0]}")" && pwd)
COMPOSE_FILE=${CHAOS_COMPOSE_FILE:-$CHAOS_DIR/../docker-compose.yml}
RECOVERY_S=${CHAOS_RECOVERY_S:-90}
SCRIPT=$(basename -- "$0")

say() { printf '%s\n' "$*"; }
die() {
  printf '%s: %s\n' "$SCRIPT" "$*" >&2
  exit 1
}
compose() { docker compose -f "$COMPOSE_FILE" "$@"; }

# Exit 2, having done nothing, where no Docker engine answers.
require_engine() {
  if ! docker info >/dev/null 2>&1; then
    say "$SCRIPT: no Docker engine answers; nothing done (without Docker: npx duoraft chaos runs the same faults on local processes)"
    exit 2
  fi
  docker compose version >/dev/null 2>&1 || die "the docker compose plugin is missing (docker compose version failed)"
}

# Wall-clock milliseconds, the clock the load client's from_ms/to_ms use (containers share
# the host's clock).
now_ms() {
  local t
  t=$(date +%s%3N)
  case "$t" in
    *[!0-9]*) perl -MTime::HiRes=time -e 'printf "%d\n", time() * 1000' ;;
    *) printf '%s\n' "$t" ;;
  esac
}

# duoraft inside the load container, which is on the compose network where the voters'
# advertised addresses (a:7001, b:7001) resolve.
in_load() { compose exec -T load duoraft "$@"; }

# The id of the member that has ROLE (leader or follower) now, or nothing.
member_with_role() {
  in_load status --json 2>/dev/null | tr '{' '\n' | grep "\"role\":\"$1\"" | sed -n 's/.*"id":"\([^"]*\)".*/\1/p' | head -n 1 || true
}

# Waits until one member leads and the other follows, at most SECONDS.
wait_whole() {
  local deadline=$((SECONDS + $1)) status
  while ((SECONDS < deadline)); do
    status=$(in_load status --json 2>/dev/null || true)
    if grep -q '"role":"leader"' <<<"$status" && grep -q '"role":"follower"' <<<"$status"; then return 0; fi
    sleep 0.5
  done
  die "the cluster was not whole again (a leader and a follower) within $1 s: see docker compose -f $COMPOSE_FILE ps and logs"
}

# Starts what is not running, waits for a whole cluster and a running load client.
ensure_up() {
  compose up -d >/dev/null
  wait_whole "$RECOVERY_S"
  local deadline=$((SECONDS + RECOVERY_S))
  until compose logs --no-color --no-log-prefix load 2>/dev/null | grep -q 'load running'; do
    ((SECONDS < deadline)) || die "the load client did not start its load within $RECOVERY_S s (docker compose -f $COMPOSE_FILE logs load)"
    sleep 1
  done
}

# A voter's id from TARGET: leader, follower, or an id (a, b).
voter() {
  local id
  case "$1" in
    leader | follower)
      id=$(member_with_role "$1")
      [ -n "$id" ] || die "no $1 now (duoraft status shows none)"
      printf '%s\n' "$id"
      ;;
    a | b) printf '%s\n' "$1" ;;
    *) die "unknown voter $1: give leader, follower, a or b" ;;
  esac
}

# The role of voter ID now (leader, follower, or unknown).
role_of() {
  local role
  role=$(in_load status --json 2>/dev/null | tr '{' '\n' | grep "\"id\":\"$1\"" | sed -n 's/.*"role":"\([^"]*\)".*/\1/p' | head -n 1 || true)
  printf '%s\n' "${role:-unknown}"
}

# The running container of compose service SERVICE.
container_of() {
  local id
  id=$(compose ps -q "$1")
  [ -n "$id" ] || die "service $1 has no container (docker compose -f $COMPOSE_FILE up -d)"
  printf '%s\n' "$id"
}

# report_downtime WHAT SINCE_MS: waits until the cluster is whole again, then prints the
# write gaps the load client saw that ended after SINCE_MS.
report_downtime() {
  local what=$1 since=$2
  wait_whole "$RECOVERY_S"
  # A gap is printed when the write that ends it is acknowledged: give that line a moment.
  sleep 1
  compose logs --no-color --no-log-prefix --since "$((since / 1000 - 2))" load 2>/dev/null |
    awk -v since="$since" -v what="$what" '
      $1 == "write-gap" {
        delete f
        for (i = 2; i <= NF; i++) { eq = index($i, "="); f[substr($i, 1, eq - 1)] = substr($i, eq + 1) }
        if (f["to_ms"] + 0 <= since + 0) next
        n++
        if (n == 1) {
          printf "%s: downtime %s ms as the load client saw it (no write acknowledged from %s to %s; last by %s, then by %s)\n", what, f["ms"], f["from"], f["to"], f["last_by"], f["next_by"]
        } else {
          printf "  then, while it recovered: a write gap of %s ms (%s to %s)\n", f["ms"], f["from"], f["to"]
        }
      }
      END {
        if (n == 0) printf "%s: no write gap reported (none as long as the load client --gap-ms, 100 ms): no downtime the clients could see\n", what
      }'
}
