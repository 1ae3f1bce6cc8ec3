"""The README runs as written: its Python examples against the real demo serving the bundled models,
its command lines through the real parsers (and config loader), and its relative links to files.

The examples are found by the marker comment just above their fence (`<!-- readme-test: NAME -->`),
not by position; the tests assert nothing about the bundled models themselves, so they keep passing
when new bundled models land.
"""

from __future__ import annotations

import contextlib
import io
import re
import shlex
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[1]
README = ROOT / "README.md"
README_URL = "http://127.0.0.1:7860"

FENCE = re.compile(r"^ *```(\w*)[^\n]*\n(.*?)^ *```", re.S | re.M)
MARKED = re.compile(r"<!-- readme-test: ([\w-]+) -->\s*\n *```python[^\n]*\n(.*?)^ *```", re.S | re.M)
ASSIGNMENT = re.compile(r"^[A-Z_][A-Z0-9_]*=")


def readme() -> str:
    return README.read_text(encoding="utf-8")


def marked_block(name: str) -> str:
    blocks = {found.group(1): found.group(2) for found in MARKED.finditer(readme())}
    assert name in blocks, f"README.md has no ```python block after <!-- readme-test: {name} -->"
    return blocks[name]


def run_block(code: str, name: str) -> tuple[dict, str]:
    """exec one README block in a fresh namespace; returns its variables and what it printed."""
    namespace: dict = {"__name__": f"readme_{name}"}
    printed = io.StringIO()
    with contextlib.redirect_stdout(printed):
        exec(compile(code, f"README.md <{name}>", "exec"), namespace)
    return namespace, printed.getvalue()


# ----------------------------------------------------------------------------- the Python examples


@pytest.fixture(scope="module")
def bundled_app():
    """The real app (`app.build_app`) serving the bundled models, as `python app.py` does, on a free port."""
    import app
    from demo.models import ModelCache

    models = ModelCache(device="cpu")
    models.get(models.default)
    demo = app.build_app(models)
    demo.queue(max_size=8)
    upload_limit = f"{app.MAX_UPLOAD_MB}mb"
    demo.launch(prevent_thread_lock=True, server_name="127.0.0.1", quiet=True, max_file_size=upload_limit, **app.STYLE)
    yield demo.local_url.rstrip("/")
    demo.close()


def test_client_example_runs_against_the_bundled_app(bundled_app, one_torch_thread, monkeypatch):
    code = marked_block("client")
    assert README_URL in code, f"the client example should connect to {README_URL}, the URL `python app.py` prints"
    monkeypatch.chdir(ROOT)  # the example's files are relative to the repository root
    namespace, printed = run_block(code.replace(README_URL, bundled_app), "client")
    for name in ("client", "video", "gif", "info", "validity"):
        assert namespace.get(name) is not None, f"the client example left {name} unset"
    assert isinstance(namespace["info"], str) and namespace["info"].strip()
    assert not namespace["validity"].startswith("⚠"), namespace["validity"]
    lines = [line for line in printed.splitlines() if line.strip()]
    prints = len(re.findall(r"^\s*print\(", code, re.M))
    assert len(lines) >= prints, f"expected a line from each of the {prints} print() calls, got:\n{printed}"


def test_library_example_runs(one_torch_thread, monkeypatch):
    monkeypatch.chdir(ROOT)
    namespace, printed = run_block(marked_block("library"), "library")
    assert namespace["pipe"] is not None and namespace["video"].ndim == 5
    assert printed.strip(), "the library example printed nothing"


# ----------------------------------------------------------------------------- the command lines


def bash_commands() -> list[str]:
    """Every command of every ```bash block: continuations joined, comments dropped, split at &&."""
    commands = []
    for found in FENCE.finditer(readme()):
        if found.group(1) not in ("bash", "sh", "shell"):
            continue
        text = found.group(2).replace("\\\n", " ")
        for line in text.splitlines():
            words = shlex.split(line, comments=True)
            if not words:
                continue
            command: list[str] = []
            for word in words + ["&&"]:
                if word in ("&&", ";"):
                    if command:
                        commands.append(shlex.join(command))
                    command = []
                else:
                    command.append(word)
    return commands


def split_env(words: list[str]) -> tuple[dict[str, str], list[str]]:
    env = {}
    while words and ASSIGNMENT.match(words[0]):
        name, value = words.pop(0).split("=", 1)
        env[name] = value
    return env, words


def check_fvdm(argv: list[str]) -> None:
    from fvdm.cli import build_parser

    args = build_parser().parse_args(argv)  # an unknown option or a bad value raises FVDMInputError
    assert args.command in ("generate", "schedule", "convert", "info")


def check_app(argv: list[str], env: dict[str, str], monkeypatch) -> None:
    import app

    monkeypatch.delenv("FVDM_MODELS", raising=False)
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    args = app.parse_args(argv)
    if "FVDM_MODELS" in env:
        assert args.model, "FVDM_MODELS named no model"


def check_training(module: str, argv: list[str], monkeypatch) -> None:
    """Run the module's own main() on the line's arguments with its work replaced by a recorder:
    the real parser reads the options, and for training.train the real loader checks the config."""
    calls = []
    if module == "training.train":
        import training.train as target

        monkeypatch.setattr(target, "train", lambda config, resume=None: calls.append((config, resume)))
    elif module == "training.export":
        import training.export as target

        monkeypatch.setattr(target, "export_run", lambda *args, **kwargs: calls.append(args) or Path(args[1]))
        monkeypatch.setattr(target, "push_to_hub", lambda *args: calls.append(args))
    else:
        raise AssertionError(f"README runs python -m {module}, which this test does not know how to check")
    try:
        target.main(argv)
    except SystemExit as error:
        raise AssertionError(f"python -m {module} {shlex.join(argv)}: {error}") from None
    assert calls, f"python -m {module} {shlex.join(argv)} did not get to its work"


def check_command(command: str, monkeypatch) -> None:
    env, words = split_env(shlex.split(command))
    if words[:2] == ["accelerate", "launch"]:  # the launcher's own options, then -m MODULE ARGS
        assert "-m" in words, command
        at = words.index("-m")
        words = ["python", *words[at:]]
    if words[:3] == ["python", "-m", "fvdm"]:
        check_fvdm(words[3:])
    elif words[:2] == ["python", "app.py"]:
        check_app(words[2:], env, monkeypatch)
    elif words[:2] == ["python", "-m"] and words[2].startswith("training."):
        check_training(words[2], words[3:], monkeypatch)
    elif words[:3] == ["pip", "install", "-r"]:
        assert (ROOT / words[3]).is_file(), f"{command}: no {words[3]}"
    elif words[:1] == ["bash"]:
        assert (ROOT / words[1]).is_file(), f"{command}: no {words[1]}"
    else:
        raise AssertionError(f"README shows a command this test does not check; teach it: {command}")


def test_readme_has_command_lines():
    commands = bash_commands()
    assert any(command.startswith("python -m fvdm ") for command in commands)
    assert any("training.train" in command for command in commands)


@pytest.mark.parametrize("command", bash_commands())
def test_command_line_parses(command, monkeypatch):
    check_command(command, monkeypatch)


# ----------------------------------------------------------------------------- links and layout


def heading_anchors(text: str) -> set[str]:
    """GitHub's anchors for the Markdown headings (outside code blocks)."""
    text = FENCE.sub("", text)
    anchors = set()
    for heading in re.findall(r"^#{1,6} +(.+?) *$", text, re.M):
        slug = re.sub(r"[^\w\- ]", "", heading.strip().lower()).replace(" ", "-")
        anchors.add(slug)
    return anchors


def test_relative_links_exist():
    text = readme()
    prose = FENCE.sub("", text)
    targets = re.findall(r"\]\(([^)\s]+)(?:\s+\"[^\"]*\")?\)", prose)
    targets += re.findall(r"<img [^>]*src=\"([^\"]+)\"", prose)
    assert targets, "README.md links to nothing"
    anchors = heading_anchors(text)
    missing = []
    for target in targets:
        if re.match(r"^[a-z][a-z0-9+.-]*:", target):  # https:, mailto:
            continue
        path, _, fragment = target.partition("#")
        if not path:
            if fragment not in anchors:
                missing.append(target)
        elif not (ROOT / path).exists():
            missing.append(target)
    assert not missing, f"README.md links to what does not exist: {missing}"


def test_front_matter_is_the_space_config():
    text = readme()
    assert text.startswith("---\n")
    front = yaml.safe_load(text.split("---\n", 2)[1])
    assert front["sdk"] == "gradio" and (ROOT / front["app_file"]).is_file()


def test_results_section_is_marked():
    assert re.search(r"^## Results\n<!-- results: filled in from docs/results/eval.md -->$", readme(), re.M)
    assert re.search(r"^## The bundled models$", readme(), re.M)
