# Data: the benchmark prompts, one file per (dataset, L_max, n), tokenized with the target's
# tokenizer (a smaller n is a larger one's first n prompts: the sampler's seeded shuffle).


rule prompts:
    input:
        data=ancient(DATA_DIR),
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
