#!/usr/bin/env bash
# Local Apicurio Registry (in-memory storage, loopback) built from its jars on Maven Central; the
# tests use its Confluent-compatible API, http://127.0.0.1:$REGISTRY_PORT/apis/ccompat/v7.
#   registry.sh fetch    build the runnable registry once (cached under .cache/registry/<version>)
#   registry.sh start    start it unless one already answers on REGISTRY_PORT; wait until it answers
#   registry.sh stop     stop the registry this script started
#   registry.sh status   say whether a registry answers on REGISTRY_PORT
#   registry.sh url      print the Confluent-compatible URL (for SCHEMA_REGISTRY_URL)
# Environment: DATA_DIR (./data: pid and log under $DATA_DIR/registry), REGISTRY_PORT (18081),
# REGISTRY_HEAP (256m). Its storage is in memory: a restart forgets every schema.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/../.." && pwd)"
version="2.4.2.Final"
build_dir="$root/.cache/registry/$version"
jar="$build_dir/local-schema-registry-$version-runner.jar"
data_dir="${DATA_DIR:-$root/data}"
mkdir -p "$data_dir"
data_dir="$(cd "$data_dir" && pwd)"
dir="$data_dir/registry"
port="${REGISTRY_PORT:-18081}"
url="http://127.0.0.1:$port/apis/ccompat/v7"

say() { echo "registry: $*" >&2; }

# Whether the Confluent-compatible API answers (node is there for the project anyway; curl may not be).
answers() {
  node -e 'fetch(process.argv[1], { signal: AbortSignal.timeout(2000) }).then((r) => process.exit(r.ok ? 0 : 1), () => process.exit(1))' "$url/subjects"
}

fetch() {
  if [[ -f "$build_dir/.complete" ]]; then return 0; fi
  command -v mvn >/dev/null || { say "Maven (mvn) is required to build the registry; install it (apt-get install maven)"; exit 1; }
  command -v java >/dev/null || { say "Java 17+ is required to run the registry; install it (apt-get install openjdk-17-jre-headless)"; exit 1; }
  mkdir -p "$root/.cache/registry"
  # One build at a time (test files may start the registry concurrently).
  exec 9>"$root/.cache/registry/.lock"
  flock 9
  if [[ -f "$build_dir/.complete" ]]; then
    exec 9>&-
    return 0
  fi
  say "building Apicurio Registry $version from Maven Central into $build_dir (once; a few minutes the first time)"
  rm -rf "$build_dir"
  local log="$root/.cache/registry/build.log"
  if ! mvn -B -f "$here/pom.xml" -Dregistry.build.dir="$build_dir" package >"$log" 2>&1; then
    say "the build failed; last lines of $log:"
    tail -n 30 "$log" >&2
    exit 1
  fi
  touch "$build_dir/.complete"
  exec 9>&-
}

running_pid() {
  [[ -f "$dir/registry.pid" ]] || return 1
  local pid
  pid="$(cat "$dir/registry.pid")"
  if [[ -n "$pid" ]] && kill -0 "$pid" 2>/dev/null && grep -q "local-schema-registry" "/proc/$pid/cmdline" 2>/dev/null; then
    echo "$pid"
    return 0
  fi
  return 1
}

start() {
  if answers; then
    say "a registry already answers at $url; reusing it"
    return 0
  fi
  mkdir -p "$dir"
  exec 8>"$dir/.start-lock"
  flock 8
  if answers; then return 0; fi
  if ! running_pid >/dev/null; then
    fetch
    local heap="${REGISTRY_HEAP:-256m}"
    say "starting Apicurio Registry $version at $url (log: $dir/registry.log)"
    nohup java "-Xms$heap" "-Xmx$heap" -XX:+UseSerialGC -XX:TieredStopAtLevel=1 \
      -Dquarkus.http.host=127.0.0.1 -Dquarkus.http.port="$port" -Dquarkus.log.console.json=false \
      -jar "$jar" >>"$dir/registry.log" 2>&1 </dev/null 8>&- 9>&- &
    echo $! >"$dir/registry.pid"
  fi
  for _ in $(seq 1 240); do
    if answers; then
      say "registry ready at $url"
      return 0
    fi
    if ! running_pid >/dev/null; then
      say "the registry exited during start-up; last lines of $dir/registry.log:"
      tail -n 30 "$dir/registry.log" >&2
      rm -f "$dir/registry.pid"
      exit 1
    fi
    sleep 0.5
  done
  say "the registry did not answer within 120 s; see $dir/registry.log"
  exit 1
}

stop() {
  local pid
  if ! pid="$(running_pid)"; then
    rm -f "$dir/registry.pid"
    say "no registry started by this project is running"
    return 0
  fi
  kill -TERM "$pid"
  for _ in $(seq 1 40); do
    kill -0 "$pid" 2>/dev/null || { rm -f "$dir/registry.pid"; say "stopped"; return 0; }
    sleep 0.5
  done
  kill -KILL "$pid" 2>/dev/null || true
  rm -f "$dir/registry.pid"
  say "killed (it did not stop in 20 s)"
}

case "${1:-}" in
  fetch) fetch ;;
  start) start ;;
  stop) stop ;;
  status) if answers; then say "a registry answers at $url"; else exit 1; fi ;;
  url) echo "$url" ;;
  *) echo "usage: $0 fetch|start|stop|status|url" >&2; exit 2 ;;
esac
