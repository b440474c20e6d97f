# syntax=docker/dockerfile:1
# strangler-fig: the proxy alone (one process). Mount your routes.config.ts over /app/routes.config.ts,
# or bake it in by replacing the file before building. The admin listener (API, dashboard, /metrics,
# probes) listens on all interfaces, so it refuses to start without STRANGLER_ADMIN_TOKEN(S).
# test/e2e/container.test.ts runs what this file runs: npm ci --omit=dev, then CMD with these ENV.

# --- build stage: production dependencies, with the toolchain better-sqlite3 compiles with ---------------
FROM node:20-bookworm-slim AS deps
WORKDIR /app
RUN apt-get update \
 && apt-get install -y --no-install-recommends python3 make g++ \
 && rm -rf /var/lib/apt/lists/*
COPY package.json package-lock.json .npmrc ./
RUN npm ci --omit=dev

# --- final stage: runtime only, non-root ------------------------------------------------------------------
FROM node:20-bookworm-slim
ENV NODE_ENV=production \
    PORT=8080 \
    HOST=0.0.0.0 \
    ADMIN_PORT=9901 \
    ADMIN_HOST=0.0.0.0 \
    DATA_DIR=/data \
    CONFIG=/app/routes.config.ts
WORKDIR /app
COPY --from=deps /app/node_modules ./node_modules
COPY package.json tsconfig.json routes.config.ts ./
COPY src ./src
RUN mkdir -p /data && chown node:node /data
USER node
VOLUME ["/data"]
EXPOSE 8080 9901
# Liveness: the admin listener answers /healthz once the data plane is serving (/readyz: ready to decide).
HEALTHCHECK --interval=10s --timeout=3s --start-period=10s --retries=3 \
  CMD ["node", "-e", "fetch('http://127.0.0.1:'+(process.env.ADMIN_PORT||9901)+'/healthz').then(r=>process.exit(r.ok?0:1),()=>process.exit(1))"]
CMD ["node", "--import", "tsx", "src/main.ts"]
