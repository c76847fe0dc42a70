#!/usr/bin/env bash
# Builds ./microvmm. First choice: `deno compile`, a standalone executable with the hello guest
# embedded. `deno compile` downloads its runtime (denort) from dl.deno.land; where that cannot be
# reached (offline machines), it writes ./microvmm as a launcher script that runs main.ts with the
# pinned Deno of this checkout instead, and says so. Usage: scripts/build.sh DENO [OUT]
set -uo pipefail
deno=${1:?usage: scripts/build.sh DENO [OUT]}
root=$(cd "$(dirname "$0")/.." && pwd)
out=${2:-$root/microvmm}
permissions=(--allow-ffi --allow-read --allow-env)
# Imported with a computed specifier (lib/cli/run_cli.ts says why), so not found by itself.
include=(--include "$root/lib/cli/linux_cli.ts")
log=$(mktemp)
trap 'rm -f "$log" "$out.tmp"' EXIT

if "$deno" compile --quiet "${permissions[@]}" "${include[@]}" --output "$out.tmp" "$root/main.ts" >"$log" 2>&1; then
  mv -f "$out.tmp" "$out"
  echo "built $out: standalone executable (deno compile), hello guest embedded"
  exit 0
fi

reason=$(grep -m1 -o 'error sending request for url ([^)]*)' "$log" || head -n1 "$log")
echo "deno compile failed: ${reason:-see deno output}" >&2
if ! grep -q 'denort\|dl.deno.land\|error sending request' "$log"; then
  cat "$log" >&2
  exit 1
fi
echo "deno compile needs its runtime (denort) from the internet; writing a launcher instead" >&2
cat >"$out.tmp" <<LAUNCHER
#!/bin/sh
# microvmm launcher written by scripts/build.sh because deno compile could not download its
# runtime. It runs main.ts from $root with the pinned Deno; works from any directory.
MICROVMM_LAUNCHER=1 DENO_DIR="\${DENO_DIR:-$root/.cache/deno}" exec "$deno" run --quiet --no-prompt ${permissions[*]} "$root/main.ts" "\$@"
LAUNCHER
chmod 755 "$out.tmp"
mv -f "$out.tmp" "$out"
echo "built $out: launcher script (runs main.ts with $deno), not a standalone executable"
