#!/usr/bin/env bash
# pawtrait-cli train --model builtin and generate --model builtin:RUN, as the demo runs them
# (few steps, small size), plus the run folder's contents and a refused photo set.
set -euo pipefail
cli=$1
photos=$2
source "$(dirname "$0")/lib.sh"
"$cli" train -q --model builtin --photos "$photos" --steps 6 --resolution 32 --preview-every 3 --out "$work/run" > "$work/train.txt"
check "model written"   test -s "$work/run/model.safetensors"
check "config written"  test -s "$work/run/config.json"
check "previews"        test -s "$work/run/previews/step-000006.png"
check "loss.csv rows"   test "$(wc -l < "$work/run/loss.csv")" -eq 7
"$cli" train -q --model builtin --photos "$photos" --steps 3 --resolution 32 --preview-every 3 --out "$work/split" > /dev/null
"$cli" train -q --out "$work/split" --resume --steps 6 > /dev/null
check "resume is exact"  cmp -s "$work/run/model.safetensors" "$work/split/model.safetensors"
# Resuming as people do it: the original command again, with --resume and more steps.
"$cli" train -q --model builtin --photos "$photos" --steps 3 --resolution 32 --preview-every 3 --out "$work/again" > /dev/null
"$cli" train -q --model builtin --photos "$photos" --steps 6 --resolution 32 --preview-every 3 --out "$work/again" \
  --resume > /dev/null
check "the original command resumes" cmp -s "$work/run/model.safetensors" "$work/again/model.safetensors"
set +e
"$cli" train -q --model builtin --photos "$photos" --steps 8 --resolution 64 --lr 0.01 --out "$work/again" --resume \
  2> "$work/differ.txt"; rc=$?
set -e
check "a changed setting is refused" test "$rc" -ne 0
check "each difference is named" grep -q "learning_rate: the run has 0.001, this command says 0.01" "$work/differ.txt"
check "...every one"    grep -q "model.resolution: the run has 32, this command says 64" "$work/differ.txt"
check "the steps are not a difference" bash -c '! grep -q "steps:" "$0"' "$work/differ.txt"
"$cli" generate -q --model "builtin:$work/run" -n 2 --steps 5 --sampler ddim --seed 3 --out "$work/samples" > "$work/gen.txt"
check "two pictures"    test "$(wc -l < "$work/gen.txt")" -eq 2
check "seeded names"    test "$(head -1 "$work/gen.txt")" = "$work/samples/00000-3.png"
mkdir -p "$work/bad" && echo "not a photo" > "$work/bad/x.jpg"
set +e; "$cli" train -q --model builtin --photos "$work/bad" --steps 2 --out "$work/badrun" 2> "$work/err.txt"; rc=$?; set -e
check "unusable photos refused" test "$rc" -ne 0
check "says why"        grep -q "none of the 1 photos can be used" "$work/err.txt"
finish cli_train
