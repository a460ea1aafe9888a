"""Static checks of deploy/compose/compose.yaml (run by scripts/test-deploy.sh, offline).

1. The file is valid against the Compose Specification's JSON schema (from compose-go).
2. Policy: every image pinned to a version (no `latest`, no bare name); every service with
   no-new-privileges; the application's services read-only, all capabilities dropped, secrets
   only through Compose secrets (no literal secret in an environment); each application variable
   is one docs/configuration.md documents.
3. Shape (issue 15): three KRaft brokers of apache/kafka voting for each other, two ClickHouse
   replicas and a Keeper of the official images, ingest x2 with distinct INGEST_INSTANCE_IDs,
   API x2 (with the download role, files in a shared s3:// bucket) behind one gateway naming
   both, alerts, and a one-shot migration every application process waits for.
Usage: python compose_policy.py COMPOSE_FILE SCHEMA_JSON CONFIGURATION_MD (docs/configuration.md)
Prints one line per problem and exits 1 if there is any.
"""
import json
import re
import sys

import jsonschema
import yaml

compose_path, schema_path, readme_path = sys.argv[1:4]
with open(compose_path, encoding="utf-8") as f:
    compose = yaml.safe_load(f)
with open(schema_path, encoding="utf-8") as f:
    schema = json.load(f)
with open(readme_path, encoding="utf-8") as f:
    documented = set(re.findall(r"^\|\s*`([A-Z][A-Z0-9_]+)`", f.read(), re.M))
    # Rows naming two variables: "| `A`, `B` |".
with open(readme_path, encoding="utf-8") as f:
    for line in f:
        if line.startswith("| `"):
            documented.update(re.findall(r"`([A-Z][A-Z0-9_]+)`", line.split("|")[1]))

problems = []
validator = jsonschema.Draft202012Validator(schema) if "2020-12" in schema.get("$schema", "") else jsonschema.Draft7Validator(schema)
for error in sorted(validator.iter_errors(compose), key=lambda e: list(e.path)):
    problems.append(f"schema: {'/'.join(map(str, error.path)) or '(top)'}: {error.message}")

services = compose.get("services") or {}
APP_ONLY = {"CLICKHOUSE_HOST"}  # read by the Compose entrypoint line, not by the application
SECRET_NAMES = re.compile(r"SECRET|PASSWORD|TOKEN|CLICKHOUSE_URL", re.I)


def env_of(service):
    env = service.get("environment") or {}
    if isinstance(env, list):
        env = dict(item.split("=", 1) if "=" in item else (item, None) for item in env)
    return env


def is_app(service):
    return isinstance(service.get("build"), dict) or "sending-metrics" in str(service.get("image", ""))


for name, service in services.items():
    image = str(service.get("image", ""))
    if image and not is_app(service):
        tag = image.split("/")[-1].split("@")[0]
        if ":" not in tag or tag.endswith(":latest"):
            problems.append(f"{name}: image {image!r} is not pinned to a version")
    if "no-new-privileges:true" not in (service.get("security_opt") or []):
        problems.append(f"{name}: no security_opt no-new-privileges:true")
    env = env_of(service)
    for key, value in env.items():
        if SECRET_NAMES.search(key) and value not in (None, "") and not str(value).startswith("${"):
            problems.append(f"{name}: {key} is given as a literal; secrets come from Compose secrets")
    if is_app(service):
        if service.get("read_only") is not True:
            problems.append(f"{name}: the application's root filesystem is not read_only")
        if "ALL" not in (service.get("cap_drop") or []):
            problems.append(f"{name}: capabilities are not all dropped (cap_drop: [ALL])")
        for key in env:
            if key not in documented and key not in APP_ONLY:
                problems.append(f"{name}: environment variable {key} is not in docs/configuration.md")

# Shape.
def by_image(prefix):
    return {n: s for n, s in services.items() if str(s.get("image", "")).startswith(prefix)}


kafka = by_image("apache/kafka:")
if len(kafka) != 3:
    problems.append(f"shape: {len(kafka)} apache/kafka brokers, expected 3")
ids = set()
for name, service in kafka.items():
    env = env_of(service)
    if "broker" not in str(env.get("KAFKA_PROCESS_ROLES", "")) or "controller" not in str(env.get("KAFKA_PROCESS_ROLES", "")):
        problems.append(f"{name}: not a KRaft broker+controller")
    ids.add(str(env.get("KAFKA_NODE_ID")))
    voters = str(env.get("KAFKA_CONTROLLER_QUORUM_VOTERS", ""))
    for other in kafka:
        if f"@{other}:" not in voters:
            problems.append(f"{name}: controller quorum voters lack {other}")
if len(ids) != len(kafka):
    problems.append("shape: the brokers' KAFKA_NODE_IDs are not distinct")
if len(by_image("clickhouse/clickhouse-server:")) != 2:
    problems.append("shape: expected two clickhouse/clickhouse-server replicas")
if len(by_image("clickhouse/clickhouse-keeper:")) < 1:
    problems.append("shape: no clickhouse/clickhouse-keeper")


def command_of(service):
    return " ".join(map(str, service.get("command") or []))


apps = {n: s for n, s in services.items() if is_app(s)}
ingest = {n: s for n, s in apps.items() if command_of(s) == "run --role ingest"}
api = {n: s for n, s in apps.items() if command_of(s) == "run --role api,downloads"}
alerts = {n: s for n, s in apps.items() if command_of(s) == "run --role alerts"}
migrate = {n: s for n, s in apps.items() if command_of(s) == "migrate"}
if len(ingest) != 2:
    problems.append(f"shape: {len(ingest)} ingest services, expected 2")
if len({env_of(s).get("INGEST_INSTANCE_ID") for s in ingest.values()} - {None}) != len(ingest):
    problems.append("shape: the ingest services need distinct INGEST_INSTANCE_IDs")
if len(api) != 2:
    problems.append(f"shape: {len(api)} api services (run --role api,downloads), expected 2")
for name, service in api.items():
    # Files written by one replica and served by the other: a shared object store, not a disk.
    if not str(env_of(service).get("DOWNLOADS_URL", "")).startswith("s3://"):
        problems.append(f"{name}: DOWNLOADS_URL is not an s3:// bucket every replica shares")
if len(alerts) < 1:
    problems.append("shape: no alerts service")
if len(migrate) != 1:
    problems.append("shape: expected one migrate job")
else:
    (job_name, job), = migrate.items()
    if str(job.get("restart", "")) != "no":
        problems.append(f"{job_name}: a one-shot job must not restart")
    for name, service in {**ingest, **api, **alerts}.items():
        condition = ((service.get("depends_on") or {}).get(job_name) or {}).get("condition")
        if condition != "service_completed_successfully":
            problems.append(f"{name}: does not wait for {job_name} to complete")
gateways = [n for n, s in services.items() if "nginx" in str(s.get("image", "")) or "traefik" in str(s.get("image", ""))]
if len(gateways) != 1 or not services[gateways[0]].get("ports"):
    problems.append("shape: expected one gateway publishing the API's port")

for problem in problems:
    print(f"compose policy: {compose_path}: {problem}")
if problems:
    sys.exit(1)
print(f"compose policy: {compose_path}: schema valid, {len(services)} services, policy and shape hold")
