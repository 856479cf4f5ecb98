#!/usr/bin/env bash
# The test command (README): starts the local servers if they are not running, builds,
# runs every test against the real PostgreSQL and RabbitMQ, then runs the tests that restart
# a server on their own (they would break the connections of tests running beside them).
#
# With DATABASE_URL and AMQP_URL both set, tests use those servers; otherwise the local
# servers are started and their URLs fill in whichever variable is not set.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

if [[ -z "${DATABASE_URL:-}" || -z "${AMQP_URL:-}" ]]; then
    urls="$(bash scripts/servers.sh start)"
    while IFS='=' read -r key value; do
        case "$key" in
            DATABASE_URL|AMQP_URL|RABBITMQ_MANAGEMENT_URL)
                [[ -n "${!key:-}" ]] || export "$key=$value" ;;
        esac
    done <<< "$urls"
fi

# The independent message validator of the relay tests: Python with pika and jsonschema,
# in a venv under .data/ (installed from PyPI on the first run).
TRADELOG_PYTHON="$(bash scripts/pyenv.sh)"
export TRADELOG_PYTHON

swift build --build-tests
swift test --skip-build
TRADELOG_DISRUPTIVE_TESTS=1 swift test --skip-build --no-parallel --filter DisruptiveTests
# The replays of the bundled sessions keep both cores busy for minutes: on their own, so the
# timing-sensitive tests of the main run are not starved.
TRADELOG_REPLAY_TESTS=1 swift test --skip-build --filter ReplayTests
