#!/usr/bin/env bash
# Generates the Python gRPC stubs for inferd (inferd.v1) and the Open Inference Protocol
# (inference, KServe v2 / Triton) from proto/ with Debian's protoc and its
# gRPC plugin (apt: protobuf-compiler protobuf-compiler-grpc):
#
#   examples/python/generate.sh [OUT_DIR]     # default: examples/python/gen (git-ignored)
#
# proto/ imports google/protobuf/{struct,timestamp}.proto, whose sources Debian ships only
# in libprotobuf-dev; so `buf build` (the project's dev dependency, offline) first compiles
# proto/ into a descriptor set that includes those imports, and protoc generates from that.
# The Python runtime modules for them (struct_pb2, timestamp_pb2) come with python3-protobuf.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
out="$(realpath -m "${1:-$here/gen}")"
plugin="${GRPC_PYTHON_PLUGIN:-/usr/bin/grpc_python_plugin}"
command -v protoc >/dev/null || { echo "protoc not found (apt install protobuf-compiler)" >&2; exit 2; }
[ -x "$plugin" ] || { echo "$plugin not found (apt install protobuf-compiler-grpc)" >&2; exit 2; }

cd "$here/../.."
tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT
npx --no-install buf build -o "$tmp/inferd.binpb"

# proto3 `optional` needs a flag on protoc 3.12 to 3.14; from 3.15 on it is always on.
extra=()
case "$(protoc --version | awk '{print $2}')" in 3.1[234].*) extra=(--experimental_allow_proto3_optional) ;; esac

mkdir -p "$out"
mapfile -t files < <(cd proto && find inferd inference -name '*.proto' | sort)
protoc "${extra[@]}" --descriptor_set_in="$tmp/inferd.binpb" \
  --python_out="$out" --grpc_python_out="$out" --plugin=protoc-gen-grpc_python="$plugin" \
  "${files[@]}"
echo "$out"
