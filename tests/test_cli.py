"""The commands as a user meets them: mistyped config fields in every form, --help, --print_config,
the default config from any folder, a quiet first TFDS preparation."""

import json
import os
import sys

import pytest

from jaxgan.config import schema
from tests import processes
from tests.conftest import REPO_ROOT

# Training runs and command-line subprocesses: in CI, not in the edit loop (-m "not slow").
pytestmark = pytest.mark.slow

SMOKE = "--config=experiments/configs/smoke.py"
TIMEOUT = 300  # Seconds for one command on a busy 2-core machine.
# (flags, the flag as written, the closest field): one of each form absl and ml_collections accept.
TYPOS = [
    (["--config.num_step=100"], "--config.num_step", "num_steps"),  # The default config.
    (["--config.model.nope=1"], "--config.model.nope", "model.name"),
    ([SMOKE, "--config.num_step=100"], "--config.num_step", "num_steps"),
    (["--config", "experiments/configs/smoke.py", "--config.model.latnt_dim", "8"],
     "--config.model.latnt_dim", "model.latent_dim"),
    (["--config.optimizer.g_lrr=0.1", SMOKE], "--config.optimizer.g_lrr", "optimizer.g_lr"),
    (["--noconfig.model.conditionl"], "--noconfig.model.conditionl", "model.conditional"),
    ([SMOKE, "--config.zzz=1"], "--config.zzz", None),  # No close field.
]


def _command(module, *args, cwd=REPO_ROOT, env=None):
  return processes.start([sys.executable, "-m", module, *args], cwd=cwd, stdout=processes.PIPE,
                         stderr=processes.PIPE, text=True,
                         env=None if env is None else {**os.environ, **env})


def _never_trains(folder) -> list[str]:
  """Flags for a command meant to stop before any training (a bad flag, --help, --print_config): were
  it to go on, it would fail at once on missing data instead of training the default config."""
  return ["--config.data.source=idx", f"--config.data.idx_dir={folder / 'no_data'}"]


@pytest.fixture(scope="module")
def typo_results(tmp_path_factory):
  """[(exit code, stderr, workdir exists)] of `experiments.mnist_gan` with each of TYPOS, run at once."""
  root = tmp_path_factory.mktemp("typos")
  runs = [(_command("experiments.mnist_gan", *args, f"--workdir={root / str(i)}",
                    *_never_trains(root)), root / str(i))
          for i, (args, _, _) in enumerate(TYPOS)]
  stderrs = [processes.communicate(p, timeout=TIMEOUT)[1] for p, _ in runs]
  return [(p.returncode, stderr, workdir.exists()) for (p, workdir), stderr in zip(runs, stderrs)]


@pytest.mark.parametrize("i", range(len(TYPOS)), ids=[" ".join(t[0]) for t in TYPOS])
def test_a_mistyped_field_is_one_line_naming_it_and_the_closest_field(typo_results, i):
  _, written, closest = TYPOS[i]
  code, stderr, workdir_created = typo_results[i]
  assert code == 2 and not workdir_created, stderr
  field = written.split(".", 1)[1]
  hint = f"did you mean --config.{closest}?" if closest else "--print_config lists the fields"
  assert stderr.splitlines() == [
      f"error: bad flag: {written}: the config has no field {field!r}; {hint}"]


def test_help_names_the_config_flag_and_print_config(tmp_path):
  help_text = processes.run([sys.executable, "-m", "experiments.mnist_gan", "--help",
                             f"--workdir={tmp_path / 'run'}", *_never_trains(tmp_path)],
                            cwd=REPO_ROOT, capture_output=True, text=True,
                            timeout=TIMEOUT).stdout  # absl's --help exits 1.
  assert "  --config: " in help_text and "--print_config prints every field" in help_text
  assert "  --[no]print_config: " in help_text
  words = " ".join(help_text.split())  # absl wraps the help text.
  for name, field in schema.FIELDS.items():  # Every field, with its default and resume class.
    assert f"{name} (default {field.default!r}; resume: {field.resume}):" in words, name


@pytest.mark.parametrize("module", ["jaxgan.cli.train", "jaxgan.cli.sweep"])
def test_print_config_resolves_the_default_config_from_any_folder(module, tmp_path):
  result = _command(module, "--print_config", "--config.num_steps=7",
                    *_never_trains(tmp_path / "no_such_folder"), cwd=tmp_path)
  printed, stderr = processes.communicate(result, timeout=TIMEOUT)
  assert result.returncode == 0, stderr
  assert "\nnum_steps: 7\n" in printed and "latent_dim: 96" in printed  # The seed, overridden.
  assert not list(tmp_path.iterdir())


@pytest.mark.parametrize("config_flags", [["--config=experiments/configs/smoke.py"],
                                          ["--config", "experiments/configs/smoke.py"]])
def test_overrides_apply_to_the_config_file_before_them_and_not_after(config_flags, tmp_path):
  """ml_collections reads --config.FIELD overrides after the file: before it, one line says so."""
  after = _command("experiments.mnist_gan", *config_flags, "--config.num_steps=7",
                   "--config.batch_size=16", "--print_config", f"--workdir={tmp_path / 'run'}",
                   *_never_trains(tmp_path))
  stdout, stderr = processes.communicate(after, timeout=TIMEOUT)
  assert after.returncode == 0, stderr
  printed = "\n" + stdout
  assert "\nnum_steps: 7\n" in printed and "\nbatch_size: 16\n" in printed
  assert "\n  latent_dim: 16\n" in printed  # smoke.py's, not the default's 96.
  before = _command("experiments.mnist_gan", "--config.num_steps=7", *config_flags,
                    "--print_config", f"--workdir={tmp_path / 'run'}", *_never_trains(tmp_path))
  stdout, stderr = processes.communicate(before, timeout=TIMEOUT)
  assert before.returncode == 2 and not stdout
  assert stderr.splitlines() == [
      "error: bad flag: Found --config.num_steps=7 in argv before a value for --config was "
      "specified; put the --config.FIELD overrides after it"]


def test_preparing_tfds_offline_prints_only_its_own_lines(tiny_idx_dir, tmp_path):
  """No TensorFlow start-up notes, TFDS sizes ("Unknown size"), progress bars or OpenCV advice; the
  data paths from the environment are not saved in the run's config.json."""
  process = _command("experiments.mnist_gan", SMOKE, "--config.num_steps=2",
                     f"--workdir={tmp_path / 'run'}",
                     env={"JAXGAN_MNIST_IDX_DIR": tiny_idx_dir, "TFDS_DATA_DIR": str(tmp_path)})
  stdout, stderr = processes.communicate(process, timeout=TIMEOUT)
  assert process.returncode == 0, stderr
  assert stdout.splitlines() == [stdout.splitlines()[0]] and stdout.startswith("step 2/2: ")
  lines = [line for line in stderr.splitlines()  # Less the progress bar.
           if line.strip() and "step/s" not in line and "s/step" not in line]
  assert lines[0] == f"Preparing TFDS mnist in {tmp_path} from the IDX files in {tiny_idx_dir} (once)."
  assert all(line.startswith("warning: ") and "sha256" in line for line in lines[1:]), lines
  saved = json.loads((tmp_path / "run" / "config.json").read_text())["data"]
  assert saved["idx_dir"] == saved["tfds_data_dir"] == saved["download_mirror"] == ""
