# DynaTree: models -> prompts -> benchmark jobs -> tables -> figures -> paper.
# The stages live in workflow/rules/*.smk; the config is validated (defaults filled) before any
# job is planned. Default config: the embedded CPU protocol; `--configfile config/paper.yaml` for
# the paper's, `--configfile config/smoke.yaml` for a quick end-to-end check.

import sys
from pathlib import Path

from snakemake.exceptions import WorkflowError
from snakemake.utils import min_version

min_version("9.0")
sys.path.insert(0, str(Path(workflow.basedir) / "workflow" / "lib"))

try:
    import dynatree  # noqa: F401  (the rules call it; the plan and schema are built from it)
except ImportError as exc:
    raise WorkflowError(
        f"cannot import the dynatree package ({exc}); run the README's set-up command "
        "(pip install -e '.[pipeline]') in the environment that runs snakemake"
    ) from exc

from config_schema import validate_config  # noqa: E402


# config.yaml is the default; a --configfile on the command line replaces it (not merged into it).
if not workflow.overwrite_configfiles:

    configfile: "config.yaml"


# The schema's method names and parameters come from the method registry (config_schema.py).
validate_config(config)


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
