#!/usr/bin/env bash
# Cut a voter off the network (docker network disconnect: it reaches neither ZooKeeper,
# nor its peer, nor any client) for SECONDS, connect it again under its service name, and
# print the downtime the load client saw. A cut leader is deposed once its lease has gone
# quiet in ZooKeeper; connected again, it follows.
#
#   docker/chaos/partition.sh [leader|follower|a|b] [SECONDS]     (default: leader 5)
set -euo pipefail
# shellcheck source=lib.sh
. "$(dirname -- "$0")/lib.sh"
target=${1:-leader}
cut_s=${2:-5}

require_engine
ensure_up
id=$(voter "$target")
role=$(role_of "$id")
container=$(container_of "$id")
mapfile -t networks < <(docker inspect -f '{{range $name, $settings := .NetworkSettings.Networks}}{{println $name}}{{end}}' "$container" | sed '/^$/d')
[ "${#networks[@]}" -gt 0 ] || die "container $container of $id is on no network"
reconnect() {
  local net
  for net in "${networks[@]}"; do docker network connect --alias "$id" "$net" "$container" 2>/dev/null || true; done
}
# Whatever happens from here on, the voter gets its network back.
trap reconnect EXIT
say "cutting $id ($role) off ${networks[*]} for $cut_s s"
t0=$(now_ms)
for net in "${networks[@]}"; do docker network disconnect "$net" "$container"; done
sleep "$cut_s"
reconnect
trap - EXIT
report_downtime "partition $id ($role) for $cut_s s" "$t0"
