"""The tiny test models the device check uses, copied from the shared test data into the kit
(tests/gpu/prepare) with their float32 weights stored as bfloat16: half the bytes, so that the
kit fits the 64 MiB a device call carries. The device check compares the device with the CPU
on the same weights, whichever they are, and loads them in the precision each test names.

Usage: kit_testdata.py TESTDATA OUT_DIR
"""

import os
import shutil
import sys

import torch
from safetensors.torch import load_file, save_file

MODELS = ["sd-tiny", "sdxl/sdxl-tiny", "klein/klein-tiny", "klein/klein-base-tiny", "photos"]


def main():
    testdata, out = sys.argv[1], sys.argv[2]
    before = after = 0
    for model in MODELS:
        source = os.path.join(testdata, model)
        for root, _, files in os.walk(source):
            target = os.path.join(out, model, os.path.relpath(root, source))
            os.makedirs(target, exist_ok=True)
            for name in files:
                src, dst = os.path.join(root, name), os.path.join(target, name)
                before += os.path.getsize(src)
                if name.endswith(".safetensors"):
                    tensors = {k: (v.to(torch.bfloat16) if v.dtype == torch.float32 else v)
                               for k, v in load_file(src).items()}
                    save_file(tensors, dst)
                else:
                    shutil.copyfile(src, dst)
                after += os.path.getsize(dst)
    print(f"kit_testdata: {before / 2**20:.1f} MiB of test data → {after / 2**20:.1f} MiB")


if __name__ == "__main__":
    main()
