#!/bin/sh
# run-demo.sh — `make run`: start a private redis-server and kobled with the
# small Danish demo data set, and print how to query it and watch its
# events. The script stays in the foreground; ^C stops both, kobled first.
#
#   KOBLE_PORT=8080        kobled's port on 127.0.0.1
#   KOBLE_DATA=var/demo    kobled's data directory (emptied at every start)
#   KOBLE_REDIS_PORT=6390  the private redis-server's port on 127.0.0.1
#   KOBLE_REDIS=HOST:PORT  use this Redis instead of starting one;
#                          KOBLE_REDIS=none runs kobled without Redis
#   KOBLE_REDIS_PASSWORD   read by kobled itself (AUTH to KOBLE_REDIS)
set -eu
PORT=${KOBLE_PORT:-8080}
ADDR=127.0.0.1:$PORT
DATA=${KOBLE_DATA:-var/demo}
URL=http://$ADDR
REDIS=${KOBLE_REDIS:-}
REDIS_PORT=${KOBLE_REDIS_PORT:-6390}
REDIS_DIR=$DATA-redis

KPID=""
RPID=""
# Stops kobled first (its shutdown snapshot), then the Redis this script
# started. Safe to run twice (INT/TERM, then EXIT). (SC2317: shellcheck
# 0.9 does not see that a trap calls it.)
# shellcheck disable=SC2317
stop() {
    if [ -n "$KPID" ]; then
        kill -TERM "$KPID" 2>/dev/null || :
        wait "$KPID" 2>/dev/null || :
        KPID=""
    fi
    if [ -n "$RPID" ]; then
        kill -TERM "$RPID" 2>/dev/null || :
        wait "$RPID" 2>/dev/null || :
        RPID=""
    fi
}
trap stop EXIT
trap 'stop; exit 130' INT
trap 'stop; exit 143' TERM

# The children run in their own session (setsid), so a ^C at the terminal
# reaches only this script, which then sends each exactly one SIGTERM:
# kobled treats a second signal as "exit now", and Redis must outlive it.
rm -rf "$DATA" "$REDIS_DIR"
mkdir -p "$DATA"

case $REDIS in
none)
    REDIS_ARG=none
    ;;
"")
    # A private, throw-away Redis: loopback only, no RDB, no AOF. Debian's
    # redis-server package also starts a system Redis on 6379; this one
    # stays out of its way.
    mkdir -p "$REDIS_DIR"
    REDIS_DIR=$(cd "$REDIS_DIR" && pwd) # redis-server changes to --dir first
    if redis-cli -h 127.0.0.1 -p "$REDIS_PORT" PING >/dev/null 2>&1; then
        echo "run-demo: something already answers on 127.0.0.1:$REDIS_PORT;" \
            "set KOBLE_REDIS_PORT to a free port, or KOBLE_REDIS=127.0.0.1:$REDIS_PORT to use it" >&2
        exit 1
    fi
    setsid redis-server --bind 127.0.0.1 --port "$REDIS_PORT" --save "" --appendonly no \
        --dir "$REDIS_DIR" --logfile "$REDIS_DIR/redis.log" --daemonize no &
    RPID=$!
    # Ready when the Redis answering is the one just started.
    i=0
    until redis-cli -h 127.0.0.1 -p "$REDIS_PORT" INFO server 2>/dev/null |
        tr -d '\r' | grep -qx "process_id:$RPID"; do
        i=$((i + 1))
        if [ $i -gt 100 ] || ! kill -0 "$RPID" 2>/dev/null; then
            echo "run-demo: redis-server did not come up on 127.0.0.1:$REDIS_PORT" \
                "(is the port taken? set KOBLE_REDIS_PORT); its log:" >&2
            tail -n 5 "$REDIS_DIR/redis.log" >&2 || :
            exit 1
        fi
        sleep 0.1
    done
    REDIS_ARG=127.0.0.1:$REDIS_PORT
    ;;
*)
    REDIS_ARG=$REDIS
    ;;
esac

setsid build/kobled --listen "$ADDR" --data-dir "$DATA" --redis "$REDIS_ARG" &
KPID=$!

i=0
until curl -fs "$URL/healthz" >/dev/null 2>&1; do
    i=$((i + 1))
    if [ $i -gt 100 ] || ! kill -0 "$KPID" 2>/dev/null; then
        echo "run-demo: kobled did not come up on $ADDR (is the port taken? set KOBLE_PORT)" >&2
        exit 1
    fi
    sleep 0.1
done

# Load the demo set: one PUT per line of `koble-gen --demo`.
build/bench/koble-gen --demo | python3 -c '
import json, sys, urllib.request
base = sys.argv[1]
paths = {"volunteer": "volunteers", "organisation": "organisations",
         "activity": "activities", "need": "needs"}
n = 0
for line in sys.stdin:
    e = json.loads(line)
    req = urllib.request.Request("%s/v1/%s/%s" % (base, paths[e["type"]], e["id"]),
                                 data=json.dumps(e["body"]).encode(), method="PUT",
                                 headers={"Content-Type": "application/json"})
    urllib.request.urlopen(req).read()
    n += 1
print("loaded %d demo entities" % n)
' "$URL"

if [ "$REDIS_ARG" = none ]; then
    EVENTS="
Events are off (KOBLE_REDIS=none).
"
else
    RHOST=${REDIS_ARG%:*}
    RHOST=${RHOST#[}
    RHOST=${RHOST%]}
    RPORT=${REDIS_ARG##*:}
    if [ -n "$RPID" ]; then
        WHERE="a private redis-server on $REDIS_ARG (stopped with kobled)"
    else
        WHERE="the Redis at $REDIS_ARG (KOBLE_REDIS)"
    fi
    AUTH=""
    [ -z "${KOBLE_REDIS_PASSWORD:-}" ] || AUTH="REDISCLI_AUTH=\"\$KOBLE_REDIS_PASSWORD\" "
    EVENTS="
Every write is published to $WHERE.
The needs events so far, and the matches events as they come:
  ${AUTH}redis-cli -h $RHOST -p $RPORT XRANGE koble:needs - +
  ${AUTH}redis-cli -h $RHOST -p $RPORT XREAD BLOCK 0 STREAMS koble:matches '\$'
"
fi

cat <<MSG

kobled is running on $URL with the demo data (^C stops it).

A ranked, explained match for an 18-year-old who left school in Guldborgsund:
  curl -s '$URL/v1/needs/n-ung-nakskov/matches?limit=3&explain=1'

What if the same young person were 14 (a child certificate is then required)?
  curl -s -X POST '$URL/v1/match?explain=1' -H 'Content-Type: application/json' \\
    -d '{"kind":"mentor","municipality":"0376","location":{"lat":54.7691,"lon":11.8773},
         "skills_required":["mentoring"],"person_age":14,"max_distance_km":20}'

A need nobody nearby can meet, and why:
  curl -s '$URL/v1/needs/n-skagen-tegnsprog/matches?explain=1'
$EVENTS
MSG
# kobled ending on its own (a crash, a failed fsync) ends the demo too,
# with its exit status; the EXIT trap stops Redis.
rc=0
wait "$KPID" || rc=$?
KPID=""
exit "$rc"
