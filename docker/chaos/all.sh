#!/usr/bin/env bash
# Every fault once, each printing its downtime, then the load client's verdict (check.sh).
#
#   docker/chaos/all.sh
set -euo pipefail
dir=$(dirname -- "$0")
"$dir/kill.sh" leader
"$dir/kill.sh" follower
"$dir/restart.sh" leader
"$dir/pause.sh" leader 5
"$dir/partition.sh" leader 5
"$dir/wipe.sh" follower
"$dir/wipe.sh" leader
"$dir/kill-zk.sh" leader
"$dir/kill-zk.sh" follower
"$dir/check.sh"
