#!/usr/bin/env bash
# Set up and run argodasf-jupyter from a fresh clone (Python 3.11, no venv yet).
#   ./dev.sh demo   sets up .venv and runs the quickstart notebook on a local Dask cluster
#   ./dev.sh test   installs everything the tests need and runs all of them, on the
#                   newest dask and on dask 2025.7.0 (what DASF's environment pins)
set -euo pipefail
cd "$(dirname "$0")"

PYTHON=${PYTHON:-python3}
DASF_DASK=2025.7.0
# The suite spread over worker processes (pytest-xdist): most of its time is spent waiting
# on subprocesses and pods. A file's tests stay on one worker, with their module fixtures.
PARALLEL=(-n "${TEST_WORKERS:-4}" --dist loadfile)

# Installs go through uv, which resolves and links from its cache in parallel: pip took
# about 10 minutes per environment on a 2-core machine, uv takes about one. One cache
# under build/ serves every install, the tests' own included (their HOME is empty), and
# bytecode is compiled once at install time, not by each test process.
export UV_CACHE_DIR=${UV_CACHE_DIR:-$PWD/build/uv-cache} UV_COMPILE_BYTECODE=1
venv() {  # venv DIR [extra requirements...]: create DIR and install the package into it
    local dir=$1; shift
    [ -x "$dir/bin/python" ] || "$PYTHON" -m venv "$dir"
    [ -x .venv/bin/uv ] || { "$PYTHON" -m venv .venv && .venv/bin/python -m pip install -q uv; }
    .venv/bin/uv pip install -q --python "$dir/bin/python" -e ".[test]" "$@"
}

phase_start=$SECONDS
phase() {  # phase NAME: how long the step that just ended took, in CI's log
    echo "dev.sh: $1 took $((SECONDS - phase_start)) s"
    phase_start=$SECONDS
}

# Debian chromium for the browser tests (never a downloaded browser); Go with the expr
# engine, sprig and fasttemplate sources for tests/argo/template_engine (Argo's substitution);
# iproute2 (ip) and util-linux (unshare) for the fake Kubernetes' pod namespaces
SYSTEM_PACKAGES="iproute2 util-linux chromium golang-go golang-github-antonmedv-expr-dev golang-github-masterminds-sprig-dev golang-github-valyala-fasttemplate-dev"

system_packages() {
    local missing=()
    for package in $SYSTEM_PACKAGES; do
        dpkg -s "$package" >/dev/null 2>&1 || missing+=("$package")
    done
    if [ ${#missing[@]} -gt 0 ]; then
        apt-get update -qq
        DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
    fi
}

case "${1:-}" in
    demo)
        venv .venv
        .venv/bin/python notebooks/run.py notebooks/01-quickstart.ipynb
        ;;
    test)
        system_packages
        phase "system packages"
        venv .venv
        phase "the test environment"
        # DASF's environment (dask/distributed 2025.7.0) and its dask image are built while
        # the lint and the labextension's tests run; their performance report template needs
        # a bokeh before 3.9, which renamed bokeh's templates
        mkdir -p build
        (venv .venv-dask-$DASF_DASK "dask[array]==$DASF_DASK" "distributed==$DASF_DASK" "bokeh<3.9" &&
            PYTHONPATH=tests .venv-dask-$DASF_DASK/bin/python -m kube.fakekube.images) > build/dasf-environment.log 2>&1 &
        dasf_environment=$!
        # lint (pyflakes and bugbear rules) and format, as pyproject.toml's [tool.ruff] says
        .venv/bin/ruff check .
        .venv/bin/ruff format --check .
        # the labextension: prettier and eslint, then its own unit tests (jest); node modules come from the lock file
        (cd labextension && export PATH="$PWD/../.venv/bin:$PATH" && jlpm install --immutable && jlpm lint && jlpm test)
        phase "lint and the labextension's tests"
        # the fake kubelet's stand-in for the dask image of this dask release (built once, cached under build/)
        PYTHONPATH=tests .venv/bin/python -m kube.fakekube.images
        wait "$dasf_environment" || { cat build/dasf-environment.log; echo "setting up dask $DASF_DASK failed" >&2; exit 1; }
        phase "the dask images and the dask $DASF_DASK environment"
        # a test that passed on its rerun shows why its first try failed
        .venv/bin/python -m pytest "${PARALLEL[@]}" -m "not browser" --rerun-show-tracebacks --durations=15
        phase "the tests on the newest dask"
        # the browser tests alone, one at a time: next to three workers' pods and kernels, a
        # JupyterLab kernel took over 120 s to start and a notebook's cluster as long
        .venv/bin/python -m pytest -m browser --rerun-show-tracebacks --durations=5
        phase "the browser tests"
        # the same package on dask 2025.7.0 (the labextension in the browser, the test
        # harness's own checks and the checks no dask reaches ran above)
        .venv-dask-$DASF_DASK/bin/python -m pytest "${PARALLEL[@]}" -m "not browser and not one_environment" --rerun-show-tracebacks --durations=15
        phase "the tests on dask $DASF_DASK"
        ;;
    *)
        echo "usage: ./dev.sh demo | ./dev.sh test" >&2
        exit 2
        ;;
esac
