#!/usr/bin/env python3
"""Writes tests/reference/scheduler_cases.safetensors: sampler runs of the current diffusers
release on edge cases the shared test data does not cover (1, 2, 3, 7, 61 and 1000 steps,
every timestep spacing, configs swapped in the way from_config swaps them, v-prediction,
cosine and zero-terminal-SNR schedules), plus the timestep count and checksum of every step
count 1..1000 for each spacing.

Not used at build or test time; run it by hand to refresh the numbers:
    python3 -m venv /tmp/ref && /tmp/ref/bin/pip install torch==2.11.0 diffusers numpy
    /tmp/ref/bin/python tests/reference/make_scheduler_cases.py
The procedure is the one in ../shared/testdata/README.md: x = randn((1,4,8,8), seed 1234) *
init_noise_sigma, a fake model eps = 0.1 * x_in + 0.05 + 1e-4 * t, and one CPU generator
seeded 4321 (made after set_timesteps) for every draw.

Each case also records the reference's own float32 spread (`float32_spread` in the cases
metadata): how far its float32 result is from the same run with the sample in float64
(`final_f64`, the same float32 noise draws, cast), from a float64 run whose inputs carry one
float32 rounding, from its own float32 results under ATEN_CPU_CAPABILITY=default, avx2
and avx512 (run as child processes of this script), and from float32 runs whose schedule
table (alphas_cumprod) moved by one ulp at random. That is what moves when the script runs
on another CPU (AMD or Intel, AVX2 or AVX-512); the test allows a small multiple of it.
"""
import json
import os
import subprocess
import sys
import tempfile

import diffusers
import numpy as np
import torch
from diffusers import (DDIMScheduler, DDPMScheduler, DPMSolverMultistepScheduler,
                       EulerAncestralDiscreteScheduler, EulerDiscreteScheduler)
from safetensors.torch import load_file, save_file

SD = {"beta_start": 0.00085, "beta_end": 0.012, "beta_schedule": "scaled_linear", "num_train_timesteps": 1000}
CONFIGS = {
    # the tiny model's own DDIM config (leading spacing, steps_offset 1)
    "sd_ddim": json.load(open(os.path.join(os.path.dirname(__file__), "../../../shared/testdata/sd-tiny/scheduler/scheduler_config.json"))),
    # SD 1.5's PNDM config: no timestep_spacing, so each sampler keeps its own default
    "sd_pndm": {"_class_name": "PNDMScheduler", **SD, "set_alpha_to_one": False, "skip_prk_steps": True,
                "steps_offset": 1, "trained_betas": None, "clip_sample": False},
    "sd_trailing": {**SD, "timestep_spacing": "trailing", "steps_offset": 1, "clip_sample": False, "set_alpha_to_one": False},
    "sd_linspace": {**SD, "timestep_spacing": "linspace", "steps_offset": 1, "clip_sample": False, "set_alpha_to_one": False},
    "sd2_vpred": {**SD, "prediction_type": "v_prediction", "timestep_spacing": "leading", "steps_offset": 1,
                  "clip_sample": False, "set_alpha_to_one": False},
    "ddpm_defaults": {},
    "cosine": {"beta_schedule": "squaredcos_cap_v2", "clip_sample": False},
    "zero_snr_vpred": {**SD, "rescale_betas_zero_snr": True, "prediction_type": "v_prediction",
                       "timestep_spacing": "trailing", "clip_sample": False},
    "ddpm_fixed_large": {**SD, "variance_type": "fixed_large", "clip_sample": False, "steps_offset": 1},
}
SAMPLERS = {
    "ddpm": (DDPMScheduler, {}, {}),
    "ddim": (DDIMScheduler, {}, {"eta": 0.0}),
    "ddim_eta1": (DDIMScheduler, {}, {"eta": 1.0}),
    "euler": (EulerDiscreteScheduler, {"use_karras_sigmas": False}, {}),
    "euler_karras": (EulerDiscreteScheduler, {"use_karras_sigmas": True}, {}),
    "euler_a": (EulerAncestralDiscreteScheduler, {}, {}),
    "dpmpp_2m": (DPMSolverMultistepScheduler, {"algorithm_type": "dpmsolver++", "solver_order": 2, "use_karras_sigmas": False}, {}),
    "dpmpp_2m_karras": (DPMSolverMultistepScheduler, {"algorithm_type": "dpmsolver++", "solver_order": 2, "use_karras_sigmas": True}, {}),
}
STEPS = [1, 2, 3, 7, 20, 61]


def run(cls, overrides, step_kwargs, config, steps, dtype=torch.float32, perturb=False, schedule_seed=None):
    """One sampling loop. `perturb` (float64 only) multiplies the initial sample and every
    model output by 1 ± 2^-24 at random, one float32 rounding each, to see how far rounding
    there can carry on this case. `schedule_seed` moves every nonzero entry of the
    scheduler's float32 alphas_cumprod table one unit in the last place, up or down at
    random: the table is what another CPU's kernels compute differently."""
    s = cls.from_config(config, **overrides)
    if schedule_seed is not None:
        table = s.alphas_cumprod
        up = torch.randint(0, 2, table.shape, generator=torch.Generator().manual_seed(schedule_seed)) == 1
        moved = torch.where(up, torch.nextafter(table, torch.full_like(table, 2.0)),
                            torch.nextafter(table, torch.zeros_like(table)))
        s.alphas_cumprod = torch.where(table == 0, table, moved)
    s.set_timesteps(steps)
    gen = torch.Generator().manual_seed(4321)
    signs = torch.Generator().manual_seed(99)

    def rounded(v):
        if not perturb:
            return v
        return v * (1 + 2.0**-24 * (torch.randint(0, 2, v.shape, generator=signs, dtype=v.dtype) * 2 - 1))

    x = rounded(torch.randn((1, 4, 8, 8), generator=torch.Generator().manual_seed(1234)).to(dtype)) * s.init_noise_sigma
    # Count the draws the sampler makes (diffusers' randn_tensor calls torch.randn). The
    # float64 run draws the same float32 numbers: a float64 draw would be another stream.
    draws = [0]
    original = torch.randn

    def counting_randn(*args, **kwargs):
        draws[0] += 1
        if kwargs.get("dtype") == torch.float64:
            return original(*args, **{**kwargs, "dtype": torch.float32}).to(torch.float64)
        return original(*args, **kwargs)

    torch.randn = counting_randn
    try:
        for t in s.timesteps:
            xin = s.scale_model_input(x, t)
            eps = rounded(0.1 * xin + 0.05 + 1e-4 * float(t))
            x = s.step(eps, t, x, generator=gen, **step_kwargs).prev_sample
    finally:
        torch.randn = original
    sigmas = getattr(s, "sigmas", None)
    return s, x, draws[0], sigmas


CAPABILITIES = ("default", "avx2", "avx512")  # ATen's CPU kernels; it takes the best the CPU has
SCHEDULE_SEEDS = (1, 2, 3)  # three random one-ulp moves of the schedule table


def square_root_of_rounding(s, step_kwargs):
    """True when a DDIM step with η > 0 takes the square root of 1 − ᾱ_prev − σ² where that is
    zero but for rounding (within 16 float32 ulps of 1; at zero terminal SNR it is exactly
    zero at the first step): its float32 value is then ± an ulp or two, whose square root
    (2.4e-4, or NaN) is all the step's direction term, and which way it falls depends on the
    last bit of the reference's own square root, which differs between CPUs."""
    eta = step_kwargs.get("eta", 0.0)
    if eta == 0 or not hasattr(s, "final_alpha_cumprod"):
        return False
    table = s.alphas_cumprod.double()
    stride = s.config.num_train_timesteps // s.num_inference_steps
    for t in s.timesteps.tolist():
        a = float(table[t])
        ap = float(table[t - stride]) if t - stride >= 0 else float(s.final_alpha_cumprod)
        variance = (1 - ap) / (1 - a) * (1 - a / ap)
        # (ᾱ_prev = 1 makes σ and the term exactly zero: no rounding, nothing undetermined.)
        if variance > 2.0**-20 and abs(1 - ap - eta**2 * variance) < 2.0**-20:
            return True
    return False


def each_case():
    for config_name, config in CONFIGS.items():
        for sampler, (cls, overrides, step_kwargs) in SAMPLERS.items():
            steps_list = STEPS + ([1000] if config_name in ("sd_ddim", "sd_trailing") else [])
            for steps in steps_list:
                yield f"{config_name}/{sampler}/N{steps}", config_name, config, sampler, cls, overrides, step_kwargs, steps


def float32_finals():
    """The float32 final samples alone (what a run under another ATEN_CPU_CAPABILITY gives)."""
    finals = {}
    for name, _, config, _, cls, overrides, step_kwargs, steps in each_case():
        try:
            finals[name] = run(cls, overrides, step_kwargs, config, steps)[1].contiguous()
        except Exception:
            pass
    return finals


def finals_under(capability):
    with tempfile.TemporaryDirectory() as tmp:
        out = os.path.join(tmp, "finals.safetensors")
        subprocess.run([sys.executable, __file__], check=True,
                       env=dict(os.environ, ATEN_CPU_CAPABILITY=capability, CASES_FINALS_OUT=out))
        return load_file(out)


def main():
    if os.environ.get("CASES_FINALS_OUT"):
        save_file(float32_finals(), os.environ["CASES_FINALS_OUT"])
        return
    elsewhere = {capability: finals_under(capability) for capability in CAPABILITIES}
    tensors = {}
    cases = {}
    for name, config_name, config, sampler, cls, overrides, step_kwargs, steps in each_case():
        try:
            s, x, draws, sigmas = run(cls, overrides, step_kwargs, config, steps)
        except Exception as e:  # the reference refuses this combination
            cases[name] = {"config": config_name, "sampler": sampler, "steps": steps, "error": str(e)}
            continue
        _, x64, draws64, _ = run(cls, overrides, step_kwargs, config, steps, torch.float64)
        _, x64p, _, _ = run(cls, overrides, step_kwargs, config, steps, torch.float64, perturb=True)
        moved = [run(cls, overrides, step_kwargs, config, steps, schedule_seed=seed)[1] for seed in SCHEDULE_SEEDS]
        assert draws64 == draws, name
        tensors[name + "/final"] = x.contiguous()
        tensors[name + "/final_f64"] = x64.contiguous()
        tensors[name + "/timesteps"] = s.timesteps.to(torch.float64).contiguous()
        if sigmas is not None and sampler.startswith(("euler", "dpm")):
            tensors[name + "/sigmas"] = sigmas.to(torch.float32).contiguous()
        # The reference's own float32 spread on this case, in the test's relative measure
        # (max |a - b| / max(1, max |b|)): the largest of its float32 run's distance from the
        # float64 one, of how far one rounding of the inputs carries, of how far its own
        # result moves under each of ATen's CPU kernel sets (the betas' linspace alone differs
        # between the vectorised and the scalar kernels), and of how far it moves when its
        # schedule table moves by one ulp (what another CPU computes). None (no spread: the
        # case is not determined in float32) where any of them is NaN or where a step takes
        # the square root of a rounding error (square_root_of_rounding).
        scale = max(1.0, float(x64.abs().max()))
        distances = [(x.double() - x64).abs().max(), (x64p - x64).abs().max()]
        distances += [(finals[name].double() - x.double()).abs().max() for finals in elsewhere.values()]
        distances += [(m.double() - x.double()).abs().max() for m in moved]
        spread = float(max(distances)) / scale
        spread = spread if spread == spread else None  # NaN where the reference ends in NaN
        if square_root_of_rounding(s, step_kwargs):
            spread = None
        cases[name] = {"config": config_name, "sampler": sampler, "steps": steps, "noise_draws": draws,
                       "init_noise_sigma": float(s.init_noise_sigma), "float32_spread": spread}

    # Every step count: how many timesteps each spacing yields and a checksum of them.
    for family, cls in (("ddpm", DDPMScheduler), ("euler", EulerDiscreteScheduler), ("dpm", DPMSolverMultistepScheduler)):
        for spacing in ("leading", "trailing", "linspace"):
            rows = []
            for steps in range(1, 1001):
                s = cls.from_config({**SD, "timestep_spacing": spacing, "steps_offset": 1})
                s.set_timesteps(steps)
                t = s.timesteps.to(torch.float64)
                weights = torch.arange(1, len(t) + 1, dtype=torch.float64)
                rows.append([float(len(t)), float((t * weights).sum()), float(t.min()), float(t.max())])
            tensors[f"spacing/{family}/{spacing}"] = torch.tensor(rows, dtype=torch.float64)

    metadata = {
        "what": "sampler reference runs, see tests/reference/make_scheduler_cases.py",
        "diffusers": diffusers.__version__,
        "torch": torch.__version__,
        "numpy": np.__version__,
        "configs": json.dumps(CONFIGS),
        "cases": json.dumps(cases),
    }
    out = os.environ.get("CASES_OUT") or os.path.join(os.path.dirname(__file__), "scheduler_cases.safetensors")
    save_file(tensors, out, metadata=metadata)
    print(f"wrote {out}: {len(cases)} cases, {len(tensors)} tensors")


if __name__ == "__main__":
    main()
