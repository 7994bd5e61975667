# DynaTree: models -> prompts -> benchmark jobs -> tables -> figures -> paper.
# The stages live in workflow/rules/*.smk; the config is validated (defaults filled) before any
# job is planned. Default config: the embedded CPU protocol; `--configfile config/paper.yaml` for
# the paper's, `--configfile config/smoke.yaml` for a quick end-to-end check.

from snakemake.utils import min_version, validate

min_version("9.0")


# config.yaml is the default; a --configfile on the command line replaces it (not merged into it).
if not workflow.overwrite_configfiles:

    configfile: "config.yaml"


validate(config, "workflow/schemas/config.schema.yaml")


include: "workflow/rules/common.smk"
include: "workflow/rules/models.smk"
include: "workflow/rules/data.smk"
include: "workflow/rules/benchmarks.smk"
include: "workflow/rules/aggregate.smk"
include: "workflow/rules/claims.smk"
include: "workflow/rules/figures.smk"
include: "workflow/rules/paper.smk"


rule all:
    input:
        all_targets(),
    default_target: True
