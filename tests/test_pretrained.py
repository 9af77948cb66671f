"""Pretrained generators: export from a run, load with its sha256 checked, sample; the shipped ones."""

import json
import os
import sys

import jax
import numpy as np
import pytest

from jaxgan.config import schema
from jaxgan.config.presets import best, fashion
from jaxgan.core import sampling
from jaxgan.errors import ConfigError, JaxganError
from jaxgan.evaluation import classifier, run_eval
from jaxgan.run import pretrained, restore
from tests import processes
from tests.conftest import REPO_ROOT
from tests.test_clusters import self_conditioned_run  # noqa: F401  (a fixture)


@pytest.mark.slow
def test_an_exported_generator_draws_the_runs_images(self_conditioned_run, tmp_path):  # noqa: F811
  pretrained.export(self_conditioned_run, "mnist_dcgan", command="test", metrics={}, best=False,
                    directory=str(tmp_path))
  config, state, spec = restore.restore_run(self_conditioned_run)
  key = jax.random.PRNGKey(3)
  expected = sampling.sample_images(spec, state, key, 20, mode=config.sampling, seed=config.seed)
  p_config, p_state, p_spec = pretrained.load("mnist_dcgan", str(tmp_path))
  assert p_spec.label_prior == spec.label_prior
  got = sampling.sample_images(p_spec, p_state, key, 20, mode=p_config.sampling)
  np.testing.assert_array_equal(got, expected)
  info = json.loads((tmp_path / "mnist_dcgan.json").read_text())
  assert info["config"]["data"]["idx_dir"] == ""


def test_a_damaged_or_unknown_pretrained_generator_is_refused(self_conditioned_run, tmp_path):  # noqa: F811
  pretrained.export(self_conditioned_run, "mnist_cgan", command="test", metrics={}, best=False,
                    directory=str(tmp_path))
  with open(tmp_path / "mnist_cgan.msgpack", "r+b") as f:
    f.seek(100)
    byte = f.read(1)
    f.seek(100)
    f.write(bytes([byte[0] ^ 1]))
  with pytest.raises(JaxganError, match="does not match"):
    pretrained.load("mnist_cgan", str(tmp_path))
  with pytest.raises(ConfigError, match="expected one of"):
    pretrained.load("cifar_gan", str(tmp_path))


@pytest.mark.parametrize("name, preset", [("mnist_cgan", best), ("fashion_dcgan", fashion)])
def test_a_shipped_generator_is_the_run_of_its_preset_the_readme_measured(name, preset):
  """The shipped mnist_cgan is the README's best.py run, fashion_dcgan its fashion.py run: their
  fields agree, machine paths aside."""
  with open(os.path.join(pretrained.WEIGHTS_DIR, f"{name}.json")) as f:
    record = json.load(f)
  measured = schema.flatten(record["config"])
  resolved = schema.flatten(preset.get_config().to_dict())
  fields = [n for n, field in schema.FIELDS.items() if field.resume != schema.MACHINE]
  differ = {n: (resolved[n], measured.get(n)) for n in fields
            if n in measured and list(np.atleast_1d(resolved[n])) != list(np.atleast_1d(measured[n]))}
  preset_path = f"configs/{preset.__name__.rsplit('.', 1)[-1]}.py"
  assert not differ and preset_path in record["command"], differ


@pytest.mark.parametrize("name", pretrained.NAMES)
def test_the_shipped_generators_load_and_sample(name):
  images = pretrained.sample(name, num=10, seed=1)
  assert images.shape == (10, 28, 28, 1) and images.dtype == np.uint8
  assert images.std() > 20  # Drawn digits, not a constant image.


def test_generate_draws_sevens_from_the_shipped_conditional_generator(tmp_path):
  output = tmp_path / "sevens.npy"
  result = processes.run([sys.executable, "-m", "experiments.generate", "--pretrained=mnist_cgan",
                          "--label=7", "--num=200", f"--output={output}"],
                         cwd=REPO_ROOT, capture_output=True, text=True, check=False)
  assert result.returncode == 0, result.stderr
  _, logits_NxC = classifier.features_and_logits(classifier.load_evaluator(),
                                                 np.load(output)[..., None])
  assert np.mean(np.argmax(logits_NxC, axis=1) == 7) > 0.9


@pytest.mark.slow
@pytest.mark.parametrize("name", pretrained.NAMES)
def test_the_shipped_generators_reproduce_their_recorded_fcd(name, request):
  """FCD at N = 2000 within 5% of the value recorded when the weights were exported, with the
  evaluator of the generator's dataset."""
  config, state, spec = pretrained.load(name)
  fashion = config.data.dataset == "fashion_mnist"
  idx_dir = request.getfixturevalue("fashion_idx_dir" if fashion else "mnist_idx_dir")
  config.data.source, config.data.idx_dir = "idx", idx_dir
  with open(os.path.join(pretrained.WEIGHTS_DIR, f"{name}.json")) as f:
    recorded = json.load(f)["metrics"]["fcd_n2000"]
  evaluator = run_eval.load_evaluator(config.data)
  reference = run_eval.load_reference(evaluator, config.data)
  sample = sampling.Sampler(spec, config.sampling)
  metrics = run_eval.evaluate_state(sample, state, run_eval.eval_key(0), 2000, evaluator, reference,
                                    kid_subsets=10)
  assert metrics["fcd"] == pytest.approx(recorded, rel=0.05)
