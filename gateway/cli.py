"""The `hmg` command line: demo, gateway, simulate, replay, ecg analyze, devices, users, audit."""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import sys
from collections.abc import Sequence

ROLES = ("all", "router", "worker", "api")


def _cmd_gateway(args: argparse.Namespace) -> int:
    from gateway.runtime.settings import Settings

    if args.role in ("router", "worker", "api"):
        from gateway.scale.roles import run_role

        asyncio.run(run_role(args.role, Settings(), args.worker_id))
        return 0

    import uvicorn

    from gateway.api.app import create_app
    from gateway.runtime.process import on_service_started

    settings = Settings()
    app = create_app(settings, on_started=on_service_started)
    uvicorn.run(
        app,
        host=settings.api.host,
        port=settings.api.port,
        log_level="info",
        ssl_certfile=settings.api.tls_cert_file,
        ssl_keyfile=settings.api.tls_key_file,
    )
    return 0


def _cmd_demo(args: argparse.Namespace) -> int:
    from gateway.demo import run_demo
    from gateway.runtime.process import tune_gc

    return asyncio.run(
        run_demo(
            duration=args.duration,
            patients=args.patients,
            api_port=args.api_port,
            data_dir=args.data_dir,
            broker_port=args.broker_port,
            speed=args.speed,
            on_started=tune_gc,
        )
    )


def _cmd_replay(args: argparse.Namespace) -> int:
    from alerts.policy import PolicyError
    from gateway.policies import load_policies
    from gateway.replay import ReplayLineError, make_pipeline, register_devices, replay_lines

    try:
        policies = list(load_policies(args.policy).values()) if args.policy else []
    except (OSError, PolicyError) as exc:
        print(f"hmg replay: policy: {exc}", file=sys.stderr)
        return 2
    proc = make_pipeline(late_after_s=args.late_after, policies=policies)
    if args.devices:
        try:
            with open(args.devices, encoding="utf-8") as dfh:
                register_devices(proc, json.load(dfh))
        except (OSError, ValueError) as exc:
            print(f"hmg replay: devices: {exc}", file=sys.stderr)
            return 2
    with open(args.file, encoding="utf-8") as fh:
        try:
            for event in replay_lines(fh, proc):
                sys.stdout.write(json.dumps(event, ensure_ascii=False) + "\n")
        except ReplayLineError as exc:
            print(f"hmg replay: {args.file}: {exc}", file=sys.stderr)
            return 2
    return 0


def _cmd_ecg(args: argparse.Namespace) -> int:
    from gateway.ecgtool import run

    return run(args.records, args.ann, args.channel, args.jobs)


def _ecg_arguments(p: argparse.ArgumentParser) -> None:
    """`hmg ecg analyze`'s options, declared here so that `--help` needs no ECG code."""
    p.add_argument(
        "records",
        nargs="+",
        metavar="RECORD",
        help="WFDB record path without extension, or a folder of records",
    )
    p.add_argument("--ann", default=None, help="analyse this annotation file's beats instead")
    p.add_argument("--channel", type=int, default=0, help="signal channel (default 0)")
    p.add_argument(
        "--jobs",
        type=int,
        default=1,
        help="records analysed at a time, each in its own worker process (default 1)",
    )


def _cmd_simulate(argv: list[str]) -> int:
    from simulator.cli import main as simulate_main

    return simulate_main(argv)


def build_parser(command: str | None = None) -> argparse.ArgumentParser:
    """The whole command line; `command` names the one being run, so that a command whose
    modules are heavy to import (`users` loads the token issuer) is only imported when used and
    `hmg --help` stays fast."""
    p = argparse.ArgumentParser(prog="hmg", description="Remote health-monitoring gateway")
    p.add_argument("-v", "--verbose", action="store_true", help="debug logging")
    sub = p.add_subparsers(dest="command", required=True)

    d = sub.add_parser("demo", help="embedded broker + SQLite + simulated cohort + API")
    d.add_argument("--duration", type=float, default=None, help="stop after S seconds")
    d.add_argument("--patients", type=int, default=20)
    d.add_argument("--api-port", type=int, default=8000)
    d.add_argument(
        "--broker-port",
        type=int,
        default=1883,
        help="preferred broker port (a free one is used when it is taken)",
    )
    d.add_argument("--data-dir", default="hmg-data/demo")
    d.add_argument(
        "--speed",
        type=float,
        default=1.0,
        help="simulated seconds per real second (scenario time scale)",
    )
    d.set_defaults(func=_cmd_demo)

    g = sub.add_parser("gateway", help="run the service (configured by HMG_* / HMG_CONFIG)")
    g.add_argument(
        "--role",
        choices=ROLES,
        default="all",
        help="all: the single-machine gateway; router, worker, api: the scaled-out roles on "
        "NATS JetStream (docs/scale-out.md)",
    )
    g.add_argument("--worker-id", default=None, help="a worker's stable name (default: host)")
    g.set_defaults(func=_cmd_gateway)

    sub.add_parser(
        "simulate", help="publish scenarios, cohorts, load or recordings", add_help=False
    )

    r = sub.add_parser("replay", help="offline: JSONL capture -> alert events on stdout")
    r.add_argument("file")
    r.add_argument(
        "--late-after",
        type=float,
        default=600.0,
        help="seconds behind the replay clock after which a reading is late",
    )
    r.add_argument(
        "--policy",
        default=None,
        help="escalation policy file (or directory of per-tenant files): timers run on the "
        'replay clock; acknowledge with {"ack": {...}} lines',
    )
    r.add_argument(
        "--devices",
        default=None,
        help='device registrations: {"tenant", "bindings": {device: patient}, "kiosks": [...]} '
        "(e.g. the file written by `hmg simulate --truth-to`)",
    )
    r.set_defaults(func=_cmd_replay)

    e = sub.add_parser("ecg", help="ECG tools")
    esub = e.add_subparsers(dest="ecg_command", required=True)
    a = esub.add_parser(
        "analyze",
        help="streaming analyser over WFDB records",
        description="One record: one JSON object. Several records or a folder: one JSON line "
        'per record with its "record" name (an "error" line for a record that fails; exit '
        "status 1).",
    )
    _ecg_arguments(a)
    a.set_defaults(func=_cmd_ecg)

    if command in ("devices", "provision"):
        from gateway.provision import add_cli

        add_cli(sub)
    else:
        sub.add_parser("devices", help="device registry: list, register, bind, retire")
        sub.add_parser("provision", help="MQTT credentials and ACL for the broker")
    if command == "users":
        from gateway.auth.cli import add_cli as add_users_cli

        add_users_cli(sub)
    else:
        sub.add_parser("users", help="local accounts: add, passwd, disable, enable, list")
    if command == "audit":
        from gateway.audit_cli import add_cli as add_audit_cli

        add_audit_cli(sub)
    else:
        sub.add_parser("audit", help="audit trail: verify its hash chain")
    return p


def main(argv: Sequence[str] | None = None) -> int:
    args_list = list(sys.argv[1:] if argv is None else argv)
    if args_list and args_list[0] == "simulate":
        return _cmd_simulate(args_list[1:])
    command = next((a for a in args_list if not a.startswith("-")), None)
    args = build_parser(command).parse_args(args_list)
    logging.basicConfig(
        level=logging.DEBUG if args.verbose else logging.INFO,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    return int(args.func(args))


if __name__ == "__main__":
    raise SystemExit(main())
