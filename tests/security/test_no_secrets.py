"""No credential is committed: the scanner finds planted ones and the repository is clean."""
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
SCANNER = ROOT / "scripts" / "scan_secrets.py"

# Built at run time so that this file itself holds no secret-shaped string.
PLANTED = {
    "private key": "-----BEGIN " + "RSA PRIVATE KEY-----\nMIIEpAIBAAKCAQEA\n-----END RSA PRIVATE KEY-----\n",
    "AWS access key id": "aws_key = '" + "AKIA" + "Q" * 16 + "'\n",
    "GitHub token": "token = 'ghp_" + "a1B2" * 9 + "'\n",
    "OpenAI/DashScope-style API key": "LLM_KEY = 'sk-" + "x9" * 20 + "'\n",
    "URL with a password": "DATABASE_URL = 'postgres://kiosk:" + "hunter2hunter2" + "@db:5432/kiosk'\n",
    "secret setting with a literal value": "SECRET_KEY = '" + "k" * 40 + "'\n",
}


def scan(root: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, str(SCANNER), str(root)], capture_output=True, text=True, check=False,
                          timeout=120)


@pytest.mark.parametrize("kind", sorted(PLANTED))
def test_a_planted_secret_is_found_and_reported_without_its_value(tmp_path: Path, kind: str) -> None:
    (tmp_path / "settings.py").write_text("DEBUG = False\n" + PLANTED[kind])
    result = scan(tmp_path)
    assert result.returncode == 1
    assert f"settings.py:2: {kind}" in result.stdout
    assert PLANTED[kind].strip().splitlines()[0][-12:] not in result.stdout  # the value is never echoed


def test_environment_lookups_and_placeholders_are_not_findings(tmp_path: Path) -> None:
    (tmp_path / "settings.py").write_text(
        'SECRET_KEY = os.environ["DJANGO_SECRET_KEY"]\nDATABASE_URL = "postgres://kiosk@db:5432/kiosk"\n'
        'LLM_API_KEY = env_str("LLM_API_KEY", "")\n'
    )
    assert scan(tmp_path).returncode == 0


def test_the_repository_holds_no_secret() -> None:
    result = scan(ROOT)
    assert result.returncode == 0, result.stdout
