#!/usr/bin/env bash
# Sets everything up on a fresh Debian/Ubuntu machine, then does one thing:
#   bash bootstrap.sh setup    only the set-up below
#   bash bootstrap.sh report   runs the whole pipeline (`dvc repro`) to report/build/report.pdf
#   bash bootstrap.sh test [pytest options]   downloads the data (`dvc repro download`) and runs the tests
#   bash bootstrap.sh benchmark [options]   downloads the data and times training (benchmarks/train_speed.py)
#   bash bootstrap.sh loops [options]       times "change a learning rate, dvc repro, new PDF" (benchmarks/loops.py)
# Set-up: a Python >= 3.11 virtual environment in .venv with the pinned packages of
# requirements.lock (installed with uv, itself pinned there, or with pip where uv cannot be had),
# and, at the same time, TeX Live from Debian's packages when pdflatex/pdftotext/latexdiff
# are missing (for `test`, also Debian's python3-numpy over three BLAS libraries: TEST_PACKAGES);
# then the offline page of `dvc plots show` (vega, vega-lite, vega-embed at pinned
# versions, fetched once with npm into .cache/npm: src/mnist_report/plotting/page.py). `test` also
# installs Debian's chromium, in which tests/integration/test_plots_page.py opens that page.
# MNIST_PYTHON=<python> (a command or a path) picks the interpreter, in its own .venv-<X.Y>; by
# default the newest of python3.13, python3.12, python3.11, python3 that is >= 3.11, in .venv.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")"

# texlive-plain-generic holds ulem.sty, which latexdiff's markup loads (mnist_report.diff).
TEX_PACKAGES=(texlive-latex-base texlive-latex-recommended texlive-fonts-recommended lmodern poppler-utils
              latexdiff texlive-plain-generic)
TEX_TOOLS=(pdflatex pdftotext latexdiff kpsewhich)
#: LaTeX packages the report and the report diff load, found with kpsewhich.
TEX_STYLES=(lmodern.sty ulem.sty)
TEX_LOG=.cache/bootstrap-tex.log
# `bash bootstrap.sh test` only: Debian's own Python 3 and NumPy over three BLAS libraries (the
# reference BLAS, BLIS, OpenBLAS), under which tests/integration/test_same_bytes.py trains with the core alone
# (it skips those checks where they are missing; here they are installed with TeX, in one apt-get).
TEST_PACKAGES=(python3-numpy python3-threadpoolctl libblas3 libblis4 libopenblas0-pthread)

say() { printf 'bootstrap: %s\n' "$*"; }
die() { printf 'bootstrap: error: %s\n' "$*" >&2; exit 1; }

# Runs apt-get as root (directly, or through sudo); fails with what to install by hand otherwise.
apt_install() {
    local runner=()
    if [ "$(id -u)" -ne 0 ]; then
        command -v sudo >/dev/null 2>&1 || die "need root to install $*; run: apt-get install $* (or install them with your system's package manager)"
        runner=(sudo)
    fi
    command -v apt-get >/dev/null 2>&1 || die "no apt-get on this machine; install these (Debian names) with your package manager: $*"
    say "installing $* with apt-get"
    "${runner[@]}" apt-get update -qq
    DEBIAN_FRONTEND=noninteractive "${runner[@]}" apt-get install -y -qq --no-install-recommends "$@" >/dev/null
}

find_python() {
    local candidate
    if [ -n "${MNIST_PYTHON:-}" ]; then
        "$MNIST_PYTHON" -c 'import sys; sys.exit(sys.version_info < (3, 11))' 2>/dev/null ||
            die "MNIST_PYTHON=$MNIST_PYTHON: not a Python >= 3.11 that runs here"
        echo "$MNIST_PYTHON"; return 0
    fi
    for candidate in python3.13 python3.12 python3.11 python3; do
        if command -v "$candidate" >/dev/null 2>&1 &&
           "$candidate" -c 'import sys; sys.exit(sys.version_info < (3, 11))' 2>/dev/null; then
            echo "$candidate"; return 0
        fi
    done
    return 1
}

# The options that make uv use the package indexes pip is configured with on this machine
# (pip.conf and PIP_* variables, as `pip config list` shows them), one a line; uv reads no pip.conf.
uv_index_options() {
    local key value item
    while IFS= read -r line; do
        key=${line%%=*}; key=${key##*.}
        value=${line#*=}; value=${value#\'}; value=${value%\'}
        case "$key" in
            index-url) printf -- '--index-url\n%s\n' "$value" ;;
            extra-index-url|find-links|constraint)
                for item in $value; do printf -- '--%s\n%s\n' "$key" "$item"; done ;;
        esac
    done < <("$VENV/bin/python" -m pip config list 2>/dev/null)
}

# Installs requirements.lock into $VENV with uv (pinned in requirements.lock), or with pip when uv
# cannot be installed; then checks that every package has exactly the version the lock file pins.
install_locked() {
    local uv_pin options=()
    uv_pin=$(grep -E '^uv==' requirements.lock || true)
    if [ -n "$uv_pin" ] && "$VENV/bin/python" -m pip install --quiet --disable-pip-version-check "$uv_pin" 2>/dev/null; then
        mapfile -t options < <(uv_index_options)
        # unsafe-best-match: like pip, take the pinned version from whichever index has it (uv's
        # default stops at the first index that knows the name); every version is pinned.
        "$VENV/bin/uv" pip install --quiet --python "$VENV/bin/python" --index-strategy unsafe-best-match \
            "${options[@]}" -r requirements.lock
        "$VENV/bin/uv" pip install --quiet --python "$VENV/bin/python" --no-deps --no-build-isolation -e .
    else
        say "uv not available; installing with pip"
        "$VENV/bin/python" -m pip install --quiet --disable-pip-version-check -r requirements.lock
        "$VENV/bin/python" -m pip install --quiet --disable-pip-version-check --no-deps --no-build-isolation -e .
    fi
    "$VENV/bin/python" - <<'PY' || die "the packages installed differ from requirements.lock (above)"
import re, sys
from importlib import metadata
bad = []
for line in open("requirements.lock", encoding="utf-8"):
    match = re.match(r"([A-Za-z0-9_.-]+)==(\S+)", line)
    if match:
        try:
            found = metadata.version(match.group(1))
        except metadata.PackageNotFoundError:
            found = None
        if found != match.group(2):
            bad.append(f"{match.group(1)}: lock {match.group(2)}, installed {found}")
if bad:
    print("\n".join(bad), file=sys.stderr)
sys.exit(1 if bad else 0)
PY
}

setup_python() {
    local python version
    python=$(find_python) || die "no Python >= 3.11 found (python3 --version); install python3 (>= 3.11) and python3-venv"
    if [ -n "${MNIST_PYTHON:-}" ]; then
        version=$("$python" -c 'import sys; print("%d.%d" % sys.version_info[:2])')
        VENV=.venv-$version
    else
        VENV=.venv
    fi
    if [ ! -x "$VENV/bin/python" ]; then
        say "creating $VENV with $($python --version)"
        if ! "$python" -m venv "$VENV" 2>/dev/null; then
            rm -rf "$VENV"
            wait_tex  # one apt-get at a time
            apt_install python3-venv
            "$python" -m venv "$VENV"
        fi
    fi
    # Reinstall only when the lock file changed since the last set-up.
    local stamp=$VENV/.requirements.lock.sha256 digest
    digest=$(sha256sum requirements.lock pyproject.toml | sha256sum | cut -d' ' -f1)
    if [ "$(cat "$stamp" 2>/dev/null)" != "$digest" ]; then
        say "installing the pinned packages of requirements.lock into $VENV"
        install_locked
        echo "$digest" > "$stamp"
        say "$VENV ready (${SECONDS} s since the start)"
    fi
    export PATH="$PWD/$VENV/bin:$PATH"
}

tex_present() {
    local tool
    for tool in "${TEX_TOOLS[@]}"; do
        command -v "$tool" >/dev/null 2>&1 || return 1
    done
    local style
    for style in "${TEX_STYLES[@]}"; do
        [ -n "$(kpsewhich "$style" 2>/dev/null)" ] || return 1
    done
}

# Prints those of the Debian packages "$@" that dpkg does not list as installed, one a line (none on a
# system without dpkg: there the tests that need them skip).
missing_packages() {
    command -v dpkg-query >/dev/null 2>&1 || return 0
    local package
    for package in "$@"; do
        [ "$(dpkg-query -W -f='${Status}' "$package" 2>/dev/null)" = "install ok installed" ] || echo "$package"
    done
}

# Starts installing TeX in the background when a tool is missing (wait_tex collects it), so that
# apt-get and the Python set-up run at the same time; the packages given as arguments (the tests'
# TEST_PACKAGES that are missing) go into the same apt-get, one at a time being all dpkg allows.
TEX_PID=
INSTALLING=
start_tex() {
    local packages=("$@")
    if tex_present; then
        INSTALLING="${*}"
    else
        packages=("${TEX_PACKAGES[@]}" "${packages[@]}")
        INSTALLING="TeX Live${*:+ and $*}"
    fi
    [ "${#packages[@]}" -gt 0 ] || return 0
    if [ "$(id -u)" -ne 0 ] && command -v sudo >/dev/null 2>&1; then
        sudo -v  # ask for the password here, in the foreground: the background job has no terminal
    fi
    mkdir -p "$(dirname "$TEX_LOG")"
    say "installing $INSTALLING in the background (${packages[*]}; log: $TEX_LOG)"
    ( apt_install "${packages[@]}" ) >"$TEX_LOG" 2>&1 &
    TEX_PID=$!
}

wait_tex() {
    [ -n "$TEX_PID" ] || return 0
    local pid=$TEX_PID status=0
    TEX_PID=
    wait "$pid" || status=$?
    if [ "$status" -ne 0 ]; then
        die "installing $INSTALLING failed (exit $status): $(grep -v '^[[:space:]]*$' "$TEX_LOG" | tail -n 1) (whole log: $TEX_LOG)"
    fi
    tex_present || die "TeX Live installed, yet one of ${TEX_TOOLS[*]} is missing from PATH or one of ${TEX_STYLES[*]} from TeX (log: $TEX_LOG)"
    say "$INSTALLING installed (${SECONDS} s since the start)"
}

# The offline template of `dvc plots show` / `dvc plots diff` (.dvc/config: plots.html_template);
# npm is installed from Debian's packages when missing (after TeX: one apt-get at a time).
setup_plots_page() {
    if ! python -m mnist_report.plots_page --up-to-date; then
        command -v npm >/dev/null 2>&1 || { wait_tex; apt_install npm; }
        python -m mnist_report.plots_page
    fi
}

case "${1:-}" in
    setup)
        start_tex
        setup_python
        setup_plots_page
        wait_tex
        say "set up: $VENV (source $VENV/bin/activate) and TeX Live"
        ;;
    report)
        start_tex
        setup_python
        # The data, the training, the figures and report.tex need no TeX: they run while apt-get
        # installs it; only the PDF waits for TeX.
        # On a failure, apt-get is let finish (never left holding dpkg's lock) before the exit.
        # Our one line for what DVC reads before any stage (a run name with '.', a run key YAML reads as a
        # number, YAML aliases that expand for minutes): mnist_report/check.py.
        python -m mnist_report.check || { status=$?; wait_tex; exit "$status"; }
        dvc repro report || { status=$?; wait_tex; exit "$status"; }
        setup_plots_page
        wait_tex
        dvc repro
        say "done: report/build/report.pdf"
        ;;
    test)
        # chromium (the browser of tests/integration/test_plots_page.py) in the same background apt-get.
        mapfile -t missing < <(missing_packages "${TEST_PACKAGES[@]}" chromium)
        start_tex "${missing[@]}"
        setup_python
        # Python writes bytecode (uv installs none): hundreds of dvc and stage processes follow.
        unset PYTHONDONTWRITEBYTECODE
        dvc repro download
        setup_plots_page
        wait_tex
        command -v chromium >/dev/null 2>&1 || apt_install chromium  # the browser of tests/integration/test_plots_page.py
        # Every test, one test file at a time in each of as many processes as there are cores.
        python -m pytest -n auto --dist loadfile "${@:2}"
        ;;
    benchmark)
        # Training speed against the straightforward baseline (docs/performance.md); no TeX needed.
        setup_python
        dvc repro download
        python benchmarks/train_speed.py "${@:2}"
        ;;
    loops)
        # The change-a-learning-rate-to-PDF loops (docs/performance.md), on a scratch copy of HEAD.
        start_tex
        setup_python
        wait_tex
        python benchmarks/loops.py "${@:2}"
        ;;
    *)
        echo "usage: bash bootstrap.sh setup | report | test [pytest options] | benchmark [options] | loops [options]" >&2
        exit 2
        ;;
esac
