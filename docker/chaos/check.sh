#!/usr/bin/env bash
# Ends the load client's run and prints its verdict: it stops its clients, reads every
# checked key back, and says whether anything acknowledged was lost or applied twice and
# whether the history is linearizable. Then starts a new run. Exit 1 if a check failed.
#
#   docker/chaos/check.sh
set -euo pipefail
# shellcheck source=lib.sh
. "$(dirname -- "$0")/lib.sh"

require_engine
since=$(now_ms)
say "stopping the load client (SIGTERM); it reads every checked key back..."
compose stop load >/dev/null
verdict=$(compose logs --no-color --no-log-prefix --since "$((since / 1000 - 1))" load 2>/dev/null |
  sed -n '/^watch: stopping/,$p')
say "$verdict"
compose up -d load >/dev/null
grep -q '^checks passed' <<<"$verdict" || die "the load client's checks did not pass (see above)"
