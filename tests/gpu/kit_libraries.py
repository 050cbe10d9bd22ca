"""The shared libraries Pawtrait's programs need on a machine that has LibTorch and glibc but
none of our Debian packages: the device check's machine (tests/gpu/prepare).

Usage: kit_libraries.py LIB_DIR PROGRAM...

Walks the programs' NEEDED entries. LibTorch's own libraries (and the CUDA ones it brings) and
glibc are the machine's. The libraries the programs really call (OpenCV's core, imgproc and
imgcodecs, the PNG and JPEG codecs, ICU, OpenSSL's libcrypto, and what those need) are copied
whole. Every other library in the closure (GDAL, OpenEXR, TIFF, WebP, libcurl, ... : 150 MB
reached through imgcodecs and the hub client, never called by the device check) becomes a
stand-in of the same soname that defines the same symbols, each of which stops the program
with a message naming it. libstdc++ and libgcc_s go to LIB_DIR/fallback, for a machine whose
own are older than this one's. Prints what it kept and the bytes.
"""

import os
import re
import subprocess
import sys
import tempfile

GLIBC = re.compile(r"^(libc|libm|libdl|librt|libpthread|libresolv|libutil|ld-linux-x86-64)\.so")
TORCH = re.compile(r"^(libtorch|libc10|libcu|libnv|libnccl|libcaffe2|libgomp|libshm)")
FALLBACK = re.compile(r"^(libstdc\+\+|libgcc_s)\.so")
# Copied whole: what the programs call on the device, by soname (a pattern up to ".so"), with why.
REAL_LIBRARIES = {
    r"libopencv_core": "images in memory",
    r"libopencv_imgproc": "resizing, the Laplacian of the blur check",
    r"libopencv_imgcodecs": "reading and writing photos",
    r"libpng16": "PNG: the tiny models' pictures and the previews",
    r"libjpeg": "JPEG photos",
    r"libz": "PNG's compression",
    r"libtbb": "OpenCV's threads",
    r"libicu\w*": "prompt normalisation (NFC)",
    r"libcrypto": "file hashes (SHA-256)",
    r"libOpenEXR\S*": "imgcodecs builds its EXR defaults when it loads",
    r"libImath\S*": "OpenEXR's",
    r"libIex\S*": "OpenEXR's",
    r"libIlmThread\S*": "OpenEXR's",
    r"libwebp": "imgcodecs asks it whether each photo is a WebP",
    r"libsharpyuv": "libwebp's",
}
REAL = re.compile(r"^(" + "|".join(REAL_LIBRARIES) + r")\.so")

# Called on every photo's way in, not only for their own formats: OpenCV's imread builds its
# whole decoder list, and the GDAL decoder registers GDAL's drivers then. As stand-ins they
# return at once (GDAL then has no drivers, which only GDAL's formats would need).
HARMLESS = {"GDALAllRegister"}

STUB_SOURCE_HEAD = r"""
#include <stdio.h>
#include <stdlib.h>
static void pawtrait_stand_in(const char* name) {
  fprintf(stderr, "pawtrait device kit: %s is a stand-in for %s here, which this machine does not have "
          "(tests/gpu/kit_libraries.py); the device check should never call it\n", name, SONAME);
  exit(70);
}
"""


def needed(path):
    out = subprocess.run(["readelf", "-d", "-W", path], capture_output=True, text=True, check=True).stdout
    return re.findall(r"\(NEEDED\)\s+Shared library: \[([^\]]+)\]", out)


def resolver(programs):
    """soname → path, as this machine's loader finds them for these programs."""
    found = {}
    for program in programs:
        out = subprocess.run(["ldd", program], capture_output=True, text=True).stdout
        for name, path in re.findall(r"^\s*(\S+) => (/\S+)", out, re.M):
            found.setdefault(name, path)
    return found


def defined_symbols(path):
    """(name, version or None, kind, size) of each dynamic symbol the library defines, in its
    default version."""
    out = subprocess.run(["readelf", "--dyn-syms", "-W", path], capture_output=True, text=True, check=True).stdout
    symbols = []
    for line in out.splitlines():
        fields = line.split()
        # UND: not defined here; ABS: a version's own name (the version script makes those).
        if len(fields) < 8 or not fields[0].endswith(":") or fields[6] in ("UND", "ABS"):
            continue
        kind, size, name = fields[3], fields[2], fields[7]
        # Only the library's own: a weak or unique symbol is an inline function or template
        # instance that other libraries define too, and a stand-in must not take their place.
        if kind not in ("FUNC", "IFUNC", "OBJECT", "TLS") or fields[4] != "GLOBAL":
            continue
        version = None
        if "@@" in name:
            name, version = name.split("@@", 1)
        elif "@" in name:
            continue  # an older version of a symbol: only the default one is referenced by newer builds
        size = int(size, 0) if size.startswith("0x") else int(size)
        symbols.append((name, version, kind, size))
    return symbols


def write_stand_in(soname, real_path, out_path, work):
    symbols = defined_symbols(real_path)
    source = [f'#define SONAME "{soname}"', STUB_SOURCE_HEAD]
    versions = {}
    for i, (name, version, kind, size) in enumerate(symbols):
        label = name.replace("\\", "\\\\").replace('"', '\\"')
        if kind in ("FUNC", "IFUNC") and name in HARMLESS:
            source.append(f'void f{i}(void) __asm__("{label}");\nvoid f{i}(void) {{}}')
        elif kind in ("FUNC", "IFUNC"):
            source.append(f'void f{i}(void) __asm__("{label}");\nvoid f{i}(void) {{ pawtrait_stand_in("{label}"); }}')
        elif kind == "TLS":
            source.append(f'__thread char t{i}[{max(size, 1)}] __asm__("{label}");')
        else:
            source.append(f'char o{i}[{max(size, 1)}] __asm__("{label}");')
        versions.setdefault(version, []).append(name)
    # A version script is either anonymous or all named: in a versioned library the few
    # unversioned symbols join its first version (an unversioned reference binds to any).
    unversioned = versions.pop(None, [])
    if versions:
        first = next(iter(versions))
        versions[first] = versions[first] + unversioned
        script = [f"{version} {{ global: " + " ".join(f'"{n}";' for n in names) + " };"
                  for version, names in versions.items()]
        script[-1] = script[-1][:-3] + " local: *; };"
    else:
        script = ["{ global: " + " ".join(f'"{n}";' for n in unversioned) + " local: *; };"]
    c_file = os.path.join(work, soname + ".c")
    map_file = os.path.join(work, soname + ".map")
    with open(c_file, "w") as f:
        f.write("\n".join(source) + "\n")
    with open(map_file, "w") as f:
        f.write("\n".join(script) + "\n")
    subprocess.run(["gcc", "-shared", "-fPIC", "-O0", "-w", "-o", out_path, c_file, f"-Wl,-soname,{soname}",
                    f"-Wl,--version-script={map_file}"], check=True)
    return len(symbols)


def main():
    lib_dir, programs = sys.argv[1], sys.argv[2:]
    os.makedirs(os.path.join(lib_dir, "fallback"), exist_ok=True)
    where = resolver(programs)
    queue = [name for p in programs for name in needed(p)]
    seen = set()
    real_bytes = stand_ins = 0
    with tempfile.TemporaryDirectory() as work:
        while queue:
            soname = queue.pop()
            if soname in seen or GLIBC.match(soname) or TORCH.match(soname):
                continue
            seen.add(soname)
            path = where.get(soname)
            if path is None:
                raise SystemExit(f"kit_libraries: {soname} is needed but not found here (ldd)")
            if FALLBACK.match(soname):
                subprocess.run(["cp", "-L", path, os.path.join(lib_dir, "fallback", soname)], check=True)
            elif REAL.match(soname):
                subprocess.run(["cp", "-L", path, os.path.join(lib_dir, soname)], check=True)
                real_bytes += os.path.getsize(path)
                queue.extend(needed(path))
            else:
                count = write_stand_in(soname, path, os.path.join(lib_dir, soname), work)
                stand_ins += 1
                print(f"  stand-in {soname} ({count} symbols)")
    print(f"kit_libraries: {len(seen)} libraries, {real_bytes / 2**20:.1f} MiB copied whole, {stand_ins} stand-ins")


if __name__ == "__main__":
    main()
