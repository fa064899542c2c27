"""Run benchmarks by name: ``python -m benchmarks [name ...] [-- options]``.

``python -m benchmarks`` lists the available benchmarks (the ``bench_<name>.py`` modules beside
this file). ``python -m benchmarks lp2 rounding`` runs ``bench_lp2.main()`` then
``bench_rounding.main()``. Options after the names (``python -m benchmarks lp2 --scale``) are
handed to every named benchmark's ``main(argv)``. Each benchmark prints a table and writes its
JSON to ``benchmarks/results/``.
"""
from __future__ import annotations

import importlib
import pkgutil
import sys
from pathlib import Path

PREFIX = "bench_"


def available() -> dict:
    """Map benchmark name -> first line of its module docstring (without importing heavy code)."""
    out = {}
    here = Path(__file__).resolve().parent
    for mod in sorted(pkgutil.iter_modules([str(here)]), key=lambda m: m.name):
        if mod.name.startswith(PREFIX):
            text = (here / f"{mod.name}.py").read_text(encoding="utf-8")
            doc = ""
            for quote in ('"""', "'''"):
                if text.lstrip().startswith(quote):
                    doc = text.lstrip()[3:].split(quote, 1)[0].strip().splitlines()[0]
                    break
            out[mod.name[len(PREFIX):]] = doc
    return out


def main(argv=None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    names = []
    for a in argv:
        if a.startswith("-"):
            break
        names.append(a)
    options = argv[len(names):]
    if options[:1] == ["--"]:
        options = options[1:]
    bench = available()
    if not names or names == ["list"]:
        print("usage: python -m benchmarks NAME [NAME ...] [options passed to each benchmark]\n\navailable:")
        width = max((len(n) for n in bench), default=0)
        for name, doc in bench.items():
            print(f"  {name:<{width}}  {doc}")
        return 0
    unknown = [n for n in names if n not in bench]
    if unknown:
        print(f"unknown benchmark(s) {unknown}; available: {sorted(bench)}", file=sys.stderr)
        return 2
    for name in names:
        module = importlib.import_module(f"benchmarks.{PREFIX}{name}")
        module.main(options)
    return 0


if __name__ == "__main__":
    sys.exit(main())
