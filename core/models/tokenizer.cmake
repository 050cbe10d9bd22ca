# The CLIP BPE tokenizer library: pawtrait_tokenizer (torch-free).
# (placeholder until the tokenizer lands)
