# Paper: render the LaTeX sources from numbers.json and the figures (jinja2), then compile the PDF.


rule render_paper:
    input:
        numbers="results/numbers.json",
        claims="results/claims.csv",
        claims_provenance="results/claims.provenance.json",
        figures=expand("figures/{name}.pdf", name=FIGURE_TABLES),
        sources=paper_sources(),
    output:
        "paper/build/main.tex",
    log:
        "logs/paper/render.log",
    benchmark:
        "logs/benchmarks/render_paper/main.tsv"
    params:
        out_dir=lambda wildcards, output: str(Path(output[0]).parent),
    conda:
        "../../envs/paper.yaml"
    shell:
        "python -m dynatree paper render --numbers {input.numbers} --claims {input.claims}"
        " --figures-dir figures --out-dir {params.out_dir} > {log} 2>&1"


rule compile_paper:
    input:
        tex="paper/build/main.tex",
        figures=expand("figures/{name}.pdf", name=FIGURE_TABLES),
    output:
        report("paper/dynatree.pdf", category="Paper"),
    log:
        "logs/paper/compile.log",
    benchmark:
        "logs/benchmarks/compile_paper/dynatree.tsv"
    conda:
        "../../envs/paper.yaml"
    shell:
        "python -m dynatree paper compile --tex {input.tex} --out {output} > {log} 2>&1"
