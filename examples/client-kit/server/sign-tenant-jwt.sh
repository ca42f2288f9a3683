#!/bin/sh
# Signs a tenant JWT for POST /v1/ice-servers with a license key, using only openssl: HS256 with
# the key's secret (the part after the dot) as the HMAC key, header kid = the key id, exp at most
# 10 minutes ahead (DESIGN.md). For a customer server written in shell, or to try the API by hand.
#   usage: sign-tenant-jwt.sh LICENSE_KEY [SUB] [TTL_SECONDS]    (SUB: an opaque user id, [A-Za-z0-9._-])
set -eu
key=$1
sub=${2:-}
ttl=${3:-300}
kid=${key%%.*}
secret=${key#*.}
b64url() { openssl base64 -A | tr '+/' '-_' | tr -d '='; }
now=$(date +%s)
header=$(printf '{"alg":"HS256","typ":"JWT","kid":"%s"}' "$kid" | b64url)
if [ -n "$sub" ]; then claims=$(printf '{"sub":"%s","iat":%d,"exp":%d}' "$sub" "$now" $((now + ttl)))
else claims=$(printf '{"iat":%d,"exp":%d}' "$now" $((now + ttl))); fi
payload=$(printf '%s' "$claims" | b64url)
signature=$(printf '%s.%s' "$header" "$payload" | openssl dgst -sha256 -hmac "$secret" -binary | b64url)
printf '%s.%s.%s\n' "$header" "$payload" "$signature"
