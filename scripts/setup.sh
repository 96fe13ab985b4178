#!/usr/bin/env bash
# Set up voicecoach from nothing on Debian 12 / Raspberry Pi OS: system packages (only the
# missing ones, with sudo when not root), a virtual environment in .venv, and the package.
# Idempotent and quick when everything is already there.
#
#   scripts/setup.sh          what running the coach needs (and drawing its progress)
#   scripts/setup.sh --test   also what the test suite, the benchmarks and training need
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$here"

mode="${1:-run}"

# espeak-ng speaks; PortAudio reaches the sound card; speexdsp cancels the coach's echo.
packages=(espeak-ng libespeak-ng1 libportaudio2 libspeexdsp1)
if [ "$mode" = "--test" ]; then
    # A virtual sound card (PulseAudio null sink and pipe source, reached through ALSA's pulse
    # plugin), systemd-analyze for checking the units, and the synthetic voices the command
    # model is trained and tested with: flite, festival with its voices named one by one
    # (--no-install-recommends would leave festival without any), Node.js for GnuSpeech.
    packages+=(pulseaudio pulseaudio-utils libasound2-plugins systemd flite festival
        festvox-kallpc16k festvox-kdlpc16k festvox-us-slt-hts)
    # pdftotext and pdfinfo read back the report voicecoach export --pdf writes.
    packages+=(poppler-utils)
    command -v npm >/dev/null || packages+=(nodejs npm)
fi

python="${PYTHON:-python3}"
if ! "$python" -c 'import sys; assert sys.version_info >= (3, 11)' 2>/dev/null; then
    echo "voicecoach needs Python 3.11 or newer ($python is too old or missing)." >&2
    exit 1
fi
"$python" -c 'import ensurepip, venv' 2>/dev/null || packages+=(python3-venv)

missing=()
for p in "${packages[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ "${#missing[@]}" -gt 0 ]; then
    sudo=""
    [ "$(id -u)" -eq 0 ] || sudo="sudo"
    echo "Installing system packages: ${missing[*]}" >&2
    $sudo apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >&2
fi

# plots: matplotlib, for voicecoach progress --png and export --pdf.
extra="[plots]"
[ "$mode" = "--test" ] && extra="[plots,test,train]"
[ -x .venv/bin/python ] || "$python" -m venv .venv
# Reinstall only when the project's metadata changed since the last install.
stamp=".venv/.voicecoach-installed$extra"
if [ ! -f "$stamp" ] || [ pyproject.toml -nt "$stamp" ]; then
    .venv/bin/python -m pip install -q --disable-pip-version-check -e ".$extra" >&2
    touch "$stamp"
fi

if [ "$mode" = "--test" ] && [ ! -d training/node_modules/@echogarden/gnuspeech-wasm ]; then
    # GnuSpeech (GPL-3.0), a training voice only: installed into training/, never shipped.
    (cd training && npm ci --no-audit --no-fund --silent) >&2
fi
