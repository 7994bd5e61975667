"""The SLURM test's verdict (check_slurm_jobs.py) on logs shaped like real ones.

The cluster test itself (run_slurm.sh) needs root and SLURM daemons; these cases make sure its
final check can fail: a job run locally, a job that never reached SLURM, a failed SLURM job, a
SLURM job Snakemake did not report.
"""

from check_slurm_jobs import check, parse_jobcomp, parse_snakemake_log

RUN = "81a93f65-6077-443d-b21d-970aa0dc605a"

SNAKEMAKE_LOG = f"""\
SLURM run ID: {RUN}
[Wed Nov 25 17:27:51 2026]
localrule fetch_model:
    output: models/hub/target
    jobid: 4
Finished jobid: 4 (Rule: fetch_model)
[Wed Nov 25 17:27:51 2026]
rule bench:
    output: results/bench/main/wikitext/ar/L32_T16.json
    jobid: 3
    wildcards: experiment=main
Job 3 has been submitted with SLURM jobid 7 (log: .snakemake/slurm_logs/rule_bench/7.log).
Trying to restart job 3.
Job 3 has been submitted with SLURM jobid 8 (log: .snakemake/slurm_logs/rule_bench/8.log).
Finished jobid: 3 (Rule: bench)
localrule all:
    input: results/bench/main/wikitext/ar/L32_T16.json
    jobid: 0
Finished jobid: 0 (Rule: all)
"""


def jobcomp_line(jobid: str, state: str, name: str = RUN) -> str:
    return (
        f"JobId={jobid} UserId=root(0) GroupId=root(0) Name={name} JobState={state} "
        "Partition=test TimeLimit=120 NodeList=vm ExitCode=0:0 \n"
    )


def verdict(log: str, jobcomp: str, allowed=("all", "fetch_model")) -> list[str]:
    run_id, jobs = parse_snakemake_log(log)
    return check(run_id, jobs, parse_jobcomp(jobcomp), set(allowed))


def test_retried_job_passes_when_its_last_slurm_job_completed():
    jobcomp = jobcomp_line("7", "FAILED") + jobcomp_line("8", "COMPLETED")
    assert verdict(SNAKEMAKE_LOG, jobcomp) == []


def test_local_rule_outside_the_allowed_set_fails():
    jobcomp = jobcomp_line("7", "FAILED") + jobcomp_line("8", "COMPLETED")
    problems = verdict(SNAKEMAKE_LOG, jobcomp, allowed=("all",))
    assert problems == ["job 4 (fetch_model) ran locally, not as a SLURM job"]


def test_failed_last_attempt_fails():
    jobcomp = jobcomp_line("7", "COMPLETED") + jobcomp_line("8", "TIMEOUT")
    assert verdict(SNAKEMAKE_LOG, jobcomp) == ["job 3 (bench): SLURM job 8 ended TIMEOUT"]


def test_missing_completion_record_and_foreign_run_fail():
    jobcomp = jobcomp_line("7", "FAILED") + jobcomp_line("8", "COMPLETED", name="other-run")
    assert verdict(SNAKEMAKE_LOG, jobcomp) == ["job 3 (bench): SLURM job 8 not in the job log"]


def test_unreported_slurm_job_of_this_run_fails():
    jobcomp = "".join(jobcomp_line(j, "COMPLETED") for j in ("7", "8", "9"))
    assert verdict(SNAKEMAKE_LOG, jobcomp) == [
        "SLURM ran jobs of this run Snakemake did not report: ['9']"
    ]


def test_remote_job_never_submitted_fails():
    log = "\n".join(line for line in SNAKEMAKE_LOG.splitlines() if "has been submitted" not in line)
    problems = verdict(log, "")
    assert "job 3 (bench) was never submitted to SLURM" in problems
    assert "no job was submitted to SLURM" in problems


def test_run_without_the_slurm_executor_fails():
    log = SNAKEMAKE_LOG.replace(f"SLURM run ID: {RUN}\n", "")
    assert verdict(log, "") == [
        "the Snakemake log names no 'SLURM run ID': was the slurm executor used?"
    ]
