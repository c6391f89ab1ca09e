"""`hmg users add|passwd|disable|enable|list`: local accounts of the embedded issuer.

Passwords are read from the terminal (twice), or one line from standard input when it is not a
terminal, or generated with `--generate` and printed once. Only the Argon2id hash is stored.
Every change is audited as the operating-system user who ran the command.
"""

from __future__ import annotations

import argparse
import asyncio
import getpass
import json
import sys

from gateway.actor import Role
from gateway.auth.model import GRANTABLE, Account, AccountKind
from gateway.auth.passwords import WeakPasswordError, hash_secret, new_secret

ROLES = sorted(r.value for r in GRANTABLE)


def add_cli(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    u = sub.add_parser("users", help="local accounts: add, passwd, disable, enable, list")
    usub = u.add_subparsers(dest="users_command", required=True)
    add = usub.add_parser("add", help="create an account (a person, or --client an integration)")
    add.add_argument("name")
    add.add_argument("--role", required=True, choices=ROLES)
    add.add_argument("--tenant", required=True)
    add.add_argument("--display-name", default="")
    add.add_argument("--client", action="store_true", help="integration: client-credentials")
    add.add_argument("--generate", action="store_true", help="generate and print the secret")
    pw = usub.add_parser("passwd", help="set a new password (or client secret)")
    pw.add_argument("name")
    pw.add_argument("--generate", action="store_true")
    for cmd in ("disable", "enable"):
        p = usub.add_parser(cmd, help=f"{cmd} an account")
        p.add_argument("name")
    lst = usub.add_parser("list", help="accounts as JSON lines (never their hashes)")
    lst.add_argument("--tenant", default=None)
    u.set_defaults(func=_cmd_users)


def read_secret(generate: bool) -> tuple[str, bool]:
    """(secret, generated)."""
    if generate:
        return new_secret(), True
    if sys.stdin.isatty():
        first = getpass.getpass("password: ")
        if getpass.getpass("again: ") != first:
            raise WeakPasswordError("the two passwords differ")
        return first, False
    return sys.stdin.readline().rstrip("\r\n"), False


def _cmd_users(args: argparse.Namespace) -> int:
    try:
        return asyncio.run(_users(args))
    except (WeakPasswordError, ValueError) as exc:
        print(f"hmg users: {exc}", file=sys.stderr)
        return 2


def account_json(a: Account) -> dict[str, object]:
    return {
        "name": a.name,
        "kind": a.kind.value,
        "role": a.role.value,
        "tenant": a.tenant,
        "display_name": a.display_name,
        "disabled": a.disabled,
    }


async def _users(args: argparse.Namespace) -> int:
    from devices.model import utcnow
    from gateway.actor import Actor
    from gateway.runtime.settings import Settings
    from gateway.storage import Database
    from gateway.storage.accounts import AccountStore
    from gateway.storage.audit import AuditEntry, AuditStore

    settings = Settings()
    db = Database(settings.storage.db_url)
    await db.create_schema()
    store = AccountStore(db)
    audit = AuditStore(db)
    operator = f"cli:{getpass.getuser()}"
    now = utcnow()

    def entry(
        action: str,
        account: Account,
        before: dict[str, object] | None = None,
        after: dict[str, object] | None = None,
    ) -> AuditEntry:
        actor = Actor(operator, Role.ADMIN, account.tenant, "cli")
        return AuditEntry.by(
            actor, now, action, "account", account.name, before=before, after=after
        )

    try:
        cmd = args.users_command
        if cmd == "list":
            for a in await store.list(args.tenant):
                print(json.dumps(account_json(a)))
            return 0
        if cmd == "add":
            secret, generated = read_secret(args.generate)
            account = Account(
                name=args.name,
                kind=AccountKind.CLIENT if args.client else AccountKind.USER,
                role=Role(args.role),
                tenant=args.tenant,
                display_name=args.display_name or args.name,
                secret_hash=hash_secret(secret),
            )
            async with db.transaction() as tx:
                added = await store.add(account, now, tx=tx)
                if added:
                    after = account_json(account)
                    await audit.append(entry("account_added", account, after=after), tx=tx)
            if not added:
                print(f"hmg users: {args.name!r} exists", file=sys.stderr)
                return 1
            out: dict[str, object] = account_json(account)
            if generated:
                out["secret"] = secret  # shown once, never stored
            print(json.dumps(out))
            return 0
        known = await store.get(args.name)
        if known is None:
            print(f"hmg users: no account {args.name!r}", file=sys.stderr)
            return 1
        if cmd == "passwd":
            secret, generated = read_secret(args.generate)
            async with db.transaction() as tx:
                await store.update(args.name, now, secret_hash=hash_secret(secret), tx=tx)
                await audit.append(entry("account_secret_changed", known), tx=tx)
            print(json.dumps({"name": args.name, **({"secret": secret} if generated else {})}))
            return 0
        disabled = cmd == "disable"
        change = entry(
            f"account_{cmd}d", known, {"disabled": known.disabled}, {"disabled": disabled}
        )
        async with db.transaction() as tx:
            await store.update(args.name, now, disabled=disabled, tx=tx)
            await audit.append(change, tx=tx)
        print(json.dumps({"name": args.name, "disabled": disabled}))
        return 0
    finally:
        await db.dispose()
