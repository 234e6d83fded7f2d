"""The vision-ext command: help, info, and the quick benchmark writing its JSON and PNG."""
import json
import subprocess
import sys

import pytest

from vision_ext.cli import main


def test_help_lists_commands(capsys):
    with pytest.raises(SystemExit) as exc:
        main(["--help"])
    assert exc.value.code == 0
    out = capsys.readouterr().out
    assert "info" in out and "bench" in out


def test_info_reports_build(capsys):
    assert main(["info"]) == 0
    info = json.loads(capsys.readouterr().out)
    assert info["cuda_kernels"] in (True, False)
    assert "conv_bias_act" in info["ops"] and "bn_add_relu" in info["ops"]


def test_module_entry_point():
    out = subprocess.run([sys.executable, "-m", "vision_ext.cli", "info"], capture_output=True, text=True, check=True)
    assert json.loads(out.stdout)["torch"]


def test_bench_quick_writes_table_json_png(tmp_path, capsys):
    assert main(["bench", "--quick", "--family", "residual", "--min-time", "0.01", "--out", str(tmp_path)]) == 0
    out = capsys.readouterr().out
    assert "BasicBlock inference" in out and "eager NCHW" in out
    data = json.loads((tmp_path / "bench.json").read_text())
    rows = data["results"]
    assert rows and all(r["ours_seconds"] > 0 for r in rows)
    assert all(p["matches"] for r in rows for p in r["peers"].values() if p["matches"] is not None)
    assert (tmp_path / "bench.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_bench_bad_arguments(capsys):
    with pytest.raises(SystemExit) as exc:
        main(["bench", "--family", "no-such-family"])
    assert exc.value.code == 2
    assert "no benchmark cases" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        main(["bench", "--device", "tpu"])
