#!/usr/bin/env bash
# kill -9 loses nothing finished (issue 17): pawtrait-cli train on the tiny Stable Diffusion
# model (a checkpoint every step, previews, validation, the two LoRA files) and pawtrait-cli
# generate are SIGKILLed again and again: at random moments, and half-way through the N-th
# file they write (PAWTRAIT_FAULT_KILL_IN_WRITE=N; common/atomic_file.h), so that kills land in
# config.json, checkpoint, preview, LoRA and picture writes for certain. After every kill each
# finished file under the run or picture folder is whole (tests/e2e/check_files.py:
# safetensors lengths, PNG CRCs and pixels, JSON, loss.csv rows); the run goes on with
# --resume (or starts again when killed before its first checkpoint) and ends with the same
# LoRA file and loss.csv, byte for byte, as the run never killed; every picture finished
# before a kill is the one an unkilled run draws; no temporary file is left or taken for a
# finished one. Prints the counts.
set -euo pipefail
cli=$1
testdata=$2
photos=$3
source "$(dirname "$0")/lib.sh"
checker="$(dirname "$0")/check_files.py"
RANDOM=${PAWTRAIT_KILL_SEED:-17}  # the same moments every run; set the seed to try others

common=(--model "$testdata/sd-tiny" --photos "$photos" --token sks --class cat --rank 4 --alpha 8 --lr 1e-3
        --device cpu --steps 10 --checkpoint-every 1 --preview-every 3 --preview-steps 2 --validate-every 2 --seed 7)
now_ms() { date +%s%3N; }
pause_ms() { sleep "$(printf '%d.%03d' $(($1 / 1000)) $(($1 % 1000)))"; }

t0=$(now_ms)
"$cli" train -q "${common[@]}" --out "$work/whole" > /dev/null
train_ms=$(($(now_ms) - t0))
echo "an uninterrupted run: ${train_ms} ms"

unwhole=0 torn_kinds=""
# After a kill in folder $1: every finished file whole; the kind of file a kill tore, if any.
after_kill() {
  local report
  report=$(python3 "$checker" "$1") || { unwhole=$((unwhole + 1)); echo "after a kill: $report"; }
  local tmp
  tmp=$(find "$1" -name '*.pawtrait-tmp' -print -quit)
  case "$tmp" in
    *config.json*) torn_kinds+=" config" ;;
    *loss.csv*) torn_kinds+=" loss.csv" ;;  # --resume rewinds it atomically
    */checkpoints/*) torn_kinds+=" checkpoint" ;;
    */previews/*) torn_kinds+=" preview" ;;
    */lora/*) torn_kinds+=" lora" ;;
    ?*) torn_kinds+=" picture" ;;
  esac
}

# Starts (or resumes) the run in $1 and kills it after $2 ms, or, with $3, lets it kill itself
# in its $3-th file; returns 0 when it finished first.
attempt() {
  local run=$1 delay_ms=$2 in_file=${3:-0}
  local args=("${common[@]}" --out "$run")
  if ls "$run"/checkpoints/step-*.safetensors > /dev/null 2>&1; then args=(--out "$run" --resume); fi
  PAWTRAIT_FAULT_KILL_IN_WRITE=$in_file "$cli" train -q "${args[@]}" > /dev/null 2> "$work/err.txt" &
  local pid=$!
  local rc=0
  if [ "$in_file" -gt 0 ]; then
    wait "$pid" 2> /dev/null || rc=$?
  else
    pause_ms "$delay_ms"
    kill -9 "$pid" 2> /dev/null || true
    wait "$pid" 2> /dev/null || rc=$?
  fi
  [ "$rc" -eq 0 ] && return 0
  [ "$rc" -eq 137 ] && return 1
  echo "the run failed on its own (exit $rc):"
  cat "$work/err.txt"
  exit 1
}

kills=0 runs=0
for in_file in 1 2 3 4 5 6 8 9 11 12 14 15 16 17 18 19; do  # config.json, checkpoints, previews, LoRA files
  runs=$((runs + 1))
  run="$work/killed-$runs"
  if ! attempt "$run" 0 "$in_file"; then
    kills=$((kills + 1))
    after_kill "$run"
  fi
  # Past the model's loading (about a fifth of a run here) most of the time, so that each
  # attempt gets somewhere; a run killed 40 times is a run that no longer progresses.
  local_kills=0
  while ! attempt "$run" $((train_ms / 6 + RANDOM % (train_ms / 3))); do
    kills=$((kills + 1)) local_kills=$((local_kills + 1))
    after_kill "$run"
    [ "$local_kills" -lt 40 ] || { echo "run $runs makes no progress after 40 kills"; exit 1; }
  done
  check "run $runs (killed in file $in_file, then at random): the same LoRA" \
    cmp -s "$work/whole/lora/pytorch_lora_weights.safetensors" "$run/lora/pytorch_lora_weights.safetensors"
  check "run $runs: the same loss.csv" cmp -s "$work/whole/loss.csv" "$run/loss.csv"
  check "run $runs: no temporary left" test -z "$(find "$run" -name '*.pawtrait-tmp' -print -quit)"
done
echo "training: $kills kills in $runs runs; torn files:$torn_kinds"
for kind in config checkpoint preview lora; do
  check "training: a kill tore a $kind write" grep -qw "$kind" <<< "$torn_kinds"
done

gen=(generate -q --model "$testdata/sd-tiny" --prompt "a photo of sks cat" --width 64 --height 64 --steps 4
     --count 12 --seed 1 --device cpu)
t0=$(now_ms)
"$cli" "${gen[@]}" --out "$work/pictures" > /dev/null
generate_ms=$(($(now_ms) - t0))
gen_kills=0 finished=0 differing=0
for i in $(seq 1 16); do
  out="$work/pictures-$i"
  if [ $((i % 2)) -eq 0 ]; then  # half-way through its (i/2)-th file
    PAWTRAIT_FAULT_KILL_IN_WRITE=$((i / 2)) "$cli" "${gen[@]}" --out "$out" > /dev/null 2>&1 &
    wait "$!" 2> /dev/null && rc=0 || rc=$?
  else
    "$cli" "${gen[@]}" --out "$out" > /dev/null 2>&1 &
    pid=$!
    pause_ms $((RANDOM % generate_ms))
    kill -9 "$pid" 2> /dev/null || true
    wait "$pid" 2> /dev/null && rc=0 || rc=$?
  fi
  [ "$rc" -eq 137 ] && gen_kills=$((gen_kills + 1))
  mkdir -p "$out"
  after_kill "$out"
  for picture in "$out"/*.png; do
    [ -e "$picture" ] || continue
    finished=$((finished + 1))
    cmp -s "$picture" "$work/pictures/$(basename "$picture")" || differing=$((differing + 1))
  done
done
echo "generating: $gen_kills kills; $finished pictures finished before them; torn files:$torn_kinds"
check "generating: a kill tore a picture write" grep -qw picture <<< "$torn_kinds"
check "generating: finished pictures are the unkilled run's" test "$differing" -eq 0
check "every finished file whole after every kill" test "$unwhole" -eq 0
check "50 kills or more in all ($((kills + gen_kills)))" test $((kills + gen_kills)) -ge 50

finish cli_kill
