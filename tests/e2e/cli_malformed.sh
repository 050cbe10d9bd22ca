#!/usr/bin/env bash
# Malformed models, LoRAs, pictures, photos and run folders through the CLI, as people's disks
# hold them: each must end with a non-zero exit and a one-line reason as the last line, never
# a signal, a hang or a success.
set -uo pipefail
cli=$1
data=$2
source "$(dirname "$0")/lib.sh"
export XDG_CACHE_HOME="$work/cache" XDG_DATA_HOME="$work/data"
refused() {  # refused <what> <cli args...>
  local what=$1; shift
  timeout 120 "$cli" "$@" > "$work/out.txt" 2> "$work/err.txt"; local rc=$?
  local last; last=$(tail -1 "$work/err.txt")
  echo "     $what: rc=$rc ${last:0:150}"
  check "$what: exit 1, not a signal or a hang" test "$rc" -eq 1
  check "$what: ends with the reason" grep -q "^pawtrait-cli: error: ..........." <<< "$last"
}
# Models
cp -r $data/sd-tiny $work/m1
truncate -s 1000 $work/m1/unet/diffusion_pytorch_model.safetensors
refused "truncated unet" generate --model $work/m1 -p x --steps 1 --out $work/o
cp -r $data/sd-tiny $work/m2; echo '{"_class_name": "StableDiffusionPipeline",' > $work/m2/model_index.json
refused "torn model_index" generate --model $work/m2 -p x --steps 1 --out $work/o
cp -r $data/sd-tiny $work/m3; echo '{"sample_size": 0, "block_out_channels": []}' > $work/m3/unet/config.json
refused "zero unet config" generate --model $work/m3 -p x --steps 1 --out $work/o
cp -r $data/sd-tiny $work/m4; rm $work/m4/vae/diffusion_pytorch_model.safetensors
refused "missing vae weights" generate --model $work/m4 -p x --steps 1 --out $work/o
head -c 5000 $data/sd-tiny-single.safetensors > $work/single.safetensors
refused "truncated single file" generate --model $work/single.safetensors -p x --steps 1 --out $work/o
head -c 100 $data/photos/chelsea.png > $work/random.safetensors  # a picture named as weights
refused "a picture as a checkpoint" generate --model $work/random.safetensors -p x --steps 1 --out $work/o
printf '\xff\xff\xff\xff\xff\xff\xff\x7f{}' > $work/hugeheader.safetensors
refused "huge header length" generate --model $work/hugeheader.safetensors -p x --steps 1 --out $work/o
cp -r $data/klein/klein-tiny $work/k1; echo '{"num_layers": -1}' > $work/k1/transformer/config.json
refused "klein bad transformer config" generate --model $work/k1 -p x --steps 1 --out $work/o
cp -r $data/klein/klein-tiny $work/k2; echo 'not json' > $work/k2/tokenizer/tokenizer.json
refused "klein torn tokenizer.json" generate --model $work/k2 -p x --steps 1 --out $work/o
# LoRAs
lora=$data/reference/lora/pytorch_lora_weights.safetensors
head -c 3000 $lora > $work/l1.safetensors
refused "truncated lora" generate --model $data/sd-tiny --lora $work/l1.safetensors -p x --steps 1 --out $work/o
head -c 200 $data/sd-tiny/tokenizer/merges.txt > $work/l2.safetensors  # text named as a LoRA
refused "text as a LoRA" generate --model $data/sd-tiny --lora $work/l2.safetensors -p x --steps 1 --out $work/o
refused "sd lora on klein" generate --model $data/klein/klein-tiny --lora $lora -p x --steps 1 --out $work/o
refused "unet file as lora" generate --model $data/sd-tiny --lora $data/sd-tiny/unet/diffusion_pytorch_model.safetensors -p x --steps 1 --out $work/o
# LoRAs whose tensors are damaged: a 0-D matrix, rank 0, an alpha of three numbers.
python3 - "$work" <<'PY'
import json, struct, sys
def save(path, tensors):  # {name: (shape, [floats])} as float32 safetensors
    header, data = {}, b""
    for name, (shape, values) in tensors.items():
        raw = struct.pack("<%df" % len(values), *values)
        header[name] = {"dtype": "F32", "shape": shape, "data_offsets": [len(data), len(data) + len(raw)]}
        data += raw
    text = json.dumps(header).encode()
    open(path, "wb").write(struct.pack("<Q", len(text)) + text + data)
q = "unet.down_blocks.1.attentions.0.transformer_blocks.0.attn1.to_q"
k = "lora_unet_down_blocks_1_attentions_0_transformer_blocks_0_attn1_to_q"
w = sys.argv[1]
save(w + "/scalar.safetensors", {q + ".lora_A.weight": ([], [1.0]), q + ".lora_B.weight": ([32, 4], [0.0] * 128)})
save(w + "/rank0.safetensors", {q + ".lora_A.weight": ([0, 32], []), q + ".lora_B.weight": ([32, 0], [])})
save(w + "/alpha3.safetensors", {k + ".lora_down.weight": ([4, 32], [0.0] * 128),
                                 k + ".lora_up.weight": ([32, 4], [0.0] * 128), k + ".alpha": ([3], [1.0] * 3)})
PY
for lora in scalar rank0 alpha3; do
  refused "damaged LoRA $lora" generate --model $data/sd-tiny --lora $work/$lora.safetensors -p x --steps 1 --out $work/o
done
# PNGs for --from
printf 'not a png' > $work/p1.png
refused "--from not a png" generate --from $work/p1.png --out $work/o
python3 - $work <<'PY'
import sys, zlib, struct
w=sys.argv[1]
def chunk(kind, body):
    return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind+body) & 0xffffffff)
ihdr = chunk(b"IHDR", struct.pack(">IIBBBBB", 1, 1, 8, 2, 0, 0, 0))
idat = chunk(b"IDAT", zlib.compress(b"\x00\x00\x00\x00"))
iend = chunk(b"IEND", b"")
sig = b"\x89PNG\r\n\x1a\n"
def png(texts):
    return sig + ihdr + b"".join(chunk(b"tEXt", k + b"\0" + v) for k, v in texts) + idat + iend
open(w+"/p2.png","wb").write(png([(b"pawtrait", b"{not json")]))
open(w+"/p3.png","wb").write(png([(b"pawtrait", b'{"model": 5, "steps": "x"}')]))
open(w+"/p4.png","wb").write(png([(b"pawtrait", b'{"model": "sd-tiny", "steps": 100000000, "width": 999999, "count": -5}')]))
open(w+"/p5.png","wb").write(png([(b"pawtrait", b'{"model": "../../../../etc", "model_hash": "0123456789"}')]))
open(w+"/p6.png","wb").write(png([(b"pawtrait", b'[1,2,3]')]))
open(w+"/p7.png","wb").write(png([(b"pawtrait", b'{"loras": [{"path": 7}]}')]))
open(w+"/p8.png","wb").write((sig + ihdr)[:20])
PY
for p in p2 p3 p4 p5 p6 p7 p8; do refused "--from $p" generate --from $work/$p.png --out $work/o; done
mkdir -p $work/data/pawtrait/models && ln -s $data/sd-tiny $work/data/pawtrait/models/sd-tiny
refused "--from p4 huge values (model found)" generate --from $work/p4.png --out $work/o
# Photos for training
mkdir -p $work/photos; printf 'garbage' > $work/photos/a.jpg; head -c 300 $data/photos/chelsea.png > $work/photos/b.png
printf 'ftypheic garbage' > $work/photos/c.heic
refused "train on broken photos" train --model builtin --photos $work/photos --out $work/run1 --steps 2
refused "train sd on broken photos" train --model $data/sd-tiny --photos $work/photos --out $work/run2 --steps 2
# Request files for --resume
mkdir -p $work/run3; echo '{"kind": "dreambooth", "steps": "many"' > $work/run3/config.json
refused "--resume torn config" train --out $work/run3 --resume
mkdir -p $work/run4; echo '{"kind": "dreambooth", "steps": 0, "rank": 0}' > $work/run4/config.json
refused "--resume zero config" train --out $work/run4 --resume
mkdir -p $work/run5; echo '{"kind": "builtin", "model": {"resolution": 0}}' > $work/run5/config.json
refused "--resume builtin zero" train --out $work/run5 --resume
refused "--resume missing" train --out $work/nothing --resume
finish cli_malformed
