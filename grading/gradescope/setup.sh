#!/usr/bin/env bash
# Gradescope runs this once, when it builds the autograder's image: it installs chatlib
# (its source is in this zip, under chatlib-src/) with the Python of the image.
# Choose the Ubuntu 24.04 base image in Gradescope's settings: its Python 3.12 suits chatlib
# (3.11 or newer is needed).
set -euo pipefail
apt-get update
apt-get install -y --no-install-recommends python3 python3-venv python3-pip
python3 -m venv /autograder/venv
/autograder/venv/bin/pip install --no-cache-dir /autograder/source/chatlib-src
