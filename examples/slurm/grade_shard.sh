#!/usr/bin/env bash
# Grade one shard of a class: the driver that a Slurm array task or a Kubernetes Indexed Job pod runs.
#
# The shard number comes from the engine, 1-based here:
#   Slurm array (--array=1-N):  SLURM_ARRAY_TASK_ID (1 … N) and SHARD_COUNT (N; else SLURM_ARRAY_TASK_COUNT,
#                               which is wrong for a resubmitted task: --array=3 is an array of one)
#   Kubernetes Indexed Job:     JOB_COMPLETION_INDEX (0 … N-1) and SHARD_COUNT (N, set in the Job spec)
#   by hand:                    SHARD_INDEX (1 … N) and SHARD_COUNT (N)
# Settings (environment): SUBMISSIONS (a folder of submission folders), OUT (results; each shard
# writes OUT/shard-K), COURSE (course.yaml), JOBS (workers, default: the CPUs given to this task),
# TORCHGRADE (the command, default: torchgrade from PATH, else .venv/bin/torchgrade of the working folder).
#
# Rerunning a shard (a requeued or preempted task) grades only what it has not finished.
# When every shard is done:  torchgrade merge "$OUT"/shard-* --out "$OUT/class"
set -euo pipefail

if [[ -n "${SLURM_ARRAY_TASK_ID:-}" ]]; then
  index=$SLURM_ARRAY_TASK_ID
  count=${SHARD_COUNT:-${SLURM_ARRAY_TASK_COUNT:?set SHARD_COUNT to the number of shards}}
elif [[ -n "${JOB_COMPLETION_INDEX:-}" ]]; then
  index=$((JOB_COMPLETION_INDEX + 1))
  count=${SHARD_COUNT:?set SHARD_COUNT to the Job completions}
else
  index=${SHARD_INDEX:?set SHARD_INDEX (1-based) or run as a Slurm array task / Indexed Job pod}
  count=${SHARD_COUNT:?set SHARD_COUNT}
fi

submissions=${SUBMISSIONS:?set SUBMISSIONS to the folder holding one folder per submission}
out=${OUT:?set OUT to the results folder}
course=${COURSE:-course.yaml}
jobs=${JOBS:-${SLURM_CPUS_PER_TASK:-$(nproc)}}
if [[ -z "${TORCHGRADE:-}" ]] && ! command -v torchgrade >/dev/null && [[ -x .venv/bin/torchgrade ]]; then
  TORCHGRADE=$PWD/.venv/bin/torchgrade
fi
read -r -a torchgrade <<< "${TORCHGRADE:-torchgrade}"
if ! command -v "${torchgrade[0]}" >/dev/null; then
  echo "${torchgrade[0]}: not found on $(hostname -s) in $PWD (PATH=$PATH); activate the course's virtualenv" \
       "before submitting (the job takes the PATH it was submitted with) or set TORCHGRADE" >&2
  exit 2
fi

shopt -s nullglob
folders=("$submissions"/*/)
if (( ${#folders[@]} == 0 )); then
  echo "no submission folders in $submissions" >&2
  exit 2
fi

status=0
"${torchgrade[@]}" grade "${folders[@]}" --course "$course" --out "$out/shard-$index" \
  --shard "$index/$count" --jobs "$jobs" --no-progress || status=$?
# 1: the shard ran to its end, but some submissions could not be graded. Each has its results.json with
# the reason, which merge takes as that submission's result: one bad submission must not hold back the
# class's gradebook (a task that fails would leave the merge job pending for ever). Whatever else is
# missing (a sandbox failure, a cancelled run), merge itself refuses to write a gradebook, naming it.
if (( status == 1 )) && grep -qs '"complete": true' "$out/shard-$index/.shard.json"; then
  echo "shard $index/$count: some submissions could not be graded; their results.json say why" >&2
  exit 0
fi
exit "$status"
