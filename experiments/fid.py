"""FID, KID, Inception Score and precision/recall of two image sets:
`jaxgan fid` in a checkout (jaxgan/cli/fid.py)."""

import runpy

if __name__ == "__main__":
  runpy.run_module("jaxgan.cli.fid", run_name="__main__", alter_sys=True)
