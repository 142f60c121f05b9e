#!/usr/bin/env bash
# Real WebGPU without a GPU: the SwiftShader Vulkan driver from Debian's
# chromium-common package, extracted into .cache/swiftshader (nothing else of
# Chromium is installed), plus the Vulkan loader. Dawn (the npm package
# `webgpu`) then finds an adapter when VK_ICD_FILENAMES points at the driver;
# the test suite does that by itself. Idempotent: does nothing when the driver
# is already there. See docs/webgpu.md.
set -euo pipefail
cd "$(dirname "$0")/.."
dest=.cache/swiftshader
sudo=""
if [ "$(id -u)" -ne 0 ] && command -v sudo >/dev/null; then sudo=sudo; fi

if ! ldconfig -p 2>/dev/null | grep -q 'libvulkan\.so\.1'; then
  echo "setup:webgpu: installing the Vulkan loader (libvulkan1)"
  $sudo apt-get update -qq
  $sudo apt-get install -y -qq --no-install-recommends libvulkan1
fi

if [ -f "$dest/libvk_swiftshader.so" ] && [ -f "$dest/vk_swiftshader_icd.json" ]; then
  echo "setup:webgpu: SwiftShader is already in $dest"
else
  echo "setup:webgpu: extracting SwiftShader from Debian's chromium-common into $dest"
  tmp=$(mktemp -d)
  trap 'rm -rf "$tmp"' EXIT
  chmod 755 "$tmp"
  (cd "$tmp" && apt-get download -qq chromium-common 2>/dev/null) || {
    $sudo apt-get update -qq
    (cd "$tmp" && apt-get download -qq chromium-common)
  }
  mkdir -p "$dest"
  dpkg-deb --fsys-tarfile "$tmp"/chromium-common_*.deb | tar -x -C "$dest" --strip-components=4 \
    ./usr/lib/chromium/libvk_swiftshader.so ./usr/lib/chromium/vk_swiftshader_icd.json
fi

cat <<MSG
setup:webgpu: done. npm test finds the driver by itself; for your own scripts:
  export VK_ICD_FILENAMES=$PWD/$dest/vk_swiftshader_icd.json
  export XDG_RUNTIME_DIR=/tmp/xdg-runtime-\$(id -u); mkdir -p -m 700 "\$XDG_RUNTIME_DIR"
MSG
