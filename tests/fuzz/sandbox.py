"""Run op calls in a long-lived child process, so an op that crashes (segfault, abort, sanitizer report)
fails the one fuzz example that caused it instead of killing pytest.

`SANDBOX.call("vision_ext.features:fast", img, 20)` returns the result (pickled back), raises OpError for
an exception the op raised (type name + message), or Crash (with the call, the reproducer) if the child died.
"""
import os
import pickle
import struct
import subprocess
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


class OpError(Exception):
    def __init__(self, type_name: str, message: str):
        super().__init__(f"{type_name}: {message}")
        self.type_name, self.message = type_name, message


class Crash(AssertionError):
    """The child process died inside the op: a kernel bug."""


def _send(stream, obj) -> None:
    data = pickle.dumps(obj)
    stream.write(struct.pack("<Q", len(data)) + data)
    stream.flush()


def _receive(stream):
    head = stream.read(8)
    if len(head) < 8:
        raise EOFError
    (n,) = struct.unpack("<Q", head)
    return pickle.loads(stream.read(n))


def _resolve(path: str):
    import importlib

    module, _, attr = path.partition(":")
    obj = importlib.import_module(module)
    for name in attr.split("."):
        obj = getattr(obj, name)
    return obj


def serve() -> None:
    """The child's loop: (path, args, kwargs) in, ("ok", result) or ("error", type, message) out."""
    import torch  # noqa: F401
    import vision_ext  # noqa: F401

    stdin, stdout = sys.stdin.buffer, os.fdopen(os.dup(1), "wb")
    os.dup2(2, 1)  # stray prints go to stderr, never into the reply stream
    while True:
        try:
            path, args, kwargs = _receive(stdin)
        except EOFError:
            return
        try:
            _send(stdout, ("ok", _resolve(path)(*args, **kwargs)))
        except Exception as err:  # noqa: BLE001  (the parent judges the error)
            _send(stdout, ("error", type(err).__name__, str(err)))


class Sandbox:
    def __init__(self):
        self.proc = None

    def _start(self):
        # The caller's PYTHONPATH first: `make sanitize` points it at the sanitizer build of vision_ext.
        env = dict(os.environ, PYTHONPATH=os.pathsep.join([os.environ.get("PYTHONPATH", ""), ROOT,
                                                           os.path.dirname(__file__)]))
        self.proc = subprocess.Popen([sys.executable, "-c", "import sandbox; sandbox.serve()"], env=env,
                                     stdin=subprocess.PIPE, stdout=subprocess.PIPE)

    def call(self, path: str, *args, **kwargs):
        if self.proc is None or self.proc.poll() is not None:
            self._start()
        try:
            _send(self.proc.stdin, (path, args, kwargs))
            reply = _receive(self.proc.stdout)
        except (EOFError, BrokenPipeError):
            code = self.proc.wait()
            self.proc = None
            raise Crash(f"{path} crashed the process (exit status {code}); reproducer: "
                        f"{path}(*{_describe(args)}, **{_describe(kwargs)})") from None
        if reply[0] == "error":
            raise OpError(reply[1], reply[2])
        return reply[1]

    def expect_error(self, path: str, *args, **kwargs) -> OpError:
        """The call must fail with a clear error (ValueError/RuntimeError/TypeError with a message)."""
        try:
            self.call(path, *args, **kwargs)
        except OpError as err:
            assert err.type_name in ("ValueError", "RuntimeError", "TypeError") and err.message, err
            return err
        raise AssertionError(f"{path} accepted bad arguments: {_describe(args)} {_describe(kwargs)}")

    def close(self):
        if self.proc is not None and self.proc.poll() is None:
            self.proc.stdin.close()
            self.proc.wait(timeout=30)
        self.proc = None


def _describe(obj):
    import torch

    if isinstance(obj, torch.Tensor):
        return (f"tensor(shape={tuple(obj.shape)}, stride={obj.stride()}, dtype={obj.dtype}, "
                f"values={obj.flatten()[:64].tolist()})")
    if isinstance(obj, (list, tuple)):
        return type(obj)(_describe(o) for o in obj)
    if isinstance(obj, dict):
        return {k: _describe(v) for k, v in obj.items()}
    return obj


SANDBOX = Sandbox()
