# Hexclave server image, built to run as a sidecar next to the backend that uses it, or as
# replicas on one PostgreSQL. docs/deployment.md has the whole story; in short:
#   docker build -t hexclave .
#   docker run -d --name hexclave -p 127.0.0.1:50051:50051 -v hexclave-data:/data \
#     -v /etc/hexclave:/run/hexclave:ro \
#     -e HEXCLAVE_MASTER_KEY_FILE=/run/hexclave/master.key \
#     -e HEXCLAVE_TLS_SERVER_CERT=/run/hexclave/server.crt -e HEXCLAVE_TLS_SERVER_KEY=/run/hexclave/server.key \
#     hexclave
#   docker exec hexclave hexclave stores list
# It refuses to start without a master key (NODE_ENV=production), and on its default
# 0.0.0.0:50051 without TLS (or HEXCLAVE_INSECURE_PLAINTEXT=1 behind a service mesh);
# HEXCLAVE_LISTEN=127.0.0.1:50051 suits a sidecar that only its pod reaches.

# --- Production dependencies. better-sqlite3 is a native addon; prebuilt binaries may not be
# --- downloadable where the image is built, so it compiles from source with python3, make, g++.
FROM node:24-bookworm-slim AS deps
RUN apt-get update \
 && apt-get install -y --no-install-recommends python3 make g++ \
 && rm -rf /var/lib/apt/lists/*
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --omit=dev --no-audit --no-fund \
 && npm cache clean --force

# --- Compile TypeScript. Install scripts are skipped: tsc needs no native addon.
FROM node:24-bookworm-slim AS build
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --ignore-scripts --no-audit --no-fund
COPY tsconfig.json tsconfig.build.json ./
COPY gen ./gen
COPY src ./src
RUN npm run build && chmod 755 dist/src/cli/main.js

# --- Runtime: no compiler, no dev dependencies, not root.
FROM node:24-bookworm-slim
ENV NODE_ENV=production \
    HEXCLAVE_LISTEN=0.0.0.0:50051 \
    HEXCLAVE_DATA_DIR=/data
WORKDIR /app
COPY --from=deps /app/node_modules ./node_modules
COPY --from=build /app/dist/src ./dist/src
COPY --from=build /app/dist/gen ./dist/gen
COPY package.json ./
RUN mkdir -p /data && chown node:node /data && chmod 700 /data \
 && ln -s /app/dist/src/cli/main.js /usr/local/bin/hexclave
USER node
VOLUME ["/data"]
EXPOSE 50051
# grpc.health.v1 over the server's own HEXCLAVE_LISTEN; needs no token. With TLS it pins the
# server's own certificate (HEXCLAVE_TLS_SERVER_CERT); under mTLS health needs no client certificate.
HEALTHCHECK --interval=10s --timeout=5s --start-period=10s --retries=3 \
  CMD ["node", "/app/dist/src/cli/main.js", "health", "--timeout", "4000"]
# node runs as PID 1 and handles SIGTERM itself: graceful shutdown, exit 0.
ENTRYPOINT ["node", "/app/dist/src/cli/main.js"]
CMD ["serve"]
