"""SYNTHETIC benchmark results: fake, schema-valid files for tests and the paper audit.

Nothing here is a measurement. Every file is tagged ``synthetic=true`` and its provenance says
``hostname: synthetic-test-fixture``; the paper prints a "synthetic data" warning when any of its
sources carries that tag. The values follow a simple random model so that tables, figures and
the computed prose have something non-trivial to show, with deliberately odd decimals so that a
number typed by hand into a template is unlikely to coincide with one.
"""

from __future__ import annotations

import copy
import hashlib
import math
import random
from pathlib import Path
from typing import Any

from dynatree.bench.metrics import summarize
from dynatree.bench.parts import part_prompts
from dynatree.decoding.cost import SCHEMA as PROFILE_SCHEMA
from dynatree.decoding.params import params_dict
from dynatree.decoding.registry import parse_params
from dynatree.io import write_json_atomic


def _defaults(method: str) -> dict[str, Any]:
    """The method's resolved default parameters, as a real result records them."""
    return params_dict(parse_params(method, {}))


class SyntheticSuite:
    """Writes fake results into ``out_dir`` and remembers which files belong to which experiment."""

    def __init__(self, out_dir: str | Path, seed: int = 7) -> None:
        self.out = Path(out_dir)
        self.rng = random.Random(seed)
        self.ar: dict[tuple[str, int, int, str], str] = {}
        self.experiments: dict[str, list[str]] = {}

    def _gain(self, method: str, params: dict[str, Any], dataset: str) -> tuple[float, float]:
        """(speed factor over AR, tokens per iteration) under a made-up model of each decoder."""
        jitter = self.rng.uniform(0.93, 1.07)
        base = 1.0 if dataset == "wikitext" else 0.92
        if method == "ar":
            return 1.0, 1.0
        if method == "linear":
            length = 1 + 2.1 * (1 - 0.8 ** params["K"])
            return base * jitter * (1.05 + 0.06 * params["K"] - 0.006 * params["K"] ** 2), length
        if method == "fixed_tree":
            d, b = params["D"], params["B"]
            length = 1 + 2.6 * (1 - 0.75**d) * (1 + 0.07 * b)
            return base * jitter * (
                1.1 + 0.09 * d - 0.008 * d * d + 0.04 * b - 0.3 * params["tau"]
            ), length
        if method == "dynatree":
            hist = 0.06 if params["history"] else 0.0
            spread = 0.03 * (params["B_max"] - 3) - 0.02 * abs(params["D_max"] - 8)
            thr = -0.4 * abs(params["tau_h"] - 0.85) - 0.3 * abs(params["tau_l"] - 0.35)
            return base * jitter * (1.43 + hist + spread + thr), 3.4 + 2 * hist
        if method == "dynatree_ca":
            calibrated = 0.05 if params["calibrate"] else 0.0
            priced = 0.08 if params["priced"] else 0.0
            return base * jitter * (1.46 + calibrated + priced), 3.1 + 2 * priced
        return base * jitter * 1.21, 2.3  # hf_assisted

    @staticmethod
    def _iterations(method: str, iters: int, accepted: int, nodes: float) -> dict[str, Any]:
        """Per-iteration lists of a tree method (what a cost profile prices); none for others."""
        if method in ("ar", "hf_assisted"):
            return {"accepted_lengths": [], "verify_sizes": [], "draft_widths": []}
        kept = [accepted // iters + (i < accepted % iters) for i in range(iters)]
        size = max(2, round(nodes) + 1)
        return {
            "accepted_lengths": kept,
            "verify_sizes": [size] * iters,
            "draft_widths": [[1] + [2] * (size // 2)] * iters,
        }

    @staticmethod
    def _paired(method: str, index: int, T: int, ar_tps: float, tps: float) -> dict[str, Any]:
        """The paired-AR row fields (null for AR itself, which is never paired)."""
        paired = {
            "paired_ar_first": index % 2 == 0,
            "paired_ar_wall_time_s": T / ar_tps,
            "paired_ar_tps": ar_tps,
            "paired_speedup": tps / ar_tps,
            "paired_exact_match": True,
        }
        return dict.fromkeys(paired) if method == "ar" else paired

    def result(
        self,
        experiment: str,
        dataset: str,
        method: str,
        setting: str,
        params: dict[str, Any] | None = None,
        *,
        T: int = 64,
        l_max: int = 200,
        extra_tags: dict[str, Any] | None = None,
        n_prompts: int = 4,
        warmup: int = 1,
        regime: str = "eager",
    ) -> str:
        """Write one fake result (and, first, the AR result it needs); return its path.

        Compiled (``regime``), AR is faster and speculative methods gain more over it."""
        key = (dataset, l_max, T, regime)
        if method != "ar" and key not in self.ar:
            self.result("baseline", dataset, "ar", "ar", T=T, l_max=l_max, regime=regime)
        full = dict(_defaults(method), **(params or {}))
        gain, length = self._gain(method, full, dataset)
        ar_tps = 23.7 if dataset == "wikitext" else 19.3
        ar_tps *= 1 - l_max / 4000 - T / 20000
        compiled = regime == "compiled"
        if compiled:
            ar_tps *= 1.63
            gain = 1.0 + (gain - 1.0) * 1.37
        rows = []
        drift = self.rng.uniform(0.85, 1.15)  # this job's machine speed; cancels when paired
        for i in range(n_prompts):
            paired_ar_tps = ar_tps * drift * self.rng.uniform(0.97, 1.03)
            tps = paired_ar_tps * gain * self.rng.uniform(0.98, 1.02)
            tpi = max(1.0, length * self.rng.uniform(0.95, 1.05))
            iters = math.ceil(T / tpi)
            accepted = T - iters
            depth = 0 if method == "ar" else iters * int(full.get("D", full.get("K", 6)))
            wall = T / tps
            ttft = wall * self.rng.uniform(0.02, 0.04)
            rows.append(
                {
                    "prompt_id": f"{dataset}-{i:03d}",
                    "warmup": i < warmup,
                    "prompt_tokens": l_max - 3 * i,
                    "new_tokens": T,
                    "wall_time_s": wall,
                    "tps": tps,
                    "ttft_s": ttft,
                    "tpot_s": (wall - ttft) / (T - 1),
                    "iterations": iters,
                    "drafted_tokens": 0 if method == "ar" else 3 * depth,
                    "drafted_depth": depth,
                    "accepted_tokens": 0 if method == "ar" else accepted,
                    "acceptance_rate": None if method == "ar" else min(1.0, accepted / depth),
                    "tokens_per_iter": T / iters,
                    "accepted_len": None if method == "ar" else accepted / iters,
                    "tree_nodes": None if method == "ar" else 3 * depth / iters,
                    "draft_time_s": 0.0 if method == "ar" else 0.3 * wall,
                    "verify_time_s": 0.6 * wall,
                    "peak_memory_bytes": int((410 + 35 * (method != "ar")) * 2**20 + 4096 * i),
                    "exact_match": None if method == "ar" else True,
                    "verdict": None if method == "ar" else "exact",
                    "divergence": None,
                    "tokens": [7] * T,
                    **self._iterations(method, iters, accepted, 3 * depth / iters),
                    **self._paired(method, i, T, paired_ar_tps, tps),
                }
            )
        measured = [r for r in rows if not r["warmup"]]
        summary = summarize(rows)
        sha = hashlib.sha256(f"synthetic-{dataset}-{l_max}".encode()).hexdigest()
        tags = {
            "experiment": experiment,
            "dataset": dataset,
            "setting": setting,
            "synthetic": "true",
            **(extra_tags or {}),
        }
        doc = {
            "schema": "dynatree.bench/1",
            "method": method,
            "params": full,
            "tags": tags,
            "protocol": {
                "max_new_tokens": T,
                "warmup": warmup,
                "n_prompts": n_prompts,
                "n_measured": len(measured),
                "device": "cpu",
                "dtype": "float32",
                "threads": 2,
                "compile": {
                    "regime": regime,
                    "mode": "aot-inductor" if compiled else None,
                    "buckets": {"target": [1, 2, 4, 8] if compiled else []},
                    "compile_s": 41.3 if compiled else 0.0,
                },
                "paired": method != "ar",
                "prompts_path": f"synthetic/{dataset}-{l_max}.jsonl",
                "prompts_sha256": sha,
                "l_max": l_max,
                # main-table jobs are merged from parts, as in config.yaml (dynatree merge)
                **({"parts": 3} if experiment == "main" and method != "ar" else {}),
            },
            "models": {
                "target": "synthetic/target",
                "draft": "synthetic/draft",
                "target_params": 6_815_744,
                "draft_params": 1_052_672,
            },
            "rows": rows,
            "summary": summary,
            "provenance": {
                "git_commit": "0123456789abcdef0123456789abcdef01234567",
                "git_dirty": False,
                "dynatree": "0.1.0",
                "torch": "2.13.0",
                "transformers": "5.23.0",
                "python": "3.12.3",
                "device_name": "cpu",
                "cpu_model": "Synthetic CPU 9000",
                "hostname": "synthetic-test-fixture",
                "created": "2025-01-01T00:00:00Z",
                "command": ["synthetic"],
            },
        }
        suffix = "-compiled" if compiled else ""
        name = f"{experiment}-{dataset}-{method}-{setting}-T{T}-L{l_max}{suffix}.json"
        path = str(self.out / name)
        write_json_atomic(path, doc)
        if method == "ar":
            self.ar[key] = path
        else:
            self.experiments.setdefault(experiment, []).append(path)
            ar_path = self.ar[key]
            if ar_path not in self.experiments[experiment]:
                self.experiments[experiment].append(ar_path)
        return path


def split_parts(result: dict[str, Any], parts: int) -> list[dict[str, Any]]:
    """The K part results of ``result``'s job run with ``--part I/K`` (``dynatree merge`` joins
    them back into ``result``, up to the parts' provenance)."""
    warmup = result["protocol"]["warmup"]
    out = []
    for index in range(1, parts + 1):
        part = copy.deepcopy(result)
        part["rows"] = part_prompts(part["rows"], warmup, index, parts)
        part["protocol"].pop("parts", None)
        part["protocol"].update(
            part=f"{index}/{parts}",
            n_prompts=len(part["rows"]),
            n_measured=len(part["rows"]) - warmup,
        )
        part["summary"] = summarize(part["rows"])
        out.append(part)
    return out


def write_suite(out_dir: str | Path, seed: int = 7) -> dict[str, list[str]]:
    """Write a small synthetic result set covering every experiment; experiment → its inputs.

    The input lists mirror what the pipeline passes to ``dynatree aggregate table``: the
    experiment's own results plus the AR results (experiment=baseline) they are compared with.
    """
    s = SyntheticSuite(out_dir, seed)
    datasets = ("wikitext", "pg19")
    for ds in datasets:
        s.result("baseline", ds, "ar", "ar")
        s.result("main", ds, "linear", "K4", {"K": 4})
        s.result("main", ds, "fixed_tree", "D5B3t0.05", {"D": 5, "B": 3, "tau": 0.05})
        s.result("main", ds, "dynatree", "default")
        s.result("main", ds, "dynatree_ca", "default")
        s.result("main", ds, "hf_assisted", "default")
        for d in (3, 4, 5):
            for b in (2, 3):
                for tau in (0.05, 0.1):
                    params = {"D": d, "B": b, "tau": tau}
                    s.result("fixed_tree_sweep", ds, "fixed_tree", f"D{d}B{b}t{tau}", params)
        for k in (2, 4, 6):
            s.result("linear_sweep", ds, "linear", f"K{k}", {"K": k})
    s.experiments["main"].extend(p for p in s.ar.values() if p not in s.experiments["main"])
    s.result(
        "ablation",
        "wikitext",
        "fixed_tree",
        "fixed",
        {"D": 5, "B": 2},
        extra_tags={"variant": "fixed"},
    )
    s.result(
        "ablation",
        "wikitext",
        "dynatree",
        "breadth_depth",
        {"history": False},
        extra_tags={"variant": "breadth_depth"},
    )
    s.result("ablation", "wikitext", "dynatree", "history", extra_tags={"variant": "history"})
    for T in (16, 32, 64):
        for method, params in (
            ("linear", {"K": 4}),
            ("fixed_tree", {"D": 5, "B": 3}),
            ("dynatree", {}),
            ("dynatree_ca", {}),
        ):
            s.result("length_scaling", "wikitext", method, f"T{T}", params, T=T)
    sensitivity = [
        *(
            ("threshold", f"th{h}tl{lo}", {"tau_h": h, "tau_l": lo})
            for h, lo in ((0.9, 0.4), (0.8, 0.3), (0.95, 0.5), (0.7, 0.2), (0.85, 0.35))
        ),
        *(("breadth", f"Bmax{b}", {"B_max": b, "B_mid": 2}) for b in (2, 3, 4)),
        *(("depth", f"Dmax{d}", {"D_max": d}) for d in (6, 8, 10)),
    ]
    for variant, setting, params in sensitivity:
        s.result(
            "sensitivity", "wikitext", "dynatree", setting, params, extra_tags={"variant": variant}
        )
    for l_max in (100, 200, 300):
        for method, params in (
            ("fixed_tree", {"D": 5, "B": 3}),
            ("dynatree", {}),
            ("dynatree_ca", {}),
        ):
            s.result(
                "prompt_length",
                "wikitext",
                method,
                f"L{l_max}",
                params,
                l_max=l_max,
                extra_tags={"l_max": l_max},
            )
    for variant, params in (
        ("full", {}),
        ("no_calibration", {"calibrate": False}),
        ("no_prices", {"priced": False}),
    ):
        s.result(
            "ca_ablation",
            "wikitext",
            "dynatree_ca",
            variant,
            params,
            extra_tags={"variant": variant},
        )
    for ds in datasets:
        for regime in ("eager", "compiled"):
            for method in ("linear", "dynatree", "dynatree_ca"):
                s.result("regimes", ds, method, regime, regime=regime)
    return s.experiments


def write_profile(path: str | Path, device: str = "cpu", regime: str = "eager") -> str:
    """A fake verify-cost profile: t(n) grows like a CPU's (flat like a GPU's with ``cuda``);
    compiled, every step is faster and closer to the weight-streaming floor."""
    slope = 0.004 if device == "cuda" else 0.06
    speed = 0.61 if regime == "compiled" else 1.0
    sizes = [1, 2, 4, 8, 16, 32, 64, 128, 257]

    def points(key: str, per: float) -> list[dict[str, Any]]:
        return [
            {
                key: n,
                "prefix": prefix,
                "median_s": speed * (0.0113 + prefix * 1e-6) * (1 + per * (n - 1)),
                "min_s": 0.0,
                "max_s": 0.0,
                "ratio": 1 + per * (n - 1),
            }
            for prefix in (16, 136, 255)
            for n in sizes
        ]

    doc = {
        "schema": PROFILE_SCHEMA,
        "models": {"target": "synthetic/target", "draft": "synthetic/draft"},
        "device": device,
        "dtype": "float32",
        "threads": 2,
        "settings": {"max_tree": 257, "sizes": sizes, "prefix_lengths": [16, 136, 255]},
        "compile": {
            "regime": regime,
            "mode": "aot-inductor" if regime == "compiled" else None,
            "buckets": sizes if regime == "compiled" else [],
            "compile_s": 97.1 if regime == "compiled" else 0.0,
        },
        "floor": {
            "target_s": 0.00527,
            "draft_s": 0.00093,
            # products with n vectors: flat while reading the weights dominates, then arithmetic
            "curve": [
                {"n": n, "target_s": 0.00527 * ratio, "draft_s": 0.00093 * ratio}
                for n in sizes
                for ratio in [max(1.0, n / 4)]
            ],
        },
        "verify": points("n", slope),
        "draft_level": points("width", slope / 3),
        "provenance": {"hostname": "synthetic-test-fixture"},
    }
    write_json_atomic(path, doc)
    return str(path)


def write_selections(
    out_dir: str | Path, suite: dict[str, list[str]], profile: str | None = None
) -> list[str]:
    """The sweeps' selections (``dynatree select``, one round) of a synthetic suite, as files;
    with ``profile`` a tie goes by its predictions, as in the pipeline."""
    from dynatree.bench.selection import race
    from dynatree.decoding.cost import CostProfile

    cost = CostProfile.from_file(profile) if profile else None
    paths = []
    for sweep, method in (("fixed_tree_sweep", "fixed_tree"), ("linear_sweep", "linear")):
        for ds in ("wikitext", "pg19"):
            prefix = f"{sweep}-{ds}-{method}-"
            results = [p for p in suite[sweep] if Path(p).name.startswith(prefix)]
            path = Path(out_dir) / f"select-{ds}-{method}.json"
            write_json_atomic(path, race(results, profile=cost))
            paths.append(str(path))
    return paths


def write_tables(
    out_dir: str | Path, suite: dict[str, list[str]], profiles: list[str] | None = None
) -> list[str]:
    """One aggregate CSV per experiment of a synthetic suite, as rule aggregate_table writes."""
    from dynatree.aggregate.table import build_table

    tables = []
    for experiment, paths in suite.items():
        out = Path(out_dir) / f"{experiment}.csv"
        out.parent.mkdir(parents=True, exist_ok=True)
        build_table(experiment, paths, profiles).to_csv(out, index=False)
        tables.append(str(out))
    return tables


def write_numbers(
    path: str | Path, tables: list[str], selections: list[str], profiles: list[str] = ()
) -> Path:
    """numbers.json of those tables, the sweeps' selections and the profiles (rule numbers)."""
    import json

    from dynatree.aggregate.numbers import build_numbers
    from dynatree.aggregate.table import read_tables

    document = build_numbers(read_tables(tables), tables, profiles=profiles, selections=selections)
    Path(path).write_text(json.dumps(document))
    return Path(path)
