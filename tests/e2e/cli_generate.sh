#!/usr/bin/env bash
# pawtrait-cli generate on the tiny model: the reference run reproduced through
# --init-latents/--save-latents, seeds that reproduce, --from round trips, metadata in the
# PNGs, stable file names, and clear failures for bad requests.
set -euo pipefail
cli=$1
data=$2
tool="python3 $(dirname "$0")/safetensors_tool.py"
source "$(dirname "$0")/lib.sh"
tiny="$data/sd-tiny"
ref="$data/reference/pipeline_run.safetensors"
# The short hashes' cache and the models folder, this run's own.
export XDG_CACHE_HOME="$work/cache" XDG_DATA_HOME="$work/data"

# 1. The reference run: DDIM (the model's own scheduler), 5 steps, guidance 7.5, given noise.
$tool extract "$ref" initial_latents "$work/init.safetensors" latents
"$cli" generate -q --model "$tiny" --prompt "a photo of sks dog" --sampler ddim --steps 5 --guidance 7.5 \
  --width 64 --height 64 --seed 42 --init-latents "$work/init.safetensors" --save-latents "$work/final.safetensors" \
  --out "$work/ref" > "$work/ref.txt"
diff=$($tool maxdiff "$work/final.safetensors" latents "$ref" final_latents)
echo "     final latents vs reference: max |diff| = $diff"
check "reference final latents within 2e-4" python3 -c "import sys; sys.exit(0 if $diff < 2e-4 else 1)"

# 2. Same seed, same settings → byte-identical files; names never collide.
"$cli" generate -q --model "$tiny" --prompt "a photo of sks dog" --sampler euler_a --steps 6 --seed 5 -n 2 \
  --out "$work/a" > "$work/a.txt"
"$cli" generate -q --model "$tiny" --prompt "a photo of sks dog" --sampler euler_a --steps 6 --seed 5 -n 2 \
  --out "$work/a" > "$work/b.txt"
check "two files per run"    test "$(wc -l < "$work/a.txt")" -eq 2
check "stable names"         test "$(head -1 "$work/a.txt")" = "$work/a/00000-5.png"
check "no overwrite"         test "$(head -1 "$work/b.txt")" = "$work/a/00002-5.png"
check "same seed, same file" cmp -s "$work/a/00000-5.png" "$work/a/00002-5.png"
differ() { ! cmp -s "$1" "$2"; }
check "next seed differs"    differ "$work/a/00000-5.png" "$work/a/00001-6.png"

# 3. Metadata: A1111 "parameters" and Pawtrait's JSON.
$tool pngtext "$work/a/00001-6.png" parameters > "$work/params.txt"
check "parameters prompt line" grep -qx "a photo of sks dog" "$work/params.txt"
check "parameters settings"    grep -Eq "^Steps: 6, Sampler: Euler a, CFG scale: 7.5, Seed: 6, Size: 64x64, Model hash: [0-9a-f]{10}, Model: sd-tiny$" "$work/params.txt"
$tool pngtext "$work/a/00001-6.png" pawtrait > "$work/pawtrait.json"
check "pawtrait json" python3 -c "import json,sys; r=json.load(open(sys.argv[1])); assert r['seed']==6 and r['count']==1 and r['sampler']=='euler_a'" "$work/pawtrait.json"
# A shared picture names its model and hash, never a folder of this disk.
check "model by name and hash" python3 -c "import json,sys; r=json.load(open(sys.argv[1])); assert r['model']=='sd-tiny' and len(r['model_hash'])==10, r" "$work/pawtrait.json"
no_paths() { ! cat "$work/params.txt" "$work/pawtrait.json" | grep -qF -e "$data" -e "$work"; }
check "no path in the picture's text" no_paths

# 4. --from re-runs image 2 alone: the same file, byte for byte, its model found by name and
#    hash in the models folder; or where --model says; or a clear reason when it is nowhere.
mkdir -p "$XDG_DATA_HOME/pawtrait/models" "$work/elsewhere"
cp "$work/a/00001-6.png" "$work/elsewhere/shared.png"
set +e; "$cli" generate -q --from "$work/elsewhere/shared.png" --out "$work/from" 2> "$work/err.txt"; rc=$?; set -e
check "--from without the model fails" test "$rc" -eq 1
check "--from names the missing model and hash" grep -Eq "made with the model sd-tiny \(hash [0-9a-f]{10}\), which is not in .*--model PATH" "$work/err.txt"
"$cli" generate -q --from "$work/elsewhere/shared.png" --model "$tiny" --out "$work/from" > "$work/from-given.txt"
check "--from with --model reproduces the image" cmp -s "$work/a/00001-6.png" "$(cat "$work/from-given.txt")"
ln -s "$tiny" "$XDG_DATA_HOME/pawtrait/models/sd-tiny"
"$cli" generate -q --from "$work/elsewhere/shared.png" --out "$work/from" > "$work/from.txt"
check "--from finds the model in the models folder" cmp -s "$work/a/00001-6.png" "$(cat "$work/from.txt")"

# 5. A LoRA at a strength: applied, and named in the metadata.
"$cli" generate -q --model "$tiny" --prompt "a photo of sks dog" --steps 4 --seed 5 --sampler euler_a \
  --lora "$data/reference/lora/pytorch_lora_weights.safetensors" --lora-scale 0.8 --out "$work/lora" > "$work/lora.txt"
$tool pngtext "$(cat "$work/lora.txt")" parameters > "$work/lora-params.txt"
check "lora in parameters" grep -Eq "Lora: pytorch_lora_weights:0.8, Lora hashes: \"pytorch_lora_weights: [0-9a-f]{10}\"" "$work/lora-params.txt"
# The LoRA beside the picture's folder is found by its name and hash.
mkdir -p "$work/shared/lora"
cp "$data/reference/lora/pytorch_lora_weights.safetensors" "$work/shared/lora/"
mkdir -p "$work/shared/pictures" && cp "$(cat "$work/lora.txt")" "$work/shared/pictures/with-lora.png"
"$cli" generate -q --from "$work/shared/pictures/with-lora.png" --out "$work/lora-from" > "$work/lora-from.txt"
check "--from finds the LoRA near the picture" cmp -s "$(cat "$work/lora.txt")" "$(cat "$work/lora-from.txt")"

# 6. Bad requests fail before any work, with a reason.
expect_fail() {  # expect_fail <what> <message> <args...>
  local what=$1 message=$2; shift 2
  set +e; "$cli" generate -q --model "$tiny" --prompt x --out "$work/bad" "$@" 2> "$work/err.txt"; local rc=$?; set -e
  check "$what fails" test "$rc" -ne 0
  check "$what says why" grep -q "$message" "$work/err.txt"
}
expect_fail "zero steps" "steps must be between" --steps 0
expect_fail "size" "multiples of 8" --width 60
expect_fail "sampler" "unknown sampler" --sampler plms
expect_fail "guidance" "guidance must be 1 or more" --guidance 0.5
expect_fail "lora strength" "LoRA strength must be between 0 and 2" --lora "$data/reference/lora/pytorch_lora_weights.safetensors" --lora-scale 3
expect_fail "missing lora" "LoRA file not found" --lora "$work/none.safetensors"
set +e; "$cli" generate -q --model "$work/nope" --prompt x --out "$work/bad" 2> "$work/err.txt"; rc=$?; set -e
check "missing model names the path" grep -q "$work/nope" "$work/err.txt"
check "no files from failed runs" test ! -e "$work/bad" -o -z "$(ls -A "$work/bad" 2>/dev/null)"

# 3. A single-file SDXL checkpoint (the SGM layout) with the folder's configs: the reference
#    pipeline's run b (Euler, 4 steps, guidance 5, 96x64, two images, a negative prompt).
sdxl="$data/sdxl"
sdxl_ref="$sdxl/reference/pipeline_run.safetensors"
$tool extract "$sdxl_ref" b_h64_w96_n2_neg.initial_latents "$work/sdxl-init.safetensors" latents
"$cli" generate -q --model "$sdxl/sdxl-tiny-single.safetensors" --model-config "$sdxl/sdxl-tiny" \
  --prompt "a photo of sks dog" --negative "blurry, low quality" --sampler euler --steps 4 --guidance 5 \
  --width 96 --height 64 -n 2 --batch 2 --init-latents "$work/sdxl-init.safetensors" \
  --save-latents "$work/sdxl-final.safetensors" --out "$work/sdxl" > "$work/sdxl.txt"
diff=$($tool maxdiff "$work/sdxl-final.safetensors" latents "$sdxl_ref" b_h64_w96_n2_neg.final_latents)
echo "     SDXL single file vs reference: max |diff| = $diff"
check "SDXL single file final latents within 2e-4" python3 -c "import sys; sys.exit(0 if $diff < 2e-4 else 1)"
# Without configs, the tiny shapes are named and the flag given.
set +e; "$cli" generate -q --model "$sdxl/sdxl-tiny-single.safetensors" --prompt x --out "$work/bad" 2> "$work/err.txt"
set -e
check "SDXL single file without configs says which flag" grep -q "not in SDXL 1.0 base's shapes.*--model-config" "$work/err.txt"
# --vae: the model's own VAE given as a file decodes the same picture.
"$cli" generate -q --model "$sdxl/sdxl-tiny" --prompt "a photo of sks dog" --steps 4 --seed 3 --out "$work/own" > /dev/null
"$cli" generate -q --model "$sdxl/sdxl-tiny" --prompt "a photo of sks dog" --steps 4 --seed 3 \
  --vae "$sdxl/sdxl-tiny/vae/diffusion_pytorch_model.safetensors" --out "$work/given" > /dev/null
check "--vae with the model's own VAE, same pixels" compare -metric AE "$work/own/00000-3.png" "$work/given/00000-3.png" null:

finish cli_generate
