#!/usr/bin/env bash
# pawtrait-cli generate on the FLUX.2 [klein] tiny models, as the reference pipeline ran them:
# --init-latents takes the reference's latents= tensor and --save-latents writes what it
# returns with output_type="latent"; the distilled model in 4 steps, the base model guided
# with a negative prompt; wrong sizes and layer lists refused in one line; info shows the mode.
set -euo pipefail
cli=$1
data=$2
source "$(dirname "$0")/lib.sh"
tool="python3 $(dirname "$0")/safetensors_tool.py"
klein="$data/klein"

# The README's bound for final latents: 5e-5 * max|ref| + 5e-5 (max|ref| about 8).
within() { python3 -c "import sys; sys.exit(0 if $1 < 5e-5 * 8.2 + 5e-5 else 1)"; }

# 1. Distilled: 4 steps, no guidance (the default), 64x48.
ref="$klein/reference/pipeline_distilled.safetensors"
$tool extract "$ref" initial_latents "$work/init.safetensors" latents
"$cli" generate -q --model "$klein/klein-tiny" --prompt "a photo of sks dog" --width 64 --height 48 --steps 4 \
  --seed 1 --init-latents "$work/init.safetensors" --save-latents "$work/final.safetensors" --out "$work/d" \
  > "$work/d.txt"
diff=$($tool maxdiff "$work/final.safetensors" latents "$ref" final_latents)
echo "     distilled vs reference: max |diff| = $diff"
check "distilled final latents within the README's bound" within "$diff"
check "one picture written" test "$(wc -l < "$work/d.txt")" -eq 1
$tool pngtext "$(cat "$work/d.txt")" parameters > "$work/params.txt"
check "the picture records its settings" grep -q "Steps: 4" "$work/params.txt"

# 2. Base: 6 steps, guidance 4 with a negative prompt.
ref="$klein/reference/pipeline_base_negprompt.safetensors"
$tool extract "$ref" initial_latents "$work/init-base.safetensors" latents
"$cli" generate -q --model "$klein/klein-base-tiny" --prompt "a photo of sks dog" --negative "blurry, low quality" \
  --guidance 4 --width 64 --height 48 --steps 6 --init-latents "$work/init-base.safetensors" \
  --save-latents "$work/final-base.safetensors" --out "$work/b" > /dev/null
diff=$($tool maxdiff "$work/final-base.safetensors" latents "$ref" final_latents)
echo "     base with a negative prompt vs reference: max |diff| = $diff"
check "base final latents within the README's bound" within "$diff"

# 3. Bad input: one line, non-zero, no picture.
expect_fail() {  # expect_fail <description> <message> <args...>
  local what=$1 message=$2; shift 2
  set +e; "$cli" generate -q --model "$klein/klein-tiny" --prompt x --out "$work/bad" "$@" 2> "$work/err.txt"
  local rc=$?; set -e
  check "$what: non-zero exit" test "$rc" -ne 0
  check "$what: says why" grep -q -e "$message" "$work/err.txt"
}
expect_fail "size" "multiples of 4" --width 66 --height 48
expect_fail "too few layers" "give --text-encoder-layers with 3 layers" --text-encoder-layers 9,18
expect_fail "a layer too deep" "layer 40 does not exist" --text-encoder-layers 9,18,40
expect_fail "not a layer list" "comma-separated layer numbers" --text-encoder-layers nine
expect_fail "discrete sampler" "euler" --sampler dpmpp_2m
expect_fail "another VAE" "--vae is not supported for FLUX.2" --vae "$klein/klein-tiny/vae"
expect_fail "CLIP's clip skip" "--clip-skip is for CLIP text encoders" --clip-skip 1
expect_fail "CLIP's prompt cleanup" "--prompt-cleanup ftfy is for CLIP tokenizers" --prompt-cleanup ftfy
check "no files from failed runs" test ! -e "$work/bad" -o -z "$(ls -A "$work/bad" 2>/dev/null)"

# 4. info: family and mode.
"$cli" info "$klein/klein-tiny" > "$work/info.txt"
check "info names the distilled mode" grep -qi "FLUX.2 \[klein\] distilled" "$work/info.txt"
"$cli" info "$klein/klein-base-tiny" > "$work/info-base.txt"
check "info names the base mode" grep -qi "FLUX.2 \[klein\] base" "$work/info-base.txt"

finish cli_generate_klein
