# syntax=docker/dockerfile:1

# --- build: compile TypeScript and the better-sqlite3 native addon -------------------------------
FROM node:22-bookworm-slim AS build
RUN apt-get update \
 && apt-get install -y --no-install-recommends python3 make g++ \
 && rm -rf /var/lib/apt/lists/*
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci
COPY tsconfig.json tsconfig.build.json ./
COPY src ./src
COPY drizzle ./drizzle
COPY scripts/bundle-server.mjs ./scripts/
RUN npm run build \
 && npm prune --omit=dev

# --- runtime: compiled code, production dependencies, no compiler --------------------------------
FROM node:22-bookworm-slim
RUN groupadd --system --gid 10001 verifyd \
 && useradd --system --uid 10001 --gid verifyd --home-dir /nonexistent --no-create-home --shell /usr/sbin/nologin verifyd \
 && mkdir /data \
 && chown verifyd:verifyd /data
WORKDIR /app
COPY --from=build /app/package.json ./package.json
COPY --from=build /app/node_modules ./node_modules
COPY --from=build /app/dist ./dist
COPY --from=build /app/drizzle ./drizzle

# Everything verifyd writes (database, WAL, SQLite temp files) goes to /data, so the root
# filesystem can be mounted read-only.
ENV NODE_ENV=production \
    VERIFYD_ENV=production \
    VERIFYD_DB=/data/verifyd.db \
    VERIFYD_HOST=0.0.0.0 \
    PORT=8080 \
    SQLITE_TMPDIR=/data
USER verifyd
VOLUME /data
EXPOSE 8080
# The slim image has no curl; Node's fetch does the probe.
HEALTHCHECK --interval=30s --timeout=3s --start-period=10s --retries=3 \
  CMD ["node", "-e", "fetch('http://127.0.0.1:'+(process.env.VERIFYD_PROBE_PORT||process.env.PORT||8080)+'/healthz').then(r=>process.exit(r.ok?0:1),()=>process.exit(1))"]
STOPSIGNAL SIGTERM
CMD ["node", "dist/cli.js", "serve"]
