#!/usr/bin/env bash
# Set up ./.venv for rnnlab: a virtual environment, PyTorch (its CPU build where no NVIDIA GPU
# is present), rnnlab with its bundled plugins and the development tools. Idempotent: a second
# run checks and returns in a second. `make demo` and `make test` call it.
#   bash scripts/setup.sh [PYTHON]
set -euo pipefail
cd "$(dirname "$0")/.."
python=${1:-python3}
venv=.venv
stamp=$venv/.rnnlab-setup  # what was installed, for which pyproject.toml
torch_cpu="torch==2.13.0+cpu"  # the build the suite is checked with; rnnlab needs torch>=2.2

if [ ! -x "$venv/bin/python" ]; then
  echo "setup: creating $venv with $("$python" --version 2>&1)"
  "$python" -m venv "$venv"
fi
pip=("$venv/bin/python" -m pip --disable-pip-version-check)

installed() {  # the version of an installed distribution, without importing it
  "$venv/bin/python" -c "from importlib.metadata import version as v; print(v('$1'))" 2>/dev/null
}

if [ -z "$(installed torch)" ]; then
  if command -v nvidia-smi >/dev/null && nvidia-smi -L >/dev/null 2>&1; then
    echo "setup: NVIDIA GPU found: installing PyTorch with CUDA from PyPI"
    "${pip[@]}" install "torch>=2.2"
  else
    # No GPU: the CPU build (about 200 MB, against several GB for the CUDA one). pip's own
    # sources first (a local wheel or mirror), then PyTorch's CPU index.
    echo "setup: no NVIDIA GPU: installing PyTorch's CPU build ($torch_cpu)"
    "${pip[@]}" install -q "$torch_cpu" 2>/dev/null \
      || "${pip[@]}" install "$torch_cpu" --index-url https://download.pytorch.org/whl/cpu
  fi
fi

want="$(sha256sum pyproject.toml | cut -c1-16)"
if [ "$(cat "$stamp" 2>/dev/null)" != "$want" ]; then
  echo "setup: installing rnnlab (editable) with its development tools"
  "${pip[@]}" install -q -e ".[dev]"
  echo "$want" > "$stamp"
fi
echo "setup: ready in $venv (rnnlab $(installed rnnlab), torch $(installed torch))"
