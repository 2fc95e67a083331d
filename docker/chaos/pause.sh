#!/usr/bin/env bash
# Freeze a voter (docker pause: every process of the container stopped, as by a long GC or
# a stalled VM) for SECONDS, thaw it, and print the downtime the load client saw. A
# paused leader is deposed once its ZooKeeper lease has gone quiet; thawed, it follows.
#
#   docker/chaos/pause.sh [leader|follower|a|b] [SECONDS]     (default: leader 5)
set -euo pipefail
# shellcheck source=lib.sh
. "$(dirname -- "$0")/lib.sh"
target=${1:-leader}
pause_s=${2:-5}

require_engine
ensure_up
id=$(voter "$target")
role=$(role_of "$id")
say "pausing $id ($role) for $pause_s s"
t0=$(now_ms)
compose pause "$id" >/dev/null
sleep "$pause_s"
compose unpause "$id" >/dev/null
report_downtime "pause $id ($role) for $pause_s s" "$t0"
