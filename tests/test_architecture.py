"""The package's shape: the import layers hold, modules and functions stay small, the wheel installs
`jaxgan` alone with its weights and presets, and its console command works from any folder."""

import ast
import functools
import os
import sys
import zipfile

import grimp
import numpy as np
import pytest

from jaxgan import api, models
from jaxgan.config import schema
from jaxgan.core import losses, sampling
from jaxgan.data import batches, splits
from jaxgan.models import layers
from tests import processes
from tests.conftest import REPO_ROOT

MAX_MODULE_LINES, MAX_FUNCTION_LINES = 300, 60


def _bin(name: str) -> str:
  return os.path.join(os.path.dirname(sys.executable), name)


def test_the_import_layers_hold():
  result = processes.run([_bin("lint-imports")], cwd=REPO_ROOT, capture_output=True, text=True,
                         timeout=120)
  assert result.returncode == 0 and "0 broken" in result.stdout, result.stdout + result.stderr


def test_a_module_importing_a_layer_above_its_own_breaks_the_contract(tmp_path):
  """The contract can fail: a copy of the package where the data layer imports the training loop."""
  processes.run(["cp", "-r", str(REPO_ROOT / "jaxgan"), str(REPO_ROOT / "pyproject.toml"),
                  str(tmp_path)], check=True)
  with open(tmp_path / "jaxgan" / "data" / "clusters.py", "a") as f:
    f.write("\nfrom jaxgan.training import loop  # noqa: E402\n")
  result = processes.run([_bin("lint-imports")], cwd=tmp_path, capture_output=True, text=True,
                         timeout=120, env={**os.environ, "PYTHONPATH": str(tmp_path)})
  assert result.returncode != 0 and "jaxgan.data.clusters -> jaxgan.training.loop" in result.stdout


def test_modules_and_functions_stay_small():
  too_long = []
  for path in sorted((REPO_ROOT / "jaxgan").rglob("*.py")):
    source = path.read_text()
    if source.count("\n") > MAX_MODULE_LINES:
      too_long.append(f"{path.relative_to(REPO_ROOT)}: {source.count(chr(10))} lines")
    for node in ast.walk(ast.parse(source)):
      if isinstance(node, ast.FunctionDef) and node.end_lineno - node.lineno >= MAX_FUNCTION_LINES:
        too_long.append(f"{path.relative_to(REPO_ROOT)}:{node.lineno} {node.name}")
  assert not too_long, too_long


@pytest.mark.slow
def test_the_wheel_installs_jaxgan_alone_and_its_command_works_from_any_folder(tmp_path):
  processes.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "-q",
                  "-w", str(tmp_path / "dist"), str(REPO_ROOT)], check=True, timeout=300)
  (wheel,) = (tmp_path / "dist").glob("jaxgan-*.whl")
  names = zipfile.ZipFile(wheel).namelist()
  assert {name.split("/")[0] for name in names if not name.startswith("jaxgan-")} == {"jaxgan"}
  assert "jaxgan/weights/mnist_cgan.msgpack" in names and "jaxgan/config/presets/dcgan.py" in names
  site = tmp_path / "site"
  processes.run([sys.executable, "-m", "pip", "install", "--no-deps", "-q", "--target", str(site),
                  str(wheel)], check=True, timeout=300)
  env = {**os.environ, "PYTHONPATH": str(site)}
  elsewhere = tmp_path / "elsewhere"
  elsewhere.mkdir()
  result = processes.run([str(site / "bin" / "jaxgan"), "generate", "--pretrained=mnist_cgan",
                          "--label=3", "--num=8", "--output=threes.png"], cwd=elsewhere, env=env,
                         capture_output=True, text=True, timeout=300)
  assert result.returncode == 0, result.stderr
  assert (elsewhere / "threes.png").is_file()
  printed = processes.run([str(site / "bin" / "jaxgan"), "train", "--config=dcgan",
                           "--config.num_steps=7", "--print_config"], cwd=elsewhere, env=env,
                          capture_output=True, text=True, timeout=300)
  assert printed.returncode == 0 and "\nnum_steps: 7\n" in printed.stdout, printed.stderr
  where = processes.run([sys.executable, "-c", "import jaxgan.api; print(jaxgan.api.__file__)"],
                        cwd=elsewhere, env=env, capture_output=True, text=True, timeout=120)
  assert where.stdout.startswith(str(site)), where.stdout + where.stderr


@pytest.mark.slow
def test_the_readme_python_example_runs(tmp_path):
  readme = (REPO_ROOT / "README.md").read_text()
  section = readme[readme.index("## Use it from Python"):].split("\n## ")[0]
  code = section.split("```python\n", 1)[1].split("```", 1)[0]
  result = processes.run([sys.executable, "-c", code], cwd=tmp_path, capture_output=True,
                         text=True, timeout=600)
  assert result.returncode == 0, result.stderr[-3000:]
  assert (tmp_path / "runs" / "api_demo" / "checkpoints").is_dir()


def test_a_run_written_by_the_flat_layout_restores_and_samples_the_same_images(monkeypatch):
  """tests/reference/run_0_1_layout: config.json and the step-40 checkpoint of the smoke config (idx
  source), written by the flat-folder package (commit 65797c0), with the 8 images its `generate
  --num=8` drew. The new layout restores it and draws the same bytes."""
  monkeypatch.setenv("JAXGAN_MNIST_IDX_DIR", str(REPO_ROOT))  # Its config reads the idx source.
  run = REPO_ROOT / "tests" / "reference" / "run_0_1_layout"
  images = api.generate(str(run), num=8)
  assert np.array_equal(images, np.load(run / "generated_by_0_1.npy")[..., None])


def test_the_schemas_choices_are_the_names_the_layers_implement():
  assert schema.DTYPES == tuple(models.DTYPES) and schema.MODELS == tuple(models.REGISTRY)
  assert schema.INITS == layers.INITS and schema.SAMPLING_MODES == sampling.SAMPLING_MODES
  assert schema.GENERATOR_LOSSES == losses.GENERATOR_LOSSES
  assert schema.DISCRIMINATOR_LOSSES == losses.DISCRIMINATOR_LOSSES
  assert schema.SOURCES == splits.SOURCES
  assert (schema.RANGES, schema.PIPELINES) == (batches.RANGES, batches.PIPELINES)


def test_the_longest_import_chain_of_the_library_is_at_most_8_modules():
  """Below the commands and the public API: jaxgan.training.loop down to jaxgan.errors."""
  graph = grimp.build_graph("jaxgan")
  inside = {m for m in graph.modules if m not in ("jaxgan", "jaxgan.api")
            and not m.startswith("jaxgan.cli")}

  @functools.cache
  def longest(module: str) -> int:
    return 1 + max((longest(m) for m in graph.find_modules_directly_imported_by(module)
                    if m in inside), default=0)

  assert max(map(longest, inside)) <= 8
