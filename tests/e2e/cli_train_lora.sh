#!/usr/bin/env bash
# pawtrait-cli train on the tiny Stable Diffusion and SDXL models: a LoRA run, stopped and
# resumed, with adapters on the UNet and the text encoder(s), whose two exported files make
# the same pictures through `generate --lora`.
set -euo pipefail
cli=$1
testdata=$2
photos=$3
source "$(dirname "$0")/lib.sh"
top=$work
for model in "$testdata/sd-tiny" "$testdata/sdxl/sdxl-tiny"; do
  echo "== $(basename "$model")"
  work="$top/$(basename "$model")"
  mkdir -p "$work"
  common=(--model "$model" --photos "$photos" --token sks --class cat --rank 4 --alpha 8 --lr 1e-3 --device cpu
          --train-text-encoder --preview-every 0 --validate-every 2 --seed 7)

  "$cli" train -q "${common[@]}" --steps 4 --out "$work/whole" > "$work/whole.txt"
  check "prints the LoRA file"  test "$(cat "$work/whole.txt")" = "$work/whole/lora/sks_cat.safetensors"
  check "kohya file"            test -s "$work/whole/lora/sks_cat.safetensors"
  check "diffusers file"        test -s "$work/whole/lora/pytorch_lora_weights.safetensors"
  check "config.json"           grep -q '"kind": "dreambooth"' "$work/whole/config.json"
  check "loss.csv rows"         test "$(wc -l < "$work/whole/loss.csv")" -eq 5
  check "checkpoint"            test -s "$work/whole/checkpoints/step-000004.safetensors"

  # Half, then --resume to the full count: the same adapter as the run in one go.
  "$cli" train -q "${common[@]}" --steps 2 --out "$work/split" > /dev/null
  "$cli" train -q --out "$work/split" --resume --steps 4 > /dev/null
  check "resume reaches step 4" test -s "$work/split/checkpoints/step-000004.safetensors"
  check "resume is exact"       cmp -s "$work/whole/lora/pytorch_lora_weights.safetensors" \
                                       "$work/split/lora/pytorch_lora_weights.safetensors"

  # Both exported formats load in generate and make the same picture.
  gen=(generate -q --model "$model" --prompt "a photo of sks cat" --steps 4 --sampler ddim --width 64 --height 64 --seed 1)
  "$cli" "${gen[@]}" --lora "$work/whole/lora/sks_cat.safetensors" --out "$work/kohya" > /dev/null
  "$cli" "${gen[@]}" --lora "$work/whole/lora/pytorch_lora_weights.safetensors" --out "$work/peft" > /dev/null
  "$cli" "${gen[@]}" --out "$work/base" > /dev/null
  k=$(ls "$work/kohya"/*.png); p=$(ls "$work/peft"/*.png); b=$(ls "$work/base"/*.png)
  check "formats give one picture" python3 - "$k" "$p" <<'PY'
import sys, zlib, struct
def pixels(path):  # the PNG's decompressed image data, without its text chunks
    data, pos, idat = open(path, 'rb').read(), 8, b''
    while pos < len(data):
        n, kind = struct.unpack('>I4s', data[pos:pos + 8]); body = data[pos + 8:pos + 8 + n]; pos += 12 + n
        if kind == b'IDAT': idat += body
    return zlib.decompress(idat)
sys.exit(0 if pixels(sys.argv[1]) == pixels(sys.argv[2]) else 1)
PY
  check "the LoRA changes it"    test "$(md5sum < "$k")" != "$(md5sum < "$b")"

  # A second run into the same folder is refused rather than overwriting it.
  set +e; "$cli" train -q "${common[@]}" --steps 2 --out "$work/whole" 2> "$work/err.txt"; rc=$?; set -e
  check "existing run kept"     test "$rc" -ne 0
  check "says how to resume"    grep -q -- "--resume" "$work/err.txt"
done
work=$top
finish cli_train_lora
