#!/bin/sh
# Makes the shop's PNG icons and favicon.ico from icon.svg, once; the results are committed
# (the build needs no image tools). Uses the Chromium the browser tests use: it renders the SVG
# at each size on a transparent background; favicon.ico holds the 16, 32 and 48 px PNGs.
set -eu
cd "$(dirname "$0")"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
for size in 16 32 48 192 512; do
  chromium --headless --no-sandbox --disable-gpu --hide-scrollbars \
    --default-background-color=00000000 --window-size="$size,$size" \
    --screenshot="$tmp/$size.png" "file://$PWD/icon.svg" >/dev/null 2>&1
done
cp "$tmp/192.png" icon-192.png
cp "$tmp/512.png" icon-512.png
python3 - "$tmp" <<'PY'
import struct, sys
sizes = [16, 32, 48]
pngs = [open(f"{sys.argv[1]}/{s}.png", "rb").read() for s in sizes]
out = struct.pack("<HHH", 0, 1, len(sizes))
offset = 6 + 16 * len(sizes)
for size, png in zip(sizes, pngs):
    out += struct.pack("<BBBBHHII", size, size, 0, 0, 1, 32, len(png), offset)
    offset += len(png)
open("favicon.ico", "wb").write(out + b"".join(pngs))
PY
