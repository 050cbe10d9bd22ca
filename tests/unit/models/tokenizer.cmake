# Tests of the CLIP tokenizer (placeholder until the tokenizer lands).
