#!/usr/bin/env bash
# pawtrait-cli train on the FLUX.2 [klein] tiny base model: a LoRA run with previews, stopped
# and resumed exactly, whose diffusers-layout file (transformer.<module>.lora_A/B) draws a
# different picture with the distilled model; previews drawn by the distilled model beside the
# base (4 unguided steps), or by the base itself with --preview-model none (25 guided steps);
# what klein does not train is refused in one line.
set -euo pipefail
cli=$1
testdata=$2
photos=$3
source "$(dirname "$0")/lib.sh"
base="$testdata/klein/klein-base-tiny"
distilled="$testdata/klein/klein-tiny"
common=(--model "$base" --photos "$photos" --token sks --class cat --rank 4 --alpha 8 --lr 1e-3 --device cpu
        --resolution 64 --preview-every 2 --validate-every 2 --seed 7)

"$cli" train -q "${common[@]}" --steps 4 --out "$work/whole" > "$work/whole.txt"
check "prints the LoRA file"  test "$(cat "$work/whole.txt")" = "$work/whole/lora/pytorch_lora_weights.safetensors"
check "diffusers file"        test -s "$work/whole/lora/pytorch_lora_weights.safetensors"
check "transformer. keys"     grep -aq "transformer.single_transformer_blocks.0.attn.to_qkv_mlp_proj.lora_A.weight" \
                                   "$work/whole/lora/pytorch_lora_weights.safetensors"
check "previews"              test -s "$work/whole/previews/step-000004.png"
check "previews by the distilled model beside the base" \
  grep -aq "FLUX.2 \[klein\] distilled" "$work/whole/previews/step-000004.png"
check "distilled previews: 4 unguided steps" grep -aq "euler, 4 steps, guidance 1" "$work/whole/previews/step-000004.png"
check "loss.csv rows"         test "$(wc -l < "$work/whole/loss.csv")" -eq 5

"$cli" train -q "${common[@]}" --steps 2 --out "$work/split" > /dev/null
"$cli" train -q --out "$work/split" --resume --steps 4 > /dev/null
check "resume is exact"       cmp -s "$work/whole/lora/pytorch_lora_weights.safetensors" \
                                     "$work/split/lora/pytorch_lora_weights.safetensors"

gen=(generate -q --model "$distilled" --prompt "a photo of sks cat" --width 64 --height 64 --seed 1)
"$cli" "${gen[@]}" --lora "$work/whole/lora/pytorch_lora_weights.safetensors" --out "$work/lora" > /dev/null
"$cli" "${gen[@]}" --out "$work/plain" > /dev/null
check "the LoRA changes the distilled model's picture" \
  test "$(md5sum < "$(ls "$work/lora"/*.png)")" != "$(md5sum < "$(ls "$work/plain"/*.png)")"

# --preview-model none: the base model draws them, in 25 guided steps.
"$cli" train "${common[@]}" --steps 2 --preview-model none --out "$work/base-previews" > /dev/null 2> "$work/base.txt"
check "base previews: 25 guided steps" grep -aq "euler, 25 steps, guidance 4" "$work/base-previews/previews/step-000002.png"
check "then it says to generate with the base" grep -q -- "generate --model $base --lora" "$work/base.txt"
"$cli" train "${common[@]}" --steps 1 --out "$work/hint" > /dev/null 2> "$work/hint.txt"
check "after distilled previews it says to generate with the distilled model" \
  grep -q -- "generate --model .*/klein-tiny --lora" "$work/hint.txt"

# On the distilled model (it warns) the previews take its own 4 steps without guidance.
"$cli" train -q "${common[@]/#$base/$distilled}" --steps 2 --out "$work/distilled" > /dev/null 2>&1
check "distilled previews: 4 steps" grep -aq "euler, 4 steps, guidance 1" "$work/distilled/previews/step-000002.png"

expect_fail() {  # expect_fail <description> <message> <args...>
  local what=$1 message=$2; shift 2
  set +e; "$cli" train -q "${common[@]}" --steps 2 --out "$work/bad-$RANDOM" "$@" 2> "$work/err.txt"; local rc=$?; set -e
  check "$what: non-zero exit" test "$rc" -ne 0
  check "$what: says why" grep -q "$message" "$work/err.txt"
}
expect_fail "text encoder" "training the text encoder is not supported for FLUX.2" --train-text-encoder
expect_fail "full fine-tune" "a FLUX.2 \[klein\] model trains LoRA" --mode full

finish cli_train_klein
