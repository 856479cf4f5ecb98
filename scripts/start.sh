#!/usr/bin/env bash
# The main job on a fresh machine (README): local PostgreSQL and RabbitMQ up, a release
# build, the log migrated, and `tradelog status` showing the log's head, streams and
# subscriptions. Idempotent: run it again at any time.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

urls="$(bash scripts/servers.sh start)"
echo "$urls"
while IFS='=' read -r key value; do
    case "$key" in
        DATABASE_URL|AMQP_URL) [[ -n "${!key:-}" ]] || export "$key=$value" ;;
    esac
done <<< "$urls"

swift build -c release --product tradelog
bin="$(swift build -c release --show-bin-path)/tradelog"
"$bin" migrate

# The demo: a local Bybit simulator plays a bundled session (replay-fixtures/, 6 minutes of
# market at 10x), every service runs live against it (gateway, relay, signal intake and
# order manager, position manager, projections), the session's signals go through RabbitMQ
# at the same pace, and a summary ends it. Live: BYBIT_ENV=mainnet (or testnet) with your
# own BYBIT_API_KEY / BYBIT_API_SECRET and `tradelog run`.
port="${TRADELOG_DEMO_SIM_PORT:-9100}"
speed="${TRADELOG_DEMO_SPEED:-10}"
fixture="${TRADELOG_DEMO_FIXTURE:-replay-fixtures/linear-btc-eth}"
seconds="${TRADELOG_DEMO_SECONDS:-$(( 6 * 60 / speed + 8 ))}"
"$bin" simulate-exchange --port "$port" --fixture "$fixture/session.jsonl.lz4" --speed "$speed" \
    --api-key demo-key --api-secret demo-secret >/dev/null 2>&1 &
sim=$!
trap 'kill $sim 2>/dev/null || true' EXIT
for _ in $(seq 1 100); do (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null && break; sleep 0.1; done
echo "demo: $fixture played by the simulator on 127.0.0.1:$port at ${speed}x; all services for $seconds s; its signals through RabbitMQ ..."
( sleep 4; "$bin" send-signals "$fixture" --speed "${speed}x" 2>&1 | awk 'NR % 5 == 0 || /sent [0-9]+ signals/' ) &
sender=$!
# The sender's subshell and its children (sleep, send-signals, awk).
trap 'pkill -P $sender 2>/dev/null || true; kill $sim $sender 2>/dev/null || true' EXIT
# The fixture's market (its manifest's category and symbols) and the settings it was recorded
# with (settings.env: spot's TRADELOG_OM_DEFAULT_CATEGORY, say).
category="$(sed -n 's/^  "category" : "\([a-z]*\)".*/\1/p' "$fixture/manifest.json")"
symbols="$(sed -n '/"symbols" : \[/,/\]/s/^ *"\([A-Z0-9]*\)".*/\1/p' "$fixture/manifest.json")"
subscriptions="private:order,private:execution,private:wallet,private:position"
for s in $symbols; do
    subscriptions+=",${category:-linear}:orderbook.50.$s,${category:-linear}:publicTrade.$s,${category:-linear}:tickers.$s"
done
# KEY=VALUE lines as tradelog reads them (not shell: a value may hold spaces or `$`).
if [[ -f "$fixture/settings.env" ]]; then
    while IFS= read -r line || [[ -n "$line" ]]; do
        [[ "$line" =~ ^[[:space:]]*(#|$) ]] && continue
        key="${line%%=*}"; key="${key#"${key%%[![:space:]]*}"}"; key="${key%"${key##*[![:space:]]}"}"
        value="${line#*=}"; value="${value#"${value%%[![:space:]]*}"}"; value="${value%"${value##*[![:space:]]}"}"
        [[ "$key" =~ ^TRADELOG_(OM|PM)_[A-Z_]+$ ]] && export "$key=$value"
    done < "$fixture/settings.env"
fi
BYBIT_ENV="http://127.0.0.1:$port" BYBIT_API_KEY=demo-key BYBIT_API_SECRET=demo-secret \
TRADELOG_API_PORT=off TRADELOG_ORDER_API_PORT=off TRADELOG_POSITION_API_PORT=off TRADELOG_LOG_LEVEL=warning \
TRADELOG_GATEWAY_SUBSCRIPTIONS="$subscriptions" \
    timeout --signal=TERM "$seconds" "$bin" run || true
wait "$sender" || true
kill $sim 2>/dev/null || true
"$bin" status | head -20 || true   # head closes the pipe early (SIGPIPE under pipefail)
"$bin" summary
cat <<EOT

Commands:
  $bin run                 # all services until Ctrl-C (README: BYBIT_ENV, TRADELOG_GATEWAY_SUBSCRIPTIONS, TRADELOG_API_KEY)
  $bin replay $fixture --verify        # the same session replayed deterministically: the manifest's digest
  $bin replay $fixture --config OTHER.env --diff   # what-if: the decisions other settings change
  $bin projections         # each projection's versions, checkpoint and lag; $bin rebuild NAME [--drop-old]
  $bin audit signal ID     # the causation tree of a signal; audit --since 2026-01-01T00:00:00Z for all
  $bin simulate-exchange --port 9100     # a local Bybit to point BYBIT_ENV=http://127.0.0.1:9100 at
  $bin record --out session.jsonl.lz4 --duration 60s --env mainnet --symbols BTCUSDT
  $bin status              # head, streams by category, subscriptions and their lag, relay queues
EOT
