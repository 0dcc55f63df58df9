#!/usr/bin/env bash
# Runs the whole product locally: Azurite (blob, queue, table), the local services, the function app under Azure
# Functions Core Tools, and the page (web/) on an origin that Host.CORS allows. Prints every URL once it answers;
# Ctrl-C stops all of it.
#
#   ./scripts/run-local.sh           run everything
#   ./scripts/run-local.sh --check   everything up to the host start, without Core Tools: start Azurite, the local
#                                    services and the page server, check that each answers, stop them (nothing is left
#                                    running), and check the build output the host would start from. CI runs this.
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"

mode=run
case "${1:-}" in
  "") ;;
  --check) mode=check ;;
  -h | --help) sed -n '2,9p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
  *) echo "Unknown option '$1'. Usage: $0 [--check]" >&2; exit 2 ;;
esac

# The build output Core Tools starts in (dotnet run runs `func host start` there).
output="Functions/bin/Debug/net10.0"
# Ports: Azurite's defaults (what UseDevelopmentStorage=true means), the page on an origin that Host.CORS in
# local.settings.json.example allows, and LocalHttpPort from the same file.
web_port=5173
api_url="http://localhost:7071/api"

# ── Tools ────────────────────────────────────────────────────────────────────────────────────────────────────────────
if ! command -v node >/dev/null 2>&1 || ! command -v npm >/dev/null 2>&1; then
  echo "Node.js 20 or later (with npm) is needed for Azurite and the page server: https://nodejs.org" >&2
  exit 1
fi

if [ ! -x node_modules/.bin/azurite ] || [ ! -x node_modules/.bin/http-server ]; then
  npm ci --no-audit --no-fund
fi

# Core Tools: the copy package.json pins (an optional dependency: its install step downloads the host, and npm skips
# it where that is impossible), else a global `func`, else stop with the install hint.
func_from=""
if [ -x node_modules/.bin/func ] && node_modules/.bin/func --version >/dev/null 2>&1; then
  func_from="node_modules/.bin/func ($(node_modules/.bin/func --version 2>/dev/null))"
  export PATH="$root/node_modules/.bin:$PATH" # so that `dotnet run` finds this func
elif command -v func >/dev/null 2>&1; then
  func_from="$(command -v func) ($(func --version 2>/dev/null || echo "version unknown"))"
fi

if [ -z "$func_from" ] && [ "$mode" = run ]; then
  cat >&2 <<'MSG'
Azure Functions Core Tools 4 ('func') is not installed, and 'dotnet run --project Functions' needs it.
'npm ci' installs it into node_modules when its download from the Core Tools CDN works (Node.js 22 or later);
here it did not. Install it globally, then run this script again:
  npm install --global azure-functions-core-tools@4
  (or see https://learn.microsoft.com/azure/azure-functions/functions-run-local#install-the-azure-functions-core-tools)
'./scripts/run-local.sh --check' runs everything else without it.
MSG
  exit 1
fi

echo "Core Tools: ${func_from:-not installed (not needed for --check)}"

if [ ! -f local.settings.json ]; then
  cp local.settings.json.example local.settings.json
  echo "Created local.settings.json from local.settings.json.example."
fi

# ── Processes ────────────────────────────────────────────────────────────────────────────────────────────────────────
# Every service runs as a background job in a process group of its own, so stopping one stops all of its children too
# (dotnet run -> func -> the worker). Job control is on only while starting one: the script's own foreground commands
# stay in the terminal's process group, so Ctrl-C reaches the script and its trap.
groups=()
names=()

stop_all() {
  local pgid i
  trap - EXIT INT TERM
  for pgid in "${groups[@]}"; do kill -TERM -- "-$pgid" 2>/dev/null || true; done
  for _ in $(seq 1 50); do
    local alive=0
    for pgid in "${groups[@]}"; do kill -0 -- "-$pgid" 2>/dev/null && alive=1; done
    [ "$alive" -eq 0 ] && break
    sleep 0.2
  done
  for i in "${!groups[@]}"; do
    if kill -0 -- "-${groups[$i]}" 2>/dev/null; then
      echo "${names[$i]} did not stop within 10 s; killing it." >&2
      kill -KILL -- "-${groups[$i]}" 2>/dev/null || true
    fi
  done
  wait 2>/dev/null || true
}
trap 'stop_all' EXIT
trap 'echo; echo "Stopping…"; exit 130' INT
trap 'exit 143' TERM

port_in_use() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

# start_service NAME PORT... -- COMMAND...: refuses ports already taken, then starts COMMAND as its own process group.
start_service() {
  local name="$1" port
  shift
  while [ "$1" != "--" ]; do
    port="$1"
    shift
    if port_in_use "$port"; then
      echo "Port $port, needed by $name, is already in use (another run of this script, or an Azurite of your own?). Stop that first." >&2
      exit 1
    fi
  done
  shift
  set -m
  "$@" &
  groups+=("$!")
  set +m
  names+=("$name")
}

# wait_for NAME URL [SECONDS]: until URL gives any HTTP answer; fails early if the service whose name NAME starts with
# ("Azurite" for "Azurite blob") has ended.
wait_for() {
  local name="$1" url="$2" seconds="${3:-60}" i pgid=""
  for i in "${!names[@]}"; do
    case "$name" in "${names[$i]}"*) pgid="${groups[$i]}" ;; esac
  done
  local deadline=$((SECONDS + seconds))
  until node -e 'fetch(process.argv[1], { signal: AbortSignal.timeout(2000) }).then(() => process.exit(0), () => process.exit(1))' "$url"; do
    if [ -n "$pgid" ] && ! kill -0 -- "-$pgid" 2>/dev/null; then
      echo "$name stopped before it answered at $url." >&2
      exit 1
    fi
    if [ "$SECONDS" -ge "$deadline" ]; then
      echo "$name did not answer at $url within $seconds s." >&2
      exit 1
    fi
    sleep 0.5
  done
  printf '  %-28s %s\n' "$name" "$url"
}

# ── Storage ──────────────────────────────────────────────────────────────────────────────────────────────────────────
# Blob and queue for the Functions host itself (AzureWebJobsStorage: leases, timer and queue triggers), table for the
# app's data (Tables). Data stays in .azurite/ between runs; Azurite's own messages go to .azurite/azurite.log.
start_azurite() {
  mkdir -p .azurite
  start_service "Azurite" 10000 10001 10002 -- \
    node_modules/.bin/azurite --location .azurite --silent --skipApiVersionCheck --disableTelemetry \
    --blobHost 127.0.0.1 --queueHost 127.0.0.1 --tableHost 127.0.0.1 >.azurite/azurite.log 2>&1
}

# ── Local services ───────────────────────────────────────────────────────────────────────────────────────────────────
# Services the product needs besides storage (e.g. the development mail server). Add each as one start_service line
# here and one wait_for line in wait_for_local_services; --check then proves it too.
# smtp4dev (a local dotnet tool, .config/dotnet-tools.json): the app sends every mail to it over SMTP on port 2525
# (local.settings.json.example), and its web UI on port 5000 shows them, links included. Its log: .azurite/smtp4dev.log.
start_local_services() {
  dotnet tool restore >/dev/null
  start_service "smtp4dev" 2525 5000 -- dotnet tool run smtp4dev -- --smtpport=2525 --urls=http://127.0.0.1:5000 --db= --bindaddress=127.0.0.1 --imapport=0 --pop3port=0 --hostname=localhost --tlsmode=None >.azurite/smtp4dev.log 2>&1
}

wait_for_local_services() {
  wait_for "smtp4dev (mails sent)" "http://127.0.0.1:5000/"
}

# ── The page ─────────────────────────────────────────────────────────────────────────────────────────────────────────
# http-server (pinned in package.json), no caching, so an edit in web/ shows on reload.
start_web() {
  start_service "Page server" "$web_port" -- \
    env NODE_NO_WARNINGS=1 node_modules/.bin/http-server web -a 127.0.0.1 -p "$web_port" -c-1 --silent
}

# ── Run ──────────────────────────────────────────────────────────────────────────────────────────────────────────────
if [ "$mode" = check ]; then
  echo "== build the function app"
  dotnet build Functions -c Debug --nologo -v quiet
  for file in functions.metadata host.json local.settings.json; do
    if [ ! -s "$output/$file" ]; then
      echo "The build output has no $output/$file: Core Tools could not start the app." >&2
      exit 1
    fi
  done
  echo "  $output has functions.metadata, host.json and local.settings.json"
fi

start_azurite
start_local_services
start_web
echo "Waiting for the local services:"
wait_for "Azurite blob" "http://127.0.0.1:10000/devstoreaccount1?comp=list"
wait_for "Azurite queue" "http://127.0.0.1:10001/devstoreaccount1?comp=list"
wait_for "Azurite table" "http://127.0.0.1:10002/devstoreaccount1/Tables"
wait_for_local_services
wait_for "Page server" "http://127.0.0.1:$web_port/"

if [ "$mode" = check ]; then
  echo "== stop everything"
  pgids=("${groups[@]}")
  stop_all
  left=0
  for pgid in "${pgids[@]}"; do
    if kill -0 -- "-$pgid" 2>/dev/null; then
      echo "Process group $pgid is still running after the stop." >&2
      left=1
    fi
  done
  for port in 10000 10001 10002 2525 5000 "$web_port"; do
    if port_in_use "$port"; then
      echo "Port $port still answers after the stop." >&2
      left=1
    fi
  done
  [ "$left" -eq 0 ] || exit 1
  echo "run-local --check: every service answered and stopped; nothing is left running."
  exit 0
fi

echo "Starting the function app with Core Tools: $func_from"
start_service "Function app" 7071 -- dotnet run --project Functions
wait_for "Function app" "$api_url/health" 180

cat <<MSG

Everything is running:
  page                         http://localhost:$web_port/   (passkeys work only there: WebAuthn refuses IP addresses;
                               http://127.0.0.1:$web_port/ serves the same page without them)
  API                          $api_url   (e.g. $api_url/health, $api_url/openapi.json)
  mails sent (smtp4dev)        http://127.0.0.1:5000/
  storage                      UseDevelopmentStorage=true (Azurite: blob 10000, queue 10001, table 10002; data in .azurite/)
Press Ctrl-C to stop all of it.
MSG
# Waits until Ctrl-C, or until one of the services ends by itself.
wait -n || true
echo "A service stopped; stopping the rest." >&2
exit 1
