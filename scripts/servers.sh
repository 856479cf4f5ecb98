#!/usr/bin/env bash
# Local development/test servers for tradelog: PostgreSQL + RabbitMQ, no Docker,
# no service manager.  Everything lives under $REPO/.data (git-ignored) and
# listens on 127.0.0.1 only.
#
#   scripts/servers.sh [start]          install missing packages (root), start both, print URLs
#   scripts/servers.sh stop             stop both (idempotent)
#   scripts/servers.sh status           state, ports, loopback check, URLs; exit 0 iff both up
#   scripts/servers.sh restart-postgres pg_ctl restart -m fast, wait until ready
#   scripts/servers.sh stop-postgres    stop PostgreSQL only (tests of outages)
#   scripts/servers.sh start-postgres   start PostgreSQL only, wait until ready
#   scripts/servers.sh stop-rabbitmq    stop the broker only (tests of outages)
#   scripts/servers.sh start-rabbitmq   start the broker only, wait until ready
#   scripts/servers.sh psql [ARGS...]   psql against DATABASE_URL
#   scripts/servers.sh rabbitmqctl ARGS rabbitmqctl against the local broker (e.g. tests of
#                                       its memory alarm: set_vm_memory_high_watermark)
#   scripts/servers.sh urls             print the connection URLs only
#
# Environment overrides (defaults in brackets):
#   TRADELOG_PG_PORT [5432]  TRADELOG_AMQP_PORT [5672]  TRADELOG_RABBIT_MGMT_PORT [15672]
#   TRADELOG_RABBIT_DIST_PORT [25672]  TRADELOG_EPMD_PORT [4369]
#   TRADELOG_DATA_DIR [$REPO/.data]    TRADELOG_PG_BIN [/usr/lib/postgresql/15/bin]
#   TRADELOG_SKIP_INSTALL=1            never call apt-get
#   TRADELOG_START_TIMEOUT [120]       seconds to wait for each server
#
# Credentials are the documented local-dev defaults only (tradelog/tradelog,
# guest/guest); nothing here is meant for a shared or exposed machine.
set -euo pipefail

SCRIPT_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
REPO="$(cd "$SCRIPT_DIR/.." && pwd)"
DATA="${TRADELOG_DATA_DIR:-$REPO/.data}"

PG_PORT="${TRADELOG_PG_PORT:-5432}"
AMQP_PORT="${TRADELOG_AMQP_PORT:-5672}"
MGMT_PORT="${TRADELOG_RABBIT_MGMT_PORT:-15672}"
DIST_PORT="${TRADELOG_RABBIT_DIST_PORT:-25672}"
EPMD_PORT="${TRADELOG_EPMD_PORT:-4369}"
TIMEOUT="${TRADELOG_START_TIMEOUT:-120}"

DB_NAME=tradelog
DB_USER=tradelog
DB_PASS=tradelog
DATABASE_URL="postgresql://${DB_USER}:${DB_PASS}@127.0.0.1:${PG_PORT}/${DB_NAME}"
AMQP_URL="amqp://guest:guest@127.0.0.1:${AMQP_PORT}/%2f"
RABBITMQ_MANAGEMENT_URL="http://127.0.0.1:${MGMT_PORT}/"

# PostgreSQL layout: .data/postgres/{data,run,log}
PG_BASE="$DATA/postgres"
PGDATA_DIR="$PG_BASE/data"      # initdb target, 0700, owned by postgres
PG_RUN="$PG_BASE/run"           # unix_socket_directories
PG_LOG="$PG_BASE/log/postgres.log"

# RabbitMQ layout: .data/rabbitmq/{mnesia,log,rabbitmq.conf,enabled_plugins,...}
RMQ_DIR="$DATA/rabbitmq"
RMQ_NODE="tradelog@localhost"
RMQ_PID_FILE="$RMQ_DIR/$RMQ_NODE.pid"
# The real RabbitMQ scripts.  /usr/sbin/rabbitmq* are Debian wrappers that
# cd to /var/lib/rabbitmq and su to the rabbitmq user with HOME=/var/lib/rabbitmq
# (so they would use *that* erlang cookie); we bypass them, see rmq().
RMQ_BIN=/usr/lib/rabbitmq/bin

IS_ROOT=0; [[ $EUID -eq 0 ]] && IS_ROOT=1

log()  { printf '[servers] %s\n' "$*" >&2; }
warn() { printf '[servers] WARNING: %s\n' "$*" >&2; }
die()  { printf '[servers] ERROR: %s\n' "$*" >&2; exit 1; }

# ---------------------------------------------------------------------------
# PostgreSQL binaries: 15 by default, else the newest installed major.
find_pg_bin() {
    if [[ -n "${TRADELOG_PG_BIN:-}" ]]; then echo "$TRADELOG_PG_BIN"; return; fi
    if [[ -x /usr/lib/postgresql/15/bin/pg_ctl ]]; then echo /usr/lib/postgresql/15/bin; return; fi
    local d
    d="$(printf '%s\n' /usr/lib/postgresql/*/bin | grep -v '\*' | sort -V | tail -n1 || true)"
    echo "${d:-/usr/lib/postgresql/15/bin}"
}
PG_BIN="$(find_pg_bin)"

# ---------------------------------------------------------------------------
# Package installation (root only).

pkg_installed() {
    [[ "$(dpkg-query -W -f='${Status}' "$1" 2>/dev/null || true)" == "install ok installed" ]]
}

apt_lists_empty() {
    ! compgen -G '/var/lib/apt/lists/*_Packages*' >/dev/null
}

ensure_packages() {
    local wanted=(rabbitmq-server librabbitmq-dev liblz4-dev libssl-dev libpq-dev pkg-config curl iproute2)
    [[ -x "$PG_BIN/pg_ctl" ]] || wanted+=(postgresql-15 postgresql-client-15)
    local missing=() p
    for p in "${wanted[@]}"; do pkg_installed "$p" || missing+=("$p"); done
    ((${#missing[@]})) || return 0

    if [[ "${TRADELOG_SKIP_INSTALL:-0}" == 1 || $IS_ROOT -ne 1 ]]; then
        warn "missing packages: ${missing[*]}"
        warn "install with: sudo DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends ${missing[*]}"
        return 0
    fi

    log "installing: ${missing[*]}"
    # Keep the packages' maintainer scripts from starting services
    # (rabbitmq-server's postinst runs 'invoke-rc.d rabbitmq-server start',
    # which without a service manager would launch a node on 0.0.0.0 and wait
    # up to 600 s for it).  policy-rc.d exiting 101 = "action forbidden".
    # If one already exists (Docker-style images ship one) we leave it alone.
    local policy=/usr/sbin/policy-rc.d created_policy=0
    if [[ ! -e $policy ]]; then
        printf '#!/bin/sh\n# temporary: created by tradelog scripts/servers.sh during apt-get install\nexit 101\n' >"$policy"
        chmod 0755 "$policy"
        created_policy=1
        trap 'rm -f /usr/sbin/policy-rc.d' EXIT
    fi

    local apt=(env DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends)
    if apt_lists_empty; then
        log "apt lists are empty: apt-get update"
        apt-get update
    fi
    if ! "${apt[@]}" "${missing[@]}"; then
        log "install failed; running apt-get update and retrying"
        apt-get update
        "${apt[@]}" "${missing[@]}"
    fi

    if ((created_policy)); then rm -f "$policy"; trap - EXIT; fi
}

# ---------------------------------------------------------------------------
# Helpers

# Make sure $user can traverse every ancestor of $DATA.  Inside the repo we fix
# it (chmod o+x); outside we refuse to touch system directories.
ensure_traversable() {
    local user="$1" dir="$DATA" chain=()
    while [[ "$dir" != "/" && -n "$dir" ]]; do chain=("$dir" "${chain[@]}"); dir="$(dirname "$dir")"; done
    for dir in "${chain[@]}"; do
        [[ -d "$dir" ]] || continue
        runuser -u "$user" -- test -x "$dir" && continue
        case "$dir/" in
            "$REPO"/*) log "chmod o+x $dir (so $user can reach $DATA)"; chmod o+x "$dir" ;;
            *) die "user '$user' cannot traverse $dir; chmod o+x it or set TRADELOG_DATA_DIR elsewhere" ;;
        esac
    done
}

# Who listens on TCP port $1?  Prints matching 'ss -ltnpH' lines.
listeners_on() {
    local port="$1" out
    out="$(ss -Hltnp 2>/dev/null || true)"
    awk -v p=":$port" '{ a=$4; if (substr(a, length(a)-length(p)+1) == p) print }' <<<"$out"
}

is_loopback_addr() {  # $1 = "addr:port" as printed by ss
    local a="${1%:*}"
    [[ "$a" == 127.* || "$a" == "[::1]" || "$a" == "[::ffff:127."* ]]
}

# Is PID $1 a live process?  Zombies don't count: daemons re-parented to an
# init that never reaps (as in some sandboxes) stay visible to 'kill -0'.
alive() {
    local st
    st="$(ps -o stat= -p "$1" 2>/dev/null)" || return 1
    [[ -n "$st" && "$st" != Z* ]]
}
not_alive() { ! alive "$1"; }

wait_until() {  # wait_until SECONDS COMMAND...: poll COMMAND every 0.5 s
    local secs="$1"; shift
    local deadline=$((SECONDS + secs))
    until "$@" >/dev/null 2>&1; do
        ((SECONDS < deadline)) || return 1
        sleep 0.5
    done
}

# ---------------------------------------------------------------------------
# PostgreSQL

as_pg() {  # run as the postgres OS user (root) or as ourselves (non-root)
    (
        cd "$PG_BASE"
        if ((IS_ROOT)); then exec runuser -u postgres -- "$@"; else exec "$@"; fi
    )
}

# PID of *our* postmaster, or nothing.  We don't trust the PID in
# postmaster.pid blindly: after a crash/reboot it may belong to another
# process, so we also require that process's cwd to be our data directory.
pg_pid() {
    local pidfile="$PGDATA_DIR/postmaster.pid" pid cwd
    [[ -f "$pidfile" ]] || return 0
    pid="$(head -n1 "$pidfile" 2>/dev/null || true)"
    [[ "$pid" =~ ^[0-9]+$ ]] || return 0
    cwd="$(readlink "/proc/$pid/cwd" 2>/dev/null || true)"
    [[ -n "$cwd" && "$cwd" -ef "$PGDATA_DIR" ]] && echo "$pid"
    return 0
}

pg_ready() { "$PG_BIN/pg_isready" -q -h 127.0.0.1 -p "$PG_PORT" -d postgres -t 2; }

pg_prepare() {
    mkdir -p "$PG_BASE/log" "$PG_RUN" "$PGDATA_DIR"
    chmod 0755 "$PG_BASE" "$PG_RUN"
    chmod 0700 "$PGDATA_DIR"
    if ((IS_ROOT)); then
        id postgres >/dev/null 2>&1 || die "no 'postgres' OS user (is postgresql-15 installed?)"
        chown postgres:postgres "$PG_BASE" "$PG_BASE/log" "$PG_RUN" "$PGDATA_DIR"
        ensure_traversable postgres
    fi

    if [[ ! -f "$PGDATA_DIR/PG_VERSION" ]]; then
        log "initdb $PGDATA_DIR"
        local locale=C
        locale -a 2>/dev/null | grep -qiE '^c\.utf-?8$' && locale=C.UTF-8
        as_pg "$PG_BIN/initdb" -D "$PGDATA_DIR" --username=postgres --encoding=UTF8 \
            --locale="$locale" --auth-local=trust --auth-host=scram-sha-256 >"$PG_BASE/log/initdb.log"
        printf "\n# tradelog: dev settings, regenerated by scripts/servers.sh on every start\ninclude_if_exists = 'tradelog.conf'\n" \
            >>"$PGDATA_DIR/postgresql.conf"
    fi

    # Rewritten on every start so port/socket changes take effect.
    cat >"$PGDATA_DIR/tradelog.conf" <<EOF
# Generated by scripts/servers.sh - edits are overwritten on start.
listen_addresses = '127.0.0.1'
port = $PG_PORT
unix_socket_directories = '$PG_RUN'
# The test suite runs its tests in parallel, each with its own database and connections
# (a run peaks near 200).
max_connections = 400
shared_buffers = 256MB
# Durability stays ON: benchmarks measure durable appends.
fsync = on
synchronous_commit = on
full_page_writes = on
# An append-heavy log: fewer, spread-out checkpoints and compressed full-page images keep
# the WAL written per commit (and so the tail latency of appends) down.
wal_compression = lz4
max_wal_size = 4GB
checkpoint_timeout = 15min
checkpoint_completion_target = 0.9
password_encryption = scram-sha-256
timezone = 'UTC'
log_timezone = 'UTC'
log_line_prefix = '%m [%p] %q%u@%d '
EOF
    ((IS_ROOT)) && chown postgres:postgres "$PGDATA_DIR/tradelog.conf"
    return 0
}

# Leftovers from a crash: postmaster.pid whose PID is dead or reused, and the
# socket lock file.  Only called when pg_pid says our server is not running.
pg_clean_stale() {
    if [[ -f "$PGDATA_DIR/postmaster.pid" ]]; then
        log "removing stale $PGDATA_DIR/postmaster.pid"
        rm -f "$PGDATA_DIR/postmaster.pid"
    fi
    rm -f "$PG_RUN/.s.PGSQL.$PG_PORT.lock" "$PG_RUN/.s.PGSQL.$PG_PORT"
}

pg_start() {
    pg_prepare
    if [[ -n "$(pg_pid)" ]]; then
        log "postgres already running (pid $(pg_pid))"
    else
        pg_clean_stale
        local busy; busy="$(listeners_on "$PG_PORT")"
        [[ -z "$busy" ]] || die "port $PG_PORT is taken by something else (set TRADELOG_PG_PORT?):"$'\n'"$busy"
        log "starting postgres on 127.0.0.1:$PG_PORT (log: $PG_LOG)"
        as_pg "$PG_BIN/pg_ctl" -D "$PGDATA_DIR" -l "$PG_LOG" -w -t "$TIMEOUT" start >/dev/null \
            || { tail -n 20 "$PG_LOG" >&2 || true; die "postgres failed to start"; }
    fi
    wait_until "$TIMEOUT" pg_ready || die "postgres not ready after ${TIMEOUT}s (see $PG_LOG)"
    pg_bootstrap
}

# Role and database, idempotently.  Connects over the unix socket as the
# 'postgres' superuser (local auth is trust).
pg_bootstrap() {
    local psql=("$PG_BIN/psql" -X -q -v ON_ERROR_STOP=1 -h "$PG_RUN" -p "$PG_PORT" -U postgres -d postgres)
    as_pg "${psql[@]}" >/dev/null <<SQL
DO \$\$
BEGIN
  IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = '$DB_USER') THEN
    CREATE ROLE $DB_USER LOGIN CREATEDB PASSWORD '$DB_PASS';
  ELSE
    ALTER ROLE $DB_USER LOGIN CREATEDB PASSWORD '$DB_PASS';
  END IF;
END
\$\$;
-- The benchmark checkpoints before measuring latency (pg_checkpoint exists from PostgreSQL 15).
GRANT pg_checkpoint TO $DB_USER;
SQL
    if [[ "$(as_pg "${psql[@]}" -At -c "SELECT 1 FROM pg_database WHERE datname = '$DB_NAME'")" != 1 ]]; then
        log "creating database $DB_NAME"
        as_pg "${psql[@]}" -c "CREATE DATABASE $DB_NAME OWNER $DB_USER ENCODING 'UTF8' TEMPLATE template0"
    fi
}

pg_stop() {
    if [[ -z "$(pg_pid)" ]]; then
        log "postgres not running"
        [[ -d "$PGDATA_DIR" ]] && pg_clean_stale
        return 0
    fi
    log "stopping postgres"
    as_pg "$PG_BIN/pg_ctl" -D "$PGDATA_DIR" -m fast -w -t "$TIMEOUT" stop >/dev/null
}

pg_restart() {
    if [[ -z "$(pg_pid)" ]]; then
        log "postgres not running; starting it"
        pg_start
        return
    fi
    pg_prepare  # rewrites tradelog.conf, so a restart picks up changed settings
    log "restarting postgres (-m fast)"
    # -l again: without it the new postmaster would write to *our* stdout and
    # keep a caller's pipe open forever.
    as_pg "$PG_BIN/pg_ctl" -D "$PGDATA_DIR" -l "$PG_LOG" -m fast -w -t "$TIMEOUT" restart >/dev/null
    wait_until "$TIMEOUT" pg_ready || die "postgres not ready after restart (see $PG_LOG)"
    log "postgres ready (pid $(pg_pid))"
}

# ---------------------------------------------------------------------------
# RabbitMQ

# Everything the broker and its CLI tools need to agree on.  Exported only in
# the subshell of rmq(), never into the caller's environment.
rmq_env() {
    export HOME="$RMQ_DIR"                       # -> $RMQ_DIR/.erlang.cookie for server AND CLI
    export RABBITMQ_CONF_ENV_FILE="$RMQ_DIR/rabbitmq-env.conf"  # shadow /etc/rabbitmq/rabbitmq-env.conf
    export RABBITMQ_NODENAME="$RMQ_NODE"
    export RABBITMQ_NODE_IP_ADDRESS=127.0.0.1
    export RABBITMQ_NODE_PORT="$AMQP_PORT"
    export RABBITMQ_DIST_PORT="$DIST_PORT"
    export ERL_EPMD_ADDRESS=127.0.0.1                # epmd spawned by the node binds loopback only
    export ERL_EPMD_PORT="$EPMD_PORT"
    export RABBITMQ_MNESIA_BASE="$RMQ_DIR/mnesia"
    export RABBITMQ_LOG_BASE="$RMQ_DIR/log"
    export RABBITMQ_CONFIG_FILE="$RMQ_DIR/rabbitmq.conf"
    export RABBITMQ_CONFIG_FILES="$RMQ_DIR/conf.d"   # instead of /etc/rabbitmq/conf.d
    export RABBITMQ_ADVANCED_CONFIG_FILE="$RMQ_DIR/advanced.config"
    export RABBITMQ_ENABLED_PLUGINS_FILE="$RMQ_DIR/enabled_plugins"
    export RABBITMQ_PID_FILE="$RMQ_PID_FILE"
    # Erlang distribution listeners (server's dist port and the CLI tools'
    # own temporary listeners) bound to loopback as well.
    export RABBITMQ_SERVER_ADDITIONAL_ERL_ARGS="-kernel inet_dist_use_interface {127,0,0,1}"
    export RABBITMQ_CTL_ERL_ARGS="-kernel inet_dist_use_interface {127,0,0,1}"
    export RABBITMQ_CTL_DIST_PORT_MIN=$((DIST_PORT + 10000))
    export RABBITMQ_CTL_DIST_PORT_MAX=$((DIST_PORT + 10010))
    unset RABBITMQ_USE_LONGNAME
}

# rmq TOOL ARGS...: run /usr/lib/rabbitmq/bin/TOOL with our environment, as the
# rabbitmq user when we are root (HOME re-set after runuser, which resets it).
rmq() {
    local tool="$1"; shift
    (
        cd "$RMQ_DIR"
        rmq_env
        if ((IS_ROOT)); then
            exec runuser -u rabbitmq -- env HOME="$RMQ_DIR" "$RMQ_BIN/$tool" "$@"
        else
            exec "$RMQ_BIN/$tool" "$@"
        fi
    )
}

rmq_ping() { rmq rabbitmq-diagnostics -q ping >/dev/null 2>&1; }
mgmt_ready() { curl -sf -m 3 -u guest:guest "http://127.0.0.1:$MGMT_PORT/api/overview" >/dev/null; }

# Is PID $1 a broker VM of ours?  The node name is not on beam's command line
# (RabbitMQ starts distribution itself), but '-home <HOME>' is, and our HOME
# is $RMQ_DIR.
is_our_beam() {
    [[ -r "/proc/$1/cmdline" ]] || return 1
    tr '\0' '\n' 2>/dev/null <"/proc/$1/cmdline" | grep -qxF -- "$RMQ_DIR"
}

# PID of our broker's VM from the pid file, if alive and really ours.
rmq_pid() {
    local pid
    [[ -f "$RMQ_PID_FILE" ]] || return 0
    pid="$(tr -dc 0-9 <"$RMQ_PID_FILE" 2>/dev/null || true)"
    [[ -n "$pid" ]] && is_our_beam "$pid" && echo "$pid"
    return 0
}

epmd_bin() { command -v epmd || printf '%s\n' /usr/lib/erlang/erts-*/bin/epmd | tail -n1; }

rmq_prepare() {
    [[ -x "$RMQ_BIN/rabbitmq-server" ]] || die "rabbitmq-server is not installed (run this script as root to install it)"
    mkdir -p "$RMQ_DIR/mnesia" "$RMQ_DIR/log" "$RMQ_DIR/conf.d"
    chmod 0750 "$RMQ_DIR"

    # Erlang cookie: ours, under HOME=$RMQ_DIR, readable only by the broker user.
    if [[ ! -s "$RMQ_DIR/.erlang.cookie" ]]; then
        (umask 077; head -c 48 /dev/urandom | base64 | tr -dc 'A-Za-z0-9' | head -c 40 >"$RMQ_DIR/.erlang.cookie")
    fi
    chmod 0400 "$RMQ_DIR/.erlang.cookie"
    : >"$RMQ_DIR/rabbitmq-env.conf"   # intentionally empty (all settings come from rmq_env)

    cat >"$RMQ_DIR/rabbitmq.conf" <<EOF
# Generated by scripts/servers.sh - edits are overwritten on start.
listeners.tcp.default = 127.0.0.1:$AMQP_PORT
management.tcp.ip = 127.0.0.1
management.tcp.port = $MGMT_PORT
# guest/guest may log in from loopback only (the default, made explicit).
loopback_users.guest = true
log.file.level = info
log.console = false
EOF
    if ((IS_ROOT)); then
        id rabbitmq >/dev/null 2>&1 || die "no 'rabbitmq' OS user (is rabbitmq-server installed?)"
        chown -R rabbitmq:rabbitmq "$RMQ_DIR"
        ensure_traversable rabbitmq
    fi

    # Offline plugin enable just writes the enabled_plugins file.
    if ! grep -qs rabbitmq_management "$RMQ_DIR/enabled_plugins"; then
        log "enabling rabbitmq_management (offline)"
        rmq rabbitmq-plugins enable --offline rabbitmq_management >/dev/null
    fi
}

# A RabbitMQ/epmd that is not ours holding one of our ports.  The usual cause:
# rabbitmq-server's postinst started the Debian default node (rabbit@$HOST,
# all interfaces) because nothing stopped invoke-rc.d.  We stop that
# Debian-default instance (only that one) and the epmd it left behind.
rmq_evict_foreign() {
    local port busy="" l
    for port in "$AMQP_PORT" "$MGMT_PORT" "$DIST_PORT" "$EPMD_PORT"; do
        l="$(listeners_on "$port")"; [[ -n "$l" ]] && busy+="$l"$'\n'
    done
    [[ -n "$busy" ]] || return 0

    local debian_node
    debian_node="$(pgrep -u rabbitmq -f 'beam.*-home /var/lib/rabbitmq .*-s rabbit boot' 2>/dev/null || true)"
    if [[ -n "$debian_node" && $IS_ROOT -eq 1 && -x /etc/init.d/rabbitmq-server ]]; then
        warn "a RabbitMQ node not started by this script is running (pid $debian_node, probably started by the package's postinst); stopping it via /etc/init.d/rabbitmq-server stop"
        env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin /etc/init.d/rabbitmq-server stop || true
        local p
        for p in $debian_node; do
            alive "$p" || continue
            warn "still alive, sending TERM to $p"; kill -TERM "$p" 2>/dev/null || true
        done
        for p in $debian_node; do wait_until 30 not_alive "$p" || true; done
    fi

    # epmd on our port bound to a non-loopback address with no names
    # registered: a leftover of such a node.  'epmd -kill' refuses to kill an
    # epmd that still has nodes registered, which is what we want.
    l="$(listeners_on "$EPMD_PORT")"
    if [[ -n "$l" ]] && grep -q '"epmd"' <<<"$l" && ! is_loopback_addr "$(awk '{print $4; exit}' <<<"$l")" \
        && [[ "$(ps -o user= -p "$(grep -o 'pid=[0-9]*' <<<"$l" | head -n1 | cut -d= -f2)" 2>/dev/null | tr -d ' ')" == rabbitmq ]]; then
        local names; names="$(ERL_EPMD_PORT="$EPMD_PORT" "$(epmd_bin)" -names 2>/dev/null || true)"
        if ! grep -q '^name ' <<<"$names"; then
            warn "stopping the rabbitmq user's idle epmd that listens on all interfaces (port $EPMD_PORT)"
            ERL_EPMD_PORT="$EPMD_PORT" "$(epmd_bin)" -kill >/dev/null 2>&1 || true
            sleep 0.5
        else
            warn "an epmd with registered nodes listens on non-loopback port $EPMD_PORT; leaving it:"$'\n'"$names"
        fi
    fi

    for port in "$AMQP_PORT" "$MGMT_PORT" "$DIST_PORT"; do
        l="$(listeners_on "$port")"
        [[ -z "$l" ]] || die "port $port is taken by something else:"$'\n'"$l"
    done
}

rmq_start() {
    rmq_prepare
    local pid; pid="$(rmq_pid)"
    if [[ -n "$pid" ]] && rmq_ping; then
        log "rabbitmq already running (node $RMQ_NODE, pid $pid)"
    else
        if [[ -n "$pid" ]]; then
            # VM alive but not answering: probably still booting.
            log "rabbitmq VM $pid exists but does not answer yet; waiting"
        else
            rm -f "$RMQ_PID_FILE"
            rmq_evict_foreign
            log "starting rabbitmq node $RMQ_NODE (amqp 127.0.0.1:$AMQP_PORT, logs: $RMQ_DIR/log)"
            # -detached: the VM daemonizes (no parent process left behind) and
            # writes RABBITMQ_PID_FILE itself.  It also spawns epmd with our
            # ERL_EPMD_* environment if none is running.
            rmq rabbitmq-server -detached >>"$RMQ_DIR/log/startup.log" 2>&1
        fi
        # 'wait' blocks until the pid file appears and the app has booted.
        rmq rabbitmqctl wait --timeout "$TIMEOUT" "$RMQ_PID_FILE" >/dev/null 2>&1 \
            || { tail -n 30 "$RMQ_DIR/log/$RMQ_NODE.log" >&2 2>/dev/null || true; die "rabbitmq did not start (see $RMQ_DIR/log)"; }
    fi
    wait_until "$TIMEOUT" rmq_ping || die "rabbitmq not answering ping"
    wait_until "$TIMEOUT" mgmt_ready || die "management API not answering on $RABBITMQ_MANAGEMENT_URL"
}

# Stop the epmd on our port if it is ours and idle: bound to loopback only,
# owned by the broker's user, no node registered.  (epmd is spawned on demand
# by the node and by every CLI call, so there is no single "starter" to track;
# the Debian service's epmd would listen on all interfaces and is left alone.)
epmd_stop_if_ours() {
    local l pid owner want names
    l="$(listeners_on "$EPMD_PORT")"
    [[ -n "$l" ]] || return 0
    grep -q '"epmd"' <<<"$l" || return 0
    while read -r _ _ _ addr _; do is_loopback_addr "$addr" || return 0; done <<<"$l"
    pid="$(grep -o 'pid=[0-9]*' <<<"$l" | head -n1 | cut -d= -f2)"
    owner="$(ps -o user= -p "$pid" 2>/dev/null | tr -d ' ' || true)"
    want="$(id -un)"; ((IS_ROOT)) && want=rabbitmq
    [[ "$owner" == "$want" ]] || return 0
    names="$(ERL_EPMD_PORT="$EPMD_PORT" "$(epmd_bin)" -names 2>/dev/null || true)"
    if grep -q '^name ' <<<"$names"; then
        log "epmd on port $EPMD_PORT still has nodes registered; leaving it"
        return 0
    fi
    log "stopping epmd on 127.0.0.1:$EPMD_PORT (pid $pid)"
    ERL_EPMD_PORT="$EPMD_PORT" "$(epmd_bin)" -kill >/dev/null 2>&1 || true
}

rmq_stop() {
    local pid; pid="$(rmq_pid)"
    if [[ -z "$pid" ]]; then
        log "rabbitmq not running"
        rm -f "$RMQ_PID_FILE"
    else
        log "stopping rabbitmq (pid $pid)"
        # 'shutdown' stops the node and waits for the OS process to exit.
        rmq rabbitmqctl shutdown >/dev/null 2>&1 || rmq rabbitmqctl stop >/dev/null 2>&1 || true
        wait_until 30 not_alive "$pid" || { warn "sending TERM to $pid"; kill -TERM "$pid" 2>/dev/null || true; }
        wait_until 30 not_alive "$pid" || { warn "sending KILL to $pid"; kill -KILL "$pid" 2>/dev/null || true; }
        rm -f "$RMQ_PID_FILE"
    fi
    epmd_stop_if_ours
}

# ---------------------------------------------------------------------------
# Commands

print_urls() {
    printf '%s\n' "DATABASE_URL=$DATABASE_URL" "AMQP_URL=$AMQP_URL" "RABBITMQ_MANAGEMENT_URL=$RABBITMQ_MANAGEMENT_URL"
}

# 'ss -ltnp' lines for our ports and for any socket owned by postgres, beam or
# epmd processes, each marked ok/NOT-LOOPBACK.  Returns 1 if any is exposed.
loopback_report() {
    local out bad=0
    out="$(ss -Hltnp 2>/dev/null || true)"
    out="$(awk -v ports=" $PG_PORT $AMQP_PORT $MGMT_PORT $DIST_PORT $EPMD_PORT " '
        { a=$4; n=split(a, parts, ":"); port=parts[n] }
        index(ports, " " port " ") || /"(postgres|beam\.smp|epmd)"/ { print }' <<<"$out")"
    echo "listening sockets (ss -ltnp):"
    if [[ -z "$out" ]]; then echo "  (none)"; return 0; fi
    local line addr
    while IFS= read -r line; do
        addr="$(awk '{print $4}' <<<"$line")"
        if is_loopback_addr "$addr"; then
            printf '  ok            %s\n' "$line"
        else
            printf '  NOT-LOOPBACK  %s\n' "$line"; bad=1
        fi
    done <<<"$out"
    return "$bad"
}

cmd_start() {
    ensure_packages
    mkdir -p "$DATA"
    pg_start
    rmq_start
    log "postgres and rabbitmq are up"
    print_urls
}

cmd_stop() {
    [[ -d "$DATA" ]] || { log "nothing to stop ($DATA does not exist)"; return 0; }
    rmq_stop
    pg_stop
}

cmd_status() {
    local pg_up=0 rmq_up=0 pid
    pid="$(pg_pid)"
    if [[ -n "$pid" ]] && pg_ready; then
        pg_up=1; echo "postgres: running (pid $pid) on 127.0.0.1:$PG_PORT, data $PGDATA_DIR, log $PG_LOG"
    elif [[ -n "$pid" ]]; then
        echo "postgres: process $pid exists but is not accepting connections on 127.0.0.1:$PG_PORT"
    else
        echo "postgres: stopped (port $PG_PORT)"
    fi
    # Only ping when our VM exists: every CLI call would otherwise spawn an epmd.
    pid="$(rmq_pid)"
    if [[ -n "$pid" ]] && rmq_ping; then
        rmq_up=1
        local mg="management API not answering"; mgmt_ready && mg="management API ok"
        echo "rabbitmq: running (node $RMQ_NODE, pid $pid) amqp 127.0.0.1:$AMQP_PORT, management 127.0.0.1:$MGMT_PORT ($mg), dist $DIST_PORT, epmd $EPMD_PORT"
    elif [[ -n "$pid" ]]; then
        echo "rabbitmq: VM $pid exists but node $RMQ_NODE does not answer (booting? see $RMQ_DIR/log)"
    else
        echo "rabbitmq: stopped (amqp $AMQP_PORT, management $MGMT_PORT, dist $DIST_PORT, epmd $EPMD_PORT)"
    fi
    loopback_report || echo "WARNING: some listeners are not bound to loopback"
    print_urls
    ((pg_up && rmq_up))
}

cmd_psql() {
    exec "$PG_BIN/psql" "$DATABASE_URL" "$@"
}

usage() { sed -n '2,25p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//'; }

main() {
    local cmd="${1:-start}"
    [[ $# -gt 0 ]] && shift
    case "$cmd" in
        start)            cmd_start ;;
        stop)             cmd_stop ;;
        status)           cmd_status ;;
        restart-postgres) pg_restart ;;
        stop-postgres)    pg_stop ;;
        start-postgres)   pg_start ;;
        stop-rabbitmq)    rmq_stop ;;
        start-rabbitmq)   rmq_start ;;
        psql)             cmd_psql "$@" ;;
        rabbitmqctl)      rmq rabbitmqctl "$@" ;;
        urls)             print_urls ;;
        -h|--help|help)   usage ;;
        *)                usage >&2; exit 2 ;;
    esac
}

main "$@"
