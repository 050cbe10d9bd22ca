#!/usr/bin/env python3
"""Checks that every finished file under a folder is whole, as a reader would need it:
safetensors (header and data length), PNG (chunk CRCs, IEND, pixel data that inflates to its
size), JSON, and loss.csv rows. Temporary files (".pawtrait-tmp") are counted, not read.
Prints one line: "<files> whole, <temporaries> temporaries"; exits 1 naming each broken file."""
import json
import os
import struct
import sys
import zlib

DTYPE_SIZES = {"F64": 8, "F32": 4, "F16": 2, "BF16": 2, "I64": 8, "I32": 4, "I16": 2, "I8": 1, "U8": 1, "BOOL": 1}


def check_safetensors(data):
    (n,) = struct.unpack("<Q", data[:8])
    header = json.loads(data[8 : 8 + n])
    end = 0
    for name, entry in header.items():
        if name == "__metadata__":
            continue
        start, stop = entry["data_offsets"]
        count = 1
        for d in entry["shape"]:
            count *= d
        if stop - start != count * DTYPE_SIZES[entry["dtype"]]:
            raise ValueError(f"{name}: {stop - start} bytes for shape {entry['shape']}")
        end = max(end, stop)
    if len(data) != 8 + n + end:
        raise ValueError(f"{len(data)} bytes, the header needs {8 + n + end}")


def check_png(data):
    if data[:8] != b"\x89PNG\r\n\x1a\n":
        raise ValueError("no PNG signature")
    pos, idat, width, height, last = 8, b"", 0, 0, b""
    while pos < len(data):
        (length,) = struct.unpack(">I", data[pos : pos + 4])
        kind = data[pos + 4 : pos + 8]
        body = data[pos + 8 : pos + 8 + length]
        (crc,) = struct.unpack(">I", data[pos + 8 + length : pos + 12 + length])
        if zlib.crc32(kind + body) != crc:
            raise ValueError(f"bad CRC in {kind!r}")
        if kind == b"IHDR":
            width, height = struct.unpack(">II", body[:8])
        if kind == b"IDAT":
            idat += body
        last = kind
        pos += 12 + length
    if last != b"IEND":
        raise ValueError("no IEND: cut short")
    pixels = zlib.decompress(idat)
    if len(pixels) != height * (1 + width * 3):
        raise ValueError(f"{len(pixels)} bytes of pixels for {width}x{height} RGB")


def check_loss_csv(data):
    text = data.decode()
    if not text:
        return  # opened, nothing written yet
    if not text.endswith("\n"):
        raise ValueError("the last row is cut short")
    lines = text.splitlines()
    if lines[0] != "step,loss,smoothed_loss,validation_loss,lr" or "step,loss" in "".join(lines[1:]):
        raise ValueError("the header is not once at the top")
    steps = [int(line.split(",")[0]) for line in lines[1:]]
    if any(len(line.split(",")) != 5 for line in lines[1:]) or steps != sorted(set(steps)):
        raise ValueError("rows are not one per step in order")


def main(folder):
    whole, temporaries, broken = 0, 0, []
    for root, _, files in os.walk(folder):
        for name in files:
            path = os.path.join(root, name)
            if name.endswith(".pawtrait-tmp"):
                temporaries += 1
                continue
            with open(path, "rb") as f:
                data = f.read()
            try:
                if name.endswith(".safetensors"):
                    check_safetensors(data)
                elif name.endswith(".png"):
                    check_png(data)
                elif name.endswith(".json"):
                    json.loads(data)
                elif name == "loss.csv":
                    check_loss_csv(data)
                whole += 1
            except Exception as e:  # noqa: BLE001 - any failure to read is the finding
                broken.append(f"{path}: {e}")
    print(f"{whole} whole, {temporaries} temporaries")
    for b in broken:
        print("BROKEN", b)
    return 1 if broken else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1]))
