"""Benchmark at a chosen CPU level, peers included: on an AVX-512 machine, `--cpu-capability avx2`
shows what a user of an AVX2-only CPU sees. The caps must be in the environment before torch, oneDNN
and OpenCV load, so the benchmark re-runs itself in a new process with them set."""
import getpass
import os
import sys
import tempfile

# Environment that holds every library of the comparison to one level: ours, ATen's own kernels,
# oneDNN (convolutions, matmuls) and OpenCV's dispatched kernels.
_OPENCV_AVX512 = "AVX512_COMMON,AVX512_SKX,AVX512_KNL,AVX512_KNM,AVX512_CNL,AVX512_CLX,AVX512_ICL"
_CAPS = {
    "avx512": {},
    "avx2": {"ATEN_CPU_CAPABILITY": "avx2", "ONEDNN_MAX_CPU_ISA": "AVX2", "OPENCV_CPU_DISABLE": _OPENCV_AVX512},
    "default": {"ATEN_CPU_CAPABILITY": "default", "ONEDNN_MAX_CPU_ISA": "SSE41",
                "OPENCV_CPU_DISABLE": "AVX,AVX2,FMA3,F16C,POPCNT,SSE4_2,AVX_512F," + _OPENCV_AVX512},
}
LEVELS = tuple(_CAPS)


def level_environment(level: str) -> dict:
    """os.environ plus the caps that hold ours and the peers to `level`, and a torch.compile cache of
    the level's own: inductor's on-disk cache does not key on ATEN_CPU_CAPABILITY, and with the cache an
    avx512 run had filled, a torch.compile'd BasicBlock under ATEN_CPU_CAPABILITY=avx2 returned NaN
    (torch 2.13; correct from an empty cache)."""
    env = dict(os.environ, VISION_EXT_CPU_CAPABILITY=level, **_CAPS[level])
    if "TORCHINDUCTOR_CACHE_DIR" not in os.environ:
        cache = f"torchinductor_{getpass.getuser()}_{level}"
        env["TORCHINDUCTOR_CACHE_DIR"] = os.path.join(tempfile.gettempdir(), cache)
    return env


def reexec_at(level: str, argv) -> None:
    """Replace this process by `python -m vision_ext.cli ARGV` with the caps of `level` (never returns),
    unless they are already in force."""
    if os.environ.get("VISION_EXT_CPU_CAPABILITY") == level and all(
            os.environ.get(k) == v for k, v in _CAPS[level].items()):
        return
    sys.stdout.flush()
    os.execve(sys.executable, [sys.executable, "-m", "vision_ext.cli", *argv], level_environment(level))
