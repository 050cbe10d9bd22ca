#!/usr/bin/env bash
# cpack -G DEB, then check the package's contents and run its pawtrait-cli from a plain unpack.
set -euo pipefail
build=$1
data=$2
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
(cd "$build" && cpack -G DEB -B "$work/out" > "$work/cpack.log") || { cat "$work/cpack.log"; exit 1; }
deb=$(ls "$work"/out/pawtrait_*.deb)
dpkg-deb -c "$deb" | awk '{print $6}' > "$work/contents.txt"
for f in ./usr/bin/pawtrait-cli ./usr/lib/pawtrait/libtorch_cpu.so \
         ./usr/share/applications/io.github.pawtrait.Pawtrait.desktop \
         ./usr/share/metainfo/io.github.pawtrait.Pawtrait.metainfo.xml \
         ./usr/share/icons/hicolor/scalable/apps/io.github.pawtrait.Pawtrait.svg; do
  grep -qxF "$f" "$work/contents.txt" || { echo "package lacks $f"; exit 1; }
done
if grep -q "^PAWTRAIT_BUILD_GUI:BOOL=ON" "$build/CMakeCache.txt"; then
  grep -qxF ./usr/bin/pawtrait "$work/contents.txt" || { echo "package lacks the GUI"; exit 1; }
fi
dpkg-deb -x "$deb" "$work/root"
desktop-file-validate "$work/root/usr/share/applications/io.github.pawtrait.Pawtrait.desktop"
appstreamcli validate --no-net "$work/root/usr/share/metainfo/io.github.pawtrait.Pawtrait.metainfo.xml"
# Run from the unpacked tree with the venv out of reach: only the bundled LibTorch can serve.
env -i PATH=/usr/bin:/bin "$work/root/usr/bin/pawtrait-cli" info "$data/sd-tiny" | grep "1,427,012 parameters" > /dev/null
ldd "$work/root/usr/bin/pawtrait-cli" | grep libtorch_cpu | grep "$work/root/usr/bin/../lib/pawtrait/" > /dev/null
echo "package_deb: ok ($(du -h "$deb" | cut -f1) package)"
