"""SPEC §2: dependencies point one way. Every module of every app is parsed with `ast`
and each import checked against the arrows below, so an import against them fails here
(lazy imports inside functions and `TYPE_CHECKING` blocks count too)."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]

# app -> the apps it may import (besides itself). `core` is the bottom layer; `dashboard`
# is the UI and may import every app; no app imports `config`.
ALLOWED: dict[str, frozenset[str]] = {
    "core": frozenset(),
    "accounts": frozenset({"core"}),
    "subscriptions": frozenset({"accounts", "core"}),
    "notifications": frozenset({"accounts", "core"}),
    "reactivation": frozenset({"subscriptions", "notifications", "accounts", "core"}),
    "segmentation": frozenset({"subscriptions", "notifications", "accounts", "core"}),
    "webhooks": frozenset({"subscriptions", "accounts", "core"}),
    "dashboard": frozenset(
        {
            "core",
            "accounts",
            "subscriptions",
            "notifications",
            "reactivation",
            "segmentation",
            "webhooks",
        }
    ),
}
PROJECT = frozenset({*ALLOWED, "config"})


def apps_in(root: Path) -> list[str]:
    """Every top-level package that is a Django app (has an apps.py)."""
    return sorted(p.parent.name for p in root.glob("*/apps.py"))


def _imported(path: Path, root: Path) -> list[tuple[int, str]]:
    tree = ast.parse(path.read_text(), filename=str(path))
    package = path.relative_to(root).with_suffix("").parts[:-1]
    found: list[tuple[int, str]] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found += [(node.lineno, alias.name) for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level:  # relative: resolved against the module's own package
                base = package[: len(package) - node.level + 1]
                module = ".".join([*base, node.module] if node.module else base)
            else:
                module = node.module or ""
            found.append((node.lineno, module))
    return found


def forbidden_imports(root: Path) -> list[str]:
    """`path:line: app -> imported module` for each import against the arrows."""
    problems: list[str] = []
    for app in apps_in(root):
        if app == "config":
            continue
        allowed = ALLOWED.get(app)
        if allowed is None:
            problems.append(f"{app}: a new app; give it its arrows in ALLOWED (SPEC §2)")
            continue
        for path in sorted((root / app).rglob("*.py")):
            for line, module in _imported(path, root):
                target = module.split(".")[0]
                if target in PROJECT and target != app and target not in allowed:
                    problems.append(
                        f"{path.relative_to(root)}:{line}: {app} -> {module} "
                        f"(allowed: {', '.join(sorted(allowed)) or 'no app'})"
                    )
    return problems


def test_every_app_imports_only_along_spec_section_2_arrows():
    assert forbidden_imports(ROOT) == []


def test_the_table_knows_every_app():
    assert set(apps_in(ROOT)) == set(ALLOWED)


def _project(tmp_path: Path, files: dict[str, str]) -> Path:
    for app in ALLOWED:
        (tmp_path / app).mkdir()
        (tmp_path / app / "apps.py").write_text("")
    for name, text in files.items():
        path = tmp_path / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    return tmp_path


@pytest.mark.parametrize(
    ("name", "text", "expected"),
    [
        (
            "notifications/services.py",
            "from subscriptions.models import Subscription\n",
            "notifications/services.py:1: notifications -> subscriptions.models",
        ),
        (
            "core/tenancy.py",
            "def f():\n    from accounts.models import Creator\n",
            "core/tenancy.py:2: core -> accounts.models",
        ),
        (
            "segmentation/jobs.py",
            "import config.settings\n",
            "segmentation/jobs.py:1: segmentation -> config.settings",
        ),
        (
            "dashboard/views.py",
            "from config.security import x\n",
            "dashboard/views.py:1: dashboard -> config.security",
        ),
        (
            "subscriptions/api/views.py",
            "from ...reactivation import services\n",
            "subscriptions/api/views.py:1: subscriptions -> reactivation",
        ),
        (
            "webhooks/tasks.py",
            "from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    import segmentation\n",
            "webhooks/tasks.py:3: webhooks -> segmentation",
        ),
    ],
)
def test_a_forbidden_import_is_reported(tmp_path, name, text, expected):
    root = _project(tmp_path, {name: text})
    [problem] = forbidden_imports(root)
    assert problem.startswith(expected)


def test_imports_along_the_arrows_are_not_reported(tmp_path):
    root = _project(
        tmp_path,
        {
            "webhooks/services.py": "from subscriptions.outbox import x\nfrom core import egress\n",
            "dashboard/views.py": "from webhooks.models import WebhookEndpoint\n",
            "reactivation/email.py": "from notifications.email import email_send\n",
            "core/egress.py": "import httpx\nfrom . import claims\n",
        },
    )
    assert forbidden_imports(root) == []


def test_a_new_app_without_arrows_is_reported(tmp_path):
    root = _project(tmp_path, {"billing/apps.py": ""})
    assert forbidden_imports(root) == [
        "billing: a new app; give it its arrows in ALLOWED (SPEC §2)"
    ]
