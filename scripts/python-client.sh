#!/usr/bin/env bash
# Confluent's Python client for the tests that produce as a Python service would: a venv under
# .cache/python/<version> (never the system's Python) with the confluent-kafka wheel (librdkafka
# bundled) and what its Avro and JSON Schema serializers need. Idempotent: a finished venv is
# reused; a concurrent run waits for the first one. Prints the venv's python on stdout.
# Needs python3 (3.9+) with venv; the packages come from PyPI through pip.
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
version="2.16.1"
venv="$root/.cache/python/confluent-kafka-$version"
say() { echo "python-client: $*" >&2; }

# A venv whose interpreter went away (python3 upgraded or removed) is built again.
usable() { [[ -f "$venv/.complete" ]] && "$venv/bin/python" -c 'import confluent_kafka' 2>/dev/null; }

if ! usable; then
  command -v python3 >/dev/null || { say "python3 is required (with its venv module)"; exit 1; }
  mkdir -p "$root/.cache/python"
  exec 9>"$root/.cache/python/.lock"
  flock 9
  if ! usable; then
    say "installing confluent-kafka $version and its serializer extras into $venv (once)"
    rm -rf "$venv"
    python3 -m venv "$venv"
    log="$root/.cache/python/install.log"
    if ! "$venv/bin/python" -m pip install --disable-pip-version-check --no-input -q \
      "confluent-kafka[avro,json,schemaregistry]==$version" >"$log" 2>&1; then
      say "pip could not install confluent-kafka $version; last lines of $log:"
      tail -n 20 "$log" >&2
      exit 1
    fi
    touch "$venv/.complete"
  fi
  exec 9>&-
fi
echo "$venv/bin/python"
