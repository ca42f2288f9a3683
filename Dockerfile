# icegate production image: a build stage with the dev dependencies compiles TypeScript; the
# runtime stage has production dependencies and dist/ only, runs Node 24 (DESIGN.md "Runtime")
# as a non-root user, and checks /healthz.
#
#   docker build -t icegate .
#   docker run --network host -e TURN_EXTERNAL_IP=203.0.113.10 -e TURN_SECRETS=... icegate
#
# No `# syntax=` line: it makes BuildKit pull a frontend image from a registry, so builds would
# fail offline, and nothing here needs a newer frontend than the one built into Docker.
# scripts/image/check.sh builds and runs this file unchanged (docs/deployment.md).
#
# Host networking is the practical way to run a TURN relay in Docker: publishing the relay range
# with -p 49152-65535:49152-65535/udp makes Docker create thousands of forwarding rules (slow to
# start, and userland proxies if enabled).

FROM node:24-slim AS build
WORKDIR /app
COPY package.json package-lock.json ./
# --ignore-scripts: the `prepare` script runs tsc, and the sources are not copied yet.
RUN npm ci --ignore-scripts
COPY tsconfig.json tsconfig.build.json ./
COPY src ./src
# tsc emits only what it compiles; any other file under src/ (pages, OpenAPI documents) is
# carried to the same place under dist/src/ so lookups relative to a module still work.
RUN npm run build \
 && cd src \
 && find . -type f ! -name '*.ts' -exec install -D -m 0644 {} ../dist/src/{} \;
# The native data plane (TURN_DATA_PLANE=native, the default): compiled here with this image's
# Node headers by the same script `npm ci` runs, then only the .node file goes to the runtime
# stage. The script never fails; without the file icegate logs one warning and relays in JS.
RUN apt-get update \
 && apt-get install -y --no-install-recommends python3 make g++ \
 && rm -rf /var/lib/apt/lists/*
COPY scripts/build-native.mjs ./scripts/
COPY native/binding.gyp ./native/
COPY native/src ./native/src
RUN node scripts/build-native.mjs \
 && mkdir -p native/build/Release \
 && touch native/build/Release/.keep \
 && find native/build/Release -mindepth 1 -maxdepth 1 ! -name icegate_native.node ! -name .keep \
      -exec rm -rf {} +

FROM node:24-slim AS runtime
# DRAIN_TIMEOUT_SECONDS fits a plain `docker stop` (10 s before SIGKILL): 8 s of drain, then 2 s
# to close the remaining allocations and write their usage. A longer drain needs a matching
# stop timeout: `docker run --stop-timeout 3600 -e DRAIN_TIMEOUT_SECONDS=3570 ...`.
ENV NODE_ENV=production \
    DATA_DIR=/data \
    DRAIN_TIMEOUT_SECONDS=8
WORKDIR /app
COPY package.json package-lock.json ./
# Production dependencies only. --ignore-scripts because `prepare` runs tsc, a dev dependency
# that is not installed here; dist/ comes compiled from the build stage.
RUN npm ci --omit=dev --ignore-scripts \
 && npm cache clean --force \
 && mkdir -p /data \
 && chown 1000:1000 /data \
 && printf '#!/bin/sh\nexec node /app/dist/src/cli/main.js "$@"\n' > /usr/local/bin/icegate \
 && chmod 0755 /usr/local/bin/icegate
COPY --from=build /app/dist ./dist
# The whole directory, so the COPY works (and the image still starts) when the build failed.
COPY --from=build /app/native/build/Release ./native/build/Release
# The embedded file store and the secrets generated at first start (DATA_DIR); a volume so they
# outlive the container even when no -v is given. Declared after the chown above, so a new
# volume starts owned by uid 1000.
VOLUME ["/data"]

# The official image's `node` user; numeric so Kubernetes' runAsNonRoot can verify it.
USER 1000:1000

# TURN over UDP and TCP, TURN over TLS, HTTP (credentials, admin API, /healthz), metrics (/metrics).
EXPOSE 3478/udp 3478/tcp 5349/tcp 8080/tcp 9464/tcp
# The relay port range (TURN_MIN_PORT..TURN_MAX_PORT). Declarative only: EXPOSE publishes
# nothing, and a relay needs host networking or a deliberately small published range.
EXPOSE 49152-65535/udp

# Liveness, not readiness: /healthz stays 200 while the process drains (then /readyz is 503),
# so Docker does not mark a draining container unhealthy. Slim images have no curl.
HEALTHCHECK --interval=30s --timeout=5s --start-period=20s --retries=3 \
  CMD ["node", "-e", "fetch('http://127.0.0.1:' + (process.env.HTTP_PORT || 8080) + '/healthz', { signal: AbortSignal.timeout(4000) }).then((r) => process.exit(r.ok ? 0 : 1), () => process.exit(1))"]

# Node is PID 1 and installs its own SIGTERM handler (graceful drain), so no init wrapper is
# needed for signals; the relay spawns no child processes to reap.
STOPSIGNAL SIGTERM
# --no-memory-reducer: V8's memory reducer runs full collections whenever the allocation rate
# drops, which a relay under paced media load looks like (docs/benchmarks.md).
# --max-semi-space-size=2: V8 lets the young generation grow to 2 x 16 MiB and keeps it, about
# 10 MiB of RSS once a node has served load (and at rest on the JS plane; the native plane's
# start-up collection shrinks it), and about 1.3 KB more per live allocation at 10,000; the control
# plane's garbage is short-lived and small, so 2 MiB semi-spaces cost little (bench/README.md,
# memory at rest and the 16:20 run of 2026-12-07).
# --no-opt --no-maglev: start-up runs without V8's optimizing compilers; the node turns TurboFan on
# once it is up and runs without Maglev, as Node 20 does (about 5 MiB less at rest:
# src/composition/optimizing-compiler.ts). Same as `npm start`.
CMD ["node", "--no-memory-reducer", "--max-semi-space-size=2", "--no-opt", "--no-maglev", "dist/src/cli/main.js", "serve"]
