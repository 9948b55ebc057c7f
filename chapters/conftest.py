"""pytest hooks for nbval runs over the chapter notebooks (not part of the book).

Prints, at the end of the run, how long each notebook took to execute (the sum of its cells),
so that CI logs show the time of every page in the package-only kernel.
"""
from collections import defaultdict

_SECONDS = defaultdict(float)


def pytest_runtest_logreport(report):
    path = report.nodeid.split("::", 1)[0]
    if path.endswith(".ipynb"):
        _SECONDS[path] += report.duration


def pytest_terminal_summary(terminalreporter):
    if not _SECONDS:
        return
    terminalreporter.section("notebook execution time (nbval)")
    for path, seconds in sorted(_SECONDS.items()):
        terminalreporter.write_line(f"{path:<40} {seconds:7.1f} s")
    terminalreporter.write_line(f"{'total':<40} {sum(_SECONDS.values()):7.1f} s")
