#!/usr/bin/env bash
# Local single-node Apache Kafka broker (KRaft, loopback) from the release jars on Maven Central.
#   kafka.sh fetch    download the pinned broker jars (once; cached under .cache/kafka)
#   kafka.sh start    start the broker unless a healthy one already answers; wait until it answers
#   kafka.sh stop     stop the broker this script started
#   kafka.sh status   say whether a broker answers
# Environment: DATA_DIR (./data), KAFKA_PORT (9092), KAFKA_CONTROLLER_PORT (9093), KAFKA_HEAP (512m).
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/../.." && pwd)"
libs="$root/.cache/kafka/libs"
data_dir="${DATA_DIR:-$root/data}"
mkdir -p "$data_dir"
data_dir="$(cd "$data_dir" && pwd)"
kafka_dir="$data_dir/kafka"
pid_file="$kafka_dir/broker.pid"
log_file="$kafka_dir/broker.log"
port="${KAFKA_PORT:-9092}"
controller_port="${KAFKA_CONTROLLER_PORT:-9093}"
heap="${KAFKA_HEAP:-512m}"

say() { echo "kafka: $*" >&2; }

probe() { node "$here/probe.mjs" 127.0.0.1 "$port" "${1:-3000}"; }

fetch() {
  if [[ -f "$libs/.complete" ]]; then return 0; fi
  command -v mvn >/dev/null || { say "Maven (mvn) is required to fetch the Kafka jars; install it (apt-get install maven)"; exit 1; }
  command -v java >/dev/null || { say "Java 17+ is required to run the Kafka broker; install it (apt-get install openjdk-17-jre-headless)"; exit 1; }
  say "fetching the Apache Kafka broker jars from Maven Central into $libs"
  rm -rf "$libs"
  mvn -q -B -f "$here/pom.xml" dependency:copy-dependencies -DoutputDirectory="$libs" -DincludeScope=runtime
  touch "$libs/.complete"
}

running_pid() {
  [[ -f "$pid_file" ]] || return 1
  local pid
  pid="$(cat "$pid_file")"
  if [[ -n "$pid" ]] && kill -0 "$pid" 2>/dev/null && grep -q "kafka.Kafka" "/proc/$pid/cmdline" 2>/dev/null; then
    echo "$pid"
    return 0
  fi
  return 1
}

write_config() {
  mkdir -p "$kafka_dir/logs"
  cat > "$kafka_dir/server.properties" <<PROPS
process.roles=broker,controller
node.id=1
controller.quorum.voters=1@127.0.0.1:$controller_port
listeners=PLAINTEXT://127.0.0.1:$port,CONTROLLER://127.0.0.1:$controller_port
advertised.listeners=PLAINTEXT://127.0.0.1:$port
controller.listener.names=CONTROLLER
listener.security.protocol.map=PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT
inter.broker.listener.name=PLAINTEXT
log.dirs=$kafka_dir/logs
num.partitions=6
default.replication.factor=1
min.insync.replicas=1
offsets.topic.replication.factor=1
offsets.topic.num.partitions=6
transaction.state.log.replication.factor=1
transaction.state.log.min.isr=1
group.initial.rebalance.delay.ms=0
auto.create.topics.enable=false
log.retention.hours=168
log.segment.bytes=268435456
PROPS
}

java_cmd() {
  java -Xms"$heap" -Xmx"$heap" -XX:+UseG1GC -XX:MaxGCPauseMillis=20 -Djava.awt.headless=true \
    -Dlog4j.configuration="file:$here/log4j.properties" -cp "$libs/*" "$@"
}

start() {
  local code=0 answer
  answer="$(probe 2000 2>&1)" || code=$?
  if [[ $code -eq 0 ]]; then
    say "a broker already answers on 127.0.0.1:$port; reusing it"
    return 0
  fi
  if [[ $code -eq 4 ]]; then
    say "port $port is held by something that is not a Kafka broker ($answer); free the port, or set KAFKA_BROKERS to use an existing cluster"
    exit 1
  fi
  if pid="$(running_pid)"; then
    say "broker process $pid is starting or unhealthy; waiting for it"
  else
    [[ -f "$pid_file" ]] && { say "removing stale pid file $pid_file"; rm -f "$pid_file"; }
    fetch
    write_config
    if [[ ! -f "$kafka_dir/logs/meta.properties" ]]; then
      local cluster_id
      cluster_id="$(java_cmd kafka.tools.StorageTool random-uuid 2>/dev/null | tail -1)"
      java_cmd kafka.tools.StorageTool format -t "$cluster_id" -c "$kafka_dir/server.properties" >>"$log_file" 2>&1
    fi
    say "starting Apache Kafka $(ls "$libs" | sed -n 's/^kafka_2.13-\(.*\)\.jar$/\1/p') on 127.0.0.1:$port (log: $log_file)"
    nohup bash -c "exec java -Xms$heap -Xmx$heap -XX:+UseG1GC -XX:MaxGCPauseMillis=20 -Djava.awt.headless=true -Dlog4j.configuration=file:$here/log4j.properties -cp '$libs/*' kafka.Kafka '$kafka_dir/server.properties'" >>"$log_file" 2>&1 </dev/null &
    pid=$!
    echo "$pid" > "$pid_file"
  fi
  for _ in $(seq 1 120); do
    if probe 1000 2>/dev/null; then say "broker ready on 127.0.0.1:$port"; return 0; fi
    if ! kill -0 "$pid" 2>/dev/null; then
      say "the broker exited during start-up; last lines of $log_file:"
      tail -n 30 "$log_file" >&2
      rm -f "$pid_file"
      exit 1
    fi
    sleep 0.5
  done
  say "the broker did not answer within 60 s; see $log_file"
  exit 1
}

stop() {
  local pid
  if ! pid="$(running_pid)"; then
    rm -f "$pid_file"
    say "no broker started by this project is running"
    return 0
  fi
  say "stopping broker $pid"
  kill -TERM "$pid"
  for _ in $(seq 1 60); do
    kill -0 "$pid" 2>/dev/null || { rm -f "$pid_file"; say "stopped"; return 0; }
    sleep 0.5
  done
  say "broker $pid did not stop in 30 s; killing it"
  kill -KILL "$pid" 2>/dev/null || true
  rm -f "$pid_file"
}

status() {
  if probe 2000; then say "a broker answers on 127.0.0.1:$port"; else exit 1; fi
}

case "${1:-}" in
  fetch) fetch ;;
  start) start ;;
  stop) stop ;;
  status) status ;;
  *) echo "usage: $0 fetch|start|stop|status" >&2; exit 2 ;;
esac
