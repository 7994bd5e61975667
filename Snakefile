# DynaTree: data, models -> prompts -> benchmark jobs -> tables -> figures -> paper.
# The stages live in workflow/rules/*.smk; the config is validated (defaults filled) and checked
# for impossible settings before any job is planned (workflow/lib/pipeline_config.py). Default
# config: the embedded CPU protocol; `--configfile config/paper.yaml` for the paper's,
# `--configfile config/smoke.yaml` for a quick end-to-end check.

import shlex
import sys
from pathlib import Path

from snakemake.exceptions import WorkflowError
from snakemake.utils import min_version

min_version("9.0")

# The workflow runs its own package (src/) and helpers (workflow/lib/): in this process, and in
# every job (`python -m dynatree` after this prefix; a cluster job parses this file again), so no
# job environment, conda included, needs the package installed. The prefix keeps bash's strict
# mode, which a custom prefix would otherwise replace. Every job shares one on-disk cache of
# compiled forwards (inductor's, .cache/inductor), so a shape compiled by one job is loaded, not
# compiled again, by the next (decoding.regime).
SRC = str(Path(workflow.basedir) / "src")
INDUCTOR_CACHE = str(Path(workflow.basedir) / ".cache" / "inductor")
sys.path[:0] = [SRC, str(Path(workflow.basedir) / "workflow" / "lib")]
shell.prefix(
    f"set -euo pipefail; export PYTHONPATH={shlex.quote(SRC)}; "
    f"export TORCHINDUCTOR_CACHE_DIR={shlex.quote(INDUCTOR_CACHE)}; "
)

from pipeline_config import ConfigError, prepare, read_yaml, resolve_data

# config.yaml is the default; a --configfile on the command line replaces it (not merged into it).
if not workflow.overwrite_configfiles:
    try:
        read_yaml("config.yaml")  # Snakemake's own loader does not say where a syntax error is
    except ConfigError as exc:
        raise WorkflowError(str(exc)) from None

    configfile: "config.yaml"


# Validated against the schema, whose method names and parameters come from the method registry
# (config_schema.py), defaults filled, and checked possible before any rule exists; PLAN is
# every benchmark job (workflow/lib/pipeline_plan.py). DATA: where the raw text comes from (a
# local copy, checked against the data lock, or the Hub), decided once here and printed.
try:
    PLAN = prepare(config)
    DATA = resolve_data(config)
except ConfigError as exc:
    raise WorkflowError(str(exc)) from None
print(DATA.note, file=sys.stderr)


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
