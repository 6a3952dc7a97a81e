#!/usr/bin/env bash
# Executes the notebooks headless with the GoNB kernel, one at a time, and
# prints how long each took. A cell that fails to compile fails the run; a
# cell whose program panics does not (GoNB reports it as a success), which
# scripts/check-notebooks.py catches in the executed notebooks.
#
# Usage: scripts/run-notebooks.sh (--out DIR | --in-place) [NOTEBOOK...]
#
# --out DIR writes the executed copies to DIR and leaves the notebooks as they
# are (what CI checks); --in-place refreshes the outputs in the notebooks
# themselves (what is committed). Without NOTEBOOK arguments it runs
# notebooks/*.ipynb. The kernel spec comes from .cache/gonb/jupyter, where
# 'scripts/install-gonb.sh --headless --jupyter-data-dir .cache/gonb/jupyter'
# puts it, so runs never depend on a kernel installed elsewhere.
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
out=""
inplace=0
case "${1:-}" in
  --out) out="${2:?--out needs a folder}"; shift 2 ;;
  --in-place) inplace=1; shift ;;
  *) sed -n '2,14p' "$0" | sed 's/^# \{0,1\}//' >&2; exit 2 ;;
esac
if [ $# -eq 0 ]; then
  set -- "$root"/notebooks/*.ipynb
fi

export JUPYTER_DATA_DIR="$root/.cache/gonb/jupyter"
if [ ! -f "$JUPYTER_DATA_DIR/kernels/gonb/kernel.json" ]; then
  echo "run-notebooks.sh: no GoNB kernel in $JUPYTER_DATA_DIR; run 'make notebook-kernel'" >&2
  exit 1
fi

# Cells run in the notebook's own folder, whatever the output folder.
# Timing metadata is left out so refreshed notebooks differ only in outputs.
args=(--to notebook --execute --ExecutePreprocessor.timeout=600
  --ExecutePreprocessor.record_timing=False --log-level=WARN)
if [ "$inplace" -eq 1 ]; then
  args+=(--inplace)
else
  mkdir -p "$out"
  args+=(--output-dir "$out")
fi

failed=()
for nb in "$@"; do
  start=$(date +%s%N)
  if /usr/bin/python3 -m nbconvert "${args[@]}" "$nb" >"${TMPDIR:-/tmp}/nbconvert.$$.log" 2>&1; then
    status=ok
  else
    status=FAILED
    failed+=("$(basename "$nb")")
    # The log ends with the failing cell and its error.
    grep -v '^[IWE][0-9]\{4\} ' "${TMPDIR:-/tmp}/nbconvert.$$.log" | tail -40 >&2
  fi
  ds=$((($(date +%s%N) - start) / 100000000))
  printf '%-32s %-6s %4d.%d s\n' "$(basename "$nb")" "$status" $((ds / 10)) $((ds % 10))
done
rm -f "${TMPDIR:-/tmp}/nbconvert.$$.log"
if [ ${#failed[@]} -gt 0 ]; then
  echo "run-notebooks.sh: failed: ${failed[*]}" >&2
  exit 1
fi
