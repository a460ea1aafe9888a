#!/usr/bin/env bash
# The project's Node: the version .nvmrc pins (the one place it is set; the Makefile, CI, the
# Dockerfile's check and the docs read it). The machine's own Node is used when it is that major
# line at that version or later; otherwise the pinned build of Node's own binaries, from the npm
# registry's node-linux-<arch> package, under .cache/node/<version> (nothing global changes).
#   node.sh bin      the directory to put first on PATH (empty when the machine's Node will do)
#   node.sh ensure   fetches the pinned Node unless the machine's will do; says which runs
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
want="$(tr -d '[:space:]v' <"$root/.nvmrc")"
home="$root/.cache/node/$want"
# PATH without the fetched Node (the Makefile puts it first): the machine's own is asked.
machine_path="${PATH//$home\/bin:/}"
machine_node() { PATH="$machine_path" command node "$@"; }

machine_will_do() {
  local have
  have="$(machine_node -p 'process.versions.node' 2>/dev/null)" || return 1
  [[ "${have%%.*}" == "${want%%.*}" ]] && [[ "$(printf '%s\n%s\n' "$want" "$have" | sort -V | head -1)" == "$want" ]]
}

case "${1:-}" in
  bin)
    machine_will_do || echo "$home/bin"
    ;;
  ensure)
    if machine_will_do; then
      echo "node: the machine's $(machine_node --version) (.nvmrc pins $want)" >&2
      exit 0
    fi
    if [[ ! -x "$home/bin/node" ]]; then
      case "$(uname -m)" in
        x86_64) arch=x64 ;;
        aarch64 | arm64) arch=arm64 ;;
        *) echo "node: no Node build for $(uname -m); install Node $want yourself" >&2; exit 1 ;;
      esac
      command -v npm >/dev/null || bash "$root/scripts/require-tools.sh" node
      echo "node: fetching Node $want (npm package node-linux-$arch@$want) into $home" >&2
      tmp="$(mktemp -d)"
      trap 'rm -rf "$tmp"' EXIT
      (cd "$tmp" && npm pack --silent "node-linux-$arch@$want" >/dev/null && tar xzf node-linux-*.tgz)
      mkdir -p "$(dirname "$home")"
      rm -rf "$home" && mv "$tmp/package" "$home"
    fi
    echo "node: $("$home/bin/node" --version) from $home (.nvmrc; the machine has $(machine_node --version 2>/dev/null || echo none))" >&2
    ;;
  *)
    echo "usage: node.sh bin|ensure" >&2
    exit 2
    ;;
esac
