"""The README's Layout table matches the tree: every module is listed, every listed file exists."""

import os
import re

from tests.conftest import REPO_ROOT


def _layout_paths() -> set[str]:
  """The paths the Layout table names; a bare file name is in the folder of the path before it."""
  readme = (REPO_ROOT / "README.md").read_text()
  table = readme[readme.index("## Layout"):].split("\n## ")[0]
  paths = set()
  for row in table.splitlines():
    if not row.startswith("| `"):
      continue
    folder = ""
    for name in re.findall(r"`([^`]+)`", row.split(" | ")[0] + row.split(" | ")[1]):
      if "/" in name:
        folder = name if name.endswith("/") else os.path.dirname(name) + "/"
        paths.add(name.rstrip("/"))
      elif name.endswith(".py"):
        paths.add(folder + name)
  return paths


def test_the_layout_names_every_module_and_only_files_that_exist():
  listed = _layout_paths()
  assert all((REPO_ROOT / path).exists() for path in listed), sorted(
      path for path in listed if not (REPO_ROOT / path).exists())
  modules = {f"{folder}/{name}" for folder in ("jaxgan", "experiments")
             for name in os.listdir(REPO_ROOT / folder)
             if name.endswith(".py") and name != "__init__.py"}
  covered = {path for path in modules if path in listed or os.path.dirname(path) in listed}
  assert covered == modules, sorted(modules - covered)
