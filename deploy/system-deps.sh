#!/usr/bin/env bash
# Make sure the servers the integration suite starts are installed (Debian/Ubuntu packages):
# Mosquitto (MQTT), InfluxDB 1.x (readings, v1 HTTP API), VictoriaMetrics (InfluxDB v2 write API),
# Chromium and CJK fonts (the dashboard's browser tests, driven headless by Playwright).
# PostgreSQL is expected on the machine already; the test fixture starts its cluster when it is down.
set -euo pipefail
need=()
command -v mosquitto >/dev/null 2>&1 || [ -x /usr/sbin/mosquitto ] || need+=(mosquitto)
command -v influxd >/dev/null 2>&1 || [ -x /usr/bin/influxd ] || need+=(influxdb)
command -v victoria-metrics >/dev/null 2>&1 || [ -x /usr/bin/victoria-metrics ] || need+=(victoria-metrics)
[ -x /usr/bin/chromium ] || need+=(chromium)
# nats-server (JetStream and its MQTT listener) for the scale-out tests.
command -v nats-server >/dev/null 2>&1 || [ -x /usr/sbin/nats-server ] || need+=(nats-server)
# CJK glyphs so the zh-CN pages render (and their screenshots read) in headless Chromium.
dpkg -s fonts-noto-cjk >/dev/null 2>&1 || need+=(fonts-noto-cjk)
[ -n "${need[*]:-}" ] || { echo "system deps present"; exit 0; }
if [ "$(id -u)" -ne 0 ] || ! command -v apt-get >/dev/null 2>&1; then
  echo "missing system packages: ${need[*]}" >&2
  echo "install them as root: apt-get install -y ${need[*]}" >&2
  exit 1
fi
echo "installing ${need[*]}"
apt-get update -qq
# policy-rc.d 101: the packages' own services must not start; the tests run their own servers.
policy=/usr/sbin/policy-rc.d
created_policy=0
if [ ! -e "$policy" ]; then
  printf '#!/bin/sh\nexit 101\n' >"$policy" && chmod +x "$policy" && created_policy=1
fi
trap 'if [ "$created_policy" = 1 ]; then rm -f "$policy"; fi' EXIT
DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
