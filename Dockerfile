# syntax=docker/dockerfile:1
# strangler-fig: the proxy alone (one process). Mount your routes.config.ts over /app/routes.config.ts,
# or bake it in by replacing the file before building. The admin listener (API, dashboard, /metrics,
# probes) listens on all interfaces, so it refuses to start without STRANGLER_ADMIN_TOKEN(S).
# test/e2e/container.test.ts runs what this file runs: the build stage's RUN steps, then CMD with these ENV.

# --- build stage: every dependency (better-sqlite3 compiles here), the TypeScript compiled to dist/, then the ----
# --- development dependencies pruned so that only what production needs is copied on ---------------------------
FROM node:24-bookworm-slim AS build
WORKDIR /app
RUN apt-get update \
 && apt-get install -y --no-install-recommends python3 make g++ \
 && rm -rf /var/lib/apt/lists/*
COPY package.json package-lock.json .npmrc ./
RUN npm ci
COPY tsconfig.json tsconfig.build.json ./
COPY scripts/build.ts ./scripts/
COPY src ./src
RUN npm run build
RUN npm prune --omit=dev

# --- final stage: runtime only (compiled JavaScript, production dependencies), non-root -------------------------
FROM node:24-bookworm-slim
ENV NODE_ENV=production \
    PORT=8080 \
    HOST=0.0.0.0 \
    ADMIN_PORT=9901 \
    ADMIN_HOST=0.0.0.0 \
    DATA_DIR=/data \
    CONFIG=/app/routes.config.ts
WORKDIR /app
COPY --from=build /app/node_modules ./node_modules
COPY --from=build /app/dist ./dist
COPY package.json routes.config.ts ./
# routes.config.ts stays TypeScript (loaded by jiti at start-up); it imports defineConfig from here.
COPY src/config/define-config.ts ./src/config/
RUN mkdir -p /data && chown node:node /data
USER node
VOLUME ["/data"]
EXPOSE 8080 9901
# Liveness: the admin listener answers /healthz once the data plane is serving (/readyz: ready to decide).
HEALTHCHECK --interval=10s --timeout=3s --start-period=10s --retries=3 \
  CMD ["node", "-e", "fetch('http://127.0.0.1:'+(process.env.ADMIN_PORT||9901)+'/healthz').then(r=>process.exit(r.ok?0:1),()=>process.exit(1))"]
CMD ["node", "dist/main.js"]
