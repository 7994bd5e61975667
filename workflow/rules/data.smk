# Data: the benchmark prompts, one file per (dataset, L_max), tokenized with the target's tokenizer.


rule prompts:
    input:
        data=ancient(DATA_DIR),
        tokenizer=MODEL_DIRS["target"],
    output:
        "results/prompts/{dataset}_L{l_max}.jsonl",
    log:
        "logs/prompts/{dataset}_L{l_max}.log",
    benchmark:
        "logs/benchmarks/prompts/{dataset}_L{l_max}.tsv"
    params:
        n=PROTOCOL["n_prompts"],
        data=DATA_FINGERPRINT,
        seed=config["data"]["seed"],
        min_tokens=min_tokens_flag,
    wildcard_constraints:
        dataset="wikitext|pg19",
        l_max=r"\d+",
    conda:
        "../../envs/data.yaml"
    shell:
        "python -m dynatree data prompts --dataset {wildcards.dataset} --data-dir {input.data}"
        " --tokenizer {input.tokenizer} --n {params.n} --max-tokens {wildcards.l_max}"
        " {params.min_tokens} --seed {params.seed} --out {output} > {log} 2>&1"
