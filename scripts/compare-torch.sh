#!/usr/bin/env bash
# Times restorelab's DDRM against the PyTorch reference loop
# (models/train/ddrm_torch.py) with the same network (the bundled prior's
# weights), equations, steps, image and threads, alternating the two so that
# both see the same machine load. Prints each run and the ratio of the best
# times.
#
#   scripts/compare-torch.sh [RUNS] [THREADS]
set -euo pipefail
cd "$(dirname "$0")/.."
runs=${1:-3} threads=${2:-2}
make -s build onnxruntime >/dev/null
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
bin/restorelab degrade --task sr4 --in samples/cat.png --out "$tmp/y.npz" >/dev/null
best_go=1e9 best_py=1e9
for i in $(seq "$runs"); do
	py=$(OMP_NUM_THREADS=$threads /usr/bin/python3 -W ignore models/train/ddrm_torch.py --image samples/cat.png --threads "$threads")
	echo "pytorch     $py"
	s_py=$(sed -E 's/.*: ([0-9.]+) s\/image.*/\1/' <<<"$py")
	go=$(bin/restorelab restore --in "$tmp/y.npz" --out "$tmp/x.png" --steps 20 --threads "$threads" --ref samples/cat.png 2>/dev/null | tr '\n' ' ')
	echo "restorelab  $go"
	s_go=$(sed -E 's/.*, ([0-9.]+)s\).*/\1/' <<<"$go")
	best_go=$(awk -v a="$best_go" -v b="$s_go" 'BEGIN{print (b<a)?b:a}')
	best_py=$(awk -v a="$best_py" -v b="$s_py" 'BEGIN{print (b<a)?b:a}')
done
awk -v g="$best_go" -v p="$best_py" 'BEGIN{printf "best of each: restorelab %.2f s, PyTorch %.2f s per image: restorelab %.2fx faster\n", g, p, p/g}'
echo "load: $(cut -d' ' -f1-3 /proc/loadavg)"
