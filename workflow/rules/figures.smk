# Figures: each one a rule output drawn by its own module from the aggregate tables (schematics
# from code alone). The module is an input, so editing it reruns that figure and the paper only.


rule figure:
    input:
        unpack(figure_files),
        tables=figure_tables,
        code=figure_source,
    output:
        pdf=report("figures/{name}.pdf", category="Figures"),
        png=report("figures/{name}.png", category="Figures"),
    log:
        "logs/figures/{name}.log",
    benchmark:
        "logs/benchmarks/figure/{name}.tsv"
    params:
        tables=lambda wildcards, input: f"--tables {' '.join(input.tables)}" if input.tables else "",
        files=figure_file_flags,
    wildcard_constraints:
        name="|".join(FIGURE_TABLES),
    conda:
        "../../envs/figures.yaml"
    shell:
        "python -m dynatree figure {wildcards.name} {params.tables} {params.files}"
        " --out {output.pdf} > {log} 2>&1"
