"""Subcommands of `vision-ext`, discovered by vision_ext.cli (one module each)."""
