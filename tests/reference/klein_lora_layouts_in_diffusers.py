"""FLUX.2 [klein] LoRA files in the layouts other tools write, through pawtrait-cli generate and
through the reference pipeline's own load_lora_weights (Flux2LoraLoaderMixin converts them):
Black Forest Labs' original module names behind "diffusion_model." (ComfyUI, ai-toolkit; fused
q/k/v), the same behind PEFT's "base_model.model.", kohya's lora_unet_ underscores with an α,
and diffusers' expanded names behind "diffusion_model."; then a LoRA Pawtrait trains, loaded by
diffusers (the layer count and the picture). The distilled tiny model, 4 steps, the same initial
latents through --init-latents, the final latents through --save-latents. Every LoRA must also
move the reference's picture by ten bounds or more, so that one Pawtrait left out cannot pass.

  python klein_lora_layouts_in_diffusers.py PAWTRAIT_CLI TESTDATA PHOTOS WORK_DIR
"""
import shutil
import subprocess
import sys
from pathlib import Path

import torch
from diffusers import Flux2KleinPipeline
from diffusers.utils import logging as diffusers_logging
from safetensors.torch import load_file, save_file
from transformers.utils import logging as transformers_logging

PROMPT = "a photo of sks dog"
RANK = 4


def bound(reference):
    """testdata/klein/README.md's bound for a pipeline's final latents."""
    return 5e-5 * reference.abs().max().item() + 5e-5


def lora_shapes(config):
    """(in, out) of every LoRA-able linear layer under Black Forest Labs' names."""
    inner = config.num_attention_heads * config.attention_head_dim
    hidden = int(inner * config.mlp_ratio)
    shapes = {}
    for i in range(config.num_layers):
        for stream in ("img", "txt"):
            shapes[f"double_blocks.{i}.{stream}_attn.qkv"] = (inner, 3 * inner)
            shapes[f"double_blocks.{i}.{stream}_attn.proj"] = (inner, inner)
            shapes[f"double_blocks.{i}.{stream}_mlp.0"] = (inner, 2 * hidden)
            shapes[f"double_blocks.{i}.{stream}_mlp.2"] = (hidden, inner)
    for i in range(config.num_single_layers):
        shapes[f"single_blocks.{i}.linear1"] = (inner, 3 * inner + 2 * hidden)
        shapes[f"single_blocks.{i}.linear2"] = (inner + hidden, inner)
    shapes["img_in"] = (config.in_channels, inner)
    shapes["txt_in"] = (config.joint_attention_dim, inner)
    shapes["time_in.in_layer"] = (config.timestep_guidance_channels, inner)
    shapes["time_in.out_layer"] = (inner, inner)
    shapes["final_layer.linear"] = (inner, config.in_channels)
    return shapes


def random_pair(shape, generator):
    fan_in, fan_out = shape
    down = torch.randn(RANK, fan_in, generator=generator) / fan_in**0.5
    up = torch.randn(fan_out, RANK, generator=generator) * 0.05
    return down, up


def layouts(config):
    """Each layout's state dict, from one seeded set of matrices per layout."""
    shapes = lora_shapes(config)
    g = torch.Generator().manual_seed(11)
    bfl = {}
    for name, shape in shapes.items():
        down, up = random_pair(shape, g)
        bfl[f"diffusion_model.{name}.lora_A.weight"] = down
        bfl[f"diffusion_model.{name}.lora_B.weight"] = up
    peft = {k.replace("diffusion_model.", "base_model.model.", 1): v * 1.5 for k, v in bfl.items()}
    kohya = {}
    for name, shape in shapes.items():  # α 8 on rank 4: a scale of 2
        down, up = random_pair(shape, g)
        key = "lora_unet_" + name.replace(".", "_")
        kohya[key + ".lora_down.weight"] = down
        kohya[key + ".lora_up.weight"] = up
        kohya[key + ".alpha"] = torch.tensor(8.0)
    inner = config.num_attention_heads * config.attention_head_dim
    expanded = {}
    for i in range(config.num_layers):
        for module in ("attn.to_q", "attn.to_k", "attn.to_v", "attn.add_q_proj", "attn.to_out.0"):
            down, up = random_pair((inner, inner), g)
            expanded[f"diffusion_model.transformer_blocks.{i}.{module}.lora_A.weight"] = down
            expanded[f"diffusion_model.transformer_blocks.{i}.{module}.lora_B.weight"] = up
    for i in range(config.num_single_layers):
        down, up = random_pair(shapes[f"single_blocks.{i}.linear1"], g)
        expanded[f"diffusion_model.single_transformer_blocks.{i}.attn.to_qkv_mlp_proj.lora_A.weight"] = down
        expanded[f"diffusion_model.single_transformer_blocks.{i}.attn.to_qkv_mlp_proj.lora_B.weight"] = up
    return {"bfl": bfl, "peft-bfl": peft, "kohya": kohya, "expanded": expanded}


def reference_latents(pipe, init, lora):
    if lora is not None:
        pipe.load_lora_weights(str(lora))
    with torch.no_grad():
        out = pipe(prompt=PROMPT, num_inference_steps=4, guidance_scale=1.0, height=64, width=64, latents=init.clone(),
                   output_type="latent").images
    if lora is not None:
        pipe.unload_lora_weights()
    return out


def pawtrait_latents(cli, model, init_file, out_file, work, lora):
    args = [cli, "generate", "-q", "--model", str(model), "--prompt", PROMPT, "--steps", "4", "--width", "64",
            "--height", "64", "--seed", "1", "--init-latents", str(init_file), "--save-latents", str(out_file),
            "--out", str(work / "pictures")]
    if lora is not None:
        args += ["--lora", str(lora)]
    subprocess.run(args, check=True, stdout=subprocess.DEVNULL)
    return load_file(out_file)["latents"]


def main(cli, testdata, photos, work):
    testdata, work = Path(testdata), Path(work)
    diffusers_logging.disable_progress_bar()
    transformers_logging.disable_progress_bar()
    work.mkdir(parents=True, exist_ok=True)
    model = testdata / "klein" / "klein-tiny"
    pipe = Flux2KleinPipeline.from_pretrained(model, dtype=torch.float32)
    pipe.set_progress_bar_config(disable=True)
    side = 64 // (pipe.vae_scale_factor * 2)
    init = torch.randn(1, pipe.transformer.config.in_channels, side, side, generator=torch.Generator().manual_seed(7))
    init_file = work / "init.safetensors"
    save_file({"latents": init.contiguous()}, init_file)
    plain = reference_latents(pipe, init, None)

    files = {}
    for name, state in layouts(pipe.transformer.config).items():
        files[name] = work / f"{name}.safetensors"
        save_file({k: v.contiguous() for k, v in state.items()}, files[name])
    # A LoRA Pawtrait trains on the base model, for the distilled one (as people use klein).
    trained = work / "trained"
    shutil.rmtree(trained, ignore_errors=True)
    subprocess.run([cli, "train", "-q", "--model", str(testdata / "klein" / "klein-base-tiny"), "--photos", photos,
                    "--token", "sks", "--class", "dog", "--rank", "4", "--alpha", "8", "--lr", "5e-2",
                    "--resolution", "64", "--steps", "3", "--device", "cpu", "--preview-every", "0",
                    "--validate-every", "0", "--seed", "3", "--out", str(trained)], check=True, stdout=subprocess.DEVNULL)
    files["pawtrait-trained"] = trained / "lora" / "pytorch_lora_weights.safetensors"

    failures = 0
    for name, lora in files.items():
        expected = reference_latents(pipe, init, lora)
        got = pawtrait_latents(cli, model, init_file, work / f"{name}-out.safetensors", work, lora)
        diff = (got.double() - expected.double()).abs().max().item()
        moved = (expected.double() - plain.double()).abs().max().item()
        # A LoRA Pawtrait left out would be `moved` away from the reference: 10 bounds at least.
        ok = diff <= bound(expected) and moved > 10 * bound(expected)
        print(f"{name}: max |diff| from diffusers {diff:.3g} (bound {bound(expected):.3g}); the LoRA moves the "
              f"latents by {moved:.3g} -> {'ok' if ok else 'FAILED'}")
        failures += not ok
    # Every layer of Pawtrait's file becomes one of diffusers' LoRA modules (none dropped).
    layers = sum(1 for key in load_file(files["pawtrait-trained"]) if key.endswith("lora_A.weight"))
    pipe.load_lora_weights(str(files["pawtrait-trained"]))
    modules = sum(1 for n, _ in pipe.transformer.named_modules() if n.rsplit(".", 1)[0].endswith(".lora_A"))
    pipe.unload_lora_weights()
    print(f"pawtrait-trained: {layers} layers in the file, {modules} LoRA modules in diffusers")
    failures += modules != layers or layers == 0
    sys.exit(1 if failures else 0)


if __name__ == "__main__":
    main(*sys.argv[1:])
