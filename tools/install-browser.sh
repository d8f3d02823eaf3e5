#!/bin/sh
# Install headless Chromium and its WebDriver (Debian: chromium, chromium-driver) for the site's browser test
# (tests/site/test_browser.py). A no-op when both are present, or when apt-get is not available (the test is
# then skipped with its reason); never fails the caller.
set -u

if command -v chromedriver >/dev/null 2>&1 && { command -v chromium >/dev/null 2>&1 \
        || command -v chromium-browser >/dev/null 2>&1 || command -v google-chrome >/dev/null 2>&1; }; then
    echo "install-browser: chromium and chromedriver already installed"
    exit 0
fi
if ! command -v apt-get >/dev/null 2>&1; then
    echo "install-browser: apt-get not available; install chromium + chromedriver yourself to run the browser test"
    exit 0
fi
SUDO=""
if [ "$(id -u)" -ne 0 ]; then
    if command -v sudo >/dev/null 2>&1; then SUDO="sudo -n"; else
        echo "install-browser: not root and no sudo; skipping"
        exit 0
    fi
fi
export DEBIAN_FRONTEND=noninteractive
if $SUDO apt-get update -qq && $SUDO apt-get install -y -qq --no-install-recommends chromium chromium-driver; then
    echo "install-browser: installed chromium and chromium-driver"
else
    echo "install-browser: apt-get could not install chromium / chromium-driver; the browser test will be skipped"
fi
exit 0
