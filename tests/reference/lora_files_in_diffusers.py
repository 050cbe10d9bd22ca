"""Pawtrait's SDXL LoRA files (written by sdxl_lora_export) loaded into the reference with
StableDiffusionXLPipeline.load_lora_weights: no unexpected or missing keys reported, and the
UNet moved exactly as the reference's own trained file moves it (lora_infer.safetensors,
'after_load_lora_weights.diffusers_file', at unet_io's t501 inputs), within the testdata
README's 1e-5 for module outputs. Then the LoRA Pawtrait trained itself (UNet and both text
encoders), in both layouts: no unexpected or missing keys, and the UNet output and the
encoded prompt (both encoders' states, the pooled vector) what Pawtrait's own merge gives
(expected_after_training.safetensors), within the same bound, and unlike the base model's.

  python lora_files_in_diffusers.py TESTDATA EXPORT_DIR
"""
import logging
import sys
from pathlib import Path

import torch
from diffusers import StableDiffusionXLPipeline
from safetensors.torch import load_file


class Collect(logging.Handler):
    def __init__(self):
        super().__init__(logging.WARNING)
        self.messages = []

    def emit(self, record):
        self.messages.append(record.getMessage())


def main(testdata, export_dir):
    sdxl = Path(testdata) / "sdxl"
    io = load_file(sdxl / "reference" / "unet_io.safetensors")
    expected = load_file(sdxl / "reference" / "lora_infer.safetensors")["after_load_lora_weights.diffusers_file"]
    collect = Collect()
    for name in ("diffusers", "peft"):
        logging.getLogger(name).addHandler(collect)
    failures = 0
    for file in ("pawtrait_kohya_sdxl.safetensors", "pawtrait_peft.safetensors"):
        collect.messages.clear()
        pipe = StableDiffusionXLPipeline.from_pretrained(sdxl / "sdxl-tiny", add_watermarker=False)
        pipe.load_lora_weights(str(Path(export_dir) / file))
        with torch.no_grad():
            out = pipe.unet(io["t501.sample"], io["t501.timestep"], encoder_hidden_states=io["t501.encoder_hidden_states"],
                            added_cond_kwargs={"text_embeds": io["t501.text_embeds"], "time_ids": io["t501.time_ids"]}).sample
        diff = (out.double() - expected.double()).abs().max().item()
        unhandled = [m for m in collect.messages if "unexpected keys" in m or "missing keys" in m]
        ok = diff <= 1e-5 + 1e-5 * expected.abs().max().item() and not unhandled
        print(f"{file}: UNet max |diff| from the reference's own file {diff:.3g}; "
              f"unexpected/missing keys: {unhandled or 'none'} -> {'ok' if ok else 'FAILED'}")
        failures += not ok

    trained = load_file(Path(export_dir) / "expected_after_training.safetensors")
    prompt = "a photo of sks dog"

    def outputs(pipe):
        with torch.no_grad():
            unet = pipe.unet(io["t501.sample"], io["t501.timestep"], encoder_hidden_states=io["t501.encoder_hidden_states"],
                             added_cond_kwargs={"text_embeds": io["t501.text_embeds"],
                                                "time_ids": io["t501.time_ids"]}).sample
            embeds, _, pooled, _ = pipe.encode_prompt(prompt, device="cpu", do_classifier_free_guidance=False)
        return {"unet.t501": unet, "prompt_embeds": embeds, "pooled_prompt_embeds": pooled}

    def worst(a, b):
        return (a.double() - b.double()).abs().max().item()

    base = outputs(StableDiffusionXLPipeline.from_pretrained(sdxl / "sdxl-tiny", add_watermarker=False))
    for file in ("trained_kohya_sdxl.safetensors", "trained_peft.safetensors"):
        collect.messages.clear()
        pipe = StableDiffusionXLPipeline.from_pretrained(sdxl / "sdxl-tiny", add_watermarker=False)
        pipe.load_lora_weights(str(Path(export_dir) / file))
        got = outputs(pipe)
        unhandled = [m for m in collect.messages if "unexpected keys" in m or "missing keys" in m]
        ok = not unhandled
        report = []
        for name, expected in trained.items():
            diff, moved = worst(got[name], expected), worst(base[name], expected)
            bound = 1e-5 + 1e-5 * expected.abs().max().item()
            ok = ok and diff <= bound and moved > 100 * bound
            report.append(f"{name} {diff:.3g} (the LoRA moved it {moved:.3g})")
        print(f"{file}: max |diff| from Pawtrait's merge: {'; '.join(report)}; "
              f"unexpected/missing keys: {unhandled or 'none'} -> {'ok' if ok else 'FAILED'}")
        failures += not ok
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1], sys.argv[2]))
