#!/bin/sh
# Points a copy of web/ at its deployed API before upload (azd's predeploy hook for the "web" service runs it):
# config.js gets the API base URL, and the CSP's connect-src in staticwebapp.config.json and index.html becomes
# 'self' plus exactly the API's origin, so the deployed page can send data nowhere else and keeps no localhost.
# Usage: configure-web.sh <web directory> <API base URL, e.g. https://func-api-x.azurewebsites.net/api>
set -eu

if [ "$#" -ne 2 ]; then
  echo "usage: $0 <web directory> <API base URL>" >&2
  exit 2
fi

web=$1
url=$2

# Only a plain https URL: its text goes into a JSON string, a CSP and a sed replacement, so no quotes, spaces,
# semicolons, '#', '&' or '*' may pass.
if ! printf '%s\n' "$url" | grep -Eq '^https://[A-Za-z0-9.-]+(:[0-9]{1,5})?(/[A-Za-z0-9._~/-]*)?$'; then
  echo "configure-web.sh: '$url' is not a plain https URL (API_BASE_URL, e.g. https://func-api-x.azurewebsites.net/api)." >&2
  exit 1
fi

origin=$(printf '%s\n' "$url" | sed -E 's#^(https://[^/]+).*#\1#')
base=$(printf '%s\n' "$url" | sed -E 's#/+$##')

for file in config.js staticwebapp.config.json index.html; do
  if [ ! -f "$web/$file" ]; then
    echo "configure-web.sh: $web/$file is missing." >&2
    exit 1
  fi
done

sed -i "s#^const defaultApiBaseUrl = .*#const defaultApiBaseUrl = \"$base\";#" "$web/config.js"
sed -i -E "s#connect-src [^;\"]*#connect-src 'self' $origin#" "$web/staticwebapp.config.json" "$web/index.html"

# Refuse to ship a page whose policy was not rewritten (a changed file layout would otherwise pass silently).
expected="connect-src 'self' $origin;"
if ! grep -Fq "const defaultApiBaseUrl = \"$base\";" "$web/config.js" \
  || ! grep -Fq "$expected" "$web/staticwebapp.config.json" \
  || ! grep -Fq "$expected" "$web/index.html" \
  || grep -Eq "connect-src [^;\"]*(localhost|127\.0\.0\.1)" "$web/staticwebapp.config.json" "$web/index.html"; then
  echo "configure-web.sh: could not set the API URL and connect-src in $web." >&2
  exit 1
fi

echo "web/ now calls $base; connect-src is 'self' $origin."
