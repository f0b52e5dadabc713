# syntax=docker/dockerfile:1
# One Dockerfile, three images: the project is one npm package built by one `tsc`, so the three images share
# the builder and production-dependency stages (built once, cached) and differ only in their entry point.
#
#   docker build --target operator -t seckill/operator:0.1.0 .
#   docker build --target api      -t seckill/api:0.1.0 .
#   docker build --target consumer -t seckill/consumer:0.1.0 .
#
# The runtime base is distroless Node 24 (no shell, no package manager) and runs as its "nonroot" user,
# uid 65532, which the chart's podSecurityContext (runAsUser 65532, runAsNonRoot) matches.
ARG NODE_IMAGE=node:24-slim
ARG RUNTIME_IMAGE=gcr.io/distroless/nodejs24-debian12:nonroot

# --- builder: every dependency, compile TypeScript to dist/ (with the Lua scripts) ---
FROM ${NODE_IMAGE} AS builder
WORKDIR /src
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund
COPY tsconfig.json ./
COPY operator/ operator/
COPY workloads/ workloads/
RUN npm run build

# --- deps: production dependencies only ---
FROM ${NODE_IMAGE} AS deps
WORKDIR /src
COPY package.json package-lock.json ./
RUN npm ci --omit=dev --no-audit --no-fund --ignore-scripts

# --- runtime: what all three images share ---
FROM ${RUNTIME_IMAGE} AS runtime
WORKDIR /app
ENV NODE_ENV=production
# package.json carries "type": "module" (dist/ is ESM).
COPY --from=deps /src/package.json ./package.json
COPY --from=deps /src/node_modules ./node_modules
# Shared code, including dist/workloads/shared/redis/lua/*.lua (copied there by `npm run build`).
COPY --from=builder /src/dist/workloads/shared ./dist/workloads/shared
USER 65532:65532

# --- the three images ---
FROM runtime AS operator
COPY --from=builder /src/dist/operator ./dist/operator
USER 65532:65532
EXPOSE 9101
ENTRYPOINT ["/nodejs/bin/node", "--enable-source-maps", "dist/operator/main.js"]

FROM runtime AS consumer
COPY --from=builder /src/dist/workloads/consumer ./dist/workloads/consumer
USER 65532:65532
EXPOSE 9102
ENTRYPOINT ["/nodejs/bin/node", "--enable-source-maps", "dist/workloads/consumer/main.js"]

# Last, so a plain `docker build .` gives the front door.
FROM runtime AS api
COPY --from=builder /src/dist/workloads/api ./dist/workloads/api
USER 65532:65532
EXPOSE 8080
ENTRYPOINT ["/nodejs/bin/node", "--enable-source-maps", "dist/workloads/api/main.js"]
