#!/usr/bin/env bash
# Starts real Kafka (KRaft), a Temporal dev server and FerretDB on 127.0.0.1 for a profile
# (LEADFLOW_PROFILE=dev|test|bench), waits until each one answers, writes $RUN_DIR/env and prints it.
# Servers already running for the profile are reused. A server whose address is already given
# (KAFKA_BROKERS, MONGO_URL, TEMPORAL_ADDRESS) is not started at all.
set -euo pipefail
. "$(cd "$(dirname "$0")" && pwd)/lib.sh"

[ -f "$KAFKA_HOME/.done" ] && [ -x "$FERRETDB_BIN" ] && [ -x "$TEMPORAL_BIN/temporal" ] \
  || { log "not provisioned yet: running infra/provision.sh"; bash "$INFRA_DIR/provision.sh"; }

start_kafka() {
  if alive kafka; then return 0; fi
  local data="$RUN_DIR/kafka-data" props="$RUN_DIR/kafka.properties" partitions=6 offsets=6
  [ "$PROFILE" = test ] && offsets=1
  cat >"$props" <<PROPS
process.roles=broker,controller
node.id=1
controller.quorum.voters=1@127.0.0.1:$KAFKA_CTRL_PORT
listeners=PLAINTEXT://127.0.0.1:$KAFKA_PORT,CONTROLLER://127.0.0.1:$KAFKA_CTRL_PORT
advertised.listeners=PLAINTEXT://127.0.0.1:$KAFKA_PORT
controller.listener.names=CONTROLLER
listener.security.protocol.map=PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT
inter.broker.listener.name=PLAINTEXT
log.dirs=$data
num.partitions=$partitions
default.replication.factor=1
min.insync.replicas=1
offsets.topic.replication.factor=1
offsets.topic.num.partitions=$offsets
transaction.state.log.replication.factor=1
transaction.state.log.min.isr=1
group.initial.rebalance.delay.ms=0
auto.create.topics.enable=true
log.retention.hours=168
PROPS
  cat >"$RUN_DIR/log4j.properties" <<L4J
log4j.rootLogger=WARN, file
log4j.appender.file=org.apache.log4j.FileAppender
log4j.appender.file.File=$RUN_DIR/kafka-server.log
log4j.appender.file.layout=org.apache.log4j.PatternLayout
log4j.appender.file.layout.ConversionPattern=[%d] %p %m (%c)%n
log4j.logger.kafka=WARN
log4j.logger.org.apache.kafka=WARN
L4J
  if [ ! -f "$data/meta.properties" ]; then
    java -cp "$KAFKA_HOME/lib/*" -Dlog4j.configuration="file:$RUN_DIR/log4j.properties" \
      kafka.tools.StorageTool format -t "$(cat "$RUN_DIR/kafka-cluster-id" 2>/dev/null || echo 'bGVhZGZsb3ctbG9jYWwtMQ')" \
      -c "$props" --ignore-formatted >"$RUN_DIR/kafka-format.log" 2>&1
  fi
  log "starting Kafka $KAFKA_VERSION on 127.0.0.1:$KAFKA_PORT"
  nohup java -Xms256m -Xmx768m -XX:+UseG1GC -Djava.awt.headless=true \
    -Dlog4j.configuration="file:$RUN_DIR/log4j.properties" -Dkafka.logs.dir="$RUN_DIR" \
    -cp "$KAFKA_HOME/lib/*" kafka.Kafka "$props" >"$RUN_DIR/kafka.log" 2>&1 &
  echo $! >"$RUN_DIR/kafka.pid"
}

start_temporal() {
  if alive temporal; then return 0; fi
  local ui=(--headless)
  [ "$PROFILE" = dev ] && ui=(--ui-port "$TEMPORAL_UI_PORT" --ui-ip 127.0.0.1)
  log "starting Temporal dev server $TEMPORAL_BIN_VERSION on 127.0.0.1:$TEMPORAL_PORT"
  nohup "$TEMPORAL_BIN/temporal" server start-dev --ip 127.0.0.1 --port "$TEMPORAL_PORT" \
    --http-port "$TEMPORAL_HTTP_PORT" --metrics-port "$TEMPORAL_METRICS_PORT" "${ui[@]}" \
    --db-filename "$RUN_DIR/temporal.db" --log-level warn >"$RUN_DIR/temporal.log" 2>&1 &
  echo $! >"$RUN_DIR/temporal.pid"
}

start_ferretdb() {
  if alive ferretdb; then return 0; fi
  mkdir -p "$RUN_DIR/ferretdb-data" "$RUN_DIR/ferretdb-state"
  log "starting FerretDB $FERRETDB_VERSION on 127.0.0.1:$MONGO_PORT"
  nohup "$FERRETDB_BIN" --handler=sqlite --sqlite-url="file:$RUN_DIR/ferretdb-data/" \
    --listen-addr="127.0.0.1:$MONGO_PORT" --state-dir="$RUN_DIR/ferretdb-state" \
    --telemetry=disable --debug-addr=- --log-level=warn >"$RUN_DIR/ferretdb.log" 2>&1 &
  echo $! >"$RUN_DIR/ferretdb.pid"
}

kafka=${KAFKA_BROKERS:-}; mongo=${MONGO_URL:-}; temporal=${TEMPORAL_ADDRESS:-}
[ -n "$kafka" ] || { start_kafka; kafka="127.0.0.1:$KAFKA_PORT"; }
[ -n "$temporal" ] || { start_temporal; temporal="127.0.0.1:$TEMPORAL_PORT"; }
[ -n "$mongo" ] || { start_ferretdb; mongo="mongodb://127.0.0.1:$MONGO_PORT"; }

[ -n "${KAFKA_BROKERS:-}" ] || wait_port kafka "$KAFKA_PORT" 90
[ -n "${TEMPORAL_ADDRESS:-}" ] || wait_port temporal "$TEMPORAL_PORT" 90
[ -n "${MONGO_URL:-}" ] || wait_port ferretdb "$MONGO_PORT" 60
# Protocol-level readiness: a kafkajs describeCluster, a MongoDB ping and a Temporal health check.
node "$INFRA_DIR/ready.mjs" --kafka "$kafka" --mongo "$mongo" --temporal "$temporal" --timeout 120

cat >"$RUN_DIR/env" <<ENV
KAFKA_BROKERS=$kafka
MONGO_URL=$mongo
TEMPORAL_ADDRESS=$temporal
TEMPORAL_UI_URL=$([ "$PROFILE" = dev ] && [ -z "${TEMPORAL_ADDRESS:-}" ] && echo "http://127.0.0.1:$TEMPORAL_UI_PORT" || echo "")
ENV
log "ready: Kafka $kafka, MongoDB-wire $mongo, Temporal $temporal"
cat "$RUN_DIR/env"
