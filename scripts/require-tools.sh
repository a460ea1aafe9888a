#!/usr/bin/env bash
# Makes sure the named tools exist; installs the missing ones from Debian's packages when
# running as root on a Debian-like machine, otherwise says what to install.
set -euo pipefail
declare -A package=([node]=nodejs [java]=openjdk-17-jre-headless [mvn]=maven [chromium]=chromium)
missing=()
for tool in "$@"; do
  command -v "$tool" >/dev/null 2>&1 || missing+=("$tool")
done
[[ ${#missing[@]} -eq 0 ]] && exit 0
if [[ $(id -u) -eq 0 ]] && command -v apt-get >/dev/null 2>&1; then
  pkgs=()
  for tool in "${missing[@]}"; do pkgs+=("${package[$tool]}"); done
  echo "installing ${pkgs[*]} (missing: ${missing[*]})" >&2
  apt-get update -qq >/dev/null
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${pkgs[@]}" >/dev/null
else
  echo "missing: ${missing[*]}; please install them (Node.js 20+, Java 17+, Maven)" >&2
  exit 1
fi
