"""OpenMP's idle threads on a shared CPU: the tiny model's LoRA training step, alone and with
one other busy process, on both sides, under libgomp's wait settings.

LibTorch's libgomp lets a thread that has finished its share of a parallel loop spin for a
while before it sleeps (GOMP_SPINCOUNT, 300,000 by default). With every core busy, the
spinning threads take the time the others need. Pawtrait starts with GOMP_SPINCOUNT=10000
unless the user chose (core/common/openmp_defaults.cpp); the other rows show libgomp's
default spin and no spin at all (OMP_WAIT_POLICY=PASSIVE). The reference is run as
installed and with OMP_WAIT_POLICY=PASSIVE.

Run by tests/bench/run-openmp-contention (Release build, the reference venv's Python).
"""

import argparse
import os
import subprocess
import sys

from side_by_side import HERE, Side, median

SHIPPED = "Pawtrait as shipped (GOMP_SPINCOUNT=10000)"
SETTINGS = [
    ("pawtrait", SHIPPED, {}),
    ("pawtrait", "Pawtrait with libgomp's default spin (GOMP_SPINCOUNT=300000)", {"GOMP_SPINCOUNT": "300000"}),
    ("pawtrait", "Pawtrait with OMP_WAIT_POLICY=PASSIVE", {"OMP_WAIT_POLICY": "PASSIVE"}),
    ("reference", "Reference as installed", {}),
    ("reference", "Reference with OMP_WAIT_POLICY=PASSIVE", {"OMP_WAIT_POLICY": "PASSIVE"}),
]


def busy_process():
    """One other process that wants a whole core, as a browser tab or a second test does."""
    return subprocess.Popen([sys.executable, "-c", "while True: pass"])


def main():
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--build", required=True)
    parser.add_argument("--testdata", required=True)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--steps", type=int, default=21, help="LoRA steps per process (the first is not timed)")
    parser.add_argument("--markdown", help="append the table here")
    args = parser.parse_args()

    threads = os.cpu_count() or 1
    env = {k: v for k, v in os.environ.items() if k not in ("OMP_WAIT_POLICY", "GOMP_SPINCOUNT")}
    env.update(PAWTRAIT_BENCH_THREADS=str(threads), OMP_NUM_THREADS=str(threads), HF_HUB_OFFLINE="1",
               TOKENIZERS_PARALLELISM="false", PYTHONWARNINGS="ignore", DIFFUSERS_VERBOSITY="error")
    sides = {"pawtrait": Side("pawtrait", [os.path.join(args.build, "tests", "bench", "side_by_side_bench")]),
             "reference": Side("reference", [sys.executable, os.path.join(HERE, "reference_bench.py")])}
    workload = ["train", os.path.join(args.testdata, "sd-tiny"), os.path.join(args.testdata, "photos"), "lora",
                str(args.steps), "64"]

    step = {}  # (setting, contended) -> medians of s/step over rounds
    for r in range(args.rounds):
        for contended in (False, True):
            order = SETTINGS if r % 2 == 0 else list(reversed(SETTINGS))
            for side, label, extra in order:
                other = busy_process() if contended else None
                try:
                    result = sides[side].run(workload, dict(env, **extra))
                finally:
                    if other:
                        other.kill()
                        other.wait()
                s = median(result["seconds"])
                step.setdefault((label, contended), []).append(s)
                print(f"  round {r + 1} {'contended' if contended else 'alone    '} {label}: {s:.4f} s/step",
                      flush=True)

    shipped = SHIPPED
    lines = [f"| Setting | Alone (s/step) | With one busy process (s/step) | Contended / alone "
             f"| vs Pawtrait as shipped, contended |", "|---|---|---|---|---|"]
    ours_contended = median(step[(shipped, True)])
    for _, label, _ in SETTINGS:
        alone, busy = median(step[(label, False)]), median(step[(label, True)])
        lines.append(f"| {label} | {alone:.4f} | {busy:.4f} | {busy / alone:.2f}× | {busy / ours_contended:.2f}× |")
    table = "\n".join(lines)
    print()
    print(table)
    if args.markdown:
        cpu = next((line.split(":", 1)[1].strip() for line in open("/proc/cpuinfo") if line.startswith("model name")),
                   "")
        with open(args.markdown, "a") as f:
            f.write(f"\n## OpenMP on a shared CPU\n\nMeasured with `tests/bench/run-openmp-contention` on {cpu}, "
                    f"{threads} threads per side: the tiny model's LoRA training step (rank 16, batch 1, cached "
                    f"latents; median of {args.steps - 1} timed steps per process, median of {args.rounds} rounds, "
                    f"settings alternating), alone and with one other process busy on a core "
                    f"(`python3 -c 'while True: pass'`). The last column is each setting's contended time over "
                    f"Pawtrait's as shipped.\n\n{table}\n")
        print(f"\nappended to {args.markdown}")


if __name__ == "__main__":
    main()
