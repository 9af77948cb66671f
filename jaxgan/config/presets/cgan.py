"""The class-conditional DCGAN: `dcgan.py` conditioned on MNIST's labels, each class split into 40
k-means sub-clusters of its pixels, with an auxiliary classifier and a learning-rate decay.

G and a spectrally normalised projection D are conditioned on the (class, sub-cluster) pair, 400
labels in all; `generate --label=K` draws class K, its sub-clusters in proportion to their sizes,
and the sample grids put one class in each column. Plain labels lump modes that the sub-clusters
separate (slanted and upright 1s, open and closed 4s). D also classifies real images into the 10
classes, and G's loss adds 0.05 times that classifier's cross-entropy on its samples (AC-GAN), so
that the samples read as the digit asked for. Both learning rates fall linearly to 0 over the last
third of the run: the conditional model stops improving at a constant rate after about 10000
steps, and the decay takes it from 2.49x and 2.33x real to 1.86x and 1.79x (docs/sweeps.md).
Measured at N = 10000 (README, Results), two seeds: FCD 1.73x and 1.86x real, label accuracy 99.3%
and 99.2% (every digit within 0.5 points of the evaluator's own accuracy on real test digits in
the first, all but 3s in the second); 15.0 and 11.5 minutes on a 2-core CPU.
"""

from jaxgan.config.presets import dcgan


def get_config():
  config = dcgan.get_config()
  config.model.conditional = True
  config.model.clusters = 40  # Sub-clusters per class.
  config.loss.class_weight = 0.05
  config.optimizer.lr_decay = 1 / 3
  return config
