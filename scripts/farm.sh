#!/usr/bin/env bash
# A farm of negotiate-server instances on one machine (issue 15 item 4), in network namespaces
# joined by a bridge: one namespace per instance, one for HAProxy + Redis + the KDC, one for
# clients, and one holding only the bridge, so the root namespace gets no address or interface.
#
#   scripts/farm.sh up DIR [N]        N instances (default 2, at most 8); DIR is created
#   scripts/farm.sh down DIR          every process (by PID) and namespace gone; DIR kept
#   scripts/farm.sh status DIR        processes, namespaces, HAProxy's view; exit 1 if degraded
#   scripts/farm.sh stop|kill|start redis|haproxy|instance I DIR   one part (tests): stop is
#                                     SIGTERM (an instance drains), kill is SIGKILL (a crash)
#
# Needs root (namespaces), iproute2, haproxy, redis-server, curl. Names and addresses come from a
# farm id derived from DIR's absolute path: namespaces nf<ID>-{br,lb,cl,s1..sN}, network
# 10.77.<ID>.0/24 (lb .2, clients .3, instance i .10+i), so two farms in two directories do not
# collide (a clash of ids is refused). Everything the farm started is in DIR/farm.state
# (KEY=value lines, read by test/support/farm.ts); progress goes to stderr, logs to DIR/logs.
# Replay cache: FARM_REPLAY_CACHE=redis|memory (default: redis when this build has it).
# FARM_NTLM=0 serves without --ntlm (the server's default; bench/farm.mjs measures that way).
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
CLI="$ROOT/bin/negotiate-server.js"
MAX_INSTANCES=8

say() { printf 'farm: %s\n' "$*" >&2; }
die() { printf 'farm: error: %s\n' "$*" >&2; exit 1; }
usage() {
  sed -n '6,11p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//' >&2
  exit 2
}

# ---- the state file -----------------------------------------------------------------------
state_get() { sed -n "s/^$1=//p" "$STATE" | tail -n 1; }
state_set() {
  local tmp="$STATE.tmp"
  { grep -v "^$1=" "$STATE" 2>/dev/null || true; printf '%s=%s\n' "$1" "$2"; } >"$tmp"
  mv "$tmp" "$STATE"
}

# ---- preconditions ------------------------------------------------------------------------
preflight() {
  [ "$(id -u)" = 0 ] || die "needs root for network namespaces (run: sudo $0 $*)"
  command -v ip >/dev/null || die "ip not found: apt-get install -y iproute2"
  ip netns list >/dev/null 2>&1 || die "'ip netns' does not work here (no network namespace support?)"
  for tool in haproxy redis-server curl node python3; do
    command -v "$tool" >/dev/null || die "$tool not found: apt-get install -y haproxy redis-server curl (or bash scripts/setup.sh --test)"
  done
  [ -f "$ROOT/dist/src/cli.js" ] || die "negotiate-server is not built: npm run build"
}

# The farm id, 20..219, from DIR's absolute path; names and the /24 follow from it.
derive_names() {
  local sum
  sum=$(printf '%s' "$DIR" | cksum | cut -d' ' -f1)
  ID=$((sum % 200 + 20))
  NET="10.77.$ID"
  NS_BR="nf$ID-br"
  NS_LB="nf$ID-lb"
  NS_CL="nf$ID-cl"
  LB_IP="$NET.2"
  CL_IP="$NET.3"
}
instance_ns() { printf 'nf%s-s%s' "$ID" "$1"; }
instance_ip() { printf '%s.%s' "$NET" $((10 + $1)); }
in_ns() { local ns=$1; shift; ip netns exec "$ns" "$@"; }

# ---- network ------------------------------------------------------------------------------
make_bridge() {
  ip netns add "$NS_BR"
  state_set NS_BR "$NS_BR"
  in_ns "$NS_BR" ip link set lo up
  in_ns "$NS_BR" ip link add br0 type bridge
  in_ns "$NS_BR" ip link set br0 up
}

# A namespace with lo and eth0 (ADDR/24), eth0's peer on the bridge: the veth pair is made
# with both ends already in their namespaces, so no interface ever appears in the root one.
make_node() {
  local ns=$1 key=$2 addr=$3 port=$4
  ip netns add "$ns"
  state_set "$key" "$ns"
  ip link add eth0 netns "$ns" type veth peer name "$port" netns "$NS_BR"
  in_ns "$NS_BR" ip link set "$port" master br0 up
  in_ns "$ns" ip link set lo up
  in_ns "$ns" ip addr add "$addr/24" dev eth0
  in_ns "$ns" ip link set eth0 up
}

# ---- processes ----------------------------------------------------------------------------
# Starts "$@" in namespace $1 in the background with its output in DIR/logs/$2.log and records
# its PID as PID_$2. `ip netns exec` and setsid exec (no fork: the job is no group leader), so $!
# is the program itself; setsid keeps it out of the caller's terminal signals.
spawn() {
  local ns=$1 name=$2; shift 2
  ip netns exec "$ns" setsid "$@" >>"$DIR/logs/$name.log" 2>&1 </dev/null &
  state_set "PID_$name" "$!"
}

alive() { [ -n "${1:-}" ] && kill -0 "$1" 2>/dev/null; }

# Ends PID_$1: SIGTERM (or $2), then SIGKILL after 5 s.
stop_pid() {
  local key="PID_$1" pid
  pid=$(state_get "$key")
  if alive "$pid"; then
    kill "-${2:-TERM}" "$pid" 2>/dev/null || true
    for _ in $(seq 50); do alive "$pid" || break; sleep 0.1; done
    alive "$pid" && kill -KILL "$pid" 2>/dev/null || true
  fi
  state_set "$key" ""
}

# Waits until `curl URL` from namespace $1 answers 200 (or $3 tenths of a second pass).
wait_http() {
  local ns=$1 url=$2 tenths=${3:-150}
  for _ in $(seq "$tenths"); do
    in_ns "$ns" curl -fsS -o /dev/null --max-time 1 "$url" 2>/dev/null && return 0
    sleep 0.1
  done
  return 1
}

start_redis() {
  mkdir -p "$DIR/redis"
  spawn "$NS_LB" redis redis-server --bind "$LB_IP" --port 6379 --protected-mode no --save '' \
    --appendonly no --dir "$DIR/redis" --daemonize no
  for _ in $(seq 100); do
    in_ns "$NS_LB" redis-cli -h "$LB_IP" -p 6379 ping 2>/dev/null | grep -q PONG && return 0
    sleep 0.1
  done
  die "redis-server did not answer PING; see $DIR/logs/redis.log"
}

start_haproxy() {
  haproxy -c -q -f "$DIR/haproxy.cfg" || die "haproxy refused $DIR/haproxy.cfg"
  spawn "$NS_LB" haproxy haproxy -db -f "$DIR/haproxy.cfg"
  wait_http "$NS_CL" "http://$LB_IP:8404/stats" 100 || die "haproxy did not start; see $DIR/logs/haproxy.log"
}

start_instance() {
  local i=$1 ip ns cache ntlm=()
  ip=$(instance_ip "$i")
  ns=$(instance_ns "$i")
  cache=$(state_get REPLAY_CACHE_URL)
  [ "$(state_get NTLM)" = 0 ] || ntlm=(--ntlm)
  # The realm's env file: KRB5_CONFIG, KRB5_KTNAME, NTLM_USER_FILE and the rest.
  # shellcheck disable=SC1091
  spawn "$ns" "s$i" bash -c '. "$1/realm/env"; shift; exec "$@"' farm "$DIR" \
    node "$CLI" serve --keytab "$DIR/realm/keytab" \
    --sspi "$ip:2000" --gss-sample "$ip:4444" --http "$ip:8080" --admin "$ip:9090" \
    --replay-cache "$cache" "${ntlm[@]}" --session-cookie 600 --cookie-key-file "$DIR/cookie.keys" \
    --shutdown-grace 2000 --log-level warn
}

# Ready when /readyz answers 200; gives up at once if the instance exited. The error carries the
# log's last lines, since tests remove DIR afterwards.
wait_instance() {
  local i=$1 pid url
  pid=$(state_get "PID_s$i")
  url="http://$(instance_ip "$i"):9090/readyz"
  for _ in $(seq 300); do
    in_ns "$NS_LB" curl -fsS -o /dev/null --max-time 1 "$url" 2>/dev/null && return 0
    alive "$pid" || break
    sleep 0.1
  done
  local state='not ready after 30 s'
  alive "$pid" || state='exited'
  die "instance $i $state (readyz $(in_ns "$NS_LB" curl -s -o /dev/null -w '%{http_code}' --max-time 1 "$url" 2>/dev/null)); last lines of $DIR/logs/s$i.log:
$(tail -n 15 "$DIR/logs/s$i.log" 2>/dev/null)"
}

write_haproxy_cfg() {
  local n=$1 i servers_http='' servers_sspi='' servers_gss='' ip
  for i in $(seq "$n"); do
    ip=$(instance_ip "$i")
    servers_http+="    server s$i $ip:8080"$'\n'
    servers_sspi+="    server s$i $ip:2000"$'\n'
    servers_gss+="    server s$i $ip:4444"$'\n'
  done
  cat >"$DIR/haproxy.cfg" <<EOF
# Generated by scripts/farm.sh for farm $ID: HTTP round-robin per request, TCP per connection.
global
    maxconn 4000
    stats socket $DIR/haproxy.sock mode 600 level admin

defaults
    timeout connect 2s
    timeout client 60s
    timeout server 60s
    # A connection refused by a dead or draining instance (it closes its listeners at SIGTERM,
    # before the checks below see its 503) is retried on another one: no request fails.
    retries 2
    option redispatch
    # Every instance is checked on its admin listener's /readyz: 503 (replay store down,
    # draining) takes it out of rotation within fall x inter.
    option httpchk GET /readyz
    http-check expect status 200
    default-server check port 9090 inter 500ms fall 2 rise 2

frontend http
    mode http
    bind $LB_IP:80
    default_backend http

backend http
    mode http
    balance roundrobin
    # HAProxy keeps idle connections to each instance; a draining instance closes them, and a
    # request HAProxy sends on one at that moment gets no answer. Retried on another instance
    # (redispatch); the instance had not read it, or if it had, the shared cache refuses it.
    retry-on conn-failure empty-response
$servers_http
# Per TCP connection: NTLM's legs (connection-bound) stay on one instance.
listen sspi
    mode tcp
    bind $LB_IP:2000
    balance roundrobin
$servers_sspi
listen gss-sample
    mode tcp
    bind $LB_IP:4444
    balance roundrobin
$servers_gss
listen stats
    mode http
    bind $LB_IP:8404
    stats enable
    stats uri /stats
EOF
}

# ---- commands -----------------------------------------------------------------------------
cmd_up() {
  local n=$1 i mode
  [[ "$n" =~ ^[1-9][0-9]*$ ]] && [ "$n" -le "$MAX_INSTANCES" ] || die "N must be 1..$MAX_INSTANCES, not '$n'"
  [ -e "$STATE" ] && die "a farm is already up in $DIR (scripts/farm.sh status $DIR; down first)"
  if ip netns list | grep -qE "^nf$ID-"; then
    die "namespaces nf$ID-* exist but $STATE does not: another farm's id clashes (use another DIR) or a farm was not taken down (ip netns del ...)"
  fi
  mode=${FARM_REPLAY_CACHE:-}
  if [ -z "$mode" ]; then
    if node "$CLI" serve --help 2>/dev/null | grep -q 'redis://'; then mode=redis; else mode=memory; fi
  fi
  case "$mode" in
    redis) ;;
    memory) ;;
    *) die "FARM_REPLAY_CACHE must be redis or memory, not '$mode'" ;;
  esac
  # Logs of an earlier farm in DIR would mix with this one's.
  rm -rf "$DIR/logs" "$DIR/realm"
  mkdir -p "$DIR/logs"
  : >"$STATE"
  # Half-made farms are taken down again: everything made so far is in the state file.
  trap 'say "up failed; taking down what was started"; cmd_down || true' EXIT
  state_set FARM_ID "$ID"
  state_set FARM_DIR "$DIR"
  state_set FARM_N "$n"
  state_set LB_IP "$LB_IP"
  state_set CL_IP "$CL_IP"
  state_set NS_CL "$NS_CL"
  state_set NS_LB "$NS_LB"
  state_set REPLAY_CACHE "$mode"
  state_set NTLM "${FARM_NTLM:-1}"
  if [ "$mode" = redis ]; then
    state_set REPLAY_CACHE_URL "redis://$LB_IP:6379"
  else
    state_set REPLAY_CACHE_URL memory
  fi

  say "namespaces nf$ID-{br,lb,cl,s1..s$n} on $NET.0/24"
  make_bridge
  make_node "$NS_LB" NS_LB "$LB_IP" v-lb
  make_node "$NS_CL" NS_CL "$CL_IP" v-cl
  for i in $(seq "$n"); do
    make_node "$(instance_ns "$i")" "NS_S$i" "$(instance_ip "$i")" "v-s$i"
    state_set "IP_S$i" "$(instance_ip "$i")"
  done

  say "realm in $DIR/realm, KDC on $LB_IP"
  in_ns "$NS_LB" node "$CLI" realm up --kdc-address "$LB_IP" "$DIR/realm" >"$DIR/logs/realm.log"
  state_set REALM_DIR "$DIR/realm"
  # One cookie key for every instance, so a cookie from one verifies on the others.
  (umask 077 && head -c 32 /dev/urandom | base64 >"$DIR/cookie.keys")

  if [ "$mode" = redis ]; then
    say "redis-server on $LB_IP:6379"
    start_redis
  fi
  say "$n instance(s), replay cache $(state_get REPLAY_CACHE_URL)"
  for i in $(seq "$n"); do start_instance "$i"; done
  for i in $(seq "$n"); do wait_instance "$i"; done
  say "haproxy on $LB_IP: http :80, sspi :2000, gss-sample :4444, stats :8404"
  write_haproxy_cfg "$n"
  start_haproxy
  trap - EXIT
  say "up: clients run with  ip netns exec $NS_CL ...  and  . $DIR/realm/env"
  printf '{"event":"farm-up","dir":"%s","id":%s,"instances":%s,"balancer":"%s","clientNetns":"%s","replayCache":"%s"}\n' \
    "$DIR" "$ID" "$n" "$LB_IP" "$NS_CL" "$mode"
}

cmd_down() {
  local key pid ns
  [ -e "$STATE" ] || { say "no farm in $DIR"; return 0; }
  say "stopping processes"
  for key in $(sed -n 's/^PID_\([^=]*\)=.*/\1/p' "$STATE"); do stop_pid "$key"; done
  if [ -n "$(state_get REALM_DIR)" ]; then
    node "$CLI" realm down "$(state_get REALM_DIR)" >/dev/null 2>&1 || say "realm down failed (KDC already gone?)"
    # A throwaway realm: its keys and the user's password go with the farm.
    rm -rf "$(state_get REALM_DIR)"
    state_set REALM_DIR ""
  fi
  say "deleting namespaces"
  for ns in $(sed -n 's/^NS_[^=]*=\(.\+\)$/\1/p' "$STATE" | sort -u); do
    # Anything still running in a farm namespace was started there by this farm.
    for pid in $(ip netns pids "$ns" 2>/dev/null); do kill -KILL "$pid" 2>/dev/null || true; done
    ip netns del "$ns" 2>/dev/null || true
  done
  # The cookie key is a secret; logs and haproxy.cfg stay for a look after the fact.
  rm -rf "$STATE" "$DIR/haproxy.sock" "$DIR/cookie.keys" "$DIR/redis"
  say "down"
}

cmd_status() {
  local key pid ns state_word=up
  [ -e "$STATE" ] || { say "no farm in $DIR"; return 3; }
  for key in $(sed -n 's/^PID_\([^=]*\)=.*/\1/p' "$STATE"); do
    pid=$(state_get "PID_$key")
    if alive "$pid"; then printf '%-10s pid %-8s running\n' "$key" "$pid"; else printf '%-10s %-12s stopped\n' "$key" ''; state_word=degraded; fi
  done
  pid=$(cat "$DIR/realm/kdc.pid" 2>/dev/null || true)
  if alive "$pid"; then printf '%-10s pid %-8s running\n' kdc "$pid"; else printf '%-10s %-12s stopped\n' kdc ''; state_word=degraded; fi
  for ns in $(sed -n 's/^NS_[^=]*=\(.\+\)$/\1/p' "$STATE" | sort -u); do
    if ip netns list | grep -q "^$ns\b"; then printf '%-10s namespace\n' "$ns"; else printf '%-10s namespace missing\n' "$ns"; state_word=degraded; fi
  done
  if [ -S "$DIR/haproxy.sock" ] && alive "$(state_get PID_haproxy)"; then
    python3 - "$DIR/haproxy.sock" <<'EOF' || say "HAProxy's stats socket did not answer"
import socket, sys
s = socket.socket(socket.AF_UNIX)
s.connect(sys.argv[1])
s.sendall(b"show stat\n")
data = b""
while chunk := s.recv(65536):
    data += chunk
for line in data.decode().splitlines()[1:]:
    f = line.split(",")
    if len(f) > 17 and f[1] not in ("FRONTEND", "BACKEND"):
        print(f"haproxy    {f[0]}/{f[1]} {f[17]}")
EOF
  fi
  echo "farm $state_word"
  [ "$state_word" = up ]
}

cmd_part() {
  local action=$1 part=$2 i=${3:-}
  case "$action:$part" in
    stop:redis) stop_pid redis ;;
    kill:redis) stop_pid redis KILL ;;
    start:redis) start_redis ;;
    stop:haproxy) stop_pid haproxy ;;
    start:haproxy) start_haproxy ;;
    stop:instance) stop_pid "s$i" ;;
    kill:instance) stop_pid "s$i" KILL ;;
    start:instance) start_instance "$i"; wait_instance "$i" ;;
    *) usage ;;
  esac
}

[ $# -ge 2 ] || usage
COMMAND=$1
case "$COMMAND" in
  up | down | status)
    [ $# -le 3 ] || usage
    DIR_ARG=$2
    ;;
  stop | kill | start)
    PART=$2
    if [ "$PART" = instance ]; then [ $# -eq 4 ] || usage; INDEX=$3; DIR_ARG=$4; else [ $# -eq 3 ] || usage; DIR_ARG=$3; fi
    ;;
  *) usage ;;
esac
preflight "$@"
mkdir -p "$DIR_ARG"
DIR=$(cd "$DIR_ARG" && pwd)
STATE="$DIR/farm.state"
derive_names
case "$COMMAND" in
  up) cmd_up "${3:-2}" ;;
  down) cmd_down ;;
  status) cmd_status ;;
  stop | kill | start)
    [ -e "$STATE" ] || die "no farm in $DIR"
    if [ "$PART" = instance ]; then
      [[ "$INDEX" =~ ^[1-9][0-9]*$ ]] && [ "$INDEX" -le "$(state_get FARM_N)" ] || die "no instance '$INDEX'"
      cmd_part "$COMMAND" instance "$INDEX"
    else
      cmd_part "$COMMAND" "$PART"
    fi
    ;;
esac
