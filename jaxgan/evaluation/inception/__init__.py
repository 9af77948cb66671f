"""Inception features for FID, KID, Inception Score and precision/recall of any images, comparable
with papers: pytorch-fid's 2015 Inception network and weights, clean-fid's resize.

`model` (the Flax network), `convert` (pytorch-fid's state dict to Flax), `weights` (reading a .pth
without torch; download, checksum and cache), `features` (preprocessing, the batched extractor,
image folders and .npy files), `metrics` (the numbers, and each image set's cached statistics).
The command is `python -m experiments.fid`; docs/fid.md says which numbers compare with papers.

It may import `jaxgan.errors` and `jaxgan.evaluation.feature_metrics`, nothing else of jaxgan.
"""
