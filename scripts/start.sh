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
"$bin" status
cat <<EOT

Next:
  $bin run                 # the services (projections, retention) until Ctrl-C
  $bin generate --events 1000 --category demo.load   # append some synthetic events
  $bin status              # head, streams by category, subscriptions and their lag
  bash scripts/servers.sh psql -c 'SELECT * FROM category_stats'
EOT
