"""The reference side of the side-by-side benchmarks: the same workloads as
side_by_side_bench, done the way the Python tools do them (diffusers, transformers, peft).

Run by tests/bench/side_by_side.py in the reference virtual environment, one workload per
process so that each peak RSS is its own. Every workload prints one JSON line:
  {"seconds": [one per timed repetition], "peak_rss_mib": ..., ...}

  reference_bench.py load MODEL
  reference_bench.py unet_forward MODEL INPUTS REPS OUT
  reference_bench.py train MODEL PHOTOS lora|full STEPS RESOLUTION
  reference_bench.py sample MODEL INPUTS STEPS REPS OUT
  reference_bench.py transformer_load MODEL        (FLUX.2 [klein]: MODEL/transformer alone)
  reference_bench.py transformer_forward MODEL INPUTS REPS OUT

The transformer workloads run in PAWTRAIT_BENCH_DTYPE (fp32 by default, bf16), as Pawtrait's do.

PAWTRAIT_BENCH_DEVICE=cuda runs them on the GPU as side_by_side_bench does: the UNet and
sampling in float16, training with PAWTRAIT_BENCH_PRECISION (bf16 by default) mixed precision
as accelerate does it (frozen weights in that dtype, trained ones in float32, autocast) and,
with PAWTRAIT_BENCH_CHECKPOINTING=1, gradient checkpointing; the line then also has
"peak_gpu_mib" (torch.cuda.max_memory_allocated).

The DreamBooth step follows diffusers' examples/dreambooth/train_dreambooth_lora.py (and
train_dreambooth.py for full fine-tuning; train_dreambooth_lora_sdxl.py for an SDXL model) with
pre-computed text embeddings and, as kohya's --cache_latents does, the photos encoded once and a
latent drawn from the cached posterior each step.
"""

import json
import math
import os
import random
import sys
import time


def configure_threads(torch):
    threads = int(os.environ.get("PAWTRAIT_BENCH_THREADS", os.cpu_count() or 1))
    torch.set_num_threads(threads)


def peak_rss_mib():
    """This process's own peak resident set (Linux's VmHWM, as Pawtrait's side reads it)."""
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024.0
    return -1.0


ON_GPU = os.environ.get("PAWTRAIT_BENCH_DEVICE", "cpu") == "cuda"


def is_sdxl(model):
    with open(os.path.join(model, "model_index.json")) as index:
        return json.load(index)["_class_name"] == "StableDiffusionXLPipeline"


def pipeline(model, dtype):
    """The model's own pipeline class, as DiffusionPipeline picks it, without SD's safety checker."""
    from diffusers import StableDiffusionPipeline, StableDiffusionXLPipeline

    if is_sdxl(model):
        return StableDiffusionXLPipeline.from_pretrained(model, torch_dtype=dtype, add_watermarker=False)
    return StableDiffusionPipeline.from_pretrained(model, safety_checker=None, requires_safety_checker=False,
                                                   torch_dtype=dtype)


def synchronize(torch):
    if ON_GPU:
        torch.cuda.synchronize()


def emit(**fields):
    fields["peak_rss_mib"] = peak_rss_mib()
    if ON_GPU:
        import torch

        fields["peak_gpu_mib"] = torch.cuda.max_memory_allocated() / 2**20
    print(json.dumps(fields), flush=True)


def load(model):
    import torch

    configure_threads(torch)
    start = time.perf_counter()
    pipe = pipeline(model, torch.float16 if ON_GPU else torch.float32)
    if ON_GPU:
        pipe.to("cuda")
    pipe.set_progress_bar_config(disable=True)
    emit(seconds=[time.perf_counter() - start])


def unet_forward(model, inputs, reps, out):
    import torch
    from diffusers import UNet2DConditionModel
    from safetensors.torch import load_file, save_file

    configure_threads(torch)
    device, dtype = ("cuda", torch.float16) if ON_GPU else ("cpu", torch.float32)
    unet = UNet2DConditionModel.from_pretrained(model, subfolder="unet", torch_dtype=dtype).to(device).eval()
    x = load_file(inputs)
    sample, context = x["sample"].to(device, dtype), x["encoder_hidden_states"].to(device, dtype)
    t = x["timestep"].to(device)
    # SDXL's added conditioning: the pooled text vector and the six size ids.
    added = ({"text_embeds": x["text_embeds"].to(device, dtype), "time_ids": x["time_ids"].to(device, dtype)}
             if "text_embeds" in x else None)
    seconds = []
    with torch.inference_mode():
        unet(sample, t, context, added_cond_kwargs=added, return_dict=False)  # warm-up, not timed
        for _ in range(reps):
            synchronize(torch)
            start = time.perf_counter()
            result = unet(sample, t, context, added_cond_kwargs=added, return_dict=False)[0]
            synchronize(torch)
            seconds.append(time.perf_counter() - start)
        if os.environ.get("PAWTRAIT_BENCH_PROFILE"):  # each operator's total microseconds, as JSON
            with torch.profiler.profile(activities=[torch.profiler.ProfilerActivity.CPU]) as profile:
                unet(sample, t, context, added_cond_kwargs=added, return_dict=False)
            with open(os.environ["PAWTRAIT_BENCH_PROFILE"], "w") as f:
                json.dump({e.key: [e.cpu_time_total, e.count] for e in profile.key_averages()}, f)
    save_file({"out": result.float().cpu().contiguous()}, out)
    emit(seconds=seconds)


def transformer_dtype(torch):
    name = os.environ.get("PAWTRAIT_BENCH_DTYPE", "bf16" if ON_GPU else "fp32")
    return {"fp32": torch.float32, "bf16": torch.bfloat16}[name]


def load_transformer(model, torch):
    from diffusers import Flux2Transformer2DModel  # imported before transformer_load's clock starts

    transformer = Flux2Transformer2DModel.from_pretrained(model, subfolder="transformer",
                                                          torch_dtype=transformer_dtype(torch))
    return transformer.to("cuda" if ON_GPU else "cpu").eval()


def transformer_load(model):
    import torch

    import diffusers.models  # the class's import is in the from-process-start row, not this one

    configure_threads(torch)
    diffusers.models.Flux2Transformer2DModel
    start = time.perf_counter()
    load_transformer(model, torch)
    synchronize(torch)
    emit(seconds=[time.perf_counter() - start])


def transformer_forward(model, inputs, reps, out):
    """One denoising call as Flux2KleinPipeline makes it (timestep = σ in the latents' dtype)."""
    import torch
    from safetensors.torch import load_file, save_file

    configure_threads(torch)
    transformer = load_transformer(model, torch)
    device, dtype = ("cuda" if ON_GPU else "cpu"), transformer_dtype(torch)
    x = load_file(inputs)
    kwargs = dict(hidden_states=x["hidden_states"].to(device, dtype),
                  encoder_hidden_states=x["encoder_hidden_states"].to(device, dtype),
                  timestep=x["timestep"].to(device, dtype), img_ids=x["img_ids"].to(device),
                  txt_ids=x["txt_ids"].to(device), guidance=None, return_dict=False)
    seconds = []
    with torch.inference_mode():
        transformer(**kwargs)  # warm-up, not timed
        for _ in range(reps):
            synchronize(torch)
            start = time.perf_counter()
            result = transformer(**kwargs)[0]
            synchronize(torch)
            seconds.append(time.perf_counter() - start)
    save_file({"out": result.float().cpu().contiguous()}, out)
    emit(seconds=seconds)


def photo_tensor(path, resolution, torch):
    """Shorter side to `resolution` (bicubic), centre crop, [-1, 1], as the DreamBooth
    scripts' transforms do; with the photo's (height, width) and the crop's (top, left), which
    the SDXL script turns into the size ids."""
    import numpy as np
    from PIL import Image

    image = Image.open(path).convert("RGB")
    original = (image.size[1], image.size[0])
    scale = resolution / min(image.size)
    size = (max(resolution, round(image.size[0] * scale)), max(resolution, round(image.size[1] * scale)))
    image = image.resize(size, Image.BICUBIC)
    left, top = (size[0] - resolution) // 2, (size[1] - resolution) // 2
    image = image.crop((left, top, left + resolution, top + resolution))
    array = np.asarray(image, dtype=np.float32) / 127.5 - 1.0
    return torch.from_numpy(array).permute(2, 0, 1).unsqueeze(0), original, (top, left)


def load_text_encoders(model, sdxl):
    """The tokenizers and text encoders, frozen: SD's one, SDXL's two (the second with its
    projection)."""
    from transformers import CLIPTextModel, CLIPTextModelWithProjection, CLIPTokenizer

    names = [("tokenizer", "text_encoder", CLIPTextModel)]
    if sdxl:
        names.append(("tokenizer_2", "text_encoder_2", CLIPTextModelWithProjection))
    encoders = []
    for tokenizer_name, encoder_name, encoder_class in names:
        encoder = encoder_class.from_pretrained(model, subfolder=encoder_name)
        encoder.requires_grad_(False)
        encoders.append((CLIPTokenizer.from_pretrained(model, subfolder=tokenizer_name), encoder))
    return encoders


def encode_prompt(encoders, prompt, device, sdxl):
    """SD: the last hidden state. SDXL (train_dreambooth_lora_sdxl.py's encode_prompt): both
    encoders' penultimate hidden states side by side, and the second one's projected pooled
    vector."""
    import torch

    states, pooled = [], None
    with torch.no_grad():
        for tokenizer, encoder in encoders:
            ids = tokenizer(prompt, padding="max_length", max_length=tokenizer.model_max_length, truncation=True,
                            return_tensors="pt").input_ids.to(device)
            if sdxl:
                out = encoder(ids, output_hidden_states=True, return_dict=False)
                pooled = out[0]
                states.append(out[-1][-2])
            else:
                states.append(encoder(ids)[0])
    return torch.cat(states, dim=-1), pooled


def train(model, photos, mode, steps, resolution):
    import torch
    import torch.nn.functional as F
    from diffusers import AutoencoderKL, DDPMScheduler, UNet2DConditionModel
    from diffusers.optimization import get_scheduler

    configure_threads(torch)
    torch.manual_seed(0)
    random.seed(0)
    start = time.perf_counter()
    sdxl = is_sdxl(model)
    device = "cuda" if ON_GPU else "cpu"
    precision = os.environ.get("PAWTRAIT_BENCH_PRECISION", "bf16") if ON_GPU else "no"
    weight_dtype = {"bf16": torch.bfloat16, "fp16": torch.float16}.get(precision, torch.float32)
    encoders = load_text_encoders(model, sdxl)
    vae = AutoencoderKL.from_pretrained(model, subfolder="vae")
    unet = UNet2DConditionModel.from_pretrained(model, subfolder="unet")
    noise_scheduler = DDPMScheduler.from_pretrained(model, subfolder="scheduler")
    vae.requires_grad_(False)
    # The SDXL script keeps its VAE in float32 (SDXL's overflows in float16).
    vae_dtype = torch.float32 if sdxl else weight_dtype
    vae.to(device, dtype=vae_dtype)
    for _, encoder in encoders:
        encoder.to(device, dtype=weight_dtype)
    if os.environ.get("PAWTRAIT_BENCH_CHECKPOINTING") == "1":
        unet.enable_gradient_checkpointing()

    if mode == "lora":
        from peft import LoraConfig

        unet.requires_grad_(False)
        unet.to(device, dtype=weight_dtype)
        unet.add_adapter(LoraConfig(r=16, lora_alpha=16, init_lora_weights="gaussian",
                                    target_modules=["to_k", "to_q", "to_v", "to_out.0"]))
        for p in unet.parameters():  # the script's cast_training_params: trained weights in float32
            if p.requires_grad:
                p.data = p.data.float()
        learning_rate = 1e-4
    else:
        unet.requires_grad_(True)
        unet.to(device)  # trained weights stay float32 under mixed precision
        learning_rate = 5e-6
    params = [p for p in unet.parameters() if p.requires_grad]
    optimizer = torch.optim.AdamW(params, lr=learning_rate, betas=(0.9, 0.999), weight_decay=1e-2, eps=1e-8)
    lr_scheduler = get_scheduler("constant", optimizer=optimizer, num_warmup_steps=0, num_training_steps=steps)

    # --pre_compute_text_embeddings: the prompt once, then the text encoders are dropped.
    encoder_hidden_states, pooled = encode_prompt(encoders, "a photo of sks dog", device, sdxl)
    del encoders

    # Cached latents: each photo and its mirror image encoded once; for SDXL with each one's
    # size ids (original size, crop corner, target size; the script crops after flipping, and
    # a centred crop's corner is the same either way).
    files = sorted(os.path.join(photos, f) for f in os.listdir(photos)) if os.path.isdir(photos) else [photos]
    posteriors = []
    with torch.no_grad():
        for f in files:
            pixels, original, corner = photo_tensor(f, resolution, torch)
            pixels = pixels.to(device, vae_dtype)
            time_ids = torch.tensor([list(original + corner + (resolution, resolution))], device=device,
                                    dtype=weight_dtype)
            for p in (pixels, torch.flip(pixels, dims=[3])):
                posteriors.append((vae.encode(p).latent_dist, time_ids))

    unet.train()
    seconds = []
    last_loss = None
    setup = time.perf_counter() - start
    for _ in range(steps):
        t0 = time.perf_counter()
        posterior, time_ids = random.choice(posteriors)
        latents = (posterior.sample() * vae.config.scaling_factor).to(weight_dtype)
        noise = torch.randn_like(latents)
        timesteps = torch.randint(0, noise_scheduler.config.num_train_timesteps, (latents.shape[0],),
                                  device=device).long()
        noisy = noise_scheduler.add_noise(latents, noise, timesteps)
        with torch.autocast(device, dtype=weight_dtype, enabled=precision != "no"):  # accelerate's autocast
            added = {"time_ids": time_ids, "text_embeds": pooled} if sdxl else None
            model_pred = unet(noisy, timesteps, encoder_hidden_states, added_cond_kwargs=added, return_dict=False)[0]
        target = noise if noise_scheduler.config.prediction_type == "epsilon" else \
            noise_scheduler.get_velocity(latents, noise, timesteps)
        loss = F.mse_loss(model_pred.float(), target.float(), reduction="mean")
        loss.backward()
        torch.nn.utils.clip_grad_norm_(params, 1.0)
        optimizer.step()
        lr_scheduler.step()
        optimizer.zero_grad(set_to_none=True)
        last_loss = loss.detach().item()  # the scripts log it every step
        seconds.append(time.perf_counter() - t0)
    emit(seconds=seconds[1:] if len(seconds) > 1 else seconds, setup_seconds=setup,
         final_loss=last_loss if last_loss is not None and math.isfinite(last_loss) else None)


def sample(model, inputs, steps, reps, out):
    import torch
    from diffusers import DPMSolverMultistepScheduler
    from safetensors.torch import load_file, save_file

    configure_threads(torch)
    device, dtype = ("cuda", torch.float16) if ON_GPU else ("cpu", torch.float32)
    pipe = pipeline(model, dtype).to(device)
    pipe.scheduler = DPMSolverMultistepScheduler.from_config(pipe.scheduler.config, algorithm_type="dpmsolver++",
                                                             solver_order=2, use_karras_sigmas=False)
    pipe.set_progress_bar_config(disable=True)
    latents = load_file(inputs)["sample_noise"].to(device, dtype)
    scale = pipe.vae_scale_factor
    kwargs = dict(prompt="a photo of sks dog in the snow", negative_prompt="blurry", num_inference_steps=steps,
                  guidance_scale=7.5, height=latents.shape[2] * scale, width=latents.shape[3] * scale,
                  latents=latents.clone(), output_type="np")
    pipe(**dict(kwargs, num_inference_steps=1))  # warm-up (one step and the decode), not timed
    seconds = []
    for _ in range(reps):
        kwargs["latents"] = latents.clone()
        synchronize(torch)
        start = time.perf_counter()
        image = pipe(**kwargs).images[0]  # ends with the pixels on the CPU, as a NumPy array
        seconds.append(time.perf_counter() - start)
    save_file({"out": torch.from_numpy(image.copy()).contiguous()}, out)
    emit(seconds=seconds)


def main(argv):
    workload, args = argv[1], argv[2:]
    if workload == "load":
        load(args[0])
    elif workload == "unet_forward":
        unet_forward(args[0], args[1], int(args[2]), args[3])
    elif workload == "train":
        train(args[0], args[1], args[2], int(args[3]), int(args[4]))
    elif workload == "transformer_load":
        transformer_load(args[0])
    elif workload == "transformer_forward":
        transformer_forward(args[0], args[1], int(args[2]), args[3])
    elif workload == "sample":
        sample(args[0], args[1], int(args[2]), int(args[3]), args[4])
    else:
        sys.exit(f"unknown workload {workload}")


if __name__ == "__main__":
    main(sys.argv)
