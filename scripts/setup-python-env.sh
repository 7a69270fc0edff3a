#!/usr/bin/env bash
# Creates .venv with the real Python tools inkflow's interop tests and peer
# benchmarks compare against (Keras 3 / TensorFlow CPU, TensorBoard, NumPy, h5py).
# Python is a test and benchmark tool here, never part of inkflow's runtime.
set -euo pipefail
cd "$(dirname "$0")/.."
PYTHON=${PYTHON:-python3}
if ! command -v "$PYTHON" >/dev/null; then
  echo "setup-python-env: no $PYTHON found; interop tests will be skipped" >&2
  exit 0
fi
[ -x .venv/bin/python ] || "$PYTHON" -m venv .venv
.venv/bin/python -m pip install --quiet --disable-pip-version-check -r scripts/python-requirements.txt
.venv/bin/python -c "import tensorflow as tf, keras, numpy, h5py, tensorboard; print('python env: tensorflow', tf.__version__, 'keras', keras.__version__, 'numpy', numpy.__version__, 'h5py', h5py.__version__)"
