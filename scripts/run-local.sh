#!/usr/bin/env bash
# Runs the backend locally: Azurite (from package.json) plus the function app under Azure Functions Core Tools.
# Ctrl-C stops both.
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"

if ! command -v func >/dev/null 2>&1; then
  cat >&2 <<'MSG'
Azure Functions Core Tools 4 ('func') is not installed, and 'dotnet run --project Functions' needs it.
Install it, then run this script again:
  npm install --global azure-functions-core-tools@4
  (or see https://learn.microsoft.com/azure/azure-functions/functions-run-local#install-the-azure-functions-core-tools)
MSG
  exit 1
fi

if ! command -v node >/dev/null 2>&1; then
  echo "Node.js 20 or later is needed for the Azurite storage emulator." >&2
  exit 1
fi

if [ ! -d node_modules/azurite ]; then
  npm ci --no-audit --no-fund
fi

if [ ! -f local.settings.json ]; then
  cp local.settings.json.example local.settings.json
  echo "Created local.settings.json from local.settings.json.example."
fi

mkdir -p .azurite
node node_modules/azurite/dist/src/azurite.js \
  --location .azurite --silent --skipApiVersionCheck --disableTelemetry \
  --blobHost 127.0.0.1 --queueHost 127.0.0.1 --tableHost 127.0.0.1 &
azurite_pid=$!
trap 'kill "$azurite_pid" 2>/dev/null || true; wait "$azurite_pid" 2>/dev/null || true' EXIT INT TERM
echo "Azurite started (blob 10000, queue 10001, table 10002), data in .azurite/"

dotnet run --project Functions
