"""The truncation trick's trade-off: FCD, precision, recall and label accuracy against PSI.

  python -m experiments.truncation --generator=runs/cgan --psis=0,2,1.5,1,0.75,0.5 \
      --num=10000 --output=docs/truncation.png

`--generator` is a run's workdir (its latest checkpoint) or a pretrained name. Each PSI is
evaluated as `jaxgan evaluate --truncation=PSI` would (the run's evaluation noise, N samples against
its real data); PSI 0 is no truncation. Prints one JSON line per PSI and plots them.
"""

import json

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
from absl import flags  # noqa: E402

from jaxgan.cli import entry  # noqa: E402
from jaxgan.evaluation import run_eval  # noqa: E402
from jaxgan.run import pretrained, restore  # noqa: E402

_GENERATOR = flags.DEFINE_string("generator", None, "A run's workdir or a pretrained name.")
_PSIS = flags.DEFINE_list("psis", ["0", "2", "1.5", "1", "0.75", "0.5"], "Truncation bounds.")
_NUM = flags.DEFINE_integer("num", 10000, "Samples per evaluation.")
_OUTPUT = flags.DEFINE_string("output", "truncation.png", "The plot.")


def main():
  name = _GENERATOR.value
  config, state, spec = (pretrained.load(name) if name in pretrained.NAMES
                         else restore.restore_run(name))
  rows = []
  for psi in map(float, _PSIS.value):
    metrics = run_eval.evaluate_run(config, state, spec, _NUM.value, truncation=psi)
    rows.append(dict(psi=psi, **{k: metrics[k] for k in (
        "fcd_ratio", "precision", "recall", "label_accuracy", "label_accuracy_min") if k in metrics}))
    print(json.dumps(rows[-1]), flush=True)
  shown = sorted(rows, key=lambda r: r["psi"] or float("inf"))
  labels = [("none" if r["psi"] == 0 else f"{r['psi']:g}") for r in shown]
  fig, (ax_pr, ax_fcd) = plt.subplots(1, 2, figsize=(10, 4))
  for key in ("precision", "recall", "label_accuracy_min"):
    if key in shown[0]:
      ax_pr.plot(labels, [r[key] for r in shown], marker="o", label=key.replace("_", " "))
  ax_pr.set_xlabel("truncation PSI (none: N(0, I))")
  ax_pr.legend()
  ax_fcd.plot(labels, [r["fcd_ratio"] for r in shown], marker="o")
  ax_fcd.set_xlabel("truncation PSI (none: N(0, I))")
  ax_fcd.set_ylabel("FCD / real FCD")
  fig.suptitle(f"{name}: the truncation trick at N = {_NUM.value}")
  fig.tight_layout()
  fig.savefig(_OUTPUT.value, dpi=100)


if __name__ == "__main__":
  entry.run(main)
