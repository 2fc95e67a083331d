#!/usr/bin/env bash
# Restart a voter the orderly way (docker compose restart: SIGTERM, and a leader hands
# leadership to its follower before it exits), and print the downtime the load client saw.
#
#   docker/chaos/restart.sh [leader|follower|a|b]     (default: leader)
set -euo pipefail
# shellcheck source=lib.sh
. "$(dirname -- "$0")/lib.sh"
target=${1:-leader}

require_engine
ensure_up
id=$(voter "$target")
role=$(role_of "$id")
say "restarting $id ($role) with SIGTERM"
t0=$(now_ms)
compose restart -t 20 "$id" >/dev/null
report_downtime "restart $id ($role)" "$t0"
