"""The check of a command's error path: exit status 2, one line on stderr naming what is wrong, no traceback."""
import pytest

from vision_ext.cli import main


def fails(capsys, argv, *needles) -> str:
    with pytest.raises(SystemExit) as exc:
        main(argv)
    err = capsys.readouterr().err.strip()
    lines = err.splitlines()
    assert exc.value.code == 2, err
    assert "Traceback" not in err, err
    # One line; argparse's own errors put the usage lines before it.
    assert len(lines) == 1 or (lines[0].startswith("usage:") and lines[-1].startswith("vision-ext")), err
    for needle in needles:
        assert needle in err, (needle, err)
    return err
