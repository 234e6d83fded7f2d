"""Import every submodule of a package, so op families, CLI commands and bench
cases register themselves by existing (no central list to edit)."""
import importlib
import pkgutil


def import_submodules(package_name: str, package_path) -> list:
    modules = []
    for info in sorted(pkgutil.iter_modules(package_path), key=lambda i: i.name):
        if not info.name.startswith("_"):
            modules.append(importlib.import_module(f"{package_name}.{info.name}"))
    return modules
