"""The README's Layout table matches the tree: every layer folder and top-level module is listed,
every listed file exists."""

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


def test_the_layout_names_every_folder_and_top_level_module_and_only_files_that_exist():
  listed = _layout_paths()
  assert all((REPO_ROOT / path).exists() for path in listed), sorted(
      path for path in listed if not (REPO_ROOT / path).exists())
  parts = {f"jaxgan/{name}" for name in os.listdir(REPO_ROOT / "jaxgan")
           if name.endswith(".py") or (REPO_ROOT / "jaxgan" / name / "__init__.py").exists()}
  parts |= {"jaxgan/weights", "experiments"}
  assert parts <= listed, sorted(parts - listed)
