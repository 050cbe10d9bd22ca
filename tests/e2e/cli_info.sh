#!/usr/bin/env bash
# pawtrait-cli info on the tiny model: the parameter counts from the test data's README,
# JSON output, --help on every subcommand, and a clear one-line failure for broken input.
set -euo pipefail
cli=$1
data=$2
source "$(dirname "$0")/lib.sh"

"$cli" info "$data/sd-tiny" > "$work/info.txt"
check "unet count"         grep -q "1,427,012 parameters" "$work/info.txt"
check "vae count"          grep -q "658,375 parameters" "$work/info.txt"
check "text encoder count" grep -q "1,617,529 parameters" "$work/info.txt"
check "scheduler config"   grep -q 'beta_schedule = "scaled_linear"' "$work/info.txt"

"$cli" info --json "$data/sd-tiny" > "$work/info.json"
check "json unet" python3 -c '
import json, sys
info = json.load(open(sys.argv[1]))
counts = {c["name"]: c["parameters"] for c in info["components"]}
assert counts["unet"] == 1427012 and counts["vae"] == 658375 and counts["text_encoder"] == 1617529, counts
assert info["scheduler"]["_class_name"] == "DDIMScheduler"
' "$work/info.json"

"$cli" info "$data/sd-tiny-single.safetensors" > "$work/single.txt"
check "single file" grep -q "single-file checkpoint" "$work/single.txt"

check "folder architecture" grep -q "architecture: custom (cross-attention width 32), epsilon prediction, 64x64" "$work/info.txt"
check "single file needs a config" grep -q "architecture: not recognised: .*--model-config" "$work/single.txt"
"$cli" info "$data/sd-tiny-single.safetensors" --model-config "$data/sd-tiny" > "$work/single-config.txt"
check "single file with --model-config" grep -q "architecture: custom .* (from model config" "$work/single-config.txt"

check "help"      "$cli" --help
check "info help" "$cli" info --help
check "version"   "$cli" --version

head -c 4096 "$data/sd-tiny/unet/diffusion_pytorch_model.safetensors" > "$work/broken.safetensors"
set +e
"$cli" info "$work/broken.safetensors" > "$work/out.txt" 2> "$work/err.txt"
rc=$?
set -e
check "broken file exits non-zero" test "$rc" -ne 0
check "broken file gives one line" test "$(wc -l < "$work/err.txt")" -eq 1
check "broken file names it" grep -q "broken.safetensors" "$work/err.txt"
set +e
"$cli" info "$work/does-not-exist" 2> "$work/err2.txt"; rc=$?
set -e
check "missing path exits non-zero" test "$rc" -ne 0
check "missing path says so" grep -q "no such file or folder" "$work/err2.txt"

finish cli_info
