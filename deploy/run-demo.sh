#!/bin/sh
# run-demo.sh — `make run`: start kobled with the small Danish demo data set
# and print how to query it. kobled stays in the foreground; ^C stops it.
set -eu
PORT=${KOBLE_PORT:-8080}
ADDR=127.0.0.1:$PORT
DATA=${KOBLE_DATA:-var/demo}
URL=http://$ADDR

# The demo starts from its data set every time: a fresh data directory.
rm -rf "$DATA"
mkdir -p "$DATA"
build/kobled --listen "$ADDR" --data-dir "$DATA" --redis none &
PID=$!
trap 'kill $PID 2>/dev/null; wait $PID 2>/dev/null' INT TERM EXIT

i=0
until curl -fs "$URL/healthz" >/dev/null 2>&1; do
    i=$((i + 1))
    if [ $i -gt 100 ] || ! kill -0 $PID 2>/dev/null; then
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

MSG
wait $PID
