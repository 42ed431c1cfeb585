"""scripts/check_imports.py: the layering check CI runs next to ruff and mypy."""
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
SCRIPT = ROOT / "scripts" / "check_imports.py"


def run(root: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, str(SCRIPT), str(root)], capture_output=True, text=True, timeout=60, check=False)


def tree(root: Path, files: dict[str, str]) -> Path:
    for name, text in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
        for parent in path.relative_to(root).parents:
            if parent != Path("."):
                (root / parent / "__init__.py").touch()
    return root


def test_the_project_passes() -> None:
    result = run(ROOT)
    assert result.returncode == 0, result.stdout
    assert "no cycle" in result.stdout


def test_two_packages_importing_each_other_fail_with_the_lines_behind_it(tmp_path: Path) -> None:
    tree(tmp_path, {
        "common/text.py": "import os\n",
        "shop/views.py": "from common.text import x\nfrom console.audit import record\n",
        # A lazy import is still a dependency.
        "console/audit.py": "def record():\n    from shop.views import y\n",
    })
    result = run(tmp_path)
    assert result.returncode == 1
    assert "import cycle between top-level packages: console, shop import each other" in result.stdout
    assert "shop/views.py:2 imports console.audit" in result.stdout
    assert "console/audit.py:2 imports shop.views" in result.stdout
    assert "common" not in result.stdout.splitlines()[0]


def test_a_longer_loop_fails_as_one_group(tmp_path: Path) -> None:
    tree(tmp_path, {
        "a/m.py": "import b.m\n",
        "b/m.py": "from c import m\n",
        "c/m.py": "from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    from a.m import thing\n",
    })
    result = run(tmp_path)
    assert result.returncode == 1
    assert "a, b, c import each other" in result.stdout
    assert "c/m.py:3 imports a.m" in result.stdout


def test_the_runtime_importing_an_app_fails(tmp_path: Path) -> None:
    tree(tmp_path, {
        "common/languages.py": "",
        "kiosk/models.py": "from avatar_runtime.render import clip\n",
        "avatar_runtime/render/clip.py": "from common.languages import X\n",
        "avatar_runtime/factory.py": "def profile():\n    from kiosk.models import Kiosk\n",
    })
    result = run(tmp_path)
    assert result.returncode == 1
    assert "the runtime imports an app (kiosk); it may import only common" in result.stdout
    assert "avatar_runtime/factory.py:2 imports kiosk.models" in result.stdout


def test_relative_imports_outside_modules_and_the_tests_do_not_count(tmp_path: Path) -> None:
    tree(tmp_path, {
        "shop/views.py": "from . import models\nfrom .models import Item\nimport django.db\n",
        "shop/models.py": "",
        "console/views.py": "from shop.views import x\n",
        "tests/test_all.py": "import console.views\nimport shop.views\n",
        "avatar_runtime/audio.py": "import numpy\n",
    })
    result = run(tmp_path)
    assert result.returncode == 0, result.stdout
    assert "no cycle between 3 top-level packages" in result.stdout
