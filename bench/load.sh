#!/usr/bin/env bash
# Load benchmark of the release binary, on SQLite or PostgreSQL:
#   wrk:      discovery, JWKS, token (client_credentials), introspection (of a live token; answers
#             checked for "active":true), userinfo;
#   gan-load: token (refresh_token, each connection following its rotation chain; once with
#             RS256 ID tokens, the default, once for a client signed with ES256), the full
#             sign-in flow (authorize → sign-in page → form POST → back to the client → token)
#             beside the argon2 ceiling measured in the same run, and introspection at a fixed
#             rate while sign-ins saturate argon2.
#
#   bench/load.sh [sqlite|postgres] [seconds] [connections]
#
# PROFILE=DIR also records a flat perf profile of the server during each scenario (DIR/<scenario>.txt).
# SCALE=N (default 1000) first imports N customer accounts (CSV, timed) and seeds N identities
# and N live access tokens, so that SCALE=1000000 shows the latencies at a million of each.
# ONLY=discovery,jwks,refresh,... runs those scenarios alone (names as in the table's first word:
# discovery jwks token introspection userinfo refresh sign-in probe).
# SOAK=SECONDS adds a soak at the end: token (client_credentials) and introspection at once for
# that long, never scraping /metrics, the server's RSS sampled ten times, and the tokens issued
# counted against the rows stored.
# BIN_DIR=DIR takes gan-connect and gan-load from DIR instead of building them (to compare builds).
# The peer: when node and npm are installed (PEER=0 leaves it out), the oidc-provider package
# (bench/peer/: version pinned in package-lock.json, installed by `npm ci`) runs in memory in one
# Node process, with one client allowed client_credentials and introspection; its token and its
# introspection (of a live token it issued just before) are measured right after ours with the same
# wrk scripts, every answer checked in the same way (200 and an access_token; "active":true). Its
# rows show its own CPU per request; on each reference row (peer, nginx) the last column, ratio,
# is Gan Connect's req/s divided by that row's ("Gan Connect 3.00x": three times its rate). Without node or npm, a line says the peer was skipped.
# On PostgreSQL (bench/load.sh postgres ...), a scratch database gc_bench_<pid> is created on
# DATABASE_URL's server (default postgres://postgres@127.0.0.1:5432/test) and dropped at the end.
# Needs wrk (apt-get install wrk), curl, openssl, python3; psql for PostgreSQL. The server and the
# load tools share this machine's cores: the figures are for both together.
set -euo pipefail
cd "$(dirname "$0")/.."
backend="${1:-sqlite}"; secs="${2:-10}"; conns="${3:-64}"
case "$backend" in sqlite|postgres) ;; *) echo "backend must be sqlite or postgres, not: $backend" >&2; exit 2 ;; esac
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-/var/tmp/gan-target}"
command -v wrk >/dev/null || { echo "wrk is missing: apt-get install wrk" >&2; exit 1; }
if [ -n "${BIN_DIR:-}" ]; then
  bin="$BIN_DIR/gan-connect"; load="$BIN_DIR/gan-load"
else
  scripts/build-release >&2
  bin="$CARGO_TARGET_DIR/release/gan-connect"; load="$CARGO_TARGET_DIR/release/gan-load"
fi
want() { [ -z "${ONLY:-}" ] || [[ ",$ONLY," == *",$1,"* ]]; }
scale="${SCALE:-1000}"

pid=""; nginx_pid=""; peer_pid=""; db=""
work=$(mktemp -d)
cleanup() {
  kill $pid $nginx_pid $peer_pid 2>/dev/null || true
  if [ -n "$db" ]; then sleep 0.5; psql "$admin" -qc "drop database if exists $db with (force)" || true; fi
  rm -rf "$work"
}
trap cleanup EXIT
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
base="http://127.0.0.1:$port"
export GAN_CONNECT__SERVER__ISSUER="$base" GAN_CONNECT__SERVER__LISTEN="127.0.0.1:$port"
export GAN_CONNECT__KEYS__ENCRYPTION_KEY_FILE="$work/keys.secret" GAN_CONNECT__LOG__LEVEL=warn
if [ "$backend" = postgres ]; then
  admin="${DATABASE_URL:-postgres://postgres@127.0.0.1:5432/test}"
  psql "$admin" -qc "create database gc_bench_$$"; db="gc_bench_$$"
  export GAN_CONNECT__DATABASE__URL="${admin%/*}/$db"
else
  export GAN_CONNECT__DATABASE__URL="sqlite://$work/bench.db?mode=rwc"
fi
unset DATABASE_URL

"$bin" migrate >/dev/null
partner_secret="partner-secret-0123456789-abcdefghijklmnop"
portal_secret="portal-secret-0123456789-abcdefghijklmnopq"
echo "$partner_secret" | "$bin" client add --id partner --name Partner --secret-stdin --grant-type client_credentials --scope partner:read >/dev/null
echo "$portal_secret" | "$bin" client add --id portal --name Portal --secret-stdin --redirect-uri http://127.0.0.1:9/cb --first-party >/dev/null
# The same portal signing its ID tokens with ES256: the refresh row's second line.
echo "$portal_secret" | "$bin" client add --id portal-es256 --name "Portal ES256" --secret-stdin --redirect-uri http://127.0.0.1:9/cb --first-party --id-token-alg ES256 >/dev/null
echo "bench-password-2026" | "$bin" identity add --email bench@example.fr >/dev/null

"$bin" serve > "$work/server.log" 2>&1 & pid=$!
for _ in $(seq 1 100); do curl -sf "$base/healthz" >/dev/null && break; sleep 0.1; done
idle_rss=$(awk '/VmRSS/ {print $2}' /proc/$pid/status)

# A user access token through the real code flow (curl keeps the cookies).
jar="$work/cookies"; verifier="bench-verifier-0123456789-abcdefghijklmnopqrstuvwxyz"
challenge=$(printf %s "$verifier" | openssl dgst -binary -sha256 | openssl base64 -A | tr '+/' '-_' | tr -d '=')
loc=$(curl -s -c "$jar" -b "$jar" -o /dev/null -w '%{redirect_url}' "$base/authorize?response_type=code&client_id=portal&redirect_uri=http%3A%2F%2F127.0.0.1%3A9%2Fcb&scope=openid%20email&state=s&code_challenge=$challenge&code_challenge_method=S256")
page=$(curl -s -c "$jar" -b "$jar" "$loc")
csrf=$(printf %s "$page" | sed -n 's/.*name="csrf_token" value="\([^"]*\)".*/\1/p' | head -1)
action=$(printf %s "$page" | sed -n 's/.*<form method="post" action="\([^"]*\)".*/\1/p' | head -1 | sed 's|&#x2f;|/|g')
resume=$(curl -s -c "$jar" -b "$jar" -o /dev/null -w '%{redirect_url}' --data-urlencode "csrf_token=$csrf" --data-urlencode identifier=bench@example.fr --data-urlencode password=bench-password-2026 "$base$action")
back=$(curl -s -c "$jar" -b "$jar" -o /dev/null -w '%{redirect_url}' "$resume")
code=$(printf %s "$back" | sed -n 's/.*[?&]code=\([^&]*\).*/\1/p')
user_token=$(curl -s -u "portal:$portal_secret" -d grant_type=authorization_code -d "code=$code" -d redirect_uri=http://127.0.0.1:9/cb -d "code_verifier=$verifier" "$base/token" | python3 -c 'import json,sys; print(json.load(sys.stdin)["access_token"])')
cc_token=$(curl -s -u "partner:$partner_secret" -d grant_type=client_credentials "$base/token" | python3 -c 'import json,sys; print(json.load(sys.stdin)["access_token"])')

# Scale: N customer accounts through the real CSV import (timed), then N identities and N live
# access tokens copied in SQL from the bench identity and the live token above.
python3 - "$work/customers.csv" "$scale" <<'PY'
import hashlib, sys
path, n = sys.argv[1], int(sys.argv[2])
with open(path, "w") as f:
    f.write("client_number,kind,label,contact_email,legacy_hash\n")
    for i in range(n):
        salt = "s%d" % i
        f.write("%d,personal,Client %d,c%d@example.fr,sha256$%s$%s\n" % (30000000 + i, i, i, salt, hashlib.sha256((salt + "legacy").encode()).hexdigest()))
PY
import_start=$(date +%s.%N)
"$bin" customers import "$work/customers.csv" > "$work/import.log"
import_secs=$(python3 -c "import sys; print('%.1f' % ($(date +%s.%N) - $import_start))")
if [ "$backend" = postgres ]; then
  psql "$GAN_CONNECT__DATABASE__URL" -q <<SQL
INSERT INTO identity (id, login_email, email_verified_at, password_hash, status, created_at, updated_at)
  SELECT 'seed-' || i, 'seed-' || i || '@example.fr', email_verified_at, password_hash, status, created_at, updated_at
  FROM generate_series(1, $scale) AS i, identity WHERE login_email = 'bench@example.fr';
INSERT INTO token (token_hash, kind, grant_id, client_id, identity_id, scope, data, created_at, expires_at, consumed_at, revoked_at)
  SELECT lpad(to_hex(i), 64, '0'), kind, 'seed-' || i, client_id, identity_id, scope, data, created_at, expires_at, consumed_at, revoked_at
  FROM generate_series(1, $scale) AS i, (SELECT * FROM token WHERE kind = 'access' AND identity_id IS NOT NULL LIMIT 1) AS t;
ANALYZE;
SQL
else
  python3 - "$work/bench.db" "$scale" <<'PY'
import sqlite3, sys
db = sqlite3.connect(sys.argv[1], timeout=30)
n = int(sys.argv[2])
db.executescript(f"""
WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < {n})
INSERT INTO identity (id, login_email, email_verified_at, password_hash, status, created_at, updated_at)
  SELECT 'seed-' || i, 'seed-' || i || '@example.fr', email_verified_at, password_hash, status, created_at, updated_at
  FROM n, identity WHERE login_email = 'bench@example.fr';
WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < {n})
INSERT INTO token (token_hash, kind, grant_id, client_id, identity_id, scope, data, created_at, expires_at, consumed_at, revoked_at)
  SELECT printf('%064x', i), kind, 'seed-' || i, client_id, identity_id, scope, data, created_at, expires_at, consumed_at, revoked_at
  FROM n, (SELECT * FROM token WHERE kind = 'access' AND identity_id IS NOT NULL LIMIT 1);
ANALYZE;
""")
db.commit()
PY
fi

basic=$(printf %s "partner:$partner_secret" | openssl base64 -A)
cat > "$work/post.lua" <<LUA
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/x-www-form-urlencoded"
wrk.headers["Authorization"] = "Basic $basic"
wrk.body = os.getenv("BODY")
local bad = 0
response = function(status, headers, body)
  local want = os.getenv("EXPECT")
  if status ~= 200 or (want and not string.find(body, want, 1, true)) then bad = bad + 1 end
end
done = function(summary, latency, requests) io.write("unexpected_answers " .. bad .. "\n") end
LUA
cat > "$work/get.lua" <<LUA
local auth = os.getenv("BEARER")
if auth then wrk.headers["Authorization"] = "Bearer " .. auth end
local bad = 0
response = function(status, headers, body) if status ~= 200 then bad = bad + 1 end end
done = function(summary, latency, requests) io.write("unexpected_answers " .. bad .. "\n") end
LUA

rss_trail=""
rss_mib() { echo "$(( $(awk '/VmRSS/ {print $2}' "/proc/$pid/status") / 1024 ))"; }
cpu_ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; } # a process's user + system time, 1/100 s
perf_pid=""; perf_file=""
profile_start() { # a flat CPU profile of the server for the next $secs seconds (PROFILE=DIR)
  [ -n "${PROFILE:-}" ] || return 0
  perf_file="$PROFILE/$(printf %s "$1" | tr -cs 'a-z0-9' '_')"
  mkdir -p "$PROFILE"; perf record -q -F 999 -p "$pid" -o "$perf_file.data" -- sleep "$secs" 2>/dev/null & perf_pid=$!
}
profile_stop() {
  [ -n "$perf_pid" ] || return 0
  wait "$perf_pid" || true; perf_pid=""
  perf report -q -i "$perf_file.data" --stdio --no-children --sort dso,symbol 2>/dev/null | grep -v '^$' | sed 's/  */ /g' | head -60 > "$perf_file.txt" || true
}
scenario() { # name command...: runs the command under the profile and notes the RSS after it
  local name=$1; shift
  profile_start "$name"; "$@"; profile_stop
  rss_trail="$rss_trail $name:$(rss_mib)"
}

# run name url script [env...]: one wrk scenario, one row. A reference's row is run with
# row_pid=PID (whose CPU the row shows; "-" for none) and row_ours=REQS (Gan Connect's req/s on the
# same scenario, divided by this row's in the last column).
run() {
  local name=$1 url=$2 script=$3; shift 3
  local who=${row_pid:-$pid}
  local cpu0=0; [ "$who" = - ] || cpu0=$(cpu_ticks "$who")
  scenario "$name" env "$@" wrk -t2 -c"$conns" -d"${secs}s" --latency -s "$script" "$url" > "$work/wrk.out"
  local out; out=$(cat "$work/wrk.out")
  local cpu1=0; [ "$who" = - ] || cpu1=$(cpu_ticks "$who")
  local rps p50 p99 max errs bad
  rps=$(printf %s "$out" | awk '/Requests\/sec/ {print $2}')
  p50=$(printf %s "$out" | awk '$1=="50%" {print $2}')
  p99=$(printf %s "$out" | awk '$1=="99%" {print $2}')
  max=$(printf %s "$out" | awk '$1=="Latency" {print $4}')
  errs=$(printf %s "$out" | awk '/Socket errors/ {gsub(",",""); print $4+$6+$8+$10}'); errs=${errs:-0}
  bad=$(printf %s "$out" | awk '/unexpected_answers/ {print $2}')
  local total; total=$(printf %s "$out" | awk '/requests in/ {print $1}')
  local cpu=-; [ "$who" = - ] || cpu=$(awk -v t=$((cpu1 - cpu0)) -v n="$total" 'BEGIN {printf "%.3f", t * 10 / (n > 0 ? n : 1)}')
  local vs=""; [ -z "${row_ours:-}" ] || vs=$(awk -v a="$row_ours" -v b="$rps" 'BEGIN {printf "Gan Connect %.2fx", (b > 0 ? a / b : 0)}')
  printf '| %-34s | %10s | %8s | %8s | %8s | %6s | %6s | %7s | %s\n' "$name" "$rps" "$p50" "$p99" "$max" "$errs" "$bad" "$cpu" "$vs"
  last_rps=$rps
}

# nginx (when installed) serving the very bytes of our discovery and JWKS: the ceiling of this
# machine for a static document. Measured right after ours, in alternation; its CPU column is ours
# (the server's), not nginx's, so it shows "-".
nginx_base=""
if command -v nginx >/dev/null && { want discovery || want jwks; }; then
  curl -sf "$base/.well-known/openid-configuration" > "$work/discovery.json"
  curl -sf "$base/jwks" > "$work/jwks.json"
  nport=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
  mkdir -p "$work/nginx"
  cat > "$work/nginx/nginx.conf" <<NGINX
worker_processes auto; daemon off; pid $work/nginx/nginx.pid; error_log $work/nginx/error.log;
events { worker_connections 1024; }
http {
  access_log off; client_body_temp_path $work/nginx/body; proxy_temp_path $work/nginx/proxy;
  fastcgi_temp_path $work/nginx/fastcgi; uwsgi_temp_path $work/nginx/uwsgi; scgi_temp_path $work/nginx/scgi;
  server {
    listen 127.0.0.1:$nport;
    location = /.well-known/openid-configuration { default_type application/json; alias $work/discovery.json; }
    location = /jwks { default_type application/json; alias $work/jwks.json; }
  }
}
NGINX
  nginx -p "$work/nginx" -c "$work/nginx/nginx.conf" & nginx_pid=$!
  for _ in $(seq 1 50); do curl -sf "http://127.0.0.1:$nport/jwks" >/dev/null && break; sleep 0.1; done
  nginx_base="http://127.0.0.1:$nport"
fi
ratios=""
versus_nginx() { # name path: ours was just measured; now nginx on the same bytes, and the ratio
  [ -n "$nginx_base" ] || return 0
  local ours=$last_rps
  row_pid=- row_ours=$ours run "nginx, same bytes: $1" "$nginx_base$2" "$work/get.lua"
  ratios="$ratios $1 $(awk -v a="$ours" -v b="$last_rps" 'BEGIN {printf "%.2f", (b > 0 ? a / b : 0)}')x"
}

# The peer (see the top): installed from its lockfile, started on a port of its own, its answers
# checked once here (a token, then that token introspected as active) before any measurement.
json_field() { python3 -c 'import json,sys; print(json.load(sys.stdin)[sys.argv[1]])' "$1"; }
peer_base=""; peer_note=""; peer_ratios=""
if want token || want introspection; then
  if [ "${PEER:-1}" = 0 ]; then
    peer_note="peer: left out (PEER=0)"
  elif ! command -v node >/dev/null || ! command -v npm >/dev/null; then
    peer_note="peer: skipped, node or npm is not installed (apt-get install nodejs npm to compare with oidc-provider)"
  elif ! (cd bench/peer && npm ci --no-audit --no-fund --loglevel=error) > "$work/peer-npm.log" 2>&1; then
    tail -5 "$work/peer-npm.log" >&2
    peer_note="peer: skipped, npm ci failed in bench/peer (its last lines above, on stderr)"
  else
    pport=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
    NODE_ENV=production node bench/peer/peer.js "$pport" partner "$partner_secret" > "$work/peer.log" 2>&1 & peer_pid=$!
    for _ in $(seq 1 100); do grep -q '^ready' "$work/peer.log" && break; sleep 0.1; done
    grep -q '^ready' "$work/peer.log" || { echo "the peer did not start:" >&2; cat "$work/peer.log" >&2; exit 1; }
    peer_base="http://127.0.0.1:$pport"
    peer_token=$(curl -s -u "partner:$partner_secret" -d grant_type=client_credentials "$peer_base/token" | json_field access_token) \
      || { echo "the peer's token endpoint gave no access_token" >&2; exit 1; }
    curl -s -u "partner:$partner_secret" -d "token=$peer_token" "$peer_base/token/introspection" | grep -q '"active":true' \
      || { echo "the peer's introspection of its own token is not active" >&2; exit 1; }
    peer_what="oidc-provider $(node -p 'require("./bench/peer/node_modules/oidc-provider/package.json").version') on Node $(node --version), one process, its memory adapter"
  fi
fi
versus_peer() { # name path script [env...]: ours was just measured; now the peer, and the ratio
  [ -n "$peer_base" ] || return 0
  local ours=$last_rps name=$1 path=$2; shift 2
  row_pid=$peer_pid row_ours=$ours run "peer: $name" "$peer_base$path" "$@"
  peer_ratios="$peer_ratios $name $(awk -v a="$ours" -v b="$last_rps" 'BEGIN {printf "%.2f", (b > 0 ? a / b : 0)}')x"
}

echo
echo "Gan Connect load benchmark — backend $backend, wrk -t2 -c$conns -d${secs}s, $(nproc) cores shared by server and wrk"
echo "machine: $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs), $(free -g | awk '/Mem/ {print $2}') GiB"
[ -z "$peer_note" ] || echo "$peer_note"
[ -z "$peer_base" ] || echo "peer: $peer_what, measured right after ours on token and introspection"
echo
echo "| endpoint                           |      req/s |      p50 |      p99 |      max | sockerr |    bad | server CPU ms/req | ratio"
echo "|------------------------------------|-----------:|---------:|---------:|---------:|-------:|-------:|--------:|------"
if want discovery; then
  run "discovery" "$base/.well-known/openid-configuration" "$work/get.lua"
  versus_nginx discovery /.well-known/openid-configuration
fi
if want jwks; then
  run "jwks" "$base/jwks" "$work/get.lua"
  versus_nginx jwks /jwks
fi
if want token; then
  run "token (client_credentials)" "$base/token" "$work/post.lua" BODY="grant_type=client_credentials" EXPECT='"access_token"'
  versus_peer "token (client_credentials)" /token "$work/post.lua" BODY="grant_type=client_credentials" EXPECT='"access_token"'
fi
if want introspection; then
  run "introspection (live token)" "$base/introspect" "$work/post.lua" BODY="token=$user_token" EXPECT='"active":true'
  if [ -n "$peer_base" ]; then # a token of its own issued now: its memory adapter keeps the last 1,000 artefacts
    peer_token=$(curl -s -u "partner:$partner_secret" -d grant_type=client_credentials "$peer_base/token" | json_field access_token)
    versus_peer "introspection (live token)" /token/introspection "$work/post.lua" BODY="token=$peer_token" EXPECT='"active":true'
  fi
fi
want userinfo && run "userinfo" "$base/userinfo" "$work/get.lua" BEARER="$user_token"
flow=(--base "$base" --client portal --secret "$portal_secret" --redirect-uri http://127.0.0.1:9/cb --email bench@example.fr --password bench-password-2026 --seconds "$secs" --server-pid "$pid")
if want refresh; then
  scenario refresh "$load" refresh "${flow[@]}" --connections "$conns" --row "token (refresh_token, rotating)"
  es256=("${flow[@]}"); es256[3]=portal-es256
  scenario refresh-es256 "$load" refresh "${es256[@]}" --connections "$conns" --row "refresh, ES256 ID tokens"
fi
# Every sign-in is of the one bench account, whose throttle holds at most 10 attempts in flight
# (the others are refused, counted as unexpected answers): sign-in and the probe's sign-ins run on
# at most 8 connections, which keep the argon2 workers of this machine busy.
signin_conns=$(( conns < 8 ? conns : 8 ))
flow+=(--connections "$signin_conns")
argon2="(not measured)"
if want sign-in; then
  argon2=$("$load" argon2 --seconds "$secs")
  scenario sign-in "$load" signin "${flow[@]}" --argon2-limit "$argon2"
fi
want probe && "$load" probe "${flow[@]}" --introspect-client partner --introspect-secret "$partner_secret" --token "$user_token" --rate 200
peak_rss=$(awk '/VmHWM/ {print $2}' /proc/$pid/status)

soak_line=""
if [ -n "${SOAK:-}" ]; then
  count_tokens() {
    if [ "$backend" = postgres ]; then psql "$GAN_CONNECT__DATABASE__URL" -tAc "select count(*) from token"
    else python3 -c 'import sqlite3,sys; print(sqlite3.connect(sys.argv[1], timeout=30).execute("select count(*) from token").fetchone()[0])' "$work/bench.db"; fi
  }
  rows0=$(count_tokens)
  step=$(( SOAK / 10 > 0 ? SOAK / 10 : 1 ))
  BODY="grant_type=client_credentials" EXPECT='"access_token"' wrk -t1 -c"$conns" -d"${SOAK}s" -s "$work/post.lua" "$base/token" > "$work/soak-token.out" & soak1=$!
  BODY="token=$user_token" EXPECT='"active":true' wrk -t1 -c"$conns" -d"${SOAK}s" -s "$work/post.lua" "$base/introspect" > "$work/soak-introspect.out" & soak2=$!
  soak_rss=""
  for _ in $(seq 1 10); do sleep "$step"; soak_rss="$soak_rss $(rss_mib)"; done
  wait "$soak1" "$soak2"
  issued=$(awk '/requests in/ {print $1}' "$work/soak-token.out")
  bad=$(awk '/unexpected_answers/ {print $2}' "$work/soak-token.out")
  introspected=$(awk '/requests in/ {print $1}' "$work/soak-introspect.out")
  stored=$(( $(count_tokens) - rows0 ))
  soak_line="soak ${SOAK} s (token + introspection at once, /metrics never scraped): ${introspected} introspections, ${issued} token answers (${bad} unexpected), $((issued - bad)) tokens issued, ${stored} rows stored; RSS MiB every ${step} s:${soak_rss}"
fi
echo
echo "argon2 limit: $argon2 verifications/s (argon2id m=19 MiB t=2 p=1, one worker per core, measured by gan-load beside the idle server)"
echo "data: $scale customer accounts (CSV import: ${import_secs} s; $(tail -1 "$work/import.log")), $scale more identities, $scale more live access tokens"
echo "server RSS: idle $((idle_rss / 1024)) MiB, peak $((peak_rss / 1024)) MiB; MiB after each scenario:$rss_trail"
[ -z "$soak_line" ] || echo "$soak_line"
[ -z "$ratios" ] || echo "Gan Connect / nginx on the same bytes (req/s, same run):$ratios"
[ -z "$peer_ratios" ] || echo "Gan Connect / peer ($peer_what; req/s, same run):$peer_ratios; peer RSS peak $(( $(awk '/VmHWM/ {print $2}' "/proc/$peer_pid/status") / 1024 )) MiB"
