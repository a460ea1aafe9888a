#!/usr/bin/env bash
# `make test-deploy`: the deployment files checked without Docker or a cluster, all offline
# once scripts/deploy-tools.sh has installed the tools (from the package registries).
#   Dockerfile   hadolint, checkov (dockerfile)
#   Helm chart   helm lint --strict; helm template (defaults, and with the ServiceMonitor);
#                kubernetes-validate --strict against Kubernetes 1.31's schemas; checkov
#                (kubernetes) with deploy/policy/checkov.yaml; the ConfigMap's variables are
#                in docs/configuration.md
#   Compose      the Compose Specification's schema, policy and shape (deploy/policy/compose_policy.py)
#   all          checkov's secret scan over deploy/
# Then it breaks a copy of each on purpose (a writable root filesystem in the chart, a field of
# the wrong type, no USER in the Dockerfile, a writable application container in Compose) and
# requires every one of those checks to fail. Ends with "test-deploy: N passed, N failed".
set -uo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
tools="$(bash scripts/deploy-tools.sh | tail -1)" || { echo "test-deploy: could not install the tools"; echo "test-deploy: 0 passed, 1 failed"; exit 1; }
venv="$tools/venv/bin"
helm="$tools/bin/helm"
KUBE_VERSION=1.31.0
# checkov offline: no guideline look-ups, no upload.
export BC_SKIP_MAPPING=TRUE CHECKOV_SKIP_UPDATE_CHECK=TRUE
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
passed=0
failed=0
log="$work/log"

# check NAME COMMAND...: the command must succeed.
check() {
  local name="$1"; shift
  if "$@" >"$log" 2>&1; then
    passed=$((passed + 1)); echo "ok    $name"
  else
    failed=$((failed + 1)); echo "FAIL  $name"; sed 's/^/      /' "$log" | tail -40
  fi
}
# must_fail NAME COMMAND...: the command must fail (a broken file must be caught).
must_fail() {
  local name="$1"; shift
  if "$@" >"$log" 2>&1; then
    failed=$((failed + 1)); echo "FAIL  $name (the broken file passed)"; sed 's/^/      /' "$log" | tail -20
  else
    passed=$((passed + 1)); echo "ok    $name (caught: $(grep -m1 -E 'Check: |ERROR|Error|error|DL[0-9]|compose policy|fail' "$log" | sed 's/^[[:space:]]*//' | cut -c1-110))"
  fi
}

hadolint_file() { "$venv/hadolint" --failure-threshold warning "$1"; }
checkov_dockerfile() { "$venv/checkov" --config-file deploy/policy/checkov.yaml --framework dockerfile -f "$1"; }
render() { # render CHART OUT [--set ...]
  local chart="$1" out="$2"; shift 2
  mkdir -p "$out" && "$helm" template sm "$chart" --namespace sending-metrics --kube-version "$KUBE_VERSION" "$@" > "$out/rendered.yaml"
}
lint_chart() { "$helm" lint --strict "$1" --kube-version "$KUBE_VERSION"; }
validate_rendered() { "$venv/kubernetes-validate" --strict --quiet -k "$KUBE_VERSION" "$1/rendered.yaml"; }
checkov_rendered() { "$venv/checkov" --config-file deploy/policy/checkov.yaml --framework kubernetes -d "$1"; }
# The image's policy: every base is node:<the version .nvmrc pins>-…, and only the build stage sees
# TypeScript (no `services` or *.ts copied into a stage the images are made of, no tsx at run time).
dockerfile_policy() {
  "$venv/python" - "$1" "$(tr -d '[:space:]v' < .nvmrc)" <<'PY'
import re, sys
text = open(sys.argv[1], encoding="utf-8").read()
want = sys.argv[2]
problems = []
stage = None
for number, line in enumerate(text.splitlines(), 1):
    words = line.split()
    if not words or words[0].startswith("#"):
        continue
    if words[0].upper() == "FROM":
        image = words[1]
        stage = words[3] if len(words) > 3 and words[2].upper() == "AS" else None
        if image.startswith("node:") and not image.startswith(f"node:{want}-"):
            problems.append(f"line {number}: base {image} is not node:{want}-… (.nvmrc)")
        continue
    if stage == "build":
        continue
    if words[0].upper() in ("COPY", "ADD") and not any(w.startswith("--from=") for w in words):
        sources = [w for w in words[1:-1] if not w.startswith("--")]
        if any(re.search(r"(^|/)services(/|$)|\.ts$|tsconfig", w) for w in sources):
            problems.append(f"line {number}: copies TypeScript sources outside the build stage: {line.strip()}")
    if re.search(r"\btsx\b", line) and words[0].upper() in ("ENTRYPOINT", "CMD", "RUN", "ENV"):
        problems.append(f"line {number}: runs tsx: {line.strip()}")
print("\n".join(problems) or f"dockerfile policy: node {want} everywhere, TypeScript only in the build stage")
sys.exit(1 if problems else 0)
PY
}
compose_policy() { "$venv/python" deploy/policy/compose_policy.py "$1" "$tools/compose-spec.json" docs/configuration.md; }
config_documented() { # every ConfigMap variable is one docs/configuration.md documents
  "$venv/python" - "$1/rendered.yaml" docs/configuration.md <<'PY'
import re, sys, yaml
documented = set()
for line in open(sys.argv[2], encoding="utf-8"):
    if line.startswith("| `"):
        documented.update(re.findall(r"`([A-Z][A-Z0-9_]+)`", line.split("|")[1]))
missing = [k for d in yaml.safe_load_all(open(sys.argv[1])) if d and d.get("kind") == "ConfigMap" for k in d.get("data", {}) if k not in documented]
print("\n".join(f"ConfigMap variable {k} is not in docs/configuration.md" for k in missing) or "every ConfigMap variable is documented")
sys.exit(1 if missing else 0)
PY
}

chart=deploy/helm/sending-metrics
started=$SECONDS
echo "test-deploy: tools in $tools"
check "hadolint Dockerfile" hadolint_file Dockerfile
check "checkov Dockerfile" checkov_dockerfile Dockerfile
check "Dockerfile policy: the pinned Node, compiled JavaScript only" dockerfile_policy Dockerfile
check "helm lint --strict" lint_chart "$chart"
check "helm template (default values)" render "$chart" "$work/default"
check "helm template (ServiceMonitor, PVC for downloads, no HPA)" render "$chart" "$work/full" \
  --set serviceMonitor.enabled=true --set api.downloadsClaim=downloads --set api.autoscaling.enabled=false
must_fail "helm template refuses more ingest replicas than partitions" render "$chart" "$work/too-many" --set ingest.replicas=7
echo '{"acme":{"twilioAuthToken":"example-only"}}' > "$work/webhook-secrets.json"
check "helm template (downloads in S3 with keys from the Secret, a pod role annotation, webhook secrets)" render "$chart" "$work/s3" \
  --set config.DOWNLOADS_URL=s3://downloads/files --set secrets.awsAccessKeyId=AKIAEXAMPLE --set secrets.awsSecretAccessKey=example-only \
  --set-string 'serviceAccount.annotations.eks\.amazonaws\.com/role-arn=arn:aws:iam::123456789012:role/downloads' \
  --set-file secrets.webhookSecrets="$work/webhook-secrets.json"
s3_rendered() {
  grep -q 'DOWNLOADS_URL: "s3://downloads/files"' "$1" && grep -q 'AWS_SECRET_ACCESS_KEY: "example-only"' "$1" &&
    [[ "$(grep -c 'key: AWS_SECRET_ACCESS_KEY' "$1")" -ge 4 ]] && grep -q 'eks.amazonaws.com/role-arn: arn:aws:iam' "$1" &&
    grep -q 'WEBHOOK_SECRETS: ' "$1" && [[ "$(grep -c 'key: WEBHOOK_SECRETS' "$1")" -ge 4 ]]
}
check "the S3 rendering carries the bucket, the keys (Secret, every role's env), the annotation and the webhook secrets" s3_rendered "$work/s3/rendered.yaml"
must_fail "helm template refuses one AWS key without the other" render "$chart" "$work/one-key" --set secrets.awsAccessKeyId=AKIAEXAMPLE
for variant in default full s3; do
  check "kubernetes-validate --strict ($variant)" validate_rendered "$work/$variant"
  check "checkov kubernetes ($variant)" checkov_rendered "$work/$variant"
done
check "ConfigMap variables are in docs/configuration.md" config_documented "$work/full"
check "compose: schema, policy, shape" compose_policy deploy/compose/compose.yaml
check "checkov secret scan of deploy/" "$venv/checkov" --framework secrets --compact --quiet -d deploy --skip-path compose/secrets

# The same checks must catch deliberately broken copies.
broken="$work/broken"
mkdir -p "$broken"
cp -r "$chart" "$broken/chart-writable"
sed -i 's/readOnlyRootFilesystem: true/readOnlyRootFilesystem: false/' "$broken/chart-writable/values.yaml"
render "$broken/chart-writable" "$broken/writable" >/dev/null 2>&1
must_fail "broken chart: writable root filesystem -> checkov" checkov_rendered "$broken/writable"
cp -r "$chart" "$broken/chart-type"
sed -i 's/containerPort: 8080/containerPort: "eight-thousand"/' "$broken/chart-type/templates/api.yaml"
render "$broken/chart-type" "$broken/type" >/dev/null 2>&1
must_fail "broken chart: containerPort of the wrong type -> kubernetes-validate" validate_rendered "$broken/type"
cp -r "$chart" "$broken/chart-yaml"
printf 'apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: x\n   data: {}\n' > "$broken/chart-yaml/templates/broken.yaml"
must_fail "broken chart: malformed YAML -> helm lint" lint_chart "$broken/chart-yaml"
grep -v '^USER ' Dockerfile > "$broken/Dockerfile"
must_fail "broken Dockerfile: no USER -> checkov" checkov_dockerfile "$broken/Dockerfile"
sed "s/^FROM node:$(cat .nvmrc)-bookworm-slim AS runtime/FROM node:latest AS runtime/" Dockerfile > "$broken/Dockerfile.latest"
must_fail "broken Dockerfile: unpinned base -> hadolint" hadolint_file "$broken/Dockerfile.latest"
sed "s/^FROM node:$(cat .nvmrc)-bookworm-slim AS runtime/FROM node:20.20.2-bookworm-slim AS runtime/" Dockerfile > "$broken/Dockerfile.node20"
must_fail "broken Dockerfile: a Node 20 base -> Dockerfile policy" dockerfile_policy "$broken/Dockerfile.node20"
sed 's|^COPY bin ./bin$|COPY bin ./bin\nCOPY services ./services|' Dockerfile > "$broken/Dockerfile.sources"
must_fail "broken Dockerfile: TypeScript sources in the image -> Dockerfile policy" dockerfile_policy "$broken/Dockerfile.sources"
cp -r deploy/compose "$broken/compose"
sed -i 's/^  read_only: true$/  read_only: false/' "$broken/compose/compose.yaml"
must_fail "broken compose: writable application containers -> compose policy" compose_policy "$broken/compose/compose.yaml"
cp -r deploy/compose "$broken/compose-schema"
sed -i 's/^    restart: .no.$/    restart: never-ever/; s/^  restart: unless-stopped$/  restart: 42x/' "$broken/compose-schema/compose.yaml"
sed -i '0,/^    hostname: kafka-1$/s//    hostname: kafka-1\n    ports: {oops: true}/' "$broken/compose-schema/compose.yaml"
must_fail "broken compose: invalid field -> Compose schema" compose_policy "$broken/compose-schema/compose.yaml"
cp -r deploy/compose "$broken/compose-disk"
sed -i '/^    DOWNLOADS_URL: /d' "$broken/compose-disk/compose.yaml"
must_fail "broken compose: API replicas without a shared bucket -> compose policy" compose_policy "$broken/compose-disk/compose.yaml"

echo "test-deploy: $((SECONDS - started)) s"
echo "test-deploy: $passed passed, $failed failed"
[[ $failed -eq 0 ]]
