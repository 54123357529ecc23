#!/usr/bin/env bash
# inferd with `buf curl` (the @bufbuild/buf dev dependency) over gRPC, gRPC-Web and
# Connect. No proto files: buf asks the server's reflection service for the schema
# (grpc.reflection.v1, the service grpcurl uses too). Nothing leaves the machine.
#
#   examples/shell/buf-curl.sh [BASE_URL]    # default http://localhost:8080 (npm start)
#
# Each step prints "### <protocol> <step>" and then buf's output.
set -euo pipefail
base="${1:-http://localhost:8080}"
base="${base%/}"
# buf on PATH (e.g. inside npm scripts) or the project's copy through npx.
buf() { if type -P buf >/dev/null; then command buf "$@"; else npx --no-install buf "$@"; fi; }
predict='{"model":"iris","inputs":{"features":{"shape":[1,4],"floatData":[5.1,3.5,1.4,0.2]}}}'

for protocol in grpc grpcweb connect; do
  flags=(--protocol "$protocol")
  # gRPC needs HTTP/2; over plain http:// that is h2c with prior knowledge.
  [ "$protocol" = grpc ] && flags+=(--http2-prior-knowledge)

  printf '### %s list-methods\n' "$protocol"
  buf curl "${flags[@]}" --list-methods "$base"

  printf '### %s Predict\n' "$protocol"
  buf curl "${flags[@]}" --data "$predict" \
    "$base/inferd.v1.InferenceService/Predict"

  printf '### %s ListModels\n' "$protocol"
  buf curl "${flags[@]}" --data '{}' "$base/inferd.v1.ModelService/ListModels"
done
