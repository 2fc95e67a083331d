#!/usr/bin/env bash
# Lose a voter's disk: SIGKILL it, empty its data volume, start it again, and print the
# downtime the load client saw. The wiped voter rebuilds from ZooKeeper and its peer;
# nothing acknowledged may be lost (check.sh says).
#
#   docker/chaos/wipe.sh [leader|follower|a|b]     (default: leader)
set -euo pipefail
# shellcheck source=lib.sh
. "$(dirname -- "$0")/lib.sh"
target=${1:-leader}

require_engine
ensure_up
id=$(voter "$target")
role=$(role_of "$id")
say "SIGKILL $id ($role), wiping its data volume, starting it again"
t0=$(now_ms)
compose kill -s SIGKILL "$id" >/dev/null
# A throwaway container of the same service mounts the same volume at /data.
compose run --rm --no-deps -T --entrypoint sh "$id" -c 'find /data -mindepth 1 -delete' >/dev/null
compose start "$id" >/dev/null
report_downtime "wipe $id ($role)" "$t0"
