# Aggregation: one tidy CSV per experiment (its results plus the AR baselines they compare with,
# and the predicted speedups of the verify-cost profile), then results/numbers.json with every number the paper prints and the files behind it.


rule aggregate_table:
    input:
        results=lambda wildcards: PLAN.table_inputs(wildcards.experiment),
        profile=lambda wildcards: table_profiles(wildcards.experiment),
    output:
        report("results/aggregate/{experiment}.csv", category="Tables"),
    log:
        "logs/aggregate/{experiment}.log",
    benchmark:
        "logs/benchmarks/aggregate_table/{experiment}.tsv"
    wildcard_constraints:
        experiment="|".join(EXPERIMENTS),
    conda:
        "../../envs/aggregate.yaml"
    shell:
        "python -m dynatree aggregate table --experiment {wildcards.experiment}"
        " --inputs {input.results} --profile {input.profile} --out {output} > {log} 2>&1"


# The validated config with defaults filled, for the paper's protocol facts (config.* numbers).
# Only writes the checked config to a file: not worth a cluster job.
localrules:
    resolved_config,


rule resolved_config:
    output:
        "results/config.json",
    log:
        "logs/aggregate/resolved_config.log",
    params:
        text=resolved_config_text(),
    run:
        from dynatree.io import write_text_atomic

        write_text_atomic(output[0], params.text)
        Path(log[0]).write_text(f"wrote {output[0]}\n")


rule numbers:
    input:
        unpack(numbers_inputs),
    output:
        "results/numbers.json",
    log:
        "logs/aggregate/numbers.log",
    benchmark:
        "logs/benchmarks/numbers/numbers.tsv"
    params:
        report=numbers_flags,
    conda:
        "../../envs/aggregate.yaml"
    shell:
        "python -m dynatree aggregate numbers --tables {input.tables} --config {input.config}"
        " {params.report} --out {output} > {log} 2>&1"
