#!/usr/bin/env bash
# Idempotent installer for everything Sangraha's tests and services need.
#
#   scripts/bootstrap.sh            install what is missing, print the venv path
#   . scripts/bootstrap.sh          define the sg_* helpers and variables only;
#                                   then call sangraha_bootstrap (or parts of it)
#
# Installs (only what is missing): Debian packages (rabbitmq-server, rclone,
# libmagic1, curl, unzip, ca-certificates, git, python3-venv when needed), a Go
# toolchain >= 1.24 (from the Go module proxy, only if the machine's go is
# missing or too old), a MinIO binary built from source at a pinned version,
# and a Python virtualenv with `pip install -e '.[test]'`.
#
# Everything lands in SANGRAHA_CACHE (default ~/.cache/sangraha):
#   bin/minio (+ bin/minio.version)   go-toolchain/   venv-<sha256(pyproject)[:12]>/
#
# Environment knobs: SANGRAHA_CACHE, SANGRAHA_PYTHON (interpreter for the venv),
# SANGRAHA_GO_TOOLCHAIN_VERSION (default go1.24.13).
set -euo pipefail

SANGRAHA_REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd -P)
SANGRAHA_CACHE=${SANGRAHA_CACHE:-${HOME:-/root}/.cache/sangraha}
SANGRAHA_MINIO_VERSION=v0.0.0-20260212201848-7aac2a2c5b7c
SANGRAHA_MINIO_BIN=$SANGRAHA_CACHE/bin/minio
SANGRAHA_GO_MIN=1.24
SANGRAHA_GO_TOOLCHAIN_VERSION=${SANGRAHA_GO_TOOLCHAIN_VERSION:-go1.24.13}
SANGRAHA_PYPROJECT_SHA=$(sha256sum "$SANGRAHA_REPO/pyproject.toml" | cut -d' ' -f1)
SANGRAHA_VENV=$SANGRAHA_CACHE/venv-${SANGRAHA_PYPROJECT_SHA:0:12}
export SANGRAHA_REPO SANGRAHA_CACHE SANGRAHA_MINIO_BIN SANGRAHA_VENV

sg_log() { printf '[sangraha] %s\n' "$*" >&2; }
sg_die() {
    printf '[sangraha] ERROR: %s\n' "$*" >&2
    exit 1
}

# sg_version_ge A B: true when version A >= version B.
sg_version_ge() { printf '%s\n%s\n' "$2" "$1" | sort -V -C; }

# sg_port_open PORT: true when something accepts TCP on 127.0.0.1:PORT.
sg_port_open() { timeout 2 bash -c "exec 3<>/dev/tcp/127.0.0.1/$1" 2>/dev/null; }

# sg_lock NAME: take an exclusive lock under the cache (held until the shell
# exits or sg_unlock). Serialises concurrent bootstraps / service starts.
sg_lock() {
    mkdir -p "$SANGRAHA_CACHE"
    local fd
    exec {fd}>"$SANGRAHA_CACHE/.$1.lock"
    if ! flock -n "$fd"; then
        sg_log "waiting for another sangraha process holding the $1 lock"
        flock -w 3600 "$fd" || sg_die "could not take the $1 lock"
    fi
    printf -v "SG_LOCK_FD_$1" '%s' "$fd"
}
# Close every lock fd in this shell: call in a subshell before exec'ing a
# long-lived daemon, or the daemon would hold the lock forever.
sg_close_lock_fds() {
    local var fd
    for var in ${!SG_LOCK_FD_@}; do
        fd=${!var}
        exec {fd}>&-
        unset "$var"
    done
}
sg_unlock() {
    local var="SG_LOCK_FD_$1" fd
    fd=${!var:-}
    if [ -n "$fd" ]; then
        exec {fd}>&-
        unset "$var"
    fi
}

# ---------------------------------------------------------------- apt -------
sg_pkg_installed() {
    [ "$(dpkg-query -W -f='${Status}' "$1" 2>/dev/null || true)" = "install ok installed" ]
}

# sg_apt_install PKG...: install the packages that are not installed yet.
sg_apt_install() {
    local missing=() p
    for p in "$@"; do
        sg_pkg_installed "$p" || missing+=("$p")
    done
    [ "${#missing[@]}" -eq 0 ] && return 0
    [ "$(id -u)" = 0 ] || sg_die "need root to install Debian packages: ${missing[*]}"
    sg_log "apt-get install ${missing[*]}"
    # Keep package postinst scripts from auto-starting services (a Debian
    # rabbitmq-server would otherwise come up on all interfaces with default
    # settings); scripts/services.sh starts them the way we want.
    local policy=/usr/sbin/policy-rc.d made_policy=0
    if [ ! -e "$policy" ]; then
        printf '#!/bin/sh\nexit 101\n' >"$policy"
        chmod 755 "$policy"
        made_policy=1
    fi
    local rc=0
    {
        DEBIAN_FRONTEND=noninteractive apt-get update -q &&
            DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "${missing[@]}"
    } >&2 || rc=$?
    if [ "$made_policy" = 1 ]; then rm -f "$policy"; fi
    [ "$rc" = 0 ] || sg_die "apt-get install ${missing[*]} failed (rc=$rc)"
}

# ---------------------------------------------------------------- Go --------
sg_go_ok() {
    local v
    command -v go >/dev/null 2>&1 || return 1
    v=$(go version 2>/dev/null | awk '{print $3}') || return 1
    v=${v#go}
    [ -n "$v" ] && sg_version_ge "$v" "$SANGRAHA_GO_MIN"
}

# Make a Go >= 1.24 the first `go` on PATH, downloading a toolchain from the Go
# module proxy (golang.org/toolchain) into the cache when needed.
sg_ensure_go() {
    sg_go_ok && return 0
    local arch ver goroot url tmp
    arch=$(dpkg --print-architecture)
    ver=$SANGRAHA_GO_TOOLCHAIN_VERSION
    goroot=$SANGRAHA_CACHE/go-toolchain/$ver.linux-$arch
    if [ ! -x "$goroot/bin/go" ]; then
        url="https://proxy.golang.org/golang.org/toolchain/@v/v0.0.1-$ver.linux-$arch.zip"
        sg_log "go missing or older than $SANGRAHA_GO_MIN: downloading $ver from $url"
        mkdir -p "$SANGRAHA_CACHE/go-toolchain"
        tmp=$(mktemp -d "$SANGRAHA_CACHE/go-toolchain/.tmp.XXXXXX")
        curl -fsSL --retry 3 -o "$tmp/go.zip" "$url" || {
            rm -rf "$tmp"
            sg_die "could not download $url"
        }
        unzip -q "$tmp/go.zip" -d "$tmp/x"
        chmod -R a+rX "$tmp/x"
        chmod a+x "$tmp/x/golang.org/toolchain@v0.0.1-$ver.linux-$arch"/bin/* \
            "$tmp/x/golang.org/toolchain@v0.0.1-$ver.linux-$arch"/pkg/tool/*/*
        rm -rf "$goroot"
        mv "$tmp/x/golang.org/toolchain@v0.0.1-$ver.linux-$arch" "$goroot"
        rm -rf "$tmp"
    fi
    unset GOROOT
    export PATH="$goroot/bin:$PATH"
    sg_go_ok || sg_die "Go toolchain at $goroot does not work"
    sg_log "using $(go version) from $goroot"
}

# --------------------------------------------------------------- MinIO ------
# Prints the module version embedded in a Go binary (empty when unknown).
sg_go_binary_version() {
    command -v go >/dev/null 2>&1 || return 0
    go version -m "$1" 2>/dev/null | awk '$1 == "mod" && $2 == "github.com/minio/minio" {print $3}'
}

sg_ensure_minio() {
    local stamp=$SANGRAHA_MINIO_BIN.version
    if [ -x "$SANGRAHA_MINIO_BIN" ] && [ "$(cat "$stamp" 2>/dev/null)" = "$SANGRAHA_MINIO_VERSION" ]; then
        return 0
    fi
    sg_lock minio
    # A binary that is already there (copied in by hand, or a stamp lost)
    # and carries the pinned version is adopted instead of rebuilt.
    if [ -x "$SANGRAHA_MINIO_BIN" ] &&
        [ "$(sg_go_binary_version "$SANGRAHA_MINIO_BIN")" = "$SANGRAHA_MINIO_VERSION" ]; then
        echo "$SANGRAHA_MINIO_VERSION" >"$stamp"
    fi
    if [ ! -x "$SANGRAHA_MINIO_BIN" ] || [ "$(cat "$stamp" 2>/dev/null)" != "$SANGRAHA_MINIO_VERSION" ]; then
        sg_ensure_go
        local tmp start=$SECONDS
        mkdir -p "$(dirname "$SANGRAHA_MINIO_BIN")"
        tmp=$(mktemp -d "$(dirname "$SANGRAHA_MINIO_BIN")/.build.XXXXXX")
        sg_log "building MinIO $SANGRAHA_MINIO_VERSION from source (once; several minutes on 2 cores)"
        if ! GOBIN=$tmp GOTOOLCHAIN=local CGO_ENABLED=0 GOFLAGS=${GOFLAGS:--buildvcs=false} \
            go install "github.com/minio/minio@$SANGRAHA_MINIO_VERSION" >&2; then
            rm -rf "$tmp"
            sg_die "building MinIO failed"
        fi
        mv -f "$tmp/minio" "$SANGRAHA_MINIO_BIN"
        rm -rf "$tmp"
        echo "$SANGRAHA_MINIO_VERSION" >"$stamp"
        sg_log "MinIO built in $((SECONDS - start)) s: $SANGRAHA_MINIO_BIN"
    fi
    sg_unlock minio
}

# -------------------------------------------------------------- Python ------
# Prints the first interpreter >= 3.11 that can create virtualenvs.
sg_find_python() {
    local c
    for c in ${SANGRAHA_PYTHON:-} python3 python3.13 python3.12 python3.11; do
        command -v "$c" >/dev/null 2>&1 || continue
        "$c" -c 'import sys; sys.exit(sys.version_info < (3, 11))' >/dev/null 2>&1 || continue
        "$c" -c 'import venv, ensurepip' >/dev/null 2>&1 || continue
        command -v "$c"
        return 0
    done
    return 1
}

# Prints where the venv imports the `sangraha` package from (without running
# its code), or nothing.
sg_venv_pkg_dir() {
    (cd / && "$SANGRAHA_VENV/bin/python" -c '
import importlib.util, os
s = importlib.util.find_spec("sangraha")
print(os.path.realpath(os.path.dirname(s.origin)) if s and s.origin else "")
' 2>/dev/null) || true
}

sg_ensure_venv() {
    local py stamp=$SANGRAHA_VENV/.sangraha-installed
    if [ -x "$SANGRAHA_VENV/bin/python" ] && [ "$(cat "$stamp" 2>/dev/null)" = "$SANGRAHA_PYPROJECT_SHA" ] &&
        [ "$(sg_venv_pkg_dir)" = "$SANGRAHA_REPO/sangraha" ]; then
        return 0
    fi
    sg_lock venv
    if ! "$SANGRAHA_VENV/bin/python" -c '' >/dev/null 2>&1; then
        if ! py=$(sg_find_python); then
            sg_apt_install python3 python3-venv
            py=$(sg_find_python) || sg_die "no Python >= 3.11 with venv support found"
        fi
        sg_log "creating virtualenv $SANGRAHA_VENV with $py ($("$py" --version 2>&1))"
        rm -rf "$SANGRAHA_VENV"
        "$py" -m venv "$SANGRAHA_VENV"
    fi
    if [ "$(cat "$stamp" 2>/dev/null)" != "$SANGRAHA_PYPROJECT_SHA" ]; then
        sg_log "pip install -e '.[test]' into $SANGRAHA_VENV"
        rm -f "$stamp"
        (cd "$SANGRAHA_REPO" && "$SANGRAHA_VENV/bin/python" -m pip install -q -e ".[test]") >&2 ||
            sg_die "pip install -e '.[test]' failed"
        echo "$SANGRAHA_PYPROJECT_SHA" >"$stamp"
    fi
    if [ "$(sg_venv_pkg_dir)" != "$SANGRAHA_REPO/sangraha" ]; then
        # CI clones into a fresh folder: point the editable install here.
        sg_log "re-pointing the editable install at $SANGRAHA_REPO"
        (cd "$SANGRAHA_REPO" && "$SANGRAHA_VENV/bin/python" -m pip install -q --no-deps -e .) >&2 ||
            sg_die "pip install --no-deps -e . failed"
        [ "$(sg_venv_pkg_dir)" = "$SANGRAHA_REPO/sangraha" ] ||
            sg_die "editable install does not resolve to $SANGRAHA_REPO/sangraha"
    fi
    sg_unlock venv
}

# ---------------------------------------------------------------- main ------
# System part: what the services need (Debian packages, Go, MinIO).
sg_bootstrap_system() {
    sg_apt_install rabbitmq-server rclone libmagic1 curl unzip ca-certificates git
    sg_ensure_minio
}

sangraha_bootstrap() {
    sg_bootstrap_system
    sg_ensure_venv
    sg_log "venv: $SANGRAHA_VENV"
}

if [ "${BASH_SOURCE[0]}" = "$0" ]; then
    sangraha_bootstrap
    echo "$SANGRAHA_VENV"
fi
