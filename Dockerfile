# syntax=docker/dockerfile:1
# The gateway's image. The build stage makes the mediasoup worker offline
# (scripts/mediasoup-worker.sh) and dist/ (npm run build); the runtime stage holds only
# what dist/ needs to run: Node.js, the production dependencies, the worker and its shared
# libraries. test/deploy/docker-compose.test.ts keeps this file in step with the
# configuration (config/default.json) and docker-compose.yml.

FROM node:22-bookworm AS build
WORKDIR /build
# The worker first: its build takes minutes and needs only these files, so a change to the
# code reuses this layer. It lands in /opt/mediasoup-worker with its version record, which
# the gateway checks against the installed mediasoup at start-up.
COPY package.json package-lock.json ./
COPY scripts/ scripts/
RUN worker=$(bash scripts/mediasoup-worker.sh | tail -n 1) \
 && mkdir -p /opt/mediasoup-worker \
 && cp "$worker" "$(dirname "$worker")/mediasoup-version" /opt/mediasoup-worker/
# With the worker given, mediasoup's install script neither downloads nor builds one.
ENV MEDIASOUP_WORKER_BIN=/opt/mediasoup-worker/mediasoup-worker
RUN npm ci --no-audit --no-fund
COPY tsconfig.json ./
COPY config/ config/
COPY src/ src/
RUN npm run build && npm prune --omit=dev --no-audit --no-fund

FROM node:22-bookworm-slim AS runtime
# The worker's shared libraries (RUNTIME_PKGS in scripts/mediasoup-worker.sh); no compiler.
RUN apt-get update \
 && apt-get install -y --no-install-recommends libssl3 libuv1 libsrtp2-1 libabsl20220623 \
 && rm -rf /var/lib/apt/lists/*
WORKDIR /app
ENV MEDIASOUP_WORKER_BIN=/opt/mediasoup-worker/mediasoup-worker
COPY --from=build /opt/mediasoup-worker/ /opt/mediasoup-worker/
COPY --from=build /build/package.json ./
COPY --from=build /build/node_modules/ node_modules/
COPY --from=build /build/dist/ dist/
USER node
# HTTP and the RTP range of config/default.json (SIP is drachtio-server's, see docker-compose.yml).
EXPOSE 8080/tcp 40000-40999/udp
# Ready means store, mediasoup workers and the drachtio-server connection are all up.
HEALTHCHECK --interval=15s --timeout=5s --start-period=30s --retries=3 \
  CMD ["node", "-e", "fetch(`http://127.0.0.1:${process.env.HTTP_PORT || 8080}/readyz`).then((r) => process.exit(r.ok ? 0 : 1), () => process.exit(1))"]
CMD ["node", "dist/src/main.js"]
