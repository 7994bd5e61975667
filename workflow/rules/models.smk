# Models: the target/draft pair every benchmark job loads. `models.source` picks how it is made:
# `embedded` trains a small GPT-NeoX pair from the raw text (offline, CPU), `hub` fetches a
# pinned revision of each model (the paper's Pythia pair).


# Downloads run once, where Snakemake itself runs (the login node on a cluster), before the
# fan-out: compute nodes need no internet.
localrules:
    fetch_model,


rule fetch_model:
    output:
        directory("models/hub/{role}"),
    log:
        "logs/models/fetch_{role}.log",
    benchmark:
        "logs/benchmarks/fetch_model/{role}.tsv"
    params:
        model=lambda wildcards: hub_model(wildcards.role)["id"],
        revision=lambda wildcards: hub_model(wildcards.role)["revision"],
    wildcard_constraints:
        role="target|draft",
    conda:
        "../../envs/models.yaml"
    shell:
        "python -m dynatree models fetch --model {params.model} --revision {params.revision}"
        " --out {output} > {log} 2>&1"


rule build_embedded:
    input:
        corpus=DATA_INPUT,
    output:
        target=directory("models/embedded/target"),
        draft=directory("models/embedded/draft"),
        report=EMBEDDED_REPORT,
    log:
        "logs/models/build_embedded.log",
    benchmark:
        "logs/benchmarks/build_embedded/embedded.tsv"
    params:
        out=lambda wildcards, output: str(Path(output.target).parent),
        settings=embedded_settings(),
        data=DATA_FINGERPRINT,
    threads: lambda wildcards: workflow.cores
    conda:
        "../../envs/models.yaml"
    shell:
        "python -m dynatree models build-embedded --corpus-dir {input.corpus} --out {params.out}"
        " --report {output.report} {params.settings} > {log} 2>&1"
