#!/usr/bin/env bash
# Stops exactly the servers infra/up.sh started for the profile, by their pid files.
#   infra/down.sh [--purge] [kafka|temporal|ferretdb ...]
# Names limit it to those servers (the chaos suite restarts one at a time: down.sh kafka, then up.sh,
# which starts only what is not running). --purge also deletes the data of the servers it stopped
# (the whole profile directory when no name is given).
set -euo pipefail
. "$(cd "$(dirname "$0")" && pwd)/lib.sh"
purge=0
names=()
for arg in "$@"; do
  case "$arg" in
    --purge) purge=1 ;;
    kafka|temporal|ferretdb) names+=("$arg") ;;
    *) echo "usage: infra/down.sh [--purge] [kafka|temporal|ferretdb ...]" >&2; exit 2 ;;
  esac
done
named=${#names[@]}
[ "$named" -gt 0 ] || names=(kafka temporal ferretdb)
for name in "${names[@]}"; do
  f="$RUN_DIR/$name.pid"
  [ -f "$f" ] || continue
  pid=$(cat "$f")
  if kill -0 "$pid" 2>/dev/null; then
    log "stopping $name (pid $pid)"
    kill -TERM "$pid" 2>/dev/null || true
    for _ in $(seq 1 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.2; done
    kill -0 "$pid" 2>/dev/null && { log "$name did not stop in 20 s: killing pid $pid"; kill -KILL "$pid" 2>/dev/null || true; }
  fi
  rm -f "$f"
done
# What each server keeps in $RUN_DIR (see up.sh).
data_of() {
  case "$1" in
    kafka) echo "kafka-data kafka-format.log kafka-server.log kafka.log kafka.properties log4j.properties kafka-cluster-id" ;;
    temporal) echo "temporal.db temporal.db-journal temporal.db-wal temporal.db-shm temporal.log" ;;
    ferretdb) echo "ferretdb-data ferretdb-state ferretdb.log" ;;
  esac
}
if [ "$purge" = 1 ]; then
  if [ "$named" -eq 0 ]; then
    log "purging $RUN_DIR"
    rm -rf "$RUN_DIR"
  else
    for name in "${names[@]}"; do
      log "purging the $name data in $RUN_DIR"
      for item in $(data_of "$name"); do rm -rf "${RUN_DIR:?}/$item"; done
    done
  fi
fi
