#!/usr/bin/env python3
"""Test helper, standard library only: small jobs on safetensors and PNG files for the
end-to-end scripts (the project itself never runs Python).

  safetensors_tool.py extract SRC NAME DST NEWNAME   copy one tensor into a new file
  safetensors_tool.py maxdiff A NAME_A B NAME_B      print max |a - b| of two float32 tensors
  safetensors_tool.py pngtext FILE KEY               print a PNG's text chunk (tEXt/iTXt)
"""
import json
import struct
import sys
import zlib


def read(path):
    data = open(path, "rb").read()
    (n,) = struct.unpack("<Q", data[:8])
    header = json.loads(data[8 : 8 + n])
    return header, data[8 + n :]


def tensor_bytes(path, name):
    header, body = read(path)
    info = header[name]
    begin, end = info["data_offsets"]
    return info, body[begin:end]


def extract(src, name, dst, new_name):
    info, raw = tensor_bytes(src, name)
    header = {new_name: {"dtype": info["dtype"], "shape": info["shape"], "data_offsets": [0, len(raw)]}}
    text = json.dumps(header).encode()
    text += b" " * ((8 - len(text) % 8) % 8)
    open(dst, "wb").write(struct.pack("<Q", len(text)) + text + raw)


def floats(path, name):
    info, raw = tensor_bytes(path, name)
    assert info["dtype"] == "F32", info
    return struct.unpack(f"<{len(raw) // 4}f", raw), info["shape"]


def maxdiff(a, name_a, b, name_b):
    xa, sa = floats(a, name_a)
    xb, sb = floats(b, name_b)
    assert sa == sb, (sa, sb)
    print(max(abs(p - q) for p, q in zip(xa, xb)))


def pngtext(path, key):
    data = open(path, "rb").read()
    assert data[:8] == b"\x89PNG\r\n\x1a\n", "not a PNG"
    pos = 8
    while pos < len(data):
        (length,) = struct.unpack(">I", data[pos : pos + 4])
        kind = data[pos + 4 : pos + 8]
        body = data[pos + 8 : pos + 8 + length]
        pos += 12 + length
        if kind in (b"tEXt", b"iTXt", b"zTXt"):
            keyword, _, rest = body.partition(b"\0")
            if keyword.decode("latin-1") != key:
                continue
            if kind == b"tEXt":
                print(rest.decode("latin-1"))
            elif kind == b"zTXt":
                print(zlib.decompress(rest[1:]).decode("latin-1"))
            else:
                compressed = rest[0]
                rest = rest[2:].split(b"\0", 2)[2]
                print((zlib.decompress(rest) if compressed else rest).decode("utf-8"))
            return
    sys.exit(f"no {key} chunk in {path}")


if __name__ == "__main__":
    command, *args = sys.argv[1:]
    {"extract": extract, "maxdiff": maxdiff, "pngtext": pngtext}[command](*args)
