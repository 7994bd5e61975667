# Benchmarks: one job per (experiment, dataset, method, setting), expanded from the config by
# workflow/lib/pipeline_plan.py. AR jobs live under experiment "baseline", one per (dataset, L_max,
# T), and are the --reference of every speculative job on the same prompts and T. The decoder's
# source files are inputs, so editing a decoder reruns exactly the jobs that used it. A job timed in
# parts (experiments.main.parts) runs as rule bench_part once per part and is merged into the same
# result file by merge_bench_parts.


rule bench:
    input:
        unpack(bench_inputs),
    output:
        "results/bench/{experiment}/{dataset}/{method}/{setting}.json",
    log:
        "logs/bench/{experiment}/{dataset}/{method}/{setting}.log",
    params:
        settings=bench_settings,
        files=bench_files,
        paired=bench_pairing,
        max_new_tokens=lambda wildcards: bench_job(wildcards).max_new_tokens,
        warmup=PROTOCOL["warmup"],
        device=DEVICE,
        dtype=PROTOCOL["dtype"],
        threads=torch_threads,
        compile=bench_compile,
        part=bench_part_flag,
    threads: bench_threads
    priority: bench_priority
    resources:
        bench_slot=1,
        gpu=GPUS,
    conda:
        "../../envs/bench.yaml"
    shell:
        "python -m dynatree bench --target {input.target} --draft {input.draft}"
        " --method {wildcards.method} {params.settings} {params.files} {params.paired}"
        " --prompts {input.prompts} --max-new-tokens {params.max_new_tokens}"
        " --warmup {params.warmup} --device {params.device} --dtype {params.dtype}"
        " --threads {params.threads} --compile {params.compile} {params.part}"
        " --out {output} > {log} 2>&1"


# Part I of a job timed in parts: the same command with --part I/K.
use rule bench as bench_part with:
    output:
        "results/bench_parts/{experiment}/{dataset}/{method}/{setting}/part{part}.json",
    log:
        "logs/bench_parts/{experiment}/{dataset}/{method}/{setting}/part{part}.log",
    wildcard_constraints:
        part=r"\d+",


# A split job's result: its parts joined, the same file (and format) a whole job writes.
rule merge_bench_parts:
    input:
        lambda wildcards: bench_job(wildcards).part_paths,
    output:
        "results/bench/{experiment}/{dataset}/{method}/{setting}.json",
    log:
        "logs/bench/{experiment}/{dataset}/{method}/{setting}.log",
    wildcard_constraints:
        experiment=SPLIT_EXPERIMENTS,
    conda:
        "../../envs/bench.yaml"
    shell:
        "python -m dynatree merge --inputs {input} --out {output} > {log} 2>&1"


ruleorder: merge_bench_parts > bench


# A job that measures what an earlier one does: that job's result under its own tags (no
# timing; pipeline_plan says when). Only copies a file: not worth a cluster job.
localrules:
    share_result,


rule share_result:
    input:
        shared_source,
    output:
        "results/shared/{experiment}/{dataset}/{method}/{setting}.json",
    log:
        "logs/shared/{experiment}/{dataset}/{method}/{setting}.log",
    params:
        tags=shared_tags,
    conda:
        "../../envs/bench.yaml"
    shell:
        "python -m dynatree share --of {input} {params.tags} --out {output} > {log} 2>&1"


# A racing sweep's decision after round I (dynatree.bench.selection): the settings still in the
# race, which round I + 1's parts read (bench --race). The last round's decision is the selection.
rule race_round:
    input:
        race_round_results,
    output:
        "results/select/{dataset}/{method}/round{round}.json",
    log:
        "logs/select/{dataset}/{method}/round{round}.log",
    benchmark:
        "logs/benchmarks/race_round/{dataset}/{method}/round{round}.tsv"
    params:
        round=race_round_flag,
    wildcard_constraints:
        method="linear|fixed_tree",
        round=r"\d+",
    conda:
        "../../envs/bench.yaml"
    shell:
        "python -m dynatree select --inputs {input} {params.round} --out {output} > {log} 2>&1"


# The main table's linear K and fixed-tree setting, raced on the sweep of the same dataset: the
# winner, or the declared tie resolved by its rule, the profile's predictions (a data
# dependency, never a number in the config).
rule select_setting:
    input:
        results=sweep_results,
        profile=PROFILE,
    output:
        "results/select/{dataset}/{method}.json",
    log:
        "logs/select/{dataset}/{method}.log",
    benchmark:
        "logs/benchmarks/select_setting/{dataset}/{method}.tsv"
    wildcard_constraints:
        method="linear|fixed_tree",
    conda:
        "../../envs/bench.yaml"
    shell:
        "python -m dynatree select --inputs {input.results} --profile {input.profile} "
        "--out {output} > {log} 2>&1"


# The verify-cost profile (dynatree profile): the target's latency to verify n tree tokens and the
# draft's per-level latency, measured with the decoders' own code on this machine. It is a timing
# job like a benchmark (the machine to itself), the input of every job of a method that prices
# its trees, and of the tables (predicted speedups); another machine means another profile.
rule profile:
    input:
        target=MODEL_DIRS["target"],
        draft=MODEL_DIRS["draft"],
        code=profile_sources(),
    output:
        PROFILE,
    log:
        "logs/profile/profile.log",
    benchmark:
        "logs/benchmarks/profile/profile.tsv"
    params:
        max_tree=lambda wildcards: PLAN.profile_max_tree(default_params),
        prefixes=" ".join(str(p) for p in PLAN.profile_prefixes()),
        repeats=PROTOCOL["profile_repeats"],
        device=DEVICE,
        dtype=PROTOCOL["dtype"],
        beyond=lambda wildcards: "--beyond-context" if PROTOCOL["beyond_context"] else "",
        threads=torch_threads,
        compile=compile_flag(None, PROTOCOL),
    threads: bench_threads
    resources:
        bench_slot=1,
        gpu=GPUS,
    conda:
        "../../envs/bench.yaml"
    shell:
        "python -m dynatree profile --target {input.target} --draft {input.draft}"
        " --device {params.device} --dtype {params.dtype} --threads {params.threads}"
        " --compile {params.compile} --max-tree {params.max_tree}"
        " --prefix-lengths {params.prefixes} --repeats {params.repeats} {params.beyond}"
        " --out {output} > {log} 2>&1"


# The profile of an explicit regime (experiments.regimes): the same measurement, eager or
# compiled whatever protocol.compile says, over the caches and trees of that regime's jobs.
use rule profile as profile_of_regime with:
    output:
        job_profile("{regime}"),
    log:
        "logs/profile/profile-{regime}.log",
    benchmark:
        "logs/benchmarks/profile/profile-{regime}.tsv"
    wildcard_constraints:
        regime="eager|compiled",
    params:
        max_tree=lambda wildcards: PLAN.profile_max_tree(default_params, wildcards.regime),
        prefixes=lambda wildcards: " ".join(
            str(p) for p in PLAN.profile_prefixes(wildcards.regime)
        ),
        repeats=PROTOCOL["profile_repeats"],
        device=DEVICE,
        dtype=PROTOCOL["dtype"],
        beyond=lambda wildcards: "--beyond-context" if PROTOCOL["beyond_context"] else "",
        threads=torch_threads,
        compile=lambda wildcards: compile_flag(wildcards.regime, PROTOCOL),
