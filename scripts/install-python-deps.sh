#!/usr/bin/env bash
# Installs the Debian Python packages the tests use, for /usr/bin/python3:
# numpy reads the .npz files restorelab writes; PyTorch and onnx run the
# checkpoint exporters (models/export, restorelab models import).
set -euo pipefail
need=()
/usr/bin/python3 -c 'import numpy' 2>/dev/null || need+=(python3-numpy)
/usr/bin/python3 -c 'import torch' 2>/dev/null || need+=(python3-torch)
/usr/bin/python3 -c 'import onnx' 2>/dev/null || need+=(python3-onnx)
[ ${#need[@]} -eq 0 ] && exit 0
if [ "$(id -u)" -ne 0 ]; then
  echo "missing Debian packages: ${need[*]}; install them with: sudo apt-get install -y ${need[*]}" >&2
  exit 1
fi
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq "${need[@]}" >/dev/null
