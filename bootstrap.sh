#!/usr/bin/env bash
# Sets everything up on a fresh Debian/Ubuntu machine, then does one thing:
#   bash bootstrap.sh report   runs the whole pipeline (`dvc repro`) to report/build/report.pdf
#   bash bootstrap.sh test     downloads the data (`dvc repro download`) and runs the tests
#   bash bootstrap.sh benchmark [options]   downloads the data and times training (benchmarks/train_speed.py)
# Set-up: a Python >= 3.11 virtual environment in .venv with the pinned packages of
# requirements.lock, and TeX Live from Debian's packages when latexmk/pdflatex are missing.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")"

TEX_PACKAGES=(latexmk texlive-latex-base texlive-latex-recommended texlive-fonts-recommended lmodern poppler-utils)

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
    for candidate in python3.13 python3.12 python3.11 python3; do
        if command -v "$candidate" >/dev/null 2>&1 &&
           "$candidate" -c 'import sys; sys.exit(sys.version_info < (3, 11))' 2>/dev/null; then
            echo "$candidate"; return 0
        fi
    done
    return 1
}

setup_python() {
    local python
    python=$(find_python) || die "no Python >= 3.11 found (python3 --version); install python3 (>= 3.11) and python3-venv"
    if [ ! -x .venv/bin/python ]; then
        say "creating .venv with $($python --version)"
        if ! "$python" -m venv .venv 2>/dev/null; then
            rm -rf .venv
            apt_install python3-venv
            "$python" -m venv .venv
        fi
    fi
    # Reinstall only when the lock file changed since the last set-up.
    local stamp=.venv/.requirements.lock.sha256 digest
    digest=$(sha256sum requirements.lock pyproject.toml | sha256sum | cut -d' ' -f1)
    if [ "$(cat "$stamp" 2>/dev/null)" != "$digest" ]; then
        say "installing the pinned packages of requirements.lock"
        .venv/bin/python -m pip install --quiet --disable-pip-version-check -r requirements.lock
        .venv/bin/python -m pip install --quiet --disable-pip-version-check --no-deps --no-build-isolation -e .
        echo "$digest" > "$stamp"
    fi
}

setup_tex() {
    if command -v latexmk >/dev/null 2>&1 && command -v pdflatex >/dev/null 2>&1 && command -v pdftotext >/dev/null 2>&1; then
        return 0
    fi
    apt_install "${TEX_PACKAGES[@]}"
}

case "${1:-}" in
    report)
        setup_python
        setup_tex
        export PATH="$PWD/.venv/bin:$PATH"
        dvc repro
        say "done: report/build/report.pdf"
        ;;
    test)
        setup_python
        setup_tex
        export PATH="$PWD/.venv/bin:$PATH"
        dvc repro download
        python -m pytest
        ;;
    benchmark)
        # Training speed against the straightforward baseline (README, Speed); no TeX needed.
        setup_python
        export PATH="$PWD/.venv/bin:$PATH"
        dvc repro download
        python benchmarks/train_speed.py "${@:2}"
        ;;
    *)
        echo "usage: bash bootstrap.sh report|test|benchmark [benchmark options]" >&2
        exit 2
        ;;
esac
