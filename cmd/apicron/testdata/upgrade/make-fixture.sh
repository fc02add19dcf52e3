#!/usr/bin/env bash
# make-fixture.sh: make an upgrade fixture with a released apicron.
#
#   make-fixture.sh BINARY OUTDIR [NAME]
#
# BINARY is an apicron built from the release (CGO_ENABLED=0 go build -o BINARY
# ./cmd/apicron in a checkout of it). The script starts that binary's
# `apicron echo` as the target and its `serve` on a new SQLite file in a
# temporary directory, creates targets with secrets and schedules of every
# kind through the REST API, lets them fire for about 15 s, pauses one, stops
# the server with SIGTERM and writes:
#
#   OUTDIR/NAME.sql  the database as SQL text (sqlite3 .dump)
#   OUTDIR/NAME.key  the SECRET_KEY it was made with (a test key)
#
# NAME defaults to what `BINARY version` prints after "apicron " (add the
# commit, e.g. 0.2.0 or 0.1.0-d1d1bd2, when two releases print the same).
# SECRET_KEY may be set to choose the key; by default a fixed test key is used.
#
# Needs: curl, jq, sqlite3. TestUpgrade_FromLastRelease (upgrade_test.go)
# expects the targets' names and secret values set here (upgradeSecrets
# there): change both together. Schedules may be added freely.
set -euo pipefail

if [ $# -lt 2 ] || [ $# -gt 3 ]; then
	echo "usage: $0 BINARY OUTDIR [NAME]" >&2
	exit 2
fi
bin=$(cd "$(dirname "$1")" && pwd)/$(basename "$1")
outdir=$2
name=${3:-$("$bin" version | awk '{print $2}')}
[ -n "$name" ] || { echo "no NAME and '$bin version' printed none" >&2; exit 2; }
for tool in curl jq sqlite3; do
	command -v "$tool" >/dev/null || { echo "$0 needs $tool" >&2; exit 2; }
done
# A test key: it protects nothing but this fixture's made-up secrets.
key=${SECRET_KEY:-00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff}

tmp=$(mktemp -d)
echo_pid=
serve_pid=
cleanup() {
	[ -n "$serve_pid" ] && kill "$serve_pid" 2>/dev/null || true
	[ -n "$echo_pid" ] && kill "$echo_pid" 2>/dev/null || true
	wait 2>/dev/null || true
	rm -rf "$tmp"
}
trap cleanup EXIT

# wait_for FILE REGEX: print the first match of REGEX's group 1 in FILE.
wait_for() {
	for _ in $(seq 100); do
		if m=$(sed -nE "s#$2#\\1#p" "$1" | head -1) && [ -n "$m" ]; then
			echo "$m"
			return
		fi
		sleep 0.1
	done
	echo "timed out waiting for $2 in $1:" >&2
	cat "$1" >&2
	exit 1
}

"$bin" echo --port 0 >"$tmp/echo.log" 2>&1 &
echo_pid=$!
target=$(wait_for "$tmp/echo.log" '.*listening on (http://[0-9.]+:[0-9]+).*')

SECRET_KEY=$key "$bin" serve --host 127.0.0.1 --port 0 \
	--database-url "sqlite:///$tmp/apicron.db" >"$tmp/serve.log" 2>&1 &
serve_pid=$!
api=$(wait_for "$tmp/serve.log" '.*msg=listening addr=(http://[^ ]+).*')

# post PATH JSON: POST to the API, print the created object's id.
post() {
	local out
	out=$(curl -sS -f -X POST "$api$1" -H 'Content-Type: application/json' -d "$2") ||
		{ echo "POST $1 $2 failed" >&2; exit 1; }
	jq -r .id <<<"$out"
}
at() { date -u -d "@$(( $(date +%s) + $1 ))" +%Y-%m-%dT%H:%M:%SZ; }

# Targets, with every kind of secret the API takes. Their values are made up;
# the test checks that they still arrive after an upgrade.
ok=$(post /targets "$(jq -nc --arg u "$target/status/200" '{
	name: "fixture-ok", url: $u, max_retries: 0,
	headers: {"X-Api-Key": "fixture-api-key-1", "X-Fixture-Token": "fixture-custom-secret", "X-Plain": "plain-value"},
	secret_headers: ["X-Fixture-Token"],
	signing_secrets: ["whsec_Zml4dHVyZS1zaWduaW5nLWtleS0wMTIzNDU2Nzg5YWI="]}')")
basic=$(post /targets "$(jq -nc --arg u "$target/status/200" '{
	name: "fixture-basic", url: $u, max_retries: 0,
	auth: {type: "basic", username: "fixture-user", password: "fixture-password"}}')")
fail=$(post /targets "$(jq -nc --arg u "$target/status/500" '{
	name: "fixture-fail", url: $u, max_retries: 0,
	headers: {"Authorization": "Bearer fixture-bearer-token"}}')")
slow=$(post /targets "$(jq -nc --arg u "$target/delay/1500" '{
	name: "fixture-slow", url: $u, max_retries: 0, timeout_seconds: 10,
	headers: {"X-Api-Key": "fixture-api-key-slow"}}')")

# schedule NAME TARGET JSON-FIELDS
schedule() {
	post /schedules "$(jq -nc --arg n "$1" --argjson t "$2" "{name: \$n, target_id: \$t} + $3")" >/dev/null
}
schedule interval "$ok" '{schedule_type: "INTERVAL", interval_seconds: 2}'
schedule cron-tz "$basic" '{schedule_type: "CRON", cron_expression: "*/2 * * * * *", timezone: "America/New_York"}'
schedule cron-daily "$ok" '{schedule_type: "CRON", cron_expression: "30 9 * * *", timezone: "Asia/Tokyo"}'
schedule once-ran "$ok" "{schedule_type: \"ONCE\", run_at: \"$(at 3)\"}"
schedule window "$ok" '{schedule_type: "WINDOW", interval_seconds: 1, duration_seconds: 4}'
schedule bounded "$ok" "{schedule_type: \"INTERVAL\", interval_seconds: 3, start_at: \"$(at 2)\", end_at: \"2099-01-01T00:00:00Z\"}"
schedule bounded-ended "$ok" "{schedule_type: \"INTERVAL\", interval_seconds: 2, end_at: \"$(at 60)\"}"
schedule max-runs "$ok" '{schedule_type: "INTERVAL", interval_seconds: 1, max_runs: 3}'
schedule max-runs-open "$ok" '{schedule_type: "INTERVAL", interval_seconds: 2, max_runs: 1000000}'
schedule paused "$ok" '{schedule_type: "INTERVAL", interval_seconds: 1}'
schedule jitter "$ok" '{schedule_type: "INTERVAL", interval_seconds: 3, jitter_seconds: 2}'
schedule failing "$fail" '{schedule_type: "INTERVAL", interval_seconds: 2}'
schedule overlap-buffer-one "$slow" '{schedule_type: "INTERVAL", interval_seconds: 1, overlap_policy: "buffer_one"}'
schedule overlap-allow "$slow" '{schedule_type: "INTERVAL", interval_seconds: 1, overlap_policy: "allow", max_parallel: 2}'
schedule overlap-replace "$slow" '{schedule_type: "INTERVAL", interval_seconds: 1, overlap_policy: "replace"}'
schedule misfire-skip "$ok" '{schedule_type: "INTERVAL", interval_seconds: 2, misfire_policy: "skip"}'
schedule misfire-catch-up "$ok" '{schedule_type: "INTERVAL", interval_seconds: 2, misfire_policy: "catch_up", catch_up_max: 3}'

sleep 4
paused_id=$(curl -sS -f "$api/schedules?limit=100" | jq -r '.[] | select(.name == "paused") | .id')
curl -sS -f -X POST "$api/schedules/$paused_id/pause" -H 'Content-Type: application/json' \
	-d '{"reason": "paused in the fixture"}' >/dev/null
sleep 11

kill -TERM "$serve_pid"
wait "$serve_pid" || { echo "serve exited with $?:" >&2; cat "$tmp/serve.log" >&2; exit 1; }
serve_pid=

mkdir -p "$outdir"
sqlite3 "$tmp/apicron.db" .dump >"$outdir/$name.sql"
printf '%s\n' "$key" >"$outdir/$name.key"
echo "wrote $outdir/$name.sql ($(wc -c <"$outdir/$name.sql") bytes) and $outdir/$name.key;" \
	"$(sqlite3 "$tmp/apicron.db" 'SELECT count(*) FROM schedules') schedules," \
	"$(sqlite3 "$tmp/apicron.db" 'SELECT count(*) FROM runs') runs" \
	"($(sqlite3 "$tmp/apicron.db" "SELECT group_concat(status || ' ' || n, ', ') FROM (SELECT status, count(*) n FROM runs GROUP BY status)"))"
