#!/usr/bin/env bash
# Runs the backend locally: Azurite (from package.json) plus the function app under Azure Functions Core Tools.
# Ctrl-C stops both.
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"

if ! command -v func >/dev/null 2>&1; then
  cat >&2 <<'MSG'
Azure Functions Core Tools 4 ('func') is not installed, and '# The development mail server (smtp4dev, a local dotnet tool): the app sends every mail to it over SMTP on port 2525
# (local.settings.json.example), and its web UI shows them, links included. Stopped with everything else.
start_smtp4dev() {
  dotnet tool restore >/dev/null
  dotnet tool run smtp4dev -- --smtpport=2525 --urls=http://127.0.0.1:5000 --db= --bindaddress=127.0.0.1 \
    --imapport=0 --pop3port=0 --hostname=localhost --tlsmode=None >/dev/null 2>&1 &
  smtp4dev_pid=$!
  # 'dotnet tool run' starts smtp4dev as its child: stop the child too.
  trap 'pkill -P "$smtp4dev_pid" 2>/dev/null || true; kill "$azurite_pid" "$smtp4dev_pid" 2>/dev/null || true; wait "$azurite_pid" "$smtp4dev_pid" 2>/dev/null || true' EXIT INT TERM
  echo "smtp4dev started: mails sent by the app appear at http://127.0.0.1:5000 (SMTP on 127.0.0.1:2525)"
}
start_smtp4dev

echo "API: http://localhost:7071/api   mail: http://127.0.0.1:5000"
dotnet run --project Functions' needs it.
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

# The development mail server (smtp4dev, a local dotnet tool): the app sends every mail to it over SMTP on port 2525
# (local.settings.json.example), and its web UI shows them, links included. Stopped with everything else.
start_smtp4dev() {
  dotnet tool restore >/dev/null
  dotnet tool run smtp4dev -- --smtpport=2525 --urls=http://127.0.0.1:5000 --db= --bindaddress=127.0.0.1 \
    --imapport=0 --pop3port=0 --hostname=localhost --tlsmode=None >/dev/null 2>&1 &
  smtp4dev_pid=$!
  # 'dotnet tool run' starts smtp4dev as its child: stop the child too.
  trap 'pkill -P "$smtp4dev_pid" 2>/dev/null || true; kill "$azurite_pid" "$smtp4dev_pid" 2>/dev/null || true; wait "$azurite_pid" "$smtp4dev_pid" 2>/dev/null || true' EXIT INT TERM
  echo "smtp4dev started: mails sent by the app appear at http://127.0.0.1:5000 (SMTP on 127.0.0.1:2525)"
}
start_smtp4dev

echo "API: http://localhost:7071/api   mail: http://127.0.0.1:5000"
dotnet run --project Functions
