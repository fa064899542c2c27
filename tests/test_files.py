"""Output files: the user's normal mode, stale temporaries cleaned, SIGTERM like Ctrl-C, paths checked first."""
import gc
import os
import signal
import stat
import sys
import threading

import numpy as np
import pytest
from fairopt.models import fair_assignment as lp2

import fairopt
from fairopt.cli import entry
from fairopt.cli.main import main
from fairopt.files import atomic_write, file_mode
from fairopt.results import write_json


@pytest.fixture(params=[0o022, 0o002, 0o077])
def umask(request):
    old = os.umask(request.param)
    yield request.param
    os.umask(old)


def _mode(path):
    return stat.S_IMODE(os.stat(path).st_mode)


def test_file_mode_reads_the_umask(umask):
    assert file_mode() == 0o666 & ~umask
    assert os.umask(umask) == umask  # reading it did not change it


def test_every_writer_gives_the_mode_a_plain_open_gives(umask, tmp_path):
    plain = tmp_path / "plain.txt"
    plain.write_text("x")  # what the user's shell tools would create
    X = np.array([[0.0, 0.0], [1.0, 0.0], [0.0, 1.0], [1.0, 1.0]])
    model = lp2.to_matrices(X, X[:2], [0, 1, 0, 1], [0.6, 0.6], [0.4, 0.4])
    written = [write_json({"a": 1}, tmp_path / "r.json"), fairopt.export(model, tmp_path / "m.lp"),
               fairopt.export(model, tmp_path / "m.mps"), atomic_write(tmp_path / "t.txt", lambda fh: fh.write("x"))]
    pytest.importorskip("matplotlib")
    from fairopt.plot import plot_clusters, save_figure

    written.append(save_figure(plot_clusters(X, [0, 0, 1, 1]), tmp_path / "f.png"))
    assert {_mode(p) for p in written} == {_mode(plain)} == {0o666 & ~umask}
    assert not [p for p in os.listdir(tmp_path) if p.startswith(".fairopt-")]


def test_stale_temporaries_of_dead_processes_are_removed(tmp_path):
    dead = tmp_path / ".fairopt-999999999-abc.tmp.json"  # no such pid
    alive = tmp_path / f".fairopt-{os.getpid()}-abc.tmp.json"  # this process: may still be writing
    foreign = tmp_path / ".fairopt-notes.txt"
    for p in (dead, alive, foreign):
        p.write_text("x")
    write_json({"a": 1}, tmp_path / "r.json")
    assert not dead.exists() and alive.exists() and foreign.exists()


def test_sigterm_unwinds_like_ctrl_c_and_exits_143(monkeypatch, tmp_path, capsys):
    started = threading.Event()

    def slow_main(argv):
        def write(fh):
            fh.write("partial")
            started.set()
            threading.Event().wait(30)  # interrupted by the signal

        atomic_write(tmp_path / "out.json", write)
        return 0

    import fairopt.cli.main as cli_main

    monkeypatch.setattr(cli_main, "main", slow_main)
    old = signal.getsignal(signal.SIGTERM)
    old_int = signal.getsignal(signal.SIGINT)
    threading.Timer(0.2, lambda: started.wait(10) and os.kill(os.getpid(), signal.SIGTERM)).start()
    gc.disable()  # a handler run inside another library's gc callback would be swallowed there
    try:
        assert entry.run(["demo"]) == 143
    finally:
        gc.enable()
        signal.signal(signal.SIGTERM, old)
        signal.signal(signal.SIGINT, old_int)
    assert "terminated (SIGTERM)" in capsys.readouterr().err
    assert os.listdir(tmp_path) == []  # neither the output nor its temporary file


def test_ctrl_c_during_the_imports_is_exit_130_without_traceback(monkeypatch, capsys):
    class Interrupting:
        def find_spec(self, name, path=None, target=None):
            if name == "fairopt.cli.main":
                raise KeyboardInterrupt
            return None  # not ours: the normal finders go on

    monkeypatch.delitem(sys.modules, "fairopt.cli.main")
    monkeypatch.setattr(sys, "meta_path", [Interrupting(), *sys.meta_path])
    old = (signal.getsignal(signal.SIGTERM), signal.getsignal(signal.SIGINT))
    try:
        assert entry.run(["demo"]) == 130
    finally:
        signal.signal(signal.SIGTERM, old[0])
        signal.signal(signal.SIGINT, old[1])
    err = capsys.readouterr().err
    assert err.strip() == "fairopt: interrupted; no partial output was written"


@pytest.mark.parametrize("flags, message", [
    (["--json", "a.json", "--plot", "a.xyz"], "--plot 'a.xyz': the extension must be one of"),
    (["--json", "b.png", "--plot", "b.png"], "--json and --plot both name 'b.png'"),
    (["--json", "no/such/folder/r.json"], "does not exist"),
    (["--json", "."], "is a folder"),
])
def test_output_paths_are_checked_before_any_work(tmp_path, monkeypatch, capsys, flags, message):
    pytest.importorskip("matplotlib")
    monkeypatch.chdir(tmp_path)
    rc = main(["fair-kmeans", "--dataset", "moons", "--data-home", "/nonexistent", "--k", "2", *flags])
    assert rc == 2
    assert message in capsys.readouterr().err
    assert os.listdir(tmp_path) == []


def test_plot_without_matplotlib_is_refused_before_any_work(tmp_path, monkeypatch, capsys):
    monkeypatch.setitem(sys.modules, "matplotlib", None)
    monkeypatch.setitem(sys.modules, "matplotlib.figure", None)
    monkeypatch.chdir(tmp_path)
    rc = main(["fair-kmeans", "--dataset", "moons", "--data-home", "/nonexistent", "--k", "2", "--plot", "p.png"])
    assert rc == 2 and "pip install 'fairopt[plot]'" in capsys.readouterr().err
    assert os.listdir(tmp_path) == []


def test_sigterm_that_a_library_turns_into_an_import_error_is_still_143(monkeypatch, capsys):
    # numpy's C-extension import turns an interruption into "ImportError: ... Original error was ...".
    import time

    class Converting:
        def find_spec(self, name, path=None, target=None):
            if name == "fairopt.cli.main":
                try:
                    os.kill(os.getpid(), signal.SIGTERM)
                    time.sleep(5)
                except KeyboardInterrupt as exc:
                    raise ImportError("PyCapsule_Import could not import module 'datetime'") from exc
            return None  # not ours: the normal finders go on

    monkeypatch.delitem(sys.modules, "fairopt.cli.main")
    monkeypatch.setattr(sys, "meta_path", [Converting(), *sys.meta_path])
    old = (signal.getsignal(signal.SIGTERM), signal.getsignal(signal.SIGINT))
    gc.disable()
    try:
        assert entry.run(["demo"]) == 143
    finally:
        gc.enable()
        signal.signal(signal.SIGTERM, old[0])
        signal.signal(signal.SIGINT, old[1])
    assert capsys.readouterr().err.strip() == "fairopt: terminated (SIGTERM); no partial output was written"
    assert entry.interruption(ValueError("x")) is None  # the next run starts clean
