#!/usr/bin/env bash
# The quick start in one script: from a checkout to media relayed through icegate for an entitled
# tenant, on embedded defaults (no Redis, no PostgreSQL; state under ./data). One port variable:
#
#   scripts/quickstart.sh              # TURN on UDP/TCP 3478, HTTP API on 3479, echo peer on 3480,
#                                      # Prometheus metrics on 3481
#   PORT=4478 scripts/quickstart.sh    # when 3478-3481 are taken: 4478 .. 4481
#
# Needs Node.js 20+, curl, openssl and coturn's clients (sudo apt-get install coturn). It starts
# icegate, imports the sample tenant, issues its license key (reissues it on a second run), signs a
# tenant JWT, fetches ICE servers, relays 50 messages with turnutils_uclient, then keeps icegate
# running for the check page until Ctrl-C (KEEP_RUNNING=0: stop at once).
set -euo pipefail
PORT=${PORT:-3478}
KEEP_RUNNING=${KEEP_RUNNING:-1}
cd "$(dirname "$0")/.."

TURN_PORT=$PORT HTTP_PORT=$((PORT + 1)) PEER_PORT=$((PORT + 2)) METRICS_PORT=$((PORT + 3))
HTTP=http://127.0.0.1:$HTTP_PORT
export DATA_DIR=${DATA_DIR:-./data}
for tool in node curl openssl turnutils_uclient turnutils_peer; do
  command -v "$tool" >/dev/null || { echo "quickstart: $tool not found (coturn's clients: sudo apt-get install coturn)" >&2; exit 1; }
done
[ -f dist/src/cli/main.js ] || npm ci
icegate() { node dist/src/cli/main.js "$@"; }   # the checkout's own CLI (npm run -s icegate -- ... is the same)

mkdir -p "$DATA_DIR"
LOG=$DATA_DIR/quickstart.log
pids=()
# On exit: SIGINT for icegate, which then closes at once (SIGTERM would drain live allocations
# first), SIGTERM for the echo peer (a script's background jobs ignore SIGINT).
trap '[ ${#pids[@]} -gt 0 ] && kill -INT "${pids[0]}" 2>/dev/null; [ ${#pids[@]} -gt 1 ] && kill "${pids[1]}" 2>/dev/null; wait' EXIT
# TURN_ALLOW_LOOPBACK_PEERS: the echo peer listens on 127.0.0.1, which production icegate refuses.
TURN_ALLOW_LOOPBACK_PEERS=true TURN_PORT=$TURN_PORT HTTP_PORT=$HTTP_PORT METRICS_PORT=$METRICS_PORT \
  node --no-memory-reducer --max-semi-space-size=2 --no-opt --no-maglev dist/src/cli/main.js serve >"$LOG" 2>&1 &
pids+=($!)
for _ in $(seq 100); do curl -fs "$HTTP/readyz" >/dev/null && break; sleep 0.1; done
curl -fs "$HTTP/readyz" >/dev/null || { cat "$LOG" >&2; echo "quickstart: icegate did not start (log above)" >&2; exit 1; }
grep -A3 'first start' "$LOG" || true   # the generated secrets, shown once on a first start

icegate import examples/acme-orders.json >/dev/null
KEY=$(icegate license issue acme --server neo.example.local --key-only 2>/dev/null) ||
  KEY=$(icegate license reissue acme --server neo.example.local --key-only 2>/dev/null)
# What the customer's desknet's NEO server does for each browser (examples/client-kit/server/).
JWT=$(examples/client-kit/server/sign-tenant-jwt.sh "$KEY" alice)
ICE=$(curl -fsS -X POST -H "Authorization: Bearer $JWT" "$HTTP/v1/ice-servers")
echo "ICE servers: $ICE"
read -r TURN_USER TURN_PASS < <(node -e '
  const s = JSON.parse(process.argv[1]).iceServers.find((x) => x.username);
  console.log(s.username, s.credential)' "$ICE")

turnutils_peer -L 127.0.0.1 -p "$PEER_PORT" >/dev/null 2>&1 &
pids+=($!)
sleep 0.3
turnutils_uclient -u "$TURN_USER" -w "$TURN_PASS" -e 127.0.0.1 -r "$PEER_PORT" -X -c -m 1 -n 50 -l 160 \
  -p "$TURN_PORT" 127.0.0.1 2>&1 | grep 'Total lost packets'

echo
echo "Relayed through icegate. Check page: $HTTP/check?rtt=1#token=$JWT"
echo "License key of acme (keep it): $KEY"
echo "Admin API: ADMIN=\$(npm run -s icegate -- admin-token); curl -H \"Authorization: Bearer \$ADMIN\" $HTTP/v1/admin/tenants/acme"
if [ "$KEEP_RUNNING" = 1 ]; then
  echo "icegate keeps running (log: $LOG); Ctrl-C stops it."
  wait "${pids[0]}"
fi
