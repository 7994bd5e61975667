"""Check that a Snakemake run through the SLURM executor really ran its jobs as SLURM jobs.

Used by tests/cluster/run_slurm.sh after the workflow finished. Evidence from two independent
sides must agree:

* Snakemake's log: which jobs ran as ``rule`` (remote) and which as ``localrule``, and the SLURM job
  id each remote job was submitted as ("Job N has been submitted with SLURM jobid M").
* slurmctld's job-completion log (JobCompType=jobcomp/filetxt): one record per finished SLURM job,
  with its name (the executor names every job after the run's "SLURM run ID") and final state.

The check fails when a remote job has no SLURM job, when the last SLURM job of a Snakemake job did
not end COMPLETED, when a rule outside the allowed set ran locally, or when the controller ran a
job of this run that Snakemake never reported. It prints one line per job either way.
"""

from __future__ import annotations

import argparse
import re
import sys
from dataclasses import dataclass, field
from pathlib import Path

RUN_ID = re.compile(r"^SLURM run ID: (\S+)$")
RULE_HEADER = re.compile(r"^(localrule|rule) (\w+):$")
JOBID = re.compile(r"^\s+jobid: (\d+)$")
SUBMITTED = re.compile(r"^Job (\d+) has been submitted with SLURM jobid (\d+)\b")
FINISHED = re.compile(r"^Finished jobid: (\d+) \(Rule: (\w+)\)$")
JOBCOMP_FIELD = re.compile(r"(\w+)=(\S*)")


@dataclass
class SnakemakeJob:
    """One Snakemake job as its log shows it."""

    jobid: int
    rule: str
    local: bool
    slurm_ids: list[str] = field(default_factory=list)
    finished: bool = False


def parse_snakemake_log(text: str) -> tuple[str | None, dict[int, SnakemakeJob]]:
    """Return the SLURM run id and the jobs of one Snakemake log (main process only)."""
    run_id = None
    jobs: dict[int, SnakemakeJob] = {}
    header: tuple[str, bool] | None = None
    for line in text.splitlines():
        if match := RUN_ID.match(line):
            run_id = match.group(1)
        elif match := RULE_HEADER.match(line):
            header = (match.group(2), match.group(1) == "localrule")
        elif header and (match := JOBID.match(line)):
            jobid = int(match.group(1))
            jobs.setdefault(jobid, SnakemakeJob(jobid, header[0], header[1]))
            header = None
        elif match := SUBMITTED.match(line):
            jobs[int(match.group(1))].slurm_ids.append(match.group(2))
        elif match := FINISHED.match(line):
            jobs[int(match.group(1))].finished = True
    return run_id, jobs


def parse_jobcomp(text: str) -> dict[str, dict[str, str]]:
    """SLURM job id -> fields of its job-completion record."""
    records = {}
    for line in text.splitlines():
        fields = dict(JOBCOMP_FIELD.findall(line))
        if "JobId" in fields:
            records[fields["JobId"]] = fields
    return records


def check(
    run_id: str | None,
    jobs: dict[int, SnakemakeJob],
    records: dict[str, dict[str, str]],
    allowed_local: set[str],
) -> list[str]:
    """Return the problems found (empty: every job ran as a completed SLURM job of this run)."""
    if run_id is None:
        return ["the Snakemake log names no 'SLURM run ID': was the slurm executor used?"]
    problems = []
    ours = {jid for jid, rec in records.items() if rec.get("Name") == run_id}
    submitted = set()
    for job in sorted(jobs.values(), key=lambda j: j.jobid):
        submitted.update(job.slurm_ids)
        if not job.finished:
            problems.append(f"job {job.jobid} ({job.rule}) never finished")
        if job.local:
            if job.rule not in allowed_local:
                problems.append(f"job {job.jobid} ({job.rule}) ran locally, not as a SLURM job")
            print(f"  local      {job.rule} (job {job.jobid})")
            continue
        if not job.slurm_ids:
            problems.append(f"job {job.jobid} ({job.rule}) was never submitted to SLURM")
            continue
        last = job.slurm_ids[-1]
        record = records.get(last)
        state = record.get("JobState", "?") if record else "no completion record"
        print(f"  SLURM {last:>5} {job.rule} (job {job.jobid}): {state}")
        if record is None or last not in ours:
            problems.append(f"job {job.jobid} ({job.rule}): SLURM job {last} not in the job log")
        elif state != "COMPLETED":
            problems.append(f"job {job.jobid} ({job.rule}): SLURM job {last} ended {state}")
    strays = ours - submitted
    if strays:
        problems.append(f"SLURM ran jobs of this run Snakemake did not report: {sorted(strays)}")
    if not submitted:
        problems.append("no job was submitted to SLURM")
    return problems


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--snakemake-log", type=Path, required=True)
    parser.add_argument("--jobcomp", type=Path, required=True, help="slurmctld JobCompLoc file")
    parser.add_argument(
        "--allow-local",
        default="all",
        help="comma-separated rules that may run on the submit host (the Snakefile's localrules)",
    )
    args = parser.parse_args(argv)
    run_id, jobs = parse_snakemake_log(args.snakemake_log.read_text())
    records = parse_jobcomp(args.jobcomp.read_text()) if args.jobcomp.exists() else {}
    allowed = {rule for rule in args.allow_local.split(",") if rule}
    problems = check(run_id, jobs, records, allowed)
    remote = sum(not job.local for job in jobs.values())
    print(f"{len(jobs)} Snakemake jobs, {remote} as SLURM jobs of run {run_id}")
    for problem in problems:
        print(f"FAIL: {problem}", file=sys.stderr)
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
