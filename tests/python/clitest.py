"""clitest.py — what the CLI test scripts share: run the tool, record one
named check per line ("ok" / "FAIL"), and end with the tally."""
import subprocess

results = []


def check(ok, label, detail=""):
    results.append(bool(ok))
    print("%s %s %s" % ("ok  " if ok else "FAIL", label, detail), flush=True)


def run(cmd):
    """(exit code, stdout, stderr) of a command."""
    p = subprocess.run(cmd, capture_output=True, text=True)
    return p.returncode, p.stdout, p.stderr


def finish():
    """Prints the tally; the script's exit code (0 only if every check passed)."""
    print("%d/%d checks passed" % (sum(results), len(results)))
    return 0 if results and all(results) else 1


class Tally:
    """A check reporter for the long comparison scripts: report(ok, name, msg)
    prints one aligned line; done() prints the count and gives the exit code."""

    def __init__(self, width):
        self.width, self.passed, self.failed = width, 0, 0

    def __call__(self, ok, name, msg):
        print("%s %-*s %s" % ("ok  " if ok else "FAIL", self.width, name, msg), flush=True)
        self.passed += bool(ok)
        self.failed += not ok

    def done(self, seconds):
        print("%d passed, %d failed (%.0f s)" % (self.passed, self.failed, seconds))
        return 0 if self.failed == 0 and self.passed > 0 else 1
