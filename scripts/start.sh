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

# A short look at the services: a local Bybit simulator (generated market, a demo account),
# the gateway writing its frames into the log, the relay publishing them to the ws-gateway.*
# queues, and the order manager taking one demo signal from model-service.trading_signals to
# an order at the simulator (published through RabbitMQ's management API a few seconds in).
# Live: BYBIT_ENV=mainnet (or testnet) with your own BYBIT_API_KEY / BYBIT_API_SECRET.
port="${TRADELOG_DEMO_SIM_PORT:-9100}"
seconds="${TRADELOG_DEMO_SECONDS:-10}"
mgmt="$(sed -n 's/^RABBITMQ_MANAGEMENT_URL=//p' <<< "$urls")"
"$bin" simulate-exchange --port "$port" --generate 1 --symbols BTCUSDT,ETHUSDT --rate 20 \
    --api-key demo-key --api-secret demo-secret >/dev/null 2>&1 &
sim=$!
trap 'kill $sim 2>/dev/null || true' EXIT
for _ in $(seq 1 100); do (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null && break; sleep 0.1; done
signal_id="$(cat /proc/sys/kernel/random/uuid)"
demo_signal() {
    sleep "$(( seconds / 2 ))"
    python3 - "$signal_id" <<'PY' | curl -s -m 5 -u guest:guest -H 'content-type: application/json' \
        -X POST "${mgmt}api/exchanges/%2F/amq.default/publish" -d @- >/dev/null || echo "demo signal not published"
import datetime, json, sys
now = datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
signal = {"signal_id": sys.argv[1], "signal_type": "buy", "asset": "BTCUSDT", "amount": 200, "confidence": 0.9,
          "timestamp": now, "strategy_id": "demo", "model_version": "demo", "is_warmup": False,
          "market_data_snapshot": {"price": 65000, "spread": 0.1, "volume_24h": 1000000, "volatility": 0.01,
                                   "orderbook_depth": None, "technical_indicators": None},
          "metadata": None, "trace_id": "demo-" + sys.argv[1][:8]}
print(json.dumps({"properties": {"delivery_mode": 2, "content_type": "application/json"},
                  "routing_key": "model-service.trading_signals", "payload": json.dumps(signal),
                  "payload_encoding": "string"}))
PY
}
demo_signal &
demo=$!
echo "gateway (against the simulator on 127.0.0.1:$port), relay and order manager for $seconds s; a demo buy signal $signal_id ..."
BYBIT_ENV="http://127.0.0.1:$port" BYBIT_API_KEY=demo-key BYBIT_API_SECRET=demo-secret \
TRADELOG_API_PORT=off TRADELOG_ORDER_API_PORT=off TRADELOG_LOG_LEVEL=warning \
TRADELOG_GATEWAY_SUBSCRIPTIONS="private:order,private:execution,private:wallet,private:position,linear:orderbook.50.BTCUSDT,linear:publicTrade.BTCUSDT,linear:tickers.BTCUSDT,spot:publicTrade.ETHUSDT" \
    timeout --signal=TERM "$seconds" "$bin" run || true
wait "$demo" || true
kill $sim 2>/dev/null || true
"$bin" status
echo
"$bin" audit signal "$signal_id" || true
echo
echo "Positions (the position manager's projection):"
bash "$(dirname "$0")/servers.sh" psql -c "SELECT category, symbol, side, size, average_entry_price, mark_price, unrealized_pnl, realized_pnl, fees FROM positions ORDER BY 1, 2" || true
cat <<EOT

Next:
  $bin run                 # all services (gateway, relay, signals or the order manager, projections, retention) until Ctrl-C;
                           # the gateway reads BYBIT_ENV, TRADELOG_GATEWAY_SUBSCRIPTIONS, TRADELOG_API_KEY (README)
  $bin run --only order-manager          # signals to Bybit orders (needs BYBIT_API_KEY/SECRET; its API on :8081)
  $bin run --only position-manager       # positions, portfolio, snapshots (its API on :8082: /api/v1/positions, /api/v1/portfolio)
  $bin audit signal ID     # the causation tree of a signal; audit --since 2026-01-01T00:00:00Z for all
  $bin simulate-exchange --port 9100     # a local Bybit to point BYBIT_ENV=http://127.0.0.1:9100 at
  $bin record --out session.jsonl.lz4 --duration 60s --env mainnet --symbols BTCUSDT
  $bin decode FILE         # frames (or a recording) through the decoders, as JSON lines
  $bin status              # head, streams by category, subscriptions and their lag, relay queues
  bash scripts/servers.sh psql -c "SELECT stream, count(*) FROM events GROUP BY 1 ORDER BY 1"
EOT
