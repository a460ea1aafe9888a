#!/usr/bin/env bash
# Runs a command with a Kafka broker: KAFKA_BROKERS if set, else the local broker, which is
# started for the command and stopped afterwards if this script started it.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
started=0
if [[ -z "${KAFKA_BROKERS:-}" ]]; then
  if ! bash "$here/deploy/kafka/kafka.sh" status 2>/dev/null; then
    bash "$here/deploy/kafka/kafka.sh" start
    started=1
  fi
fi
code=0
"$@" || code=$?
if [[ $started -eq 1 ]]; then bash "$here/deploy/kafka/kafka.sh" stop; fi
exit $code
