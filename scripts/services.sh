#!/usr/bin/env bash
# Real services for development and tests, on loopback only:
#   RabbitMQ (Debian's rabbitmq-server)  amqp://guest:guest@127.0.0.1:5672/
#   MinIO (built by scripts/bootstrap.sh) http://127.0.0.1:9000 (console :9001)
#
# Usage: scripts/services.sh start|stop|restart|status|env [rabbitmq|minio]
#   start    start what is not running (idempotent); installs what is missing
#   stop     stop (idempotent)
#   status   print the state; exit 0 when every named service is running, 3 if not
#   env      print `export` lines: eval "$(scripts/services.sh env)"
#
# Knobs: SANGRAHA_TEST_AMQP_PORT (5672), SANGRAHA_RABBITMQ_DIST_PORT (AMQP+20000),
# SANGRAHA_RABBITMQ_NODENAME (rabbit@localhost), SANGRAHA_TEST_MINIO_PORT (9000),
# SANGRAHA_TEST_MINIO_CONSOLE_PORT (9001), SANGRAHA_MINIO_DATA
# (~/.cache/sangraha/minio-data), MINIO_ROOT_USER / MINIO_ROOT_PASSWORD
# (minioadmin / minioadmin), SANGRAHA_CACHE.
set -euo pipefail

# shellcheck source=scripts/bootstrap.sh
. "$(dirname "${BASH_SOURCE[0]}")/bootstrap.sh"

AMQP_PORT=${SANGRAHA_TEST_AMQP_PORT:-5672}
RABBIT_NODE=${SANGRAHA_RABBITMQ_NODENAME:-rabbit@localhost}
RABBIT_DIST_PORT=${SANGRAHA_RABBITMQ_DIST_PORT:-$((AMQP_PORT + 20000))}
MINIO_PORT=${SANGRAHA_TEST_MINIO_PORT:-9000}
MINIO_CONSOLE_PORT=${SANGRAHA_TEST_MINIO_CONSOLE_PORT:-9001}
MINIO_DATA=${SANGRAHA_MINIO_DATA:-$SANGRAHA_CACHE/minio-data}
MINIO_USER=${MINIO_ROOT_USER:-minioadmin}
MINIO_PASSWORD=${MINIO_ROOT_PASSWORD:-minioadmin}
LOG_DIR=$SANGRAHA_CACHE/logs
RUN_DIR=$SANGRAHA_CACHE/run
MINIO_PIDFILE=$RUN_DIR/minio-$MINIO_PORT.pid
MINIO_LOG=$LOG_DIR/minio-$MINIO_PORT.log
RABBITMQCTL=/usr/sbin/rabbitmqctl

# Environment for rabbitmq-server and rabbitmqctl (the Debian wrapper switches
# to the rabbitmq user with `su`, which keeps these variables).
rabbit_env() {
    export RABBITMQ_NODENAME=$RABBIT_NODE
    export RABBITMQ_NODE_IP_ADDRESS=127.0.0.1
    export RABBITMQ_NODE_PORT=$AMQP_PORT
    export RABBITMQ_DIST_PORT=$RABBIT_DIST_PORT
    export ERL_EPMD_ADDRESS=127.0.0.1
    export RABBITMQ_SERVER_ADDITIONAL_ERL_ARGS="-kernel inet_dist_use_interface {127,0,0,1}"
    export RABBITMQ_CTL_ERL_ARGS="-kernel inet_dist_use_interface {127,0,0,1}"
}

# rabbitmqctl_ TIMEOUT ARGS...: lock fds are closed because the CLI may spawn
# a long-lived epmd that would otherwise inherit (and hold) them.
rabbitmqctl_() { (cd / && sg_close_lock_fds && rabbit_env && timeout "$1" "$RABBITMQCTL" "${@:2}"); }

# pids of beam.smp processes (RabbitMQ nodes) owned by the rabbitmq user.
rabbit_beam_pids() {
    local uid d comm
    uid=$(id -u rabbitmq 2>/dev/null) || return 0
    for d in /proc/[0-9]*; do
        comm=$(cat "$d/comm" 2>/dev/null) || continue
        [ "$comm" = beam.smp ] || continue
        [ "$(stat -c %u "$d" 2>/dev/null)" = "$uid" ] || continue
        echo "${d#/proc/}"
    done
}

cmdline_of() { tr '\0' ' ' <"/proc/$1/cmdline" 2>/dev/null || true; }

# env_of PID VAR: the value VAR had in the process's environment (empty if unset).
env_of() {
    tr '\0' '\n' <"/proc/$1/environ" 2>/dev/null | sed -n "s/^$2=//p" | head -n1 || true
}

# Node name a beam process was started with; a node started without
# RABBITMQ_NODENAME (e.g. by the Debian package) is rabbit@<short hostname>.
node_name_of() {
    local n
    n=$(env_of "$1" RABBITMQ_NODENAME)
    echo "${n:-rabbit@$(hostname -s 2>/dev/null || echo localhost)}"
}

# pids of the beam processes that are our node.
rabbit_our_pids() {
    local p
    for p in $(rabbit_beam_pids); do
        if [ "$(node_name_of "$p")" = "$RABBIT_NODE" ]; then echo "$p"; fi
    done
}

# pids of other nodes that stand in our way: same AMQP port, or the same short
# node name (epmd allows one per host). Nodes on other ports are left alone.
rabbit_conflicting_pids() {
    local p name port
    for p in $(rabbit_beam_pids); do
        name=$(node_name_of "$p")
        [ "$name" = "$RABBIT_NODE" ] && continue
        port=$(env_of "$p" RABBITMQ_NODE_PORT)
        if [ "${port:-5672}" = "$AMQP_PORT" ] || [ "${name%%@*}" = "${RABBIT_NODE%%@*}" ]; then
            echo "$p"
        fi
    done
}

rabbit_healthy() {
    sg_port_open "$AMQP_PORT" && rabbitmqctl_ 30 -q -n "$RABBIT_NODE" await_startup --timeout 20 >/dev/null 2>&1
}

# wait_pids SECONDS PID...: wait until the processes are gone (false on timeout).
wait_pids() {
    local secs=$1 p alive i
    shift
    for ((i = 0; i < secs * 5; i++)); do
        alive=0
        for p in "$@"; do [ -d "/proc/$p" ] && alive=1; done
        [ "$alive" = 0 ] && return 0
        sleep 0.2
    done
    return 1
}

# kill_wait SECONDS PID...: SIGTERM, wait, then SIGKILL what is left.
kill_wait() {
    local secs=$1
    shift
    [ "$#" -gt 0 ] || return 0
    kill -TERM "$@" 2>/dev/null || true
    wait_pids "$secs" "$@" && return 0
    sg_log "still alive after ${secs} s, sending SIGKILL: $*"
    kill -KILL "$@" 2>/dev/null || true
}

wait_port_closed() {
    local port=$1 secs=$2 i
    for ((i = 0; i < secs * 5; i++)); do
        sg_port_open "$port" || return 0
        sleep 0.2
    done
    sg_log "warning: port $port still open after ${secs} s"
    return 1
}

start_rabbitmq() {
    sg_apt_install rabbitmq-server
    if rabbit_healthy; then
        sg_log "RabbitMQ already running (node $RABBIT_NODE, amqp 127.0.0.1:$AMQP_PORT)"
        return 0
    fi
    local pids i start ours=0
    pids=$(rabbit_our_pids | xargs)
    if [ -n "$pids" ]; then
        ours=1
        # Maybe still booting (a slow boot), or half-started: give it time.
        sg_log "RabbitMQ node $RABBIT_NODE exists (pid $pids) but is not healthy yet; waiting up to 30 s"
        for ((i = 0; i < 15; i++)); do
            if rabbit_healthy; then
                sg_log "RabbitMQ is up (node $RABBIT_NODE, amqp 127.0.0.1:$AMQP_PORT)"
                return 0
            fi
            sleep 2
        done
        sg_log "stopping the unhealthy node"
        rabbitmqctl_ 60 -q -n "$RABBIT_NODE" stop >/dev/null 2>&1 || true
        # shellcheck disable=SC2086
        kill_wait 30 $pids
    fi
    pids=$(rabbit_conflicting_pids | xargs)
    if [ -n "$pids" ]; then
        # E.g. a node the Debian package auto-started with default settings.
        for i in $pids; do
            sg_log "stopping RabbitMQ node $(node_name_of "$i") (pid $i), which blocks port $AMQP_PORT or the node name $RABBIT_NODE"
        done
        # shellcheck disable=SC2086
        kill_wait 30 $pids
    fi
    if [ -n "$(rabbit_our_pids)$pids" ] || [ "$ours" = 1 ]; then wait_port_closed "$AMQP_PORT" 30 || true; fi
    if sg_port_open "$AMQP_PORT"; then
        sg_die "127.0.0.1:$AMQP_PORT is taken by something that is not our RabbitMQ node; set SANGRAHA_TEST_AMQP_PORT"
    fi
    mkdir -p "$LOG_DIR"
    sg_log "starting RabbitMQ (node $RABBIT_NODE, amqp 127.0.0.1:$AMQP_PORT, dist 127.0.0.1:$RABBIT_DIST_PORT)"
    start=$SECONDS
    (cd / && sg_close_lock_fds && rabbit_env && exec setsid /usr/sbin/rabbitmq-server -detached) \
        >>"$LOG_DIR/rabbitmq-start.log" 2>&1 </dev/null ||
        sg_die "rabbitmq-server -detached failed; see $LOG_DIR/rabbitmq-start.log"
    while ((SECONDS - start < 120)); do
        if sg_port_open "$AMQP_PORT" && rabbit_healthy; then
            sg_log "RabbitMQ is up after $((SECONDS - start)) s"
            return 0
        fi
        sleep 1
    done
    sg_log "RabbitMQ did not come up within 120 s; last lines of its logs:"
    tail -n 30 "/var/log/rabbitmq/$RABBIT_NODE.log" "$LOG_DIR/rabbitmq-start.log" >&2 2>/dev/null || true
    sg_die "RabbitMQ failed to start"
}

stop_rabbitmq() {
    local pids
    pids=$(rabbit_our_pids | xargs)
    if [ -z "$pids" ]; then
        sg_log "RabbitMQ (node $RABBIT_NODE) is not running"
        return 0
    fi
    sg_log "stopping RabbitMQ (node $RABBIT_NODE, pid $pids)"
    rabbitmqctl_ 60 -q -n "$RABBIT_NODE" stop >/dev/null 2>&1 || true
    # shellcheck disable=SC2086
    wait_pids 30 $pids || true
    # shellcheck disable=SC2086
    kill_wait 30 $pids
    wait_port_closed "$AMQP_PORT" 30 || true
    sg_log "RabbitMQ stopped"
}

minio_url() { echo "http://127.0.0.1:$MINIO_PORT"; }

minio_healthy() {
    curl -fsS --noproxy '*' --max-time 2 -o /dev/null "$(minio_url)/minio/health/live" 2>/dev/null
}

# pid of our MinIO from its pid file, if that process is alive and is minio.
minio_pid() {
    local pid
    pid=$(cat "$MINIO_PIDFILE" 2>/dev/null) || return 1
    [ -n "$pid" ] && [ "$(cat "/proc/$pid/comm" 2>/dev/null)" = minio ] && echo "$pid"
}

# pids of processes running our MinIO binary with our address (pid file lost).
minio_stray_pids() {
    local d bin
    bin=$(readlink -f "$SANGRAHA_MINIO_BIN" 2>/dev/null) || return 0
    for d in /proc/[0-9]*; do
        [ "$(readlink "$d/exe" 2>/dev/null)" = "$bin" ] || continue
        case " $(cmdline_of "${d#/proc/}") " in
        *" 127.0.0.1:$MINIO_PORT "*) echo "${d#/proc/}" ;;
        esac
    done
}

start_minio() {
    local pid i start
    if minio_healthy; then
        pid=$(minio_pid || true)
        sg_log "MinIO already running at $(minio_url)${pid:+ (pid $pid)}"
        return 0
    fi
    if pid=$(minio_pid); then
        sg_log "MinIO (pid $pid) is not healthy yet; waiting up to 30 s"
        for ((i = 0; i < 60; i++)); do
            if minio_healthy; then
                sg_log "MinIO is up at $(minio_url) (pid $pid)"
                return 0
            fi
            sleep 0.5
        done
        sg_log "killing unhealthy MinIO pid $pid"
        kill_wait 20 "$pid"
    fi
    # shellcheck disable=SC2046
    kill_wait 20 $(minio_stray_pids)
    if sg_port_open "$MINIO_PORT"; then
        sg_die "127.0.0.1:$MINIO_PORT is taken by something that is not our MinIO; set SANGRAHA_TEST_MINIO_PORT"
    fi
    sg_ensure_minio
    mkdir -p "$MINIO_DATA" "$LOG_DIR" "$RUN_DIR"
    sg_log "starting MinIO at $(minio_url) (data $MINIO_DATA, log $MINIO_LOG)"
    start=$SECONDS
    # setsid: a Ctrl-C in the terminal that started it must not reach MinIO.
    (
        sg_close_lock_fds
        export MINIO_ROOT_USER=$MINIO_USER MINIO_ROOT_PASSWORD=$MINIO_PASSWORD MINIO_UPDATE=off
        exec setsid nohup "$SANGRAHA_MINIO_BIN" server "$MINIO_DATA" \
            --address "127.0.0.1:$MINIO_PORT" --console-address "127.0.0.1:$MINIO_CONSOLE_PORT"
    ) >>"$MINIO_LOG" 2>&1 </dev/null &
    pid=$!
    echo "$pid" >"$MINIO_PIDFILE"
    while ((SECONDS - start < 60)); do
        if minio_healthy; then
            sg_log "MinIO is up after $((SECONDS - start)) s (pid $pid)"
            return 0
        fi
        [ -d "/proc/$pid" ] || break
        sleep 0.5
    done
    sg_log "MinIO did not become healthy; last lines of $MINIO_LOG:"
    tail -n 30 "$MINIO_LOG" >&2 || true
    kill_wait 10 "$pid"
    rm -f "$MINIO_PIDFILE"
    sg_die "MinIO failed to start"
}

stop_minio() {
    local pids
    pids="$(minio_pid || true) $(minio_stray_pids)"
    # shellcheck disable=SC2086
    pids=$(printf '%s\n' $pids | sort -u | xargs)
    if [ -z "$pids" ]; then
        sg_log "MinIO is not running"
        rm -f "$MINIO_PIDFILE"
        if minio_healthy; then sg_log "warning: something else answers at $(minio_url)"; fi
        return 0
    fi
    sg_log "stopping MinIO (pid $pids)"
    # shellcheck disable=SC2086
    kill_wait 30 $pids
    rm -f "$MINIO_PIDFILE"
    wait_port_closed "$MINIO_PORT" 20 || true
    sg_log "MinIO stopped"
}

status_rabbitmq() {
    local pids
    pids=$(rabbit_our_pids | xargs)
    if rabbit_healthy; then
        echo "rabbitmq: running  node=$RABBIT_NODE amqp=127.0.0.1:$AMQP_PORT pid=$pids log=/var/log/rabbitmq/$RABBIT_NODE.log"
    elif [ -n "$pids" ]; then
        echo "rabbitmq: UNHEALTHY node process(es) $pids, amqp 127.0.0.1:$AMQP_PORT not ready"
        return 3
    else
        echo "rabbitmq: stopped (node $RABBIT_NODE)"
        return 3
    fi
}

status_minio() {
    local pid
    pid=$(minio_pid || true)
    if minio_healthy; then
        echo "minio:    running  url=$(minio_url) console=http://127.0.0.1:$MINIO_CONSOLE_PORT pid=${pid:-unknown} data=$MINIO_DATA log=$MINIO_LOG"
    elif [ -n "$pid" ]; then
        echo "minio:    UNHEALTHY pid $pid, $(minio_url)/minio/health/live does not answer"
        return 3
    else
        echo "minio:    stopped"
        return 3
    fi
}

print_env() {
    local amqp="amqp://guest:guest@127.0.0.1:$AMQP_PORT/" s3
    s3=$(minio_url)
    printf 'export %s=%q\n' \
        SANGRAHA_AMQP_URL "$amqp" \
        SANGRAHA_S3_ENDPOINT "$s3" \
        SANGRAHA_S3_ACCESS_KEY "$MINIO_USER" \
        SANGRAHA_S3_SECRET_KEY "$MINIO_PASSWORD" \
        SANGRAHA_TEST_AMQP_URL "$amqp" \
        SANGRAHA_TEST_S3_ENDPOINT "$s3" \
        SANGRAHA_TEST_S3_ACCESS_KEY "$MINIO_USER" \
        SANGRAHA_TEST_S3_SECRET_KEY "$MINIO_PASSWORD"
}

main() {
    local cmd=${1:-} which=${2:-all} rc=0
    case "$which" in all | rabbitmq | minio) ;; *) sg_die "unknown service '$which' (rabbitmq|minio)" ;; esac
    want() { [ "$which" = all ] || [ "$which" = "$1" ]; }
    case "$cmd" in
    start)
        sg_lock services
        if want rabbitmq; then start_rabbitmq; fi
        if want minio; then start_minio; fi
        ;;
    stop)
        sg_lock services
        if want minio; then stop_minio; fi
        if want rabbitmq; then stop_rabbitmq; fi
        ;;
    restart)
        "$0" stop "$which"
        exec "$0" start "$which"
        ;;
    status)
        if want rabbitmq; then status_rabbitmq || rc=$?; fi
        if want minio; then status_minio || rc=$?; fi
        return "$rc"
        ;;
    env) print_env ;;
    *)
        echo "usage: $0 start|stop|restart|status|env [rabbitmq|minio]" >&2
        return 2
        ;;
    esac
}

main "$@"
