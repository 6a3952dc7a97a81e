#!/bin/sh
# fetch-onnxruntime.sh puts the ONNX Runtime shared library that
# github.com/yalue/onnxruntime_go speaks to into the project cache:
#
#   .cache/onnxruntime/$ORT_VERSION/libonnxruntime.so.1
#
# It takes the library from the onnxruntime-node npm package, which ships a
# prebuilt Linux x64 CPU build, using `npm pack` so that nothing is installed
# and no package scripts run. It does nothing if the library is already there.
#
# The cache root is $RESTORELAB_CACHE when set, as in package models' lookup.
#
# Usage: scripts/fetch-onnxruntime.sh [DEST_DIR]
set -eu

ORT_VERSION=1.24.1
MEMBER=package/bin/napi-v6/linux/x64/libonnxruntime.so.1
# Published npm versions are immutable, so the library's hash is fixed.
SHA256=53ef1ac028dd1b05554b8da28d9159eb3876f99868193d2aaa6e67f0243c23d4

root=$(cd "$(dirname "$0")/.." && pwd)
dest_dir=${1:-"${RESTORELAB_CACHE:-$root/.cache}/onnxruntime/$ORT_VERSION"}
dest=$dest_dir/libonnxruntime.so.1

if [ -f "$dest" ]; then
	echo "ONNX Runtime $ORT_VERSION already present: $dest"
	exit 0
fi

case "$(uname -s)/$(uname -m)" in
Linux/x86_64) ;;
*)
	echo "fetch-onnxruntime: only linux/x86_64 is provided by this script;" >&2
	echo "install ONNX Runtime $ORT_VERSION yourself and set RESTORELAB_ORT_LIB=/path/to/libonnxruntime.so" >&2
	exit 1
	;;
esac

command -v npm >/dev/null 2>&1 || {
	echo "fetch-onnxruntime: npm is needed to download onnxruntime-node@$ORT_VERSION;" >&2
	echo "install it, or set RESTORELAB_ORT_LIB=/path/to/libonnxruntime.so.1" >&2
	exit 1
}

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
trap 'exit 130' INT TERM

echo "downloading onnxruntime-node@$ORT_VERSION with npm pack"
(cd "$tmp" && npm pack --silent "onnxruntime-node@$ORT_VERSION" >/dev/null)
tarball=$(ls "$tmp"/onnxruntime-node-*.tgz)
tar -xzf "$tarball" -C "$tmp" "$MEMBER"

# An ELF shared object starts with \177ELF and has e_type ET_DYN (3) at
# offset 16; check both so that an HTML error page or a truncated file never
# lands in the cache.
lib=$tmp/$MEMBER
magic=$(od -An -c -N4 "$lib" | tr -d ' ')
etype=$(od -An -tu2 -j16 -N2 "$lib" | tr -d ' ')
if [ "$magic" != '177ELF' ] || [ "$etype" != 3 ]; then
	echo "fetch-onnxruntime: $MEMBER in the npm package is not an ELF shared object" >&2
	exit 1
fi
got=$(sha256sum "$lib" | cut -d' ' -f1)
if [ "$got" != "$SHA256" ]; then
	echo "fetch-onnxruntime: sha256 of $MEMBER is $got, expected $SHA256" >&2
	exit 1
fi

mkdir -p "$dest_dir"
# Copy then rename so that an interrupted run never leaves a partial library.
cp "$lib" "$dest.tmp.$$"
mv "$dest.tmp.$$" "$dest"
echo "ONNX Runtime $ORT_VERSION installed: $dest (sha256 $got)"
