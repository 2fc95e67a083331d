#!/usr/bin/env bash
# Kill/restart chaos against the docker-compose cluster: SIGKILLs a random voter (or a
# ZooKeeper server), restarts it, and checks after every round that a write is
# acknowledged and that every key written so far still reads back.
#
#   docker/chaos.sh [ROUNDS]        (default 20)
#
# Needs a Docker engine. Without one it says so and exits 0, doing nothing.
set -euo pipefail
cd "$(dirname "$0")"
ROUNDS="${1:-20}"
compose() { docker compose -f docker-compose.yml "$@"; }

if ! docker info >/dev/null 2>&1; then
  echo "chaos.sh: no Docker engine answers; nothing to do (use 'duoraft chaos' for the local, process-based chaos run)"
  exit 0
fi

compose up -d --build
client() { compose run --rm -T client "$@"; }

echo "waiting for a leader..."
for _ in $(seq 1 60); do
  if client status --json 2>/dev/null | grep -q '"role":"leader"'; then break; fi
  sleep 1
done

written=0
for round in $(seq 1 "$ROUNDS"); do
  victim=$(shuf -n1 -e a b a b zk1 zk2 zk3)
  echo "round $round/$ROUNDS: SIGKILL $victim"
  compose kill -s SIGKILL "$victim" >/dev/null
  client put "chaos-$round" "v$round" --timeout 30000 >/dev/null
  written=$round
  compose start "$victim" >/dev/null
  sleep 2
done

echo "checking $written keys..."
lost=0
for round in $(seq 1 "$written"); do
  got=$(client get "chaos-$round" --json)
  echo "$got" | grep -q "\"value\":\"v$round\"" || { echo "LOST chaos-$round: $got"; lost=$((lost + 1)); }
done
echo "rounds: $ROUNDS, lost: $lost"
[ "$lost" -eq 0 ]
