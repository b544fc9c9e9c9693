#!/usr/bin/env bash
# Whole-process benchmarks of logto-deploy (issue 8), side by side in one run with hyperfine,
# printed as a Markdown table (the one in README's "Performance" section).
#
#   benches/run.sh                 # everything, including a clean release build (minutes)
#   benches/run.sh --quick         # few runs, no clean build: for trying the script out
#   benches/run.sh --no-clean-build
#
# Environment: RUNS (default 30), KEYGEN_RUNS (default 25), CARGO_TARGET_DIR.
# Needs: cargo, python3, openssl, kubectl (for `kubectl kustomize`); installs hyperfine with
# apt-get when it is missing. Not part of .ci/run: timings need a quiet machine.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD

RUNS=${RUNS:-30}
KEYGEN_RUNS=${KEYGEN_RUNS:-25}
CLEAN_BUILD=1
for arg in "$@"; do
    case $arg in
        --quick) RUNS=5; KEYGEN_RUNS=5; CLEAN_BUILD=0 ;;
        --no-clean-build) CLEAN_BUILD=0 ;;
        *) echo "usage: benches/run.sh [--quick] [--no-clean-build]" >&2; exit 2 ;;
    esac
done

if ! command -v hyperfine >/dev/null; then
    echo "--- installing hyperfine (apt)" >&2
    export DEBIAN_FRONTEND=noninteractive
    apt-get install -y -q --no-install-recommends hyperfine >/dev/null 2>&1 \
        || { apt-get update -q >/dev/null && apt-get install -y -q --no-install-recommends hyperfine >/dev/null; }
fi
for tool in python3 openssl kubectl; do
    command -v "$tool" >/dev/null || { echo "error: \`$tool\` is needed" >&2; exit 1; }
done

TARGET=${CARGO_TARGET_DIR:-$ROOT/target}
WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT
RES=$WORK/results
mkdir -p "$RES"

echo "--- release build" >&2
if [ "$CLEAN_BUILD" = 1 ]; then
    # A separate, empty target directory: the time of a first `cargo build --release`.
    start=$(date +%s.%N)
    CARGO_TARGET_DIR=$WORK/clean-target cargo build --release --locked --quiet --bin logto-deploy
    end=$(date +%s.%N)
    python3 -c "print($end - $start)" >"$RES/clean-build-seconds"
    rm -rf "$WORK/clean-target"
fi
cargo build --release --locked --quiet --bin logto-deploy --example keygen
BIN=$TARGET/release/logto-deploy
KEYGEN=$TARGET/release/examples/keygen
stat -c %s "$BIN" >"$RES/binary-bytes"

echo "--- fixtures in $WORK" >&2
# The shipped example project with the committed test-fixture stores (public values), so
# every render loads stored secrets instead of generating them. A git repository, as a
# deployment repo is: `render` asks git whether secret-bearing outputs are tracked.
P=$WORK/project
mkdir -p "$P/.logto-secrets"
cp logto.toml "$P/"
cp -r profiles "$P/"
cp tests/fixtures/secrets/*.json "$P/.logto-secrets/"
git -C "$P" init -q
export LOGTO_DB_PASSWORD=bench-db-password LOGTO_REDIS_PASSWORD=bench-redis-password
PROFILES=$(cd "$P/profiles" && ls -- *.toml | sed 's/\.toml$//')
for p in base $PROFILES; do
    flag=(); [ "$p" = base ] || flag=(--profile "$p")
    "$BIN" -c "$P/logto.toml" render "${flag[@]}" >/dev/null 2>&1
done
# As a deployment repo holds them: the rendered outputs committed (the generated
# .gitignore keeps the secret-bearing ones out), so `render` reads a real git index.
git -C "$P" add -A
git -C "$P" -c user.name=bench -c user.email=bench@example.com -c commit.gpgsign=false \
    commit -q -m "rendered outputs"

# 1, 10 and 100 generated profiles: copies of staging with their own endpoints and
# namespace, each with a fixture store (the staging fixture, renamed).
for n in 1 10 100; do
    d=$WORK/scale-$n
    mkdir -p "$d/profiles" "$d/.logto-secrets"
    cp logto.toml "$d/"
    for i in $(seq -f '%03g' 1 "$n"); do
        sed -e "s/auth\.staging\.example\.com/auth-$i.example.com/" \
            -e "s/admin\.staging\.example\.com/admin-$i.example.com/" \
            -e "s/\"logto-staging\"/\"logto-$i\"/" \
            profiles/staging.toml >"$d/profiles/p$i.toml"
        sed -e "s/\"profile\": \"staging\"/\"profile\": \"p$i\"/" \
            tests/fixtures/secrets/staging.json >"$d/.logto-secrets/p$i.json"
    done
    "$BIN" -c "$d/logto.toml" validate >/dev/null 2>&1
done

hf() { # name, warmup runs, then hyperfine arguments
    local name=$1 warmup=$2
    shift 2
    echo "--- $name" >&2
    hyperfine --style basic --warmup "$warmup" --export-json "$RES/$name.json" "$@" >&2
}

cd "$P"
hf render-stdout 3 -N --runs "$RUNS" "$BIN render --profile prod --stdout"
# Writing: the usual re-render, where deploy/prod already holds exactly these files
# (nothing is written), and one after a change (every file written and flushed, the
# directory swapped in whole).
hf render-write 3 -N --runs "$RUNS" "$BIN render --profile prod"
hf render-write-changed 3 -N --runs "$RUNS" \
    --prepare "sh -c 'echo \# >>$P/deploy/prod/docker-compose.yml'" "$BIN render --profile prod"
hf kustomize 3 -N --runs "$RUNS" "kubectl kustomize $ROOT/benches/fixtures/kustomize/overlays/prod"
hf check 3 -N --runs "$RUNS" "$BIN check"
for n in 1 10 100; do
    hf "validate-$n" 3 -N --runs "$RUNS" "$BIN -c $WORK/scale-$n/logto.toml validate"
done
cd "$ROOT"

hf keygen-rsa 1 --runs "$KEYGEN_RUNS" -N \
    "$KEYGEN rsa 4096" \
    "openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:4096"
hf keygen-ec 3 -N --runs "$RUNS" "$KEYGEN ec p-384"
echo "--- in-process key generation" >&2
"$KEYGEN" rsa 4096 --in-process "$KEYGEN_RUNS" >"$RES/inproc-rsa.json"
"$KEYGEN" ec p-384 --in-process "$RUNS" >"$RES/inproc-ec.json"

{
    echo "nproc=$(nproc)"
    echo "cpu=$(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ *//')"
    echo "load=$(cut -d' ' -f1-3 /proc/loadavg)"
    echo "hyperfine=$(hyperfine --version | cut -d' ' -f2)"
    echo "openssl=$(openssl version | cut -d' ' -f2)"
} >"$RES/machine"

python3 "$ROOT/benches/table.py" "$RES"
