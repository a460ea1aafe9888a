# syntax=docker/dockerfile:1
# sending-metrics container image. Two targets:
#   server      (the default, last stage): for CLICKHOUSE_URL deployments; no embedded engine,
#               so the ~550 MB chdb library is not in it. Without CLICKHOUSE_URL it stops with
#               one line and exit 78.
#   all-in-one  with chdb: one container runs `run --role all` on its own data volume (a demo).
#   docker build -t sending-metrics .                          # server
#   docker build -t sending-metrics:all-in-one --target all-in-one .
# The base is pinned by exact tag (Node 26.12.1, the version .nvmrc pins — `make test-deploy`
# refuses any other —, Debian 12 slim) in every FROM line; to pin the bytes as well, append
# @sha256:<digest> of that tag to each. The image runs the compiled JavaScript (dist/): no
# TypeScript sources, no TypeScript compiler, no tsx.

# The build: the dependencies (without the optional embedded engine), then `npm run build` (tsc) into dist/.
FROM node:26.12.1-bookworm-slim AS build
WORKDIR /app
COPY package.json package-lock.json ./
COPY patches ./patches
RUN npm ci --omit=optional --no-audit --no-fund --loglevel=error
COPY tsconfig.json tsconfig.build.json ./
COPY scripts/build.sh ./scripts/build.sh
COPY schemas ./schemas
COPY services ./services
RUN npm run build

# Production dependencies exactly as package-lock.json records them (patch-package runs here).
FROM node:26.12.1-bookworm-slim AS deps
WORKDIR /app
ENV NODE_ENV=production
COPY package.json package-lock.json ./
COPY patches ./patches
RUN npm ci --omit=dev --no-audit --no-fund --loglevel=error \
    && npm cache clean --force

# The same without the embedded engine: chdb is an optional dependency loaded only when
# CLICKHOUSE_URL is unset.
FROM deps AS deps-server
RUN rm -rf node_modules/chdb node_modules/@chdb

FROM node:26.12.1-bookworm-slim AS runtime
# tini is PID 1: it forwards SIGTERM/SIGINT to node (which drains and exits) and reaps zombies.
RUN apt-get update \
    && apt-get install -y --no-install-recommends tini=0.19.0-1+b3 \
    && rm -rf /var/lib/apt/lists/*
WORKDIR /app
# HOST: listen on every interface of the container. DATA_DIR: downloads (and, in the all-in-one
# image, chDB's data); mount a volume there.
ENV NODE_ENV=production \
    HOST=0.0.0.0 \
    PORT=8080 \
    DATA_DIR=/data
COPY package.json ./
COPY bin ./bin
COPY --from=build /app/dist ./dist
RUN mkdir -p /data/downloads && chown -R 1000:1000 /data
VOLUME ["/data"]
EXPOSE 8080
# Every role answers /healthz on PORT (ingest- and alerts-only processes through their ops server).
HEALTHCHECK --interval=15s --timeout=5s --start-period=60s --retries=3 \
    CMD ["node", "-e", "fetch('http://127.0.0.1:'+(process.env.PORT||8080)+'/healthz').then(r=>process.exit(r.ok?0:1),()=>process.exit(1))"]
ENTRYPOINT ["/usr/bin/tini", "--", "node", "/app/bin/sending-metrics.js"]
CMD ["run", "--role", "all"]

FROM runtime AS all-in-one
COPY --from=deps /app/node_modules ./node_modules
# The user `node` (uid 1000) of the base image; numeric so that runAsNonRoot can verify it.
USER 1000:1000

FROM runtime AS server
COPY --from=deps-server /app/node_modules ./node_modules
USER 1000:1000
