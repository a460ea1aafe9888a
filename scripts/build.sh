#!/usr/bin/env bash
# The build: services/ compiled to JavaScript under dist/ (tsc with tsconfig.build.json; tests and
# benchmarks are not compiled), with what the compiled code reads beside it: the migrations and
# Avro schemas (dist/schemas) and the page (dist/services/api/web). Production and the image run
# dist/; tsx is for development, tests and benchmarks. Built into a fresh directory, then swapped in.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
rm -rf dist.new
npx tsc -p tsconfig.build.json --outDir dist.new
mkdir -p dist.new/schemas dist.new/services/api
cp -R schemas/clickhouse schemas/avro dist.new/schemas/
cp -R services/api/web dist.new/services/api/web
rm -rf dist
mv dist.new dist
echo "build: dist/ from $(find services -name '*.ts' ! -name '*.test.ts' | wc -l | tr -d ' ') TypeScript files"
