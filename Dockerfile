# syntax=docker/dockerfile:1
# inferd container image. Written and checked on paper (test/deploy/manifests.test.ts
# checks ports, flags and the health check against the server); the machine it was
# written on cannot run docker.
#
#   docker build -t inferd:0.1.0 .
#   docker run --rm -p 8080:8080 -v "$PWD/models:/models:ro" inferd:0.1.0
#
# Models: the server reads the repository at /models (`--model-repository /models`).
# The image ships the demo models there (iris, multi_io, tiny_llama); mount your own
# repository over /models (read-only is enough) to serve it instead.
#
# onnxruntime-node: ONNXRUNTIME_NODE_INSTALL=skip skips only the package's postinstall
# download (on linux/x64 that is the CUDA 12 provider, from NuGet); an environment
# variable because npm 11 warns about the same setting in .npmrc. The CPU binaries for linux/x64 and linux/arm64 ship inside the npm tarball
# (node_modules/onnxruntime-node/bin/napi-v6/linux/<arch>), so `npm ci` with the skip
# flag gives a working CPU runtime; the runtime stage drops the darwin/win32 copies.
#
# npm ci, else npm install: package-lock.json lacks the other platforms' optional
# binary packages (@biomejs/cli-*, @esbuild/*, ...) because it was written against a
# registry that serves only this platform's, and npm ci rejects such a lock before it
# installs anything. Once the lock is regenerated against the public registry, the
# fallback never runs.

ARG NODE_IMAGE=node:20-slim

# 1. Build: compile TypeScript to dist/, bundle the playground into ui/dist, and
#    generate the demo models with the project's own (offline, seeded) generator.
FROM ${NODE_IMAGE} AS build
WORKDIR /app
ENV ONNXRUNTIME_NODE_INSTALL=skip
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund || npm install --no-audit --no-fund
COPY . .
RUN npm run build && npm run fixtures -- --out /app/demo-models

# 2. Production dependencies only, without other platforms' onnxruntime binaries.
FROM ${NODE_IMAGE} AS deps
WORKDIR /app
ENV ONNXRUNTIME_NODE_INSTALL=skip
COPY package.json package-lock.json ./
RUN (npm ci --omit=dev --no-audit --no-fund || npm install --omit=dev --no-audit --no-fund) \
  && rm -rf node_modules/onnxruntime-node/bin/napi-v6/darwin node_modules/onnxruntime-node/bin/napi-v6/win32 \
  && npm cache clean --force

# 3. Runtime: node:20-slim, non-root, no compilers, no npm needed at run time.
FROM ${NODE_IMAGE} AS runtime
ENV NODE_ENV=production
WORKDIR /app
COPY package.json ./
COPY --from=deps /app/node_modules ./node_modules
COPY --from=build /app/dist ./dist
COPY --from=build /app/ui/dist ./ui/dist
COPY --from=build /app/demo-models /models
# The image's "node" user, by number so that Kubernetes' runAsNonRoot can verify it.
USER 1000:1000
EXPOSE 8080
# No curl in slim images: Node's own fetch asks the liveness probe.
HEALTHCHECK --interval=10s --timeout=3s --start-period=20s --retries=3 \
  CMD ["node", "-e", "fetch('http://127.0.0.1:8080/healthz').then((r) => process.exit(r.ok ? 0 : 1), () => process.exit(1))"]
# SIGTERM starts the graceful drain (--grace-period-ms); `docker stop -t` should exceed it.
STOPSIGNAL SIGTERM
ENTRYPOINT ["node", "dist/src/cli/main.js"]
CMD ["--model-repository", "/models", "--port", "8080"]
