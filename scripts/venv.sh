# Sourced by scripts/run and scripts/test: checks the interpreter named by PYTHON= (default
# python3) and makes sure .venv was made by it, else builds .venv afresh.
PY=${PYTHON:-python3}
need="Python 3.11 or newer is needed; name one with PYTHON=, e.g. PYTHON=python3.12 bash scripts/$(basename "$0")"
if ! command -v "$PY" >/dev/null 2>&1; then
    echo "error: $PY not found. $need" >&2
    exit 2
fi
if ! "$PY" -c 'import sys; sys.exit(sys.version_info < (3, 11))' >/dev/null 2>&1; then
    found=$("$PY" -c 'import sys; print("Python %d.%d" % sys.version_info[:2])' 2>/dev/null || true)
    echo "error: $PY is ${found:-not a working Python interpreter}. $need" >&2
    exit 2
fi
if ! "$PY" -c 'import venv, ensurepip' >/dev/null 2>&1; then
    echo "error: $PY cannot make a virtual environment (no venv/ensurepip module; on Debian or Ubuntu: apt install python3-venv)" >&2
    exit 2
fi
# The base interpreter, the same whether asked of it or of a venv made by it.
which_python='import os, sys; print("Python %d.%d.%d in" % sys.version_info[:3], os.path.realpath(sys.base_prefix))'
want=$("$PY" -c "$which_python")
have=$(.venv/bin/python -c "$which_python" 2>/dev/null || true)
if [ "$have" != "$want" ]; then
    if [ -e .venv ]; then
        echo "note: .venv was made by another Python (${have:-broken}), rebuilding it with $PY" >&2
        rm -rf .venv
    fi
    "$PY" -m venv .venv
fi
