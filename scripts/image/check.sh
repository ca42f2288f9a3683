#!/usr/bin/env bash
# The image check (issue 17): builds the repository's Dockerfile unchanged and proves the image
# works as a relay. Steps:
#   1. a Docker daemon: the running one, or one this script starts (root, vfs storage, no
#      bridge; everything runs with --network host);
#   2. the base image node:24-slim: pulled images are unreachable here, so a local stand-in is
#      built once (scripts/image/build-base.sh) and reused;
#   3. `docker build` of the Dockerfile (BuildKit where the client has it);
#   4. `docker run` on host networking with free ports, in embedded mode;
#   5. a tenant imported with the image's own `icegate` command, TURN credentials fetched over
#      HTTP (POST /v1/ice-servers with a tenant JWT), 200 messages relayed by coturn's
#      turnutils_uclient through the container with 0 lost;
#   6. the native data plane active, the process not root, the HEALTHCHECK healthy;
#   7. `docker stop` (its default 10 s) with an allocation still live: the drain ends at its
#      own deadline, the process exits 0 (not 137), and the usage is in the store.
#
#   npm run test:image                  # fails when no Docker daemon can be had
#   scripts/image/check.sh --if-docker  # .ci/run: says why and exits 0 when no daemon can run
#
# Run it alone on a small machine (flock /tmp/icegate-int.lock npm run test:image): the vfs
# storage driver copies whole layers.
set -euo pipefail
cd "$(dirname "$0")/../.."

if_docker=0
[ "${1:-}" = --if-docker ] && if_docker=1
image=${ICEGATE_CHECK_IMAGE:-icegate:check}
step() { printf '\n== %s (%ss)\n' "$1" "$SECONDS"; }
fail() { printf 'image check FAILED: %s\n' "$*" >&2; exit 1; }
unavailable() {
  if [ "$if_docker" = 1 ]; then
    printf 'image check NOT RUN: %s\n' "$*"
    exit 0
  fi
  fail "$*"
}

# 1. The daemon.
step 'Docker daemon'
started_dockerd=
command -v docker >/dev/null || unavailable 'no docker client (apt-get install docker.io)'
if ! docker info >/dev/null 2>&1; then
  [ "$(id -u)" = 0 ] || unavailable 'no Docker daemon running, and only root can start one'
  command -v dockerd >/dev/null || unavailable 'no Docker daemon running and no dockerd (apt-get install docker.io)'
  echo 'starting dockerd --storage-driver=vfs --bridge=none --iptables=false --ip6tables=false'
  dockerd --storage-driver=vfs --bridge=none --iptables=false --ip6tables=false \
    >/tmp/icegate-dockerd.log 2>&1 &
  started_dockerd=$!
  for _ in $(seq 60); do docker info >/dev/null 2>&1 && break; sleep 0.5; done
  docker info >/dev/null 2>&1 \
    || unavailable "dockerd did not start: $(tail -n 3 /tmp/icegate-dockerd.log | tr '\n' ' ')"
fi
docker version --format 'client {{.Client.Version}}, daemon {{.Server.Version}}'

container=icegate-check-$$
peer_pid=
load_pid=
build_docker=docker
cleanup() {
  [ -n "$load_pid" ] && kill "$load_pid" 2>/dev/null || true
  [ -n "$peer_pid" ] && kill "$peer_pid" 2>/dev/null || true
  docker rm -f -v "$container" >/dev/null 2>&1 || true
  # vfs stores every layer as a full copy: drop the images earlier runs left untagged, and
  # build cache older than a day, so repeated runs do not fill the disk.
  docker image prune -f >/dev/null 2>&1 || true
  "$build_docker" builder prune -f --filter until=24h >/dev/null 2>&1 || true
  if [ -n "$started_dockerd" ]; then
    kill "$started_dockerd" 2>/dev/null || true
    wait "$started_dockerd" 2>/dev/null || true
  fi
}
trap cleanup EXIT

# 2. The base image (cached: built once per daemon).
step 'base image node:24-slim'
scripts/image/build-base.sh

# 3. The build. Debian's docker.io client (20.10) has BuildKit built in; a newer client needs
# the buildx plugin for it, else the classic builder is used (about 6x slower on vfs).
step "docker build -t $image ."
buildkit=0
if docker buildx version >/dev/null 2>&1; then
  buildkit=1
elif [ -x /usr/bin/docker ] && /usr/bin/docker version --format '{{.Client.Version}}' 2>/dev/null | grep -q '^20\.'; then
  build_docker=/usr/bin/docker
  buildkit=1
fi
build_start=$SECONDS
DOCKER_BUILDKIT=$buildkit "$build_docker" build --network host -t "$image" . >/tmp/icegate-image-build.log 2>&1 \
  || { tail -n 40 /tmp/icegate-image-build.log >&2; fail 'docker build failed (log: /tmp/icegate-image-build.log)'; }
echo "built $image in $((SECONDS - build_start)) s ($([ $buildkit = 1 ] && echo BuildKit || echo classic builder))"

# 4. Run on free ports. The relay range and the echo peer's port are this check's block in
# test/helpers/ports.ts (imageCheck); the listening ports are whatever the kernel hands out.
step 'docker run --network host'
free_port() {
  node -e '
    const net = require("node:net"), dgram = require("node:dgram");
    (async () => {
      for (;;) {
        const tcp = net.createServer();
        await new Promise((r) => tcp.listen(0, "127.0.0.1", r));
        const port = tcp.address().port;
        const udp = dgram.createSocket("udp4");
        const ok = await new Promise((r) => { udp.once("error", () => r(false)); udp.bind(port, "127.0.0.1", () => r(true)); });
        tcp.close(); udp.close();
        if (ok) { console.log(port); return; }
      }
    })();'
}
turn_port=$(free_port)
http_port=$(free_port)
metrics_port=$(free_port)
peer_port=15480
relay_min=15500
relay_max=15599
docker run -d --name "$container" --network host \
  -e TURN_LISTEN_IP=127.0.0.1 -e TURN_EXTERNAL_IP=127.0.0.1 \
  -e TURN_PORT="$turn_port" -e HTTP_PORT="$http_port" -e METRICS_PORT="$metrics_port" \
  -e METRICS_LISTEN_IP=127.0.0.1 \
  -e TURN_MIN_PORT=$relay_min -e TURN_MAX_PORT=$relay_max \
  -e TURN_ALLOW_LOOPBACK_PEERS=true \
  "$image" >/dev/null
echo "TURN $turn_port, HTTP $http_port, relay $relay_min-$relay_max"
for _ in $(seq 60); do
  curl -fsS "http://127.0.0.1:$http_port/readyz" >/dev/null 2>&1 && break
  [ "$(docker inspect -f '{{.State.Running}}' "$container")" = true ] \
    || { docker logs "$container" >&2; fail 'the container exited at start'; }
  sleep 0.5
done
curl -fsS "http://127.0.0.1:$http_port/readyz" >/dev/null || { docker logs "$container" >&2; fail '/readyz never answered 200'; }

# 6a. Native data plane, user, start-up hint.
step 'native data plane, user, hints'
logs=$(docker logs "$container" 2>&1)
grep -q '"dataPlane":"native"' <<<"$logs" || { echo "$logs" >&2; fail 'the native data plane is not active'; }
echo 'native data plane active'
uid=$(docker exec "$container" awk '/^Uid:/ { print $2 }' /proc/1/status)
[ "$uid" != 0 ] || fail 'PID 1 runs as root'
echo "PID 1 runs as uid $uid"
grep -q '`icegate admin-token`' <<<"$logs" || fail 'the start-up hint does not name `icegate admin-token`'
! grep -q 'npx icegate' <<<"$logs" || fail 'the start-up hint says `npx icegate`, which does not work in the image'
echo 'start-up hint names `icegate admin-token`'

# 6b. Memory at rest of the image's process (issue 19; reported, not judged): VmRSS of the
# container's PID 1 from the host's /proc, once the node has collected its start-up garbage and
# trimmed its C heap (5 s after start; the log says 'C heap trimmed' at debug level only).
step 'RSS at rest'
sleep 8
host_pid=$(docker inspect -f '{{.State.Pid}}' "$container")
rest=$(awk '/^(VmRSS|RssAnon|RssFile):/ { printf "%s %.1f MiB  ", $1, $2 / 1024 }' "/proc/$host_pid/status")
echo "idle node in the image (Node $(docker exec "$container" node --version), native plane): $rest"

# 5. Tenant, key, credentials, relay.
step 'tenant import with the image icegate command'
docker cp examples/acme-orders.json "$container":/tmp/acme-orders.json
docker exec "$container" icegate import /tmp/acme-orders.json
key=$(docker exec "$container" icegate license issue acme --server image-check.local \
  | node -pe 'JSON.parse(require("node:fs").readFileSync(0, "utf8")).key')
jwt=$(node -e '
  const [, key] = process.argv, dot = key.indexOf(".");
  console.log(require("jsonwebtoken").sign({ sub: "image-check" }, key.slice(dot + 1),
    { algorithm: "HS256", keyid: key.slice(0, dot), expiresIn: "5m" }));' "$key")
ice=$(curl -fsS -X POST -H "Authorization: Bearer $jwt" "http://127.0.0.1:$http_port/v1/ice-servers")
turn_user=$(node -pe 'JSON.parse(process.argv[1]).iceServers.find((s) => s.username).username' "$ice")
turn_pass=$(node -pe 'JSON.parse(process.argv[1]).iceServers.find((s) => s.username).credential' "$ice")
echo "credentials for $turn_user"

step 'relay 200 messages with turnutils_uclient'
command -v turnutils_uclient >/dev/null || fail 'no turnutils_uclient (apt-get install coturn)'
turnutils_peer -L 127.0.0.1 -p $peer_port >/tmp/icegate-image-peer.log 2>&1 &
peer_pid=$!
sleep 0.5
# 2 clients x 100 messages: one minted credential holds at most TURN_ALLOCATIONS_PER_USER (6)
# allocations, and uclient opens two per client at its start (it releases the first at once).
out=$(timeout 60 turnutils_uclient -u "$turn_user" -w "$turn_pass" -e 127.0.0.1 -r $peer_port \
  -X -c -m 2 -n 100 -l 160 -z 20 -p "$turn_port" 127.0.0.1 2>&1) || true
summary=$(grep -E 'Total lost packets' <<<"$out" || true)
sent=$( (grep -oE 'tot_send_msgs=[0-9]+' <<<"$out" || true) | tail -n1 | cut -d= -f2)
echo "$summary (sent ${sent:-?})"
grep -qE 'Total lost packets 0 \(' <<<"$summary" || { echo "$out" | tail -n 20 >&2; fail 'messages were lost'; }
[ "${sent:-0}" -ge 200 ] || fail "uclient sent ${sent:-0} messages, expected 200"

# 6b. The image's own HEALTHCHECK (30 s interval) turns healthy.
step 'HEALTHCHECK'
for _ in $(seq 90); do
  health=$(docker inspect -f '{{.State.Health.Status}}' "$container")
  [ "$health" = healthy ] && break
  [ "$health" = unhealthy ] && fail 'HEALTHCHECK reports unhealthy'
  sleep 1
done
[ "$health" = healthy ] || fail "HEALTHCHECK still $health after 90 s"
echo 'healthy'

# 7. docker stop with a live allocation: uclient keeps relaying (paced, 1 message per 20 ms).
step 'docker stop during a live allocation'
turnutils_uclient -u "$turn_user" -w "$turn_pass" -e 127.0.0.1 -r $peer_port \
  -X -c -m 1 -n 100000 -l 160 -z 20 -p "$turn_port" 127.0.0.1 >/tmp/icegate-image-load.log 2>&1 &
load_pid=$!
sleep 3
stop_start=$SECONDS
docker stop "$container" >/dev/null
stop_seconds=$((SECONDS - stop_start))
kill "$load_pid" 2>/dev/null || true
load_pid=
exit_code=$(docker inspect -f '{{.State.ExitCode}}' "$container")
logs=$(docker logs "$container" 2>&1)
echo "docker stop took $stop_seconds s, exit code $exit_code"
[ "$exit_code" = 0 ] || { echo "$logs" | tail -n 20 >&2; fail "exit code $exit_code after docker stop (137 is SIGKILL)"; }
grep -q '"deadlineSeconds":8' <<<"$logs" || fail 'the drain did not start with the image deadline of 8 s'
grep -q 'drain finished' <<<"$logs" || fail 'no "drain finished" in the logs'
grep 'drain finished' <<<"$logs"

# The usage reached the store under /data: read it with the image's CLI from the same volume.
usage=$(docker run --rm --network host --volumes-from "$container" "$image" icegate usage)
node -e '
  const report = JSON.parse(process.argv[1]);
  const acme = JSON.stringify(report).includes("\"acme\"");
  const bytes = /"bytesRelayed":\s*([1-9]\d*)/.exec(process.argv[1]);
  if (!acme || !bytes) { console.error(process.argv[1]); process.exit(1); }
  console.log(`usage written: acme, ${bytes[1]} bytes relayed`);' "$usage" \
  || fail 'no usage for acme in the store after docker stop'

printf '\nimage check passed in %s s\n' "$SECONDS"
