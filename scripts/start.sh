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

# A short look at the services: a local Bybit simulator (generated market), the gateway
# writing its frames into the log and the relay publishing them to the ws-gateway.* queues
# for a few seconds (the signal intake listens on model-service.trading_signals).
# Live: BYBIT_ENV=mainnet (or testnet).
port="${TRADELOG_DEMO_SIM_PORT:-9100}"
"$bin" simulate-exchange --port "$port" --generate 1 --symbols BTCUSDT,ETHUSDT --rate 20 >/dev/null 2>&1 &
sim=$!
trap 'kill $sim 2>/dev/null || true' EXIT
for _ in $(seq 1 100); do (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null && break; sleep 0.1; done
echo "gateway (against the simulator on 127.0.0.1:$port), relay and signal intake for ${TRADELOG_DEMO_SECONDS:-10} s ..."
BYBIT_ENV="http://127.0.0.1:$port" TRADELOG_API_PORT=off TRADELOG_LOG_LEVEL=warning \
TRADELOG_GATEWAY_SUBSCRIPTIONS="linear:orderbook.50.BTCUSDT,linear:publicTrade.BTCUSDT,linear:tickers.BTCUSDT,spot:publicTrade.ETHUSDT" \
    timeout --signal=TERM "${TRADELOG_DEMO_SECONDS:-10}" "$bin" run || true
kill $sim 2>/dev/null || true
"$bin" status
cat <<EOT

Next:
  $bin run                 # all services (gateway, relay, signals, projections, retention) until Ctrl-C;
                           # the gateway reads BYBIT_ENV, TRADELOG_GATEWAY_SUBSCRIPTIONS, TRADELOG_API_KEY (README)
  $bin simulate-exchange --port 9100     # a local Bybit to point BYBIT_ENV=http://127.0.0.1:9100 at
  $bin record --out session.jsonl.lz4 --duration 60s --env mainnet --symbols BTCUSDT
  $bin decode FILE         # frames (or a recording) through the decoders, as JSON lines
  $bin status              # head, streams by category, subscriptions and their lag, relay queues
  bash scripts/servers.sh psql -c "SELECT stream, count(*) FROM events GROUP BY 1 ORDER BY 1"
EOT
