#!/usr/bin/env bash
# Installs the GoNB Jupyter kernel that runs the notebooks in notebooks/:
#
#   1. Debian's Jupyter packages, when missing (as root; otherwise it prints
#      the apt-get line and stops);
#   2. GoNB at the version go.mod pins, goimports and gopls, all into
#      .cache/gonb/bin of this checkout;
#   3. the kernel spec "gonb", through GoNB's own installer, in Jupyter's
#      user data folder or in the one --jupyter-data-dir names.
#
# Usage: scripts/install-gonb.sh [--headless] [--jupyter-data-dir DIR]
#
# --headless installs only what executing notebooks needs (nbconvert), not the
# notebook server. Steps already done are skipped, so running it again is cheap.
set -euo pipefail

# goimports and gopls versions: the newest that build with Go 1.26.
GOIMPORTS_VERSION=v0.52.0
GOPLS_VERSION=v0.23.0

headless=0
data_dir=""
while [ $# -gt 0 ]; do
  case "$1" in
    --headless) headless=1 ;;
    --jupyter-data-dir) data_dir="${2:?--jupyter-data-dir needs a folder}"; shift ;;
    -h|--help) sed -n '2,14p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "install-gonb.sh: unknown argument $1; see --help" >&2; exit 2 ;;
  esac
  shift
done

root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
GO=${GO:-go}
bin="$root/.cache/gonb/bin"
mkdir -p "$bin"

# Debian's Jupyter runs on /usr/bin/python3, whatever python3 PATH finds first.
py=/usr/bin/python3
need=()
$py -c 'import nbconvert, nbclient, jupyter_client' 2>/dev/null || need+=(jupyter-client python3-nbconvert python3-ipykernel)
if [ "$headless" -eq 0 ] && ! $py -c 'import notebook' 2>/dev/null; then
  need+=(jupyter-notebook)
fi
if [ ${#need[@]} -gt 0 ]; then
  if [ "$(id -u)" -ne 0 ]; then
    echo "missing Debian packages: ${need[*]}; install them with: sudo apt-get install -y ${need[*]}" >&2
    exit 1
  fi
  echo "installing ${need[*]} from Debian"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq "${need[@]}" >/dev/null
fi

# install_tool NAME VERSION COMMAND... runs COMMAND unless .cache/gonb/bin
# already holds NAME at VERSION, recorded in a stamp file beside it.
install_tool() {
  local name=$1 version=$2 stamp="$bin/.$1.version"
  shift 2
  if [ -x "$bin/$name" ] && [ "$(cat "$stamp" 2>/dev/null)" = "$version" ]; then
    return
  fi
  echo "building $name $version"
  "$@"
  echo "$version" >"$stamp"
}

gonb_version=$($GO list -m -f '{{.Version}}' github.com/janpfeifer/gonb)
# Built inside this module so that go.mod and go.sum pin GoNB and its
# dependencies; 'go install ...@version' refuses GoNB's deprecated module.
install_tool gonb "$gonb_version" $GO build -o "$bin/gonb" github.com/janpfeifer/gonb
install_tool goimports "$GOIMPORTS_VERSION" env GOBIN="$bin" $GO install "golang.org/x/tools/cmd/goimports@$GOIMPORTS_VERSION"
install_tool gopls "$GOPLS_VERSION" env GOBIN="$bin" $GO install "golang.org/x/tools/gopls@$GOPLS_VERSION"

# GoNB runs go, goimports and gopls from PATH. Jupyter may be started where
# PATH has none of them (a desktop launcher, another shell), so the kernel
# starts through a wrapper that puts this checkout's tools and Go first.
goroot_bin="$($GO env GOROOT)/bin"
cat >"$bin/gonb-kernel" <<EOF
#!/bin/sh
# Starts GoNB with the tools installed by scripts/install-gonb.sh.
PATH="$bin:$goroot_bin:\$PATH"
export PATH
exec "$bin/gonb" "\$@"
EOF
chmod +x "$bin/gonb-kernel"

if [ -n "$data_dir" ]; then
  mkdir -p "$data_dir"
  export JUPYTER_DATA_DIR
  JUPYTER_DATA_DIR=$(cd "$data_dir" && pwd)
fi
if ! log=$(PATH="$bin:$goroot_bin:$PATH" "$bin/gonb" --install 2>&1); then
  echo "$log" >&2
  echo "install-gonb.sh: GoNB's installer failed" >&2
  exit 1
fi
spec_dir=$($py -c 'from jupyter_core.paths import jupyter_data_dir; print(jupyter_data_dir())')/kernels/gonb
# Point the spec at the wrapper instead of the bare binary.
$py - "$spec_dir/kernel.json" "$bin/gonb-kernel" <<'EOF'
import json, sys
path, wrapper = sys.argv[1], sys.argv[2]
with open(path) as f:
    spec = json.load(f)
spec["argv"][0] = wrapper
with open(path, "w") as f:
    json.dump(spec, f, indent=1)
    f.write("\n")
EOF
echo "GoNB $gonb_version kernel installed: $spec_dir/kernel.json"
