#!/usr/bin/env bash
# Local Apache Kafka (KRaft, loopback) from the release jars on Maven Central.
#   kafka.sh fetch                 download the pinned broker jars (once per version; cached under .cache/kafka/<version>)
#   kafka.sh start                 start the single node unless a healthy broker already answers; wait until it answers
#   kafka.sh stop                  stop the single node this script started
#   kafka.sh status                say whether a broker answers on KAFKA_PORT
#   kafka.sh cluster start|stop|status
#                                  three combined broker+controller nodes on loopback (replication factor 3,
#                                  min.insync.replicas 2); prints the bootstrap list on start
#   kafka.sh cluster kill N        kill -9 node N (1-3), as a crash would
#   kafka.sh cluster start-node N  start node N again
# Environment: KAFKA_VERSION (4.4.0; 3.9.1 for the compatibility run), DATA_DIR (./data),
# KAFKA_PORT (9092), KAFKA_CONTROLLER_PORT (9093), KAFKA_CLUSTER_PORT (29092: nodes on 29092, 29094,
# 29096, controllers one above each), KAFKA_HEAP (512m; 384m per cluster node).
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/../.." && pwd)"
version="${KAFKA_VERSION:-4.4.0}"
major="${version%%.*}"
libs="$root/.cache/kafka/$version/libs"
data_dir="${DATA_DIR:-$root/data}"
mkdir -p "$data_dir"
data_dir="$(cd "$data_dir" && pwd)"
cluster_base="${KAFKA_CLUSTER_PORT:-29092}"

say() { echo "kafka: $*" >&2; }

[[ "$version" =~ ^[0-9]+\.[0-9]+\.[0-9]+$ ]] || { say "KAFKA_VERSION=\"$version\" is not a release version; expected e.g. 4.4.0 or 3.9.1"; exit 1; }
((major >= 3)) || { say "KAFKA_VERSION=$version is too old; expected 3.9.x or 4.x"; exit 1; }

fetch() {
  if [[ -f "$libs/.complete" ]]; then return 0; fi
  command -v mvn >/dev/null || { say "Maven (mvn) is required to fetch the Kafka jars; install it (apt-get install maven)"; exit 1; }
  command -v java >/dev/null || { say "Java 17+ is required to run the Kafka broker; install it (apt-get install openjdk-17-jre-headless)"; exit 1; }
  say "fetching the Apache Kafka $version broker jars from Maven Central into $libs"
  rm -rf "$libs"
  local logging=()
  ((major < 4)) && logging=(-Dlegacy.logging=true)
  mvn -q -B -f "$here/pom.xml" -Dkafka.version="$version" "${logging[@]}" dependency:copy-dependencies -DoutputDirectory="$libs" -DincludeScope=runtime
  touch "$libs/.complete"
}

# Kafka 4 logs through log4j2; Kafka 3 through reload4j (log4j 1 API).
java_args() {
  local heap="$1"
  echo "-Xms$heap -Xmx$heap -XX:+UseG1GC -XX:MaxGCPauseMillis=20 -Djava.awt.headless=true"
  if ((major >= 4)); then echo "-Dlog4j2.configurationFile=file:$here/log4j2.properties"; else echo "-Dlog4j.configuration=file:$here/log4j.properties"; fi
}

probe() { node "$here/probe.mjs" 127.0.0.1 "$1" "${2:-3000}"; }

# The properties of one node: write_config DIR NODE_ID PORT CONTROLLER_PORT VOTERS REPLICATION MIN_ISR
write_config() {
  local dir="$1" node_id="$2" port="$3" controller_port="$4" voters="$5" replication="$6" min_isr="$7"
  mkdir -p "$dir/logs"
  cat >"$dir/server.properties" <<PROPS
process.roles=broker,controller
node.id=$node_id
controller.quorum.voters=$voters
listeners=PLAINTEXT://127.0.0.1:$port,CONTROLLER://127.0.0.1:$controller_port
advertised.listeners=PLAINTEXT://127.0.0.1:$port
controller.listener.names=CONTROLLER
listener.security.protocol.map=PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT
inter.broker.listener.name=PLAINTEXT
log.dirs=$dir/logs
num.partitions=6
default.replication.factor=$replication
min.insync.replicas=$min_isr
offsets.topic.replication.factor=$replication
offsets.topic.num.partitions=6
transaction.state.log.replication.factor=$replication
transaction.state.log.min.isr=$min_isr
group.initial.rebalance.delay.ms=0
auto.create.topics.enable=false
log.retention.hours=168
log.segment.bytes=268435456
PROPS
  if ((major >= 4)); then
    # Kafka 4.4 enables share groups; their state topic must fit the node count too.
    cat >>"$dir/server.properties" <<PROPS
share.coordinator.state.topic.replication.factor=$replication
share.coordinator.state.topic.min.isr=$min_isr
PROPS
  fi
}

running_pid() {
  local pid_file="$1"
  [[ -f "$pid_file" ]] || return 1
  local pid
  pid="$(cat "$pid_file")"
  if [[ -n "$pid" ]] && kill -0 "$pid" 2>/dev/null && grep -q "kafka.Kafka" "/proc/$pid/cmdline" 2>/dev/null; then
    echo "$pid"
    return 0
  fi
  return 1
}

# Formats DIR's storage once with CLUSTER_ID and launches the node in the background.
launch() {
  local dir="$1" cluster_id="$2" heap="$3"
  local log_file="$dir/broker.log"
  if [[ ! -f "$dir/logs/meta.properties" ]]; then
    # shellcheck disable=SC2046
    java $(java_args "$heap") -cp "$libs/*" kafka.tools.StorageTool format -t "$cluster_id" -c "$dir/server.properties" >>"$log_file" 2>&1
  fi
  nohup bash -c "exec java $(java_args "$heap" | tr '\n' ' ') -cp '$libs/*' kafka.Kafka '$dir/server.properties'" >>"$log_file" 2>&1 </dev/null &
  echo $! >"$dir/broker.pid"
}

new_cluster_id() {
  # shellcheck disable=SC2046
  java $(java_args 128m) -cp "$libs/*" kafka.tools.StorageTool random-uuid 2>/dev/null | tail -1
}

# Waits until PORT answers, or the node whose pid file is PID_FILE dies.
wait_ready() {
  local port="$1" pid_file="$2" log_file="$3"
  for _ in $(seq 1 120); do
    if probe "$port" 1000 2>/dev/null; then return 0; fi
    if ! running_pid "$pid_file" >/dev/null; then
      say "the broker on port $port exited during start-up; last lines of $log_file:"
      tail -n 30 "$log_file" >&2
      rm -f "$pid_file"
      exit 1
    fi
    sleep 0.5
  done
  say "the broker on port $port did not answer within 60 s; see $log_file"
  exit 1
}

stop_pid_file() {
  local pid_file="$1" pid
  if ! pid="$(running_pid "$pid_file")"; then
    rm -f "$pid_file"
    return 1
  fi
  say "stopping broker $pid"
  kill -TERM "$pid"
  for _ in $(seq 1 60); do
    kill -0 "$pid" 2>/dev/null || { rm -f "$pid_file"; return 0; }
    sleep 0.5
  done
  say "broker $pid did not stop in 30 s; killing it"
  kill -KILL "$pid" 2>/dev/null || true
  rm -f "$pid_file"
}

# ---------------------------------------------------------------- single node
single_dir="$data_dir/kafka"
port="${KAFKA_PORT:-9092}"
controller_port="${KAFKA_CONTROLLER_PORT:-9093}"

start() {
  local code=0 answer
  answer="$(probe "$port" 2000 2>&1)" || code=$?
  if [[ $code -eq 0 ]]; then
    say "a broker already answers on 127.0.0.1:$port; reusing it"
    return 0
  fi
  if [[ $code -eq 4 ]]; then
    say "port $port is held by something that is not a Kafka broker ($answer); free the port, or set KAFKA_BROKERS to use an existing cluster"
    exit 1
  fi
  if pid="$(running_pid "$single_dir/broker.pid")"; then
    say "broker process $pid is starting or unhealthy; waiting for it"
  else
    rm -f "$single_dir/broker.pid"
    fetch
    local stored_version=""
    [[ -f "$single_dir/version" ]] && stored_version="$(cat "$single_dir/version")"
    if [[ -n "$stored_version" && "$stored_version" != "$version" ]]; then
      say "the data under $single_dir was written by Kafka $stored_version; starting Kafka $version on a fresh log directory"
      rm -rf "$single_dir/logs"
    fi
    write_config "$single_dir" 1 "$port" "$controller_port" "1@127.0.0.1:$controller_port" 1 1
    echo "$version" >"$single_dir/version"
    say "starting Apache Kafka $version on 127.0.0.1:$port (log: $single_dir/broker.log)"
    launch "$single_dir" "$(new_cluster_id)" "${KAFKA_HEAP:-512m}"
  fi
  wait_ready "$port" "$single_dir/broker.pid" "$single_dir/broker.log"
  say "broker ready on 127.0.0.1:$port"
}

stop() {
  if stop_pid_file "$single_dir/broker.pid"; then say "stopped"; else say "no broker started by this project is running"; fi
}

status() {
  if probe "$port" 2000; then say "a broker answers on 127.0.0.1:$port"; else exit 1; fi
}

# ---------------------------------------------------------------- three nodes
cluster_dir="$data_dir/kafka-cluster"
node_port() { echo $((cluster_base + 2 * ($1 - 1))); }
node_controller_port() { echo $((cluster_base + 2 * ($1 - 1) + 1)); }
node_dir() { echo "$cluster_dir/node-$1"; }
bootstrap() { echo "127.0.0.1:$(node_port 1),127.0.0.1:$(node_port 2),127.0.0.1:$(node_port 3)"; }

check_node() {
  [[ "${1:-}" =~ ^[123]$ ]] || { say "node must be 1, 2 or 3, got \"${1:-}\""; exit 2; }
}

cluster_start_node() {
  local n="$1" dir
  dir="$(node_dir "$n")"
  if running_pid "$dir/broker.pid" >/dev/null; then return 0; fi
  local voters="1@127.0.0.1:$(node_controller_port 1),2@127.0.0.1:$(node_controller_port 2),3@127.0.0.1:$(node_controller_port 3)"
  write_config "$dir" "$n" "$(node_port "$n")" "$(node_controller_port "$n")" "$voters" 3 2
  launch "$dir" "$(cat "$cluster_dir/cluster-id")" "${KAFKA_HEAP:-384m}"
}

cluster_start() {
  fetch
  mkdir -p "$cluster_dir"
  local stored_version=""
  [[ -f "$cluster_dir/version" ]] && stored_version="$(cat "$cluster_dir/version")"
  if [[ ! -f "$cluster_dir/cluster-id" || "$stored_version" != "$version" ]]; then
    cluster_stop_all >/dev/null 2>&1 || true
    rm -rf "$cluster_dir"
    mkdir -p "$cluster_dir"
    new_cluster_id >"$cluster_dir/cluster-id"
    echo "$version" >"$cluster_dir/version"
  fi
  say "starting a three-node Apache Kafka $version cluster on $(bootstrap)"
  for n in 1 2 3; do cluster_start_node "$n"; done
  for n in 1 2 3; do wait_ready "$(node_port "$n")" "$(node_dir "$n")/broker.pid" "$(node_dir "$n")/broker.log"; done
  say "cluster ready: KAFKA_BROKERS=$(bootstrap)"
  bootstrap
}

# All nodes at once: stopped one by one, the last ones wait for a controller quorum that is gone.
cluster_stop_all() {
  for n in 1 2 3; do stop_pid_file "$(node_dir "$n")/broker.pid" & done
  wait
}

cluster_kill() {
  local pid dir
  dir="$(node_dir "$1")"
  pid="$(running_pid "$dir/broker.pid")" || { say "node $1 is not running"; exit 1; }
  kill -KILL "$pid"
  rm -f "$dir/broker.pid"
  say "killed node $1 (pid $pid)"
}

case "${1:-}" in
  fetch) fetch ;;
  start) start ;;
  stop) stop ;;
  status) status ;;
  cluster)
    case "${2:-}" in
      start) cluster_start ;;
      stop) cluster_stop_all; say "cluster stopped" ;;
      status) for n in 1 2 3; do if probe "$(node_port "$n")" 1000 2>/dev/null; then say "node $n answers on $(node_port "$n")"; else say "node $n does not answer"; fi; done ;;
      kill) check_node "${3:-}"; cluster_kill "$3" ;;
      start-node) check_node "${3:-}"; cluster_start_node "$3"; wait_ready "$(node_port "$3")" "$(node_dir "$3")/broker.pid" "$(node_dir "$3")/broker.log"; say "node $3 ready" ;;
      *) echo "usage: $0 cluster start|stop|status|kill N|start-node N" >&2; exit 2 ;;
    esac
    ;;
  *) echo "usage: $0 fetch|start|stop|status|cluster ..." >&2; exit 2 ;;
esac
