"""Progress bars: drawn only on a terminal, silenced by quiet() and FAIROPT_QUIET."""
import io
import sys

import pytest

from fairopt import progress
from fairopt.progress import QUIET_ENV, is_quiet, progress_bar, quiet


class FakeTerminal(io.StringIO):
    def isatty(self):
        return True


def fake_terminal(monkeypatch):
    # Patched inside each test body: pytest re-installs its own stderr between setup and call.
    monkeypatch.delenv(QUIET_ENV, raising=False)
    fake = FakeTerminal()
    monkeypatch.setattr(sys, "stderr", fake)
    return fake


def test_not_a_terminal_means_no_bar(monkeypatch):
    monkeypatch.delenv(QUIET_ENV, raising=False)
    buf = io.StringIO()
    monkeypatch.setattr(sys, "stderr", buf)
    bar = progress_bar(range(5), desc="x")
    assert bar.disable
    assert list(bar) == [0, 1, 2, 3, 4]  # still yields everything
    assert buf.getvalue() == ""
    # enabled=True draws even without a terminal (e.g. into a log file)
    with progress_bar(total=3, desc="forced", enabled=True) as forced:
        assert not forced.disable
        forced.update(3)
    assert "forced" in buf.getvalue()


def test_terminal_shows_bar(monkeypatch):
    terminal = fake_terminal(monkeypatch)
    bar = progress_bar(range(4), desc="cells")
    assert not bar.disable
    assert list(bar) == [0, 1, 2, 3]
    assert "cells" in terminal.getvalue() and "4/4" in terminal.getvalue()
    assert progress_bar(range(2), enabled=False).disable


def test_quiet_context_wins_and_nests(monkeypatch):
    terminal = fake_terminal(monkeypatch)
    with quiet():
        assert is_quiet()
        assert progress_bar(range(3), enabled=True).disable
        with quiet():
            assert progress_bar(range(3)).disable
        assert progress_bar(range(3)).disable  # still inside the outer quiet()
    assert not is_quiet()
    assert terminal.getvalue() == ""  # nothing was drawn while quiet
    assert not progress_bar(range(3)).disable


def test_quiet_context_restores_after_an_exception(monkeypatch):
    fake_terminal(monkeypatch)
    with pytest.raises(RuntimeError):
        with quiet():
            raise RuntimeError("boom")
    assert progress._quiet_depth == 0 and not is_quiet()


@pytest.mark.parametrize("value, silent", [("1", True), ("true", True), ("YES", True), ("0", False), ("", False)])
def test_environment_variable(monkeypatch, value, silent):
    fake_terminal(monkeypatch)
    monkeypatch.setenv(QUIET_ENV, value)
    assert is_quiet() is silent
    assert progress_bar(range(2), enabled=True).disable is silent
