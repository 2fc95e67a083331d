#!/usr/bin/env bash
# Compares this checkout's core with REF's (a commit, branch or tag) in the perturbed two-core
# fuzz world, message by message (test/tools/core-differential.test.ts): for a refactor of
# src/core that should change nothing, including what scripts/sim-digest.mjs cannot see.
#   scripts/core-differential.sh REF [SEEDS]      (200 seeds: about 5 s of one core; 1,000: 24 s)
set -euo pipefail
cd "$(dirname "$0")/.."
ref="${1:?usage: scripts/core-differential.sh REF [SEEDS]}"
rm -rf .core-ref && mkdir .core-ref
git archive "$ref" src/core | tar -x -C .core-ref
DUORAFT_CORE_REF=.core-ref DUORAFT_DIFF_SEEDS="${2:-200}" npx vitest run --config test/tools/vitest.config.ts -t "reference core"
