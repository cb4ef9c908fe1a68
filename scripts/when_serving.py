"""Print lines once a server answers: ``make run`` says "Attesta is running" only when it does.

    python scripts/when_serving.py URL PID LINE...

Asks URL every fifth of a second until it answers 200, then prints the LINEs. Gives up without a
word when process PID (the server) has ended, or after ``--timeout`` seconds (default 300).
Standard library only: it starts in a few hundredths of a second.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
import urllib.error
import urllib.request


def answers(url: str) -> bool:
    try:
        # Long enough to wait in the listen queue while the workers start, not to ask again.
        with urllib.request.urlopen(url, timeout=10) as response:  # noqa: S310 - our own http URL
            return bool(response.status == 200)
    except (urllib.error.URLError, OSError, ValueError):
        return False


def alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # pragma: no cover - someone else's process: it exists
        return True
    return True


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("url")
    parser.add_argument("pid", type=int)
    parser.add_argument("lines", nargs="*")
    parser.add_argument("--timeout", type=float, default=300.0)
    args = parser.parse_args(argv)
    deadline = time.monotonic() + args.timeout
    while time.monotonic() < deadline and alive(args.pid):
        if answers(args.url):
            print("\n".join(args.lines), flush=True)
            return 0
        time.sleep(0.2)
    return 1


if __name__ == "__main__":
    sys.exit(main())
