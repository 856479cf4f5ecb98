#!/usr/bin/env bash
# The Python environment of the integration tests' independent AMQP client
# (Tests/RelayTests/validate_queues.py): a venv with pinned pika and jsonschema.
#
#   scripts/pyenv.sh        create/complete the venv if needed, print its python path
#
# Idempotent and safe to run concurrently (flock). The only stdout line is the venv's
# python path; progress goes to stderr. The venv lives in
# ${TRADELOG_DATA_DIR:-$REPO/.data}/pyenv (git-ignored, like the servers' data).
#
# Environment overrides: TRADELOG_DATA_DIR, TRADELOG_BASE_PYTHON [python3] (the interpreter
# the venv is made from), TRADELOG_SKIP_INSTALL=1 (never call apt-get). (The Relay tests skip
# this script when TRADELOG_PYTHON names a python that already has pika and jsonschema.)
set -euo pipefail

SCRIPT_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
REPO="$(cd "$SCRIPT_DIR/.." && pwd)"
DATA="${TRADELOG_DATA_DIR:-$REPO/.data}"
VENV="$DATA/pyenv"
PY="$VENV/bin/python"
BASE_PYTHON="${TRADELOG_BASE_PYTHON:-python3}"

# Pinned versions (all install from wheels on CPython 3.11, x86_64/aarch64 Linux).
# jsonschema's dependencies are pinned too so that every run gets the same validator.
PINS=(
    "pika==1.4.4"
    "jsonschema==4.26.0"
    "jsonschema-specifications==2025.9.1"
    "referencing==0.37.0"
    "rpds-py==2026.9.1"
    "attrs==26.1.0"
    "typing_extensions==4.16.0"
)

log() { echo "pyenv: $*" >&2; }

mkdir -p "$DATA"
exec 9>"$DATA/pyenv.lock"
flock 9

# True when the venv's python imports both packages at the pinned versions.
ready() {
    [ -x "$PY" ] || return 1
    "$PY" - "${PINS[@]}" >/dev/null 2>&1 <<'EOF'
import sys
from importlib.metadata import version
import pika, jsonschema  # noqa: F401  (importable is the point)
for pin in sys.argv[1:]:
    name, want = pin.split("==")
    if version(name) != want:
        sys.exit(1)
EOF
}

if ready; then
    echo "$PY"
    exit 0
fi

# A venv whose interpreter no longer runs (base python removed/upgraded) is rebuilt.
if [ -d "$VENV" ] && ! "$PY" -c 'import sys' >/dev/null 2>&1; then
    log "removing a broken venv at $VENV"
    rm -rf "$VENV"
fi

if [ ! -x "$PY" ]; then
    if ! "$BASE_PYTHON" -c 'import ensurepip, venv' >/dev/null 2>&1; then
        if [ "$(id -u)" = 0 ] && [ "${TRADELOG_SKIP_INSTALL:-0}" != 1 ] && command -v apt-get >/dev/null; then
            log "ensurepip is missing: installing python3-venv"
            DEBIAN_FRONTEND=noninteractive apt-get install -y python3-venv >&2 \
                || { apt-get update >&2 && DEBIAN_FRONTEND=noninteractive apt-get install -y python3-venv >&2; }
        else
            log "$BASE_PYTHON has no ensurepip/venv; install python3-venv (Debian) and run again"
            exit 1
        fi
    fi
    log "creating the venv at $VENV with $("$BASE_PYTHON" --version 2>&1)"
    "$BASE_PYTHON" -m venv "$VENV" >&2
fi

log "installing ${PINS[*]}"
"$PY" -m pip install --disable-pip-version-check --no-input --quiet "${PINS[@]}" >&2

if ! ready; then
    log "the venv at $VENV still cannot import the pinned pika and jsonschema"
    exit 1
fi
echo "$PY"
