#!/bin/sh
# test_exports.sh runs every export script in --random-tiny mode: a tiny
# random-weight instance of each real architecture is saved, loaded back
# through the checkpoint loading path (strict=True), exported to ONNX with
# model.json, and run once in PyTorch for reference.npz.
#
#   models/export/test_exports.sh                          # into a temporary folder
#   models/export/test_exports.sh models/testdata/export   # rewrite the Go test fixtures
#
# Into a temporary folder, the reference outputs are compared with the
# committed fixtures, so that a change to a script that changes its output
# shows. The Go test (go test ./models -run Exported) runs the committed
# ONNX files with ONNX Runtime and compares them with reference.npz.
#
# Then the verification policy: a tiny random-weight checkpoint of each kind,
# in its published format, is refused with no output folder, exported with
# --allow-unverified and marked unverified, and exported as verified against
# a test-only record of its sha256.
set -eu

PY=${PYTHON:-/usr/bin/python3}
here=$(cd "$(dirname "$0")" && pwd)
fixtures=$here/../testdata/export
if [ $# -gt 0 ]; then
	out=$1
	mkdir -p "$out"
else
	out=$(mktemp -d)
	trap 'rm -rf "$out"' EXIT
fi

# Two threads at most: the machines this runs on are shared.
export OMP_NUM_THREADS=2
run() {
	"$PY" -W ignore "$@" >"$out/log" 2>&1 || {
		cat "$out/log" >&2
		exit 1
	}
	grep '^wrote' "$out/log"
}
run "$here/guided_diffusion.py" --random-tiny --out "$out/guided_diffusion"
run "$here/guided_diffusion.py" --random-tiny --fp16 --out "$out/guided_diffusion_f16"
run "$here/ddpm.py" --random-tiny --out "$out/ddpm"
run "$here/ldm_sr.py" --random-tiny --out "$out/ldm_sr"
rm "$out/log"

# The script, its source option, how to write a tiny source, and its name.
verify() {
	script=$1 flag=$2 save=$3 src=$4
	v=$out/verify-$script
	mkdir -p "$v"
	"$PY" -W ignore "$here/$script.py" "$save" "$v/$src" >"$v/log" 2>&1 || { cat "$v/log" >&2; exit 1; }
	extra=""
	[ "$script" = ddpm ] && extra="--which celeba_hq"
	if "$PY" -W ignore "$here/$script.py" $flag "$v/$src" $extra --out "$v/refused" >"$v/log" 2>&1; then
		echo "$script: an unrecorded checkpoint was exported without --allow-unverified" >&2; exit 1
	fi
	grep -q -- "--allow-unverified" "$v/log" || { cat "$v/log" >&2; echo "$script: the refusal does not name --allow-unverified" >&2; exit 1; }
	[ ! -e "$v/refused" ] || { echo "$script: the refusal left $v/refused behind" >&2; exit 1; }
	"$PY" -W ignore "$here/$script.py" $flag "$v/$src" $extra --allow-unverified --out "$v/unverified" >"$v/log" 2>&1 || { cat "$v/log" >&2; exit 1; }
	grep -q '"verification": "unverified' "$v/unverified/model.json" || { echo "$script: not marked unverified" >&2; exit 1; }
	# A test-only record holding the tiny file's hash (both parts for ldm_sr).
	"$PY" - "$here/$script.json" "$v/$src" "$v/records.json" <<'PYEOF'
import hashlib, json, os, sys
records, src, dst = sys.argv[1:]
table = json.load(open(records))
for name, r in table["checkpoints"].items():
    path = os.path.join(src, r["file"].split("/", 1)[0], os.path.basename(r["file"])) if os.path.isdir(src) else src
    r["sha256"] = hashlib.sha256(open(path, "rb").read()).hexdigest()
    r.pop("md5", None)
json.dump(table, open(dst, "w"))
PYEOF
	"$PY" -W ignore "$here/$script.py" $flag "$v/$src" $extra --records "$v/records.json" --out "$v/verified" >"$v/log" 2>&1 || { cat "$v/log" >&2; exit 1; }
	grep -q '"verification": "verified' "$v/verified/model.json" || { echo "$script: not marked verified" >&2; exit 1; }
	echo "$script: refused unverified, exported with --allow-unverified, verified against a recorded hash"
}
verify ddpm --checkpoint --save-tiny-checkpoint tiny.ckpt
verify guided_diffusion --checkpoint --save-tiny-checkpoint tiny.pt
verify fid_inception --checkpoint --save-tiny-checkpoint tiny.pth
verify ldm_sr --snapshot --save-tiny-snapshot snapshot

"$PY" - "$out" "$fixtures" <<'EOF'
import glob, os, sys
import numpy as np

out, fixtures = sys.argv[1:]
total = 0
for onnx in sorted(glob.glob(os.path.join(out, "**", "model.onnx"), recursive=True)):
    if os.path.relpath(onnx, out).startswith("verify-"):
        continue
    size = os.path.getsize(onnx)
    total += sum(os.path.getsize(os.path.join(os.path.dirname(onnx), f))
                 for f in ("model.onnx", "model.json", "reference.npz"))
    if size > 2 * 2**20:
        sys.exit(f"{onnx}: {size} bytes, over the 2 MiB a test fixture may take")
if total > 6 * 2**20:
    sys.exit(f"the fixtures take {total} bytes, over 6 MiB")
print(f"fixtures: {total} bytes in all")

if os.path.realpath(out) != os.path.realpath(fixtures):
    for ref in sorted(glob.glob(os.path.join(out, "**", "reference.npz"), recursive=True)):
        rel = os.path.relpath(ref, out)
        if rel.startswith("verify-"):
            continue
        old = os.path.join(fixtures, rel)
        if not os.path.exists(old):
            sys.exit(f"{rel}: no committed fixture; write them with {sys.argv[0]} models/testdata/export")
        a, b = np.load(ref), np.load(old)
        for k in a.files:
            # Relative to the tensor's scale, not per element: float32 sums in
            # another order (thread count, CPU kernels) move near-zero entries
            # by ~1e-6 of the scale; a change to a script moves them by O(1).
            diff = float(np.abs(a[k].astype(np.float64) - b[k]).max())
            scale = max(1.0, float(np.abs(b[k]).max()))
            if diff > 1e-5 * scale:
                sys.exit(f"{rel}: {k} differs from the committed fixture by {diff:.3g} (scale {scale:.3g}); rewrite the fixtures if the change is intended")
    print("reference outputs match the committed fixtures")
EOF
