#!/usr/bin/env bash
# pawtrait-cli download against a local stand-in for the hub (fake_hub.py on 127.0.0.1):
# the model folder printed at the end, the files equal to the source, the completion marker,
# a second run that fetches nothing, and a one-line error with exit code 1 for a missing repo.
set -euo pipefail
cli=$1
data=$2
source "$(dirname "$0")/lib.sh"

python3 "$(dirname "$0")/fake_hub.py" "$data/sd-tiny" pawtrait-test/sd-tiny 0123456789abcdef0123456789abcdef01234567 \
  "$work/port" &
server=$!
trap 'kill $server 2>/dev/null || true; rm -rf "$work"' EXIT
for _ in $(seq 100); do [ -s "$work/port" ] && break; sleep 0.05; done
export HF_ENDPOINT="http://127.0.0.1:$(cat "$work/port")"
unset HF_TOKEN
export XDG_DATA_HOME="$work/data"

"$cli" download pawtrait-test/sd-tiny > "$work/out.txt" 2> "$work/err.txt"
folder="$work/data/pawtrait/models/pawtrait-test--sd-tiny"
check "prints the model folder" test "$(cat "$work/out.txt")" = "$folder"
check "unet weights equal the source" cmp "$folder/unet/diffusion_pytorch_model.safetensors" \
  "$data/sd-tiny/unet/diffusion_pytorch_model.safetensors"
check "tokenizer equals the source" cmp "$folder/tokenizer/vocab.json" "$data/sd-tiny/tokenizer/vocab.json"
check "completion marker" test -f "$folder/.pawtrait-complete"
check "no partial files left" test -z "$(find "$folder" -name '*.part')"
check "the folder opens as a model" "$cli" info "$folder"

"$cli" download pawtrait-test/sd-tiny --dest "$folder" > "$work/out2.txt" 2> "$work/err2.txt"
check "second run finds it complete" grep -q "already downloaded" "$work/err2.txt"

set +e
"$cli" download pawtrait-test/no-such-model --dest "$work/x" > /dev/null 2> "$work/err3.txt"
rc=$?
set -e
check "missing repo exits 1" test "$rc" -eq 1
check "missing repo says so in one line" test "$(wc -l < "$work/err3.txt")" -eq 1
check "missing repo names it" grep -q "no model pawtrait-test/no-such-model" "$work/err3.txt"
check "download help" "$cli" download --help

# Over https, trusting a mirror's own certificate (CURL_CA_BUNDLE): the download works; a
# redirect of the weights from https to plain http is refused and nothing is left half done.
openssl req -x509 -newkey rsa:2048 -nodes -days 1 -subj /CN=127.0.0.1 -addext subjectAltName=IP:127.0.0.1 \
  -keyout "$work/key.pem" -out "$work/cert.pem" 2> /dev/null
start_hub() {  # start_hub <port file> [env...]: a fake hub over https
  env FAKE_HUB_TLS="$work/cert.pem:$work/key.pem" "${@:2}" python3 "$(dirname "$0")/fake_hub.py" "$data/sd-tiny" \
    pawtrait-test/sd-tiny 0123456789abcdef0123456789abcdef01234567 "$1" &
  servers="$servers $!"
  for _ in $(seq 100); do [ -s "$1" ] && break; sleep 0.05; done
}
servers=""
trap 'kill $server $servers 2>/dev/null || true; rm -rf "$work"' EXIT
start_hub "$work/tls-port"
start_hub "$work/tls-redirect-port" FAKE_HUB_REDIRECT_LFS="$HF_ENDPOINT"
export CURL_CA_BUNDLE="$work/cert.pem"
HF_ENDPOINT="https://127.0.0.1:$(cat "$work/tls-port")" "$cli" download pawtrait-test/sd-tiny --dest "$work/tls" \
  > /dev/null 2> "$work/err4.txt"
check "https with the mirror's certificate" cmp "$work/tls/unet/diffusion_pytorch_model.safetensors" \
  "$data/sd-tiny/unet/diffusion_pytorch_model.safetensors"
set +e
HF_ENDPOINT="https://127.0.0.1:$(cat "$work/tls-redirect-port")" "$cli" download pawtrait-test/sd-tiny \
  --dest "$work/downgraded" > /dev/null 2> "$work/err5.txt"
rc=$?
set -e
check "a redirect from https to http exits 1" test "$rc" -eq 1
check "a redirect from https to http says why" grep -q "from https on to a plain http address" "$work/err5.txt"
check "nothing downgraded is kept" test -z "$(find "$work/downgraded" -name '*.safetensors' 2>/dev/null)"
check "no completion marker after it" test ! -e "$work/downgraded/.pawtrait-complete"

# A FLUX.2 [klein] folder: its transformer/ and tokenizer.json come too, and it generates.
python3 "$(dirname "$0")/fake_hub.py" "$data/klein/klein-tiny" pawtrait-test/klein-tiny \
  89abcdef0123456789abcdef0123456789abcdef "$work/port-klein" &
klein_server=$!
trap 'kill $server $servers $klein_server 2>/dev/null || true; rm -rf "$work"' EXIT
for _ in $(seq 100); do [ -s "$work/port-klein" ] && break; sleep 0.05; done
HF_ENDPOINT="http://127.0.0.1:$(cat "$work/port-klein")" "$cli" download pawtrait-test/klein-tiny > "$work/klein.txt" \
  2> /dev/null
klein="$work/data/pawtrait/models/pawtrait-test--klein-tiny"
check "klein transformer weights equal the source" cmp "$klein/transformer/diffusion_pytorch_model.safetensors" \
  "$data/klein/klein-tiny/transformer/diffusion_pytorch_model.safetensors"
check "klein tokenizer.json" cmp "$klein/tokenizer/tokenizer.json" "$data/klein/klein-tiny/tokenizer/tokenizer.json"
check "the klein folder generates" "$cli" generate -q --model "$klein" --prompt "a photo of sks dog" --width 64 \
  --height 64 --seed 1 --out "$work/klein-out"

finish cli_download
