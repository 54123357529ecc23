#!/usr/bin/env bash
# The Open Inference Protocol (KServe v2 / Triton) REST routes with nothing but curl:
# server and model metadata, JSON infer on iris, and Triton's binary tensor extension
# with a request body built by printf (JSON header, then raw float32 little-endian).
#
#   examples/shell/oip-curl.sh [BASE_URL]    # default http://localhost:8080 (npm start)
#
# Each step prints "### <step>" and then the server's answer.
set -euo pipefail
base="${1:-http://localhost:8080}"
base="${base%/}"
tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT

step() { printf '### %s\n' "$1"; }
# POST a JSON body; prints the body even for an error status ({"error": "..."}).
post() {
  curl -sS -H 'content-type: application/json' -d "$2" "$base$1"
  echo
}

step "server metadata"
curl -sS --fail-with-body "$base/v2"
echo

step "model metadata"
curl -sS --fail-with-body "$base/v2/models/iris"
echo

step "infer"
post /v2/models/iris/infer \
  '{"id":"curl-1","inputs":[{"name":"features","shape":[1,4],"datatype":"FP32","data":[[5.1,3.5,1.4,0.2]]}]}'

step "infer unknown model"
post /v2/models/no_such_model/infer '{"inputs":[]}'

# Binary extension: the JSON header says which inputs follow as bytes
# (binary_data_size) and which outputs to answer as bytes (binary_data).
header='{"inputs":[{"name":"features","shape":[1,4],"datatype":"FP32","parameters":{"binary_data_size":16}}],"outputs":[{"name":"probabilities","parameters":{"binary_data":true}},{"name":"label"}]}'
printf '%s' "$header" >"$tmp/request"
# 5.1, 3.5, 1.4, 0.2 as float32 little-endian.
printf '\x33\x33\xa3\x40\x00\x00\x60\x40\x33\x33\xb3\x3f\xcd\xcc\x4c\x3e' >>"$tmp/request"
curl -sS --fail-with-body -D "$tmp/headers" -o "$tmp/response" \
  -H 'content-type: application/octet-stream' \
  -H "inference-header-content-length: ${#header}" \
  --data-binary "@$tmp/request" "$base/v2/models/iris/infer"
# The answer: Inference-Header-Content-Length bytes of JSON, then the binary outputs.
length="$(tr -d '\r' <"$tmp/headers" | awk -F': ' 'tolower($1)=="inference-header-content-length"{print $2}')"

step "binary infer header"
head -c "$length" "$tmp/response"
echo

step "binary infer probabilities"
tail -c +"$((length + 1))" "$tmp/response" | od -An -v -tx1 | tr -s ' \n' ' '
echo
