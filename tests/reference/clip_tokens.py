"""The ids current diffusers feeds its CLIP text encoders: transformers' CLIPTokenizer at the
pinned version (5.x: the tokenizers library's pipeline, NFC, whitespace folded, lower-cased per
character; no ftfy, no HTML unescaping), on the prompts of the testdata's reference/tokens.json
(made with transformers 4.36 + ftfy) and on prompts where the two differ. For the SD tokenizer
(pad <|endoftext|>) and SDXL's tokenizer_2 (pad "!"). Writes clip_tokens_transformers5.json
next to this file:

  build/reference-venv/bin/python tests/reference/clip_tokens.py ../shared/testdata
"""
import json
import sys
from pathlib import Path

import transformers
from transformers import CLIPTokenizer

# Where ftfy (and transformers 4's slow tokenizer) and transformers 5 part ways, and a few that
# look like they might but do not.
EXTRA = [
    "caf&amp;e", "Don’t stop", "“quoted”", "Tom &amp; Jerry", "&lt;3 &#x1F436; &#169; &copy;",
    "<b>bold &amp; brave</b>", "ﬁne ﬂour", "ＦＵＬＬ width ｄｏｇ", "ΟΔΟΣ σοφός", "İstanbul",
    "e\u0301clair", "a\u00a0b\u2003c", "x\x00y\x1fz\x7f", "line\r\nbreak\u2028end", "café\u200bdog",
    "‘single’ „low“ «guillemets»", "…—–", "🐕‍🦺 service dog", "ǅemal ﬀ ǈ", "ß STRASSE",
]


def main(testdata):
    testdata = Path(testdata)
    old = json.loads((testdata / "reference" / "tokens.json").read_text())
    prompts = [p["prompt"] for p in old["prompts"]] + EXTRA
    out = {
        "made_by": f"transformers {transformers.__version__} CLIPTokenizer, "
                   "tokenizer(prompt, padding='max_length', max_length=77, truncation=True)",
        "tokenizers": {},
    }
    for name, folder in (("sd", testdata / "sd-tiny" / "tokenizer"),
                         ("sdxl_tokenizer_2", testdata / "sdxl" / "sdxl-tiny" / "tokenizer_2")):
        tok = CLIPTokenizer.from_pretrained(folder)
        cases = []
        for prompt in prompts:
            cases.append({
                "prompt": prompt,
                "input_ids_padded77": tok(prompt, padding="max_length", max_length=77, truncation=True).input_ids,
                "input_ids_untruncated": tok(prompt).input_ids,
                "bpe_tokens": tok.tokenize(prompt),
            })
        out["tokenizers"][name] = {"class": type(tok).__name__, "pad_token": tok.pad_token, "cases": cases}
    target = Path(__file__).with_name("clip_tokens_transformers5.json")
    # One line per case keeps the file small and its diffs readable.
    lines = ['{"made_by": ' + json.dumps(out["made_by"]) + ', "tokenizers": {']
    for i, (name, t) in enumerate(out["tokenizers"].items()):
        lines.append(f' {json.dumps(name)}: {{"class": {json.dumps(t["class"])}, '
                     f'"pad_token": {json.dumps(t["pad_token"])}, "cases": [')
        lines += ["  " + json.dumps(c, ensure_ascii=False) + ("," if j + 1 < len(t["cases"]) else "")
                  for j, c in enumerate(t["cases"])]
        lines.append(" ]}" + ("," if i + 1 < len(out["tokenizers"]) else ""))
    lines.append("}}")
    target.write_text("\n".join(lines) + "\n")
    print(target)


if __name__ == "__main__":
    main(sys.argv[1])
