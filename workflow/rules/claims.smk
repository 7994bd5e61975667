# Claims: the original paper's claims (config/claims.yaml) checked against results/numbers.json;
# the verdict table (also printed to the log) and its provenance sidecar feed the paper.


rule claims:
    input:
        numbers="results/numbers.json",
        claims=CLAIMS_FILE,
        code=claims_source(),
    output:
        table=report("results/claims.csv", category="Tables"),
        provenance="results/claims.provenance.json",
    log:
        "logs/aggregate/claims.log",
    benchmark:
        "logs/benchmarks/claims/claims.tsv"
    conda:
        "../../envs/aggregate.yaml"
    shell:
        "python -m dynatree claims --numbers {input.numbers} --claims {input.claims}"
        " --out {output.table} > {log} 2>&1"


# On demand (not part of `all`): what several finished runs concluded, side by side
# (`dynatree stability`; config stability_runs names their results/ directories).
localrules:
    stability,


rule stability:
    input:
        stability_inputs,
    output:
        table="results/stability.csv",
        markdown="results/stability.md",
    log:
        "logs/aggregate/stability.log",
    params:
        runs=lambda wildcards: " ".join(shlex.quote(r) for r in config["stability_runs"]),
    conda:
        "../../envs/aggregate.yaml"
    shell:
        "python -m dynatree stability --runs {params.runs} --out {output.table} > {log} 2>&1"
