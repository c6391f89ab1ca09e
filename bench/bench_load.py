"""Load benchmark: 10,000 virtual devices against a throw-away Mosquitto on a free port.

    .venv/bin/python bench/bench_load.py [--rate 3000] [--duration 20] [--clients 4] [--qos 1]

Prints the load summary (sent / acknowledged rate, errors). Use `hmg simulate load --host H
--port P ...` for an existing broker.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from simulator.load import LoadConfig, run_load
from tests.support.servers import mosquitto_server


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--devices", type=int, default=10_000)
    p.add_argument("--rate", type=float, default=3000.0)
    p.add_argument("--duration", type=float, default=20.0)
    p.add_argument("--clients", type=int, default=4)
    p.add_argument("--qos", type=int, default=1, choices=(0, 1))
    p.add_argument("--max-inflight", type=int, default=100)
    a = p.parse_args()
    with tempfile.TemporaryDirectory() as tmp, mosquitto_server(Path(tmp)) as broker:
        cfg = LoadConfig(port=broker.port, devices=a.devices, rate=a.rate, duration=a.duration,
                         clients=a.clients, qos=a.qos, max_inflight=a.max_inflight)  # fmt: skip
        summary = run_load(cfg)
    print(summary.line())
    return 0 if summary.errors == 0 else 1


if __name__ == "__main__":
    raise SystemExit(main())
