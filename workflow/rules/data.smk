# Data: the raw text (a local copy, or the lock's pinned sources downloaded by fetch_data), its
# manifest (what the run read, for the paper), and the benchmark prompts, one file per
# (dataset, L_max, n), tokenized with the target's tokenizer (a smaller n is a larger one's
# first n prompts: the sampler's seeded shuffle).


# Downloads run once, where Snakemake itself runs (the login node on a cluster), before the
# fan-out, like fetch_model; the manifest only hashes files.
localrules:
    fetch_data,
    data_manifest,


rule fetch_data:
    output:
        directory(HUB_DATA_DIR),
    log:
        "logs/data/fetch_data.log",
    benchmark:
        "logs/benchmarks/fetch_data/fetch_data.tsv"
    params:
        lock=DATA_LOCK,
        pins=lock_fingerprint(DATA.lock),
    conda:
        "../../envs/data.yaml"
    shell:
        "python -m dynatree data fetch --lock {params.lock} --out {output} > {log} 2>&1"


rule data_manifest:
    input:
        data=DATA_INPUT,
    output:
        DATA_MANIFEST,
    log:
        "logs/data/manifest.log",
    params:
        lock=DATA_LOCK,
        data=DATA_FINGERPRINT,
    conda:
        "../../envs/data.yaml"
    shell:
        "python -m dynatree data manifest --data-dir {input.data} --lock {params.lock}"
        " --out {output} > {log} 2>&1"


rule prompts:
    input:
        data=DATA_INPUT,
        tokenizer=MODEL_DIRS["target"],
    output:
        "results/prompts/{dataset}_L{l_max}_n{n}.jsonl",
    log:
        "logs/prompts/{dataset}_L{l_max}_n{n}.log",
    benchmark:
        "logs/benchmarks/prompts/{dataset}_L{l_max}_n{n}.tsv"
    params:
        data=DATA_FINGERPRINT,
        seed=config["data"]["seed"],
        min_tokens=min_tokens_flag,
    wildcard_constraints:
        dataset="wikitext|pg19",
        l_max=r"\d+",
        n=r"\d+",
    conda:
        "../../envs/data.yaml"
    shell:
        "python -m dynatree data prompts --dataset {wildcards.dataset} --data-dir {input.data}"
        " --tokenizer {input.tokenizer} --n {wildcards.n} --max-tokens {wildcards.l_max}"
        " {params.min_tokens} --seed {params.seed} --out {output} > {log} 2>&1"
