#!/bin/bash
# 200 and 304 replies a second for one file (decision 0004): `publisher serve` against
# Starlette's StaticFiles (static_app.py, in the scratch venv /tmp/adr-venv), each one
# uvicorn worker on 127.0.0.1; wrk, 1 thread, 16 keep-alive connections, 10 s a run,
# the two servers in turn for ROUNDS rounds. Run from the project folder:
#   docs/decisions/measure/serve_304.sh SITE FILE ROUNDS
set -e
SITE=$1 FILE=$2 ROUNDS=${3:-3}
HERE=$(dirname "$0")
.venv/bin/python -m publisher serve --site "$SITE" --plans plans --port 18301 >/tmp/adr-ours.log 2>&1 &
OURS=$!
/tmp/adr-venv/bin/python "$HERE/static_app.py" "$SITE" 18302 >/tmp/adr-static.log 2>&1 &
STATIC=$!
trap 'kill $OURS $STATIC 2>/dev/null' EXIT
sleep 5
name() { [ "$1" = 18301 ] && echo publisher || echo StaticFiles; }
etag() { curl -s -D - -o /dev/null "http://127.0.0.1:$1/$FILE" | tr -d '\r' | awk -F': ' 'tolower($1)=="etag"{print $2}'; }
for port in 18301 18302; do
  tag=$(etag $port)
  code=$(curl -s -o /dev/null -w '%{http_code}' -H "If-None-Match: $tag" "http://127.0.0.1:$port/$FILE")
  echo "$(name $port): ETag $tag; a GET with it answered $code"
done
for round in $(seq 1 "$ROUNDS"); do
  for port in 18301 18302; do
    tag=$(etag $port)
    full=$(wrk -t1 -c16 -d10s "http://127.0.0.1:$port/$FILE" | awk '/Requests\/sec/{print $2}')
    same=$(wrk -t1 -c16 -d10s -H "If-None-Match: $tag" "http://127.0.0.1:$port/$FILE" | awk '/Requests\/sec/{print $2}')
    echo "round $round, $(name $port): 200 $full/s, 304 $same/s"
  done
done
