#!/usr/bin/env bash
# SIGKILL one ZooKeeper server, start it again after DOWN_S seconds, and print the
# downtime the load client saw. The two others keep a quorum; killing the ensemble's
# leader makes them elect a new one first, which pauses every write.
#
#   docker/chaos/kill-zk.sh [leader|follower|zk1|zk2|zk3] [DOWN_S]     (default: leader 5)
set -euo pipefail
# shellcheck source=lib.sh
. "$(dirname -- "$0")/lib.sh"
target=${1:-leader}
down_s=${2:-5}

# The Mode (leader, follower) of ZooKeeper server SERVICE, from its srvr answer.
zk_mode() {
  compose exec -T "$1" bash -c 'exec 3<>/dev/tcp/127.0.0.1/2181 && printf srvr >&3 && cat <&3' 2>/dev/null | sed -n 's/^Mode: //p' || true
}

require_engine
ensure_up
case "$target" in
  zk1 | zk2 | zk3) server=$target ;;
  leader | follower)
    server=
    for s in zk1 zk2 zk3; do
      if [ "$(zk_mode "$s")" = "$target" ]; then
        server=$s
        break
      fi
    done
    [ -n "$server" ] || die "no ZooKeeper server says it is the $target"
    ;;
  *) die "unknown ZooKeeper server $target: give leader, follower, zk1, zk2 or zk3" ;;
esac
mode=$(zk_mode "$server")
say "SIGKILL ZooKeeper $server (${mode:-mode unknown}); starting it again after $down_s s"
t0=$(now_ms)
compose kill -s SIGKILL "$server" >/dev/null
sleep "$down_s"
compose start "$server" >/dev/null
report_downtime "kill ZooKeeper $server (${mode:-mode unknown})" "$t0"
