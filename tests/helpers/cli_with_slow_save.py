"""Run `vision-ext ARGS...` with its N-th torch.save hooked, for the interruption tests (tests/training).

usage: python cli_with_slow_save.py MARKER N kill|signal ARGS...

kill:   the N-th save writes half of its bytes, creates MARKER and hangs: the test SIGKILLs it mid-write.
signal: the N-th save completes, then MARKER is created: the test sends SIGINT while training goes on.
"""
import io
import sys
import time

import torch

marker, index, mode, args = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4:]
real_save = torch.save
calls = [0]


def save(obj, f, *a, **kw):
    calls[0] += 1
    if calls[0] != index:
        return real_save(obj, f, *a, **kw)
    if mode == "signal":
        real_save(obj, f, *a, **kw)
        open(marker, "w").close()
        return None
    buf = io.BytesIO()
    real_save(obj, buf, *a, **kw)
    data = buf.getvalue()
    f.write(data[: len(data) // 2])
    f.flush()
    open(marker, "w").close()
    time.sleep(600)
    raise AssertionError("not killed")


torch.save = save

from vision_ext.cli import main  # noqa: E402  (after the hook, which every module then sees)

sys.exit(main(args))
