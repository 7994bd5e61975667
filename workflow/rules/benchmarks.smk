# Benchmarks: one job per (experiment, dataset, method, setting), expanded from the config by
# workflow/lib/pipeline_plan.py. AR jobs live under experiment "baseline", one per (dataset, L_max,
# T), and are the --reference of every speculative job on the same prompts and T. The decoder's
# source files are inputs, so editing a decoder reruns exactly the jobs that used it.


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
    threads: bench_threads
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
        " --threads {threads} --out {output} > {log} 2>&1"


# The main table's linear K and fixed-tree setting: the fastest exact result of the sweep on the
# same dataset (a data dependency, never a number in the config).
rule select_setting:
    input:
        sweep_results,
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
        "python -m dynatree select --inputs {input} --out {output} > {log} 2>&1"
