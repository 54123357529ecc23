#!/usr/bin/env bash
# inferd with nothing but curl: JSON over HTTP/1.1 (the Connect protocol's unary form,
# POST /<package.Service>/<Method>), plus the plain HTTP probes and metrics.
#
#   examples/shell/curl.sh [BASE_URL]        # default http://localhost:8080 (npm start)
#
# Each step prints "### <step>" and then the server's answer.
set -euo pipefail
base="${1:-http://localhost:8080}"
base="${base%/}"

step() { printf '### %s\n' "$1"; }
# POST JSON to an RPC; prints the body even for an error status (then the body is
# the Connect error JSON: {"code":"not_found","message":"..."}).
rpc() {
  curl -sS -H 'content-type: application/json' -d "$2" "$base/$1"
  echo
}

step "Predict"
rpc inferd.v1.InferenceService/Predict \
  '{"model":"iris","inputs":{"features":{"shape":[1,4],"floatData":[5.1,3.5,1.4,0.2]}}}'

step "Predict unknown model"
rpc inferd.v1.InferenceService/Predict '{"model":"no_such_model"}'

step "GetModel"
rpc inferd.v1.ModelService/GetModel '{"name":"iris"}'

step "ListModels"
rpc inferd.v1.ModelService/ListModels '{}'

step "healthz"
curl -sS --fail-with-body "$base/healthz"

step "readyz"
curl -sS --fail-with-body "$base/readyz"

step "metrics"
curl -sS --fail-with-body "$base/metrics" | grep '^inferd_inference_requests_total'
