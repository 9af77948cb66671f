"""The Colab notebook runs top to bottom on CPU, in its offline smoke mode."""

import os

import nbformat
import pytest
from nbclient import NotebookClient

from tests.conftest import REPO_ROOT, write_tiny_idx_dir

NOTEBOOK = REPO_ROOT / "notebooks" / "mnist_gan_colab.ipynb"


@pytest.mark.slow
def test_notebook_executes_in_smoke_mode(tmp_path, monkeypatch):
  monkeypatch.setenv("JAXGAN_NOTEBOOK_SMOKE", "1")
  # The notebook evaluates 256 samples: its real baseline needs as many training images.
  monkeypatch.setenv("JAXGAN_MNIST_IDX_DIR", write_tiny_idx_dir(tmp_path / "idx", 300))
  monkeypatch.setenv("PYTHONPATH", os.pathsep.join(
      filter(None, [str(REPO_ROOT), os.environ.get("PYTHONPATH")])))
  notebook = nbformat.read(NOTEBOOK, as_version=4)
  NotebookClient(notebook, timeout=600, kernel_name="python3",
                 resources={"metadata": {"path": str(tmp_path)}}).execute()
  outputs = "".join(output.get("text", "") for cell in notebook.cells
                    for output in cell.get("outputs", []))
  assert "smoke mode: True" in outputs and "trained 40 steps" in outputs
  assert "fcd" in outputs and (tmp_path / "run" / "walk.png").is_file()
