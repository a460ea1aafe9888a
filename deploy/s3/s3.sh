#!/usr/bin/env bash
# A local S3-compatible server (SeaweedFS, built from the Go module proxy) for the download tests.
#   s3.sh install   build the pinned SeaweedFS `weed` binary once (cached under .cache/seaweedfs/<version>)
#   s3.sh start     start it on loopback unless it already answers; wait until S3 answers
#   s3.sh stop      stop the server this script started
#   s3.sh status    say whether S3 answers on S3_PORT
# Environment: S3_PORT (18333; the master, volume and filer use 18334-18336 and their +10000 gRPC
# ports), DATA_DIR (./data; the server keeps its files under DATA_DIR/s3), S3_ACCESS_KEY and
# S3_SECRET_KEY (the one identity the server accepts; test defaults).
# The first install downloads the module and its dependencies and compiles them (see docs/api.md, "Downloads with replicas").
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/../.." && pwd)"
version="v0.0.0-20261109003541-7506e5f91cd6"
module="github.com/seaweedfs/seaweedfs"
bin_dir="$root/.cache/seaweedfs/$version"
weed="$bin_dir/weed"
port="${S3_PORT:-18333}"
data_dir="${DATA_DIR:-$root/data}"
mkdir -p "$data_dir"
data_dir="$(cd "$data_dir" && pwd)/s3"
pid_file="$data_dir/weed.pid"
access_key="${S3_ACCESS_KEY:-sending-metrics-test}"
secret_key="${S3_SECRET_KEY:-sending-metrics-test-secret}"

say() { echo "s3: $*" >&2; }

answers() { node -e '
  const net = require("node:net");
  const s = net.connect(Number(process.argv[1]), "127.0.0.1");
  s.setTimeout(2000, () => process.exit(1));
  s.on("connect", () => { s.end(); process.exit(0); });
  s.on("error", () => process.exit(1));
' "$port"; }

install() {
  if [[ -x "$weed" ]]; then return 0; fi
  command -v go >/dev/null || { say "Go 1.24+ is required to build SeaweedFS from the Go module proxy; install it"; exit 1; }
  say "building SeaweedFS $version from the Go module proxy into $weed (first time only; a few minutes)"
  local started=$SECONDS dir work="$root/.cache/seaweedfs/src-$version"
  # `go install module/weed@version` is refused for this module (its go.mod has replace directives),
  # so the module's source is downloaded from the proxy and built in a copy of it.
  dir="$(GOFLAGS=-mod=mod go mod download -json "$module@$version" | node -e 'let s="";process.stdin.on("data",d=>s+=d).on("end",()=>console.log(JSON.parse(s).Dir))')"
  rm -rf "$work"
  mkdir -p "$work"
  cp -r "$dir/." "$work/"
  chmod -R u+w "$work"
  mkdir -p "$bin_dir"
  (cd "$work" && go build -o "$weed.tmp" ./weed)
  mv "$weed.tmp" "$weed"
  rm -rf "$work"
  say "built in $((SECONDS - started)) s"
}

start() {
  if answers; then say "S3 already answers on 127.0.0.1:$port"; return 0; fi
  install
  mkdir -p "$data_dir/data"
  cat >"$data_dir/s3.json" <<JSON
{"identities":[{"name":"test","credentials":[{"accessKey":"$access_key","secretKey":"$secret_key"}],"actions":["Admin","Read","Write","List","Tagging"]}]}
JSON
  local base=$((port + 1))
  # 9>&-: the server must not inherit the lock's descriptor, or it would hold the lock for good
  # and every later start would wait on it.
  nohup "$weed" server -ip=127.0.0.1 -ip.bind=127.0.0.1 -dir="$data_dir/data" \
    -master.port=$base -master.volumeSizeLimitMB=64 -volume.port=$((base + 1)) -volume.max=100 \
    -filer -filer.port=$((base + 2)) -s3 -s3.port="$port" -s3.config="$data_dir/s3.json" \
    >"$data_dir/weed.log" 2>&1 9>&- &
  echo $! >"$pid_file"
  for _ in $(seq 1 120); do
    if answers; then say "SeaweedFS S3 at http://127.0.0.1:$port (log: $data_dir/weed.log)"; return 0; fi
    kill -0 "$(cat "$pid_file")" 2>/dev/null || { say "SeaweedFS exited; see $data_dir/weed.log"; tail -20 "$data_dir/weed.log" >&2; exit 1; }
    sleep 0.5
  done
  say "SeaweedFS did not answer on $port within 60 s; see $data_dir/weed.log"
  exit 1
}

stop() {
  [[ -f "$pid_file" ]] || return 0
  local pid
  pid="$(cat "$pid_file")"
  if kill -0 "$pid" 2>/dev/null; then
    kill "$pid"
    for _ in $(seq 1 40); do kill -0 "$pid" 2>/dev/null || break; sleep 0.25; done
    kill -0 "$pid" 2>/dev/null && kill -9 "$pid"
  fi
  rm -f "$pid_file"
  say "stopped"
}

# One install or start at a time (test files may start it together).
lock() {
  mkdir -p "$root/.cache"
  exec 9>"$root/.cache/seaweedfs.lock"
  flock 9
}

case "${1:-}" in
  install) lock; install ;;
  start) lock; start ;;
  stop) stop ;;
  status) if answers; then say "answers on 127.0.0.1:$port"; else say "nothing answers on 127.0.0.1:$port"; exit 1; fi ;;
  *) echo "usage: s3.sh install|start|stop|status" >&2; exit 2 ;;
esac
