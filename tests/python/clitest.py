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
