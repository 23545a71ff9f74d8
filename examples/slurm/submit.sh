#!/usr/bin/env bash
# Submit the shards as a Slurm job array, then a merge job that runs once they have all succeeded.
#   SUBMISSIONS=submissions OUT=graded examples/slurm/submit.sh SHARDS [TASKS] [SBATCH OPTION…]
# TASKS: which shards to (re)submit, an --array list (default 1-SHARDS): after a failed or cancelled
# shard, `examples/slurm/submit.sh 8 3` grades what shard 3 of 8 has not finished, then merges again.
# SBATCH OPTIONs go to the grading array, e.g. --cpus-per-task=2 --mem=6G --partition=short.
# Run it from the course folder with torchgrade on PATH: the jobs take this shell's environment.
set -euo pipefail
shards=${1:-8}
tasks=${2:-1-$shards}
shift $(( $# < 2 ? $# : 2 ))
export SUBMISSIONS=${SUBMISSIONS:-submissions} OUT=${OUT:-graded} COURSE=${COURSE:-course.yaml} SHARD_COUNT=$shards
mkdir -p logs   # sbatch does not create the folder of --output; a job whose log cannot be opened fails
array=$(sbatch --parsable --array="$tasks" "$@" examples/slurm/grade.sbatch)
array=${array%%;*}
merge=$(sbatch --parsable --dependency="afterok:$array" examples/slurm/merge.sbatch)
merge=${merge%%;*}
echo "submitted array $array (shards $tasks of $shards) and its merge $merge"
