"""The documentation: the Sphinx site builds with every warning an error (its notebook pages are executed, so a
published number that stops agreeing fails here), the README stays a short landing page, and every relative
link in the README and the docs points to a file that exists."""
from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

from hang_guard import WALL_SECONDS

ROOT = Path(__file__).resolve().parents[1]
DOCS = ROOT / "docs"
#: [text](target) in Markdown, and src="..." / href="..." in the HTML a Markdown page may hold
LINK = re.compile(r"\[[^\]]*\]\(\s*<?([^)\s>]+)>?(?:\s+\"[^\"]*\")?\s*\)|(?:src|href)=\"([^\"]+)\"")


def relative_links(page: Path) -> list[str]:
    """The link targets in ``page`` that point into the repository (no scheme, no bare #anchor), anchors cut."""
    text = re.sub(r"```.*?```", "", page.read_text(encoding="utf-8"), flags=re.S)  # code blocks hold no links
    targets = []
    for match in LINK.finditer(text):
        target = match.group(1) or match.group(2)
        if re.match(r"^[a-z][a-z0-9+.-]*:", target, re.I) or target.startswith("#"):
            continue
        targets.append(target.split("#", 1)[0])
    return targets


def broken_links(pages) -> list[tuple[str, str]]:
    """(page name, target) for every relative link whose file does not exist."""
    return [(page.name, target) for page in pages for target in relative_links(page)
            if not (page.parent / target).exists()]


def test_the_docs_build_with_warnings_as_errors(tmp_path):
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")])),
               MPLBACKEND="Agg")
    run = subprocess.run([sys.executable, "-m", "sphinx", "-W", "--keep-going", "-q", "-b", "html", str(DOCS),
                          str(tmp_path / "html")], cwd=ROOT, env=env, capture_output=True, text=True,
                         timeout=WALL_SECONDS)
    assert run.returncode == 0, run.stderr[-4000:]
    for page in ("index", "reproductions", "api"):
        assert (tmp_path / "html" / f"{page}.html").exists()
    assert "published numbers reproduced" in (tmp_path / "html" / "reproductions.html").read_text(encoding="utf-8")


def test_the_readme_is_a_landing_page():
    lines = (ROOT / "README.md").read_text(encoding="utf-8").splitlines()
    assert len(lines) <= 150, f"README.md has {len(lines)} lines; the rest belongs in docs/"


def test_every_relative_link_points_to_a_file():
    pages = [ROOT / "README.md", *sorted(DOCS.glob("*.md"))]
    assert len(pages) > 2
    assert broken_links(pages) == []


def test_the_link_check_finds_a_broken_link(tmp_path):
    page = tmp_path / "page.md"
    (tmp_path / "there.md").write_text("x")
    page.write_text("[ok](there.md) [anchor](there.md#part) [web](https://example.org) [gone](missing.md)\n"
                    '<img src="gone.png">\n```\n[in code](not-a-link.md)\n```\n')
    assert sorted(target for _, target in broken_links([page])) == ["gone.png", "missing.md"]


def test_the_readme_test_command_is_the_one_ci_runs():
    ci = (ROOT / ".ci" / "run").read_text(encoding="utf-8")
    command = next(line for line in ci.splitlines() if "pip install" in line and "pytest" in line).strip()
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    assert command in readme
    assert "python -m venv .venv && .venv/bin/pip install -e . && .venv/bin/python cli.py figures" in readme


def test_the_readme_lists_every_command_and_no_other():
    from analytic.cli import COMMANDS

    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    table = set(re.findall(r"^\| `([a-z]+)` \|", readme, flags=re.M))
    assert table == set(COMMANDS)


def readme_examples() -> list[tuple[str, list[str]]]:
    """(command, the lines shown) for every ``$ python cli.py ...`` in the README's console blocks; the lines
    stop at an ellipsis line (the rest of the output is left out)."""
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    examples = []
    for block in re.findall(r"```console\n(.*?)```", readme, flags=re.S):
        for chunk in re.split(r"^\$ ", block, flags=re.M)[1:]:
            command, *shown = chunk.rstrip("\n").split("\n")
            examples.append((command, [line for line in shown][:next((i for i, l in enumerate(shown) if l == "…"),
                                                                      len(shown))]))
    return examples


def test_the_readme_console_examples_are_what_the_commands_print():
    import shlex

    examples = readme_examples()
    assert examples
    for command, shown in examples:
        argv = shlex.split(command)
        assert argv[:2] == ["python", "cli.py"]
        run = subprocess.run([sys.executable, "cli.py", *argv[2:]], cwd=ROOT, capture_output=True, text=True,
                             timeout=WALL_SECONDS)
        assert run.returncode == 0, run.stderr
        assert run.stdout.splitlines()[:len(shown)] == shown, command
