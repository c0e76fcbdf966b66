"""CPU time of one training step of ``posekit-train`` recipes (Hydra overrides), interleaved: how the default job's
candidate recipes compare per step on a loaded machine.

For each recipe (``NAME=override;override;...``, empty = the default job), the script composes ``train.yaml`` with
the overrides, builds the data module and ``PoseLitModule`` as ``posekit-train`` does and takes one training batch.
Then, interleaved over the recipes (A, B, A, B, ...): 3 training steps (``training_step`` -> backward -> AdamW step)
and 32 training samples through the dataset's pipeline. Times are **process CPU time** (``time.process_time``,
one torch thread), which a busy machine disturbs far less than wall time; the table gives medians and each recipe's
step + 32 samples relative to the first recipe. On an idle machine the default job's wall clock scales with it.

``old`` alone names the previous default job (128x96 crops, 4-stage backbone, no channels_last):

    python scripts/bench_recipe_step.py old new=                # the previous vs the current default job
    python scripts/bench_recipe_step.py old "b16=data.batch_size=16" "dark=codec=msra_dark_128x96"
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time

OLD = "codec=msra_128x96;model.backbone.num_stages=4;model.backbone.strides=[1,2,2,2];"
OLD += "model.backbone.dilations=[1,1,1,1];channels_last=false"


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("recipes", nargs="+", help="NAME=override;override;... (Hydra overrides of train.yaml)")
    parser.add_argument("--repeat", type=int, default=6)
    parser.add_argument("--cache-dir", default=None, help="paths.cache_dir (where the synthetic data lives)")
    args = parser.parse_args(argv)

    import torch
    from hydra import compose, initialize_config_module

    from posekit.engine.runner import build_datamodule, build_lit_module

    sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
    from bench_common import markdown_table, print_header

    torch.set_num_threads(1)
    out = tempfile.mkdtemp(prefix="bench_recipe_")
    extra = ["data.num_workers=0", "data.persistent_workers=false", f"paths.output_dir={out}"]
    if args.cache_dir:
        extra.append(f"paths.cache_dir={args.cache_dir}")
    built = {}
    with initialize_config_module("posekit.conf", version_base="1.3"):
        for spec in args.recipes:
            name, _, ov = spec.partition("=")
            ov = OLD if spec == "old" else ov
            cfg = compose("train", overrides=[o for o in ov.split(";") if o] + extra)
            dm = build_datamodule(cfg)
            dm.prepare_data()
            dm.setup("fit")
            lit = build_lit_module(cfg, dm)
            opt = torch.optim.AdamW(lit.model.parameters(), 1e-3)
            loader = dm.train_dataloader()
            params = sum(p.numel() for p in lit.model.parameters())
            built[name] = (lit, opt, loader.dataset, next(iter(loader)), params, tuple(cfg.codec.input_size))
    print_header("Default-job recipes: CPU time per training step", extra={"repeat": args.repeat})
    res = {n: {"step": [], "data": []} for n in built}
    for rep in range(args.repeat):
        for name, (lit, opt, ds, batch, _, _) in built.items():
            lit.train()
            t = time.process_time()
            for _ in range(3):
                loss = lit.training_step(batch, 0)
                loss = loss["loss"] if isinstance(loss, dict) else loss
                opt.zero_grad()
                loss.backward()
                opt.step()
            res[name]["step"].append((time.process_time() - t) / 3)
            t = time.process_time()
            for i in range(32):
                ds[(rep * 32 + i) % len(ds)]
            res[name]["data"].append(time.process_time() - t)
    rows, base = [], None
    for name, r in res.items():
        step, data = statistics.median(r["step"]), statistics.median(r["data"])
        base = base or (step + data)
        w, h = built[name][5]
        rows.append(
            [
                name,
                f"{w}x{h}",
                f"{built[name][4] / 1e6:.2f}",
                f"{step * 1e3:.1f}",
                f"{data * 1e3:.1f}",
                f"{(step + data) / base:.2f}x",
            ]
        )
    print(
        markdown_table(
            ["recipe", "input (w x h)", "params (M)", "step (ms CPU)", "32 samples (ms CPU)", "step + data vs first"],
            rows,
        )
    )
    print(f"\nload average after: {os.getloadavg()[0]:.2f}")


if __name__ == "__main__":
    main()
