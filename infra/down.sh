#!/usr/bin/env bash
# Stops exactly the servers infra/up.sh started for the profile, by their pid files.
# --purge also deletes their data.
set -euo pipefail
. "$(cd "$(dirname "$0")" && pwd)/lib.sh"
for name in kafka temporal ferretdb; do
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
if [ "${1:-}" = --purge ]; then log "purging $RUN_DIR"; rm -rf "$RUN_DIR"; fi
