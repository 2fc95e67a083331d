#!/usr/bin/env bash
# SIGKILL a voter, start it again after DOWN_S seconds, and print the downtime the load
# client saw (killing the leader: a failover; the follower: none expected).
#
#   docker/chaos/kill.sh [leader|follower|a|b] [DOWN_S]     (default: leader 3)
set -euo pipefail
# shellcheck source=lib.sh
. "$(dirname -- "$0")/lib.sh"
target=${1:-leader}
down_s=${2:-3}

require_engine
ensure_up
id=$(voter "$target")
role=$(role_of "$id")
say "SIGKILL $id ($role); starting it again after $down_s s"
t0=$(now_ms)
compose kill -s SIGKILL "$id" >/dev/null
sleep "$down_s"
compose start "$id" >/dev/null
report_downtime "kill $id ($role)" "$t0"
