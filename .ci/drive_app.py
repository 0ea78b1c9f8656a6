"""The Quick start's first command as a person runs it: `gradtui` in a terminal (a pty of 120 x 40),
`e` to run every step once the screen is up, `q` once the pipeline says the pass matches. Exit 0
when the app showed its verdict and quit cleanly; 1, with what the screen last said, otherwise.

    python .ci/drive_app.py gradtui [OPTIONS...]
"""

import os
import pty
import re
import select
import subprocess
import sys
import time

ANSI = re.compile(rb"\x1b\[[0-9;?]*[ -/]*[@-~]|\x1b[()][0-9A-Za-z]|\x1b[=>]")
LIMIT_S = 180


def main(command: list[str]) -> int:
    leader, follower = pty.openpty()
    os.set_blocking(leader, False)
    env = dict(os.environ, COLUMNS="120", LINES="40", TERM="xterm-256color")
    started = time.monotonic()
    process = subprocess.Popen(command, stdin=follower, stdout=follower, stderr=follower, env=env, start_new_session=True)
    os.close(follower)
    screen, pressed, seen = b"", [], []
    try:
        while time.monotonic() - started < LIMIT_S and process.poll() is None:
            ready, _, _ = select.select([leader], [], [], 0.1)
            if ready:
                try:
                    screen += os.read(leader, 1 << 16)
                except OSError:
                    break
            text = ANSI.sub(b"", screen)
            for key, wanted in ((b"e", b"pipeline"), (b"q", b"all match")):
                if key not in pressed and wanted in text and (key == b"e" or b"e" in pressed):
                    os.write(leader, key)
                    pressed.append(key)
                    seen.append(f"{wanted.decode()} at {time.monotonic() - started:.1f} s, pressed {key.decode()}")
        code = process.wait(timeout=30)
    finally:
        if process.poll() is None:
            process.kill()
        os.close(leader)
    print("gradtui in a terminal: " + "; ".join(seen))
    if pressed != [b"e", b"q"] or code != 0:
        tail = ANSI.sub(b"", screen).decode(errors="replace")[-2000:]
        print(f"the app did not show its verdict and quit (exit {code}); the screen last said:\n{tail}")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
