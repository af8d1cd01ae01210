#!/usr/bin/env bash
# CLI start-up against bare Node, measured in the same run with the same Node
# binary, so the ratio is what mltoolbox itself adds. Uses hyperfine
# (apt-get install hyperfine). Usage: bash bench/startup.sh [RUNS]
set -euo pipefail
source "$(dirname "$0")/../scripts/lib/common.sh"
cd "$REPO_ROOT"
ensure_node
command -v hyperfine >/dev/null || die "hyperfine is not installed" "apt-get install hyperfine"
[ -f dist/cli.js ] || build
runs="${1:-30}"
node_bin="$(command -v node)"
out="bench/results/startup-$(date +%Y%m%dT%H%M%S).json"
mkdir -p bench/results
hyperfine --shell=none --warmup 5 --runs "$runs" --export-json "$out" \
  -n 'node -e 0' "$node_bin -e 0" \
  -n 'mltoolbox --help' "$node_bin bin/mltoolbox.js --help" \
  -n 'mltoolbox --version' "$node_bin bin/mltoolbox.js --version" \
  -n 'mlt --version' "$node_bin bin/mlt.js --version" >&2
node -e '
  const r = JSON.parse(require("fs").readFileSync(process.argv[1], "utf8")).results;
  const base = r[0].median;
  for (const x of r) console.log(`${x.command.padEnd(22)} median ${(x.median * 1000).toFixed(1).padStart(6)} ms  ${(x.median / base).toFixed(2)}x node -e 0`);
' "$out"
