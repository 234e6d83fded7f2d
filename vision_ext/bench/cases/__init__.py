"""One module per op family: `cases(quick, device) -> list[Case]`."""
