#!/usr/bin/env bash
# One run on a GPU machine: the cuda-marked tests, the whole suite with CUDA present, and class grading
# with the cuda checks on (and, on the same machine, with CUDA hidden, for comparison).
#
#   bash benchmarks/gpu_check.sh            # logs under $OUT (or /tmp/torchgrade-gpu)
#
# The machine's own torch is used. Packages it lacks (pydantic and its needs) may be carried as wheels
# in .whl/ (see README "GPU"). Every step has its own time limit so one slow step cannot eat the rest.
set -uo pipefail
cd "$(dirname "$0")/.."
OUT=${OUT:-/tmp/torchgrade-gpu}
mkdir -p "$OUT"
export PYTHONUNBUFFERED=1
PY=${PYTHON:-python3}
if [ -z "${NO_WHEELS:-}" ] && compgen -G ".whl/*.whl" >/dev/null; then
    # into the interpreter's own environment, so tests that start Python with a clean environment find them too
    $PY -m pip install -q --no-index --no-deps --no-compile --no-cache-dir .whl/*.whl \
        || { $PY -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade --target /tmp/site \
                 .whl/*.whl && export PYTHONPATH=/tmp/site; }
fi
$PY -m pip install -q --no-deps --no-build-isolation -e . >"$OUT/install.log" 2>&1 || echo "editable install failed (see install.log)"
{
    date -u; uname -srm; nproc; nvidia-smi -L
    $PY -c "import torch; print('torch', torch.__version__, 'cuda', torch.version.cuda, torch.cuda.get_device_name())"
} 2>&1 | tee "$OUT/machine.txt"

echo "== can a sandboxed child of the real fork server use CUDA? (None: yes)"
timeout 120 $PY -c "from grader.sandbox.gpu import problem_in_sandbox as p; from grader.entry import PRELOAD
print(p(PRELOAD))" 2>&1 \
    | tee "$OUT/sandbox_probe.log"
if ! grep -qx None "$OUT/sandbox_probe.log"; then
    echo "== it cannot: the loader's view, then one forked child per confinement (benchmarks/gpu_diagnose.py)"
    { echo "LD_LIBRARY_PATH=${LD_LIBRARY_PATH:-}"; ldconfig -p | grep -i libcuda; } 2>&1 | tee "$OUT/diagnose.log"
    timeout 150 $PY benchmarks/gpu_diagnose.py 2>&1 | tee -a "$OUT/diagnose.log" | tail -40
fi

echo "== cuda-marked tests"
timeout 180 $PY -m pytest -m cuda -v -p no:cacheprovider 2>&1 | tee "$OUT/cuda_tests.log" | tail -25

echo "== whole suite, CUDA present (nbgrader files left out: nbgrader is not installed there)"
# SUITE_FILES (test files) narrows it, for a shorter rerun on a machine lent for a limited time
timeout "${SUITE_S:-240}" $PY -m pytest -q -n "${SUITE_JOBS:-12}" -p no:cacheprovider ${SUITE_FILES:-} \
    --ignore=tests/test_nbgrader_build.py --ignore=tests/test_nbgrader_paths.py 2>&1 \
    | tee "$OUT/suite.log" | tail -15

echo "== class grading, ${COUNT:=48} generated submissions, --jobs ${JOBS:=8}: cuda checks on, then CUDA hidden"
subs=$(mktemp -d)
$PY benchmarks/make_submissions.py "$subs" --count "$COUNT" | tail -1
for mode in cuda cpu; do
    if [ "$mode" = cpu ]; then export CUDA_VISIBLE_DEVICES=""; fi
    start=$(date +%s.%N)
    timeout 240 $PY -m grader grade "$subs"/*/ --out "$subs-out-$mode" --jobs "$JOBS" --force --no-progress \
        >"$OUT/grade_$mode.log" 2>&1
    rc=$?
    end=$(date +%s.%N)
    echo "$mode: rc=$rc $(ls "$subs-out-$mode"/*/results.json 2>/dev/null | wc -l) results in" \
        "$(python3 -c "print(f'{$end - $start:.1f} s, {($end - $start) / $COUNT:.2f} s per submission')")" \
        | tee -a "$OUT/grade_summary.txt"
    unset CUDA_VISIBLE_DEVICES
done
echo "== the same scores with and without the GPU (the promise: any machine, same score)"
python3 - "$subs-out-cuda" "$subs-out-cpu" <<'EOF' 2>&1 | tee -a "$OUT/grade_summary.txt"
import json, sys, pathlib
def scores(folder):
    return {p.parent.name: {(e["id"], c["name"]): c["score"] for e in json.loads(p.read_text())["exercises"]
                            for c in e["checks"]} for p in pathlib.Path(folder).glob("*/results.json")}
gpu, cpu = scores(sys.argv[1]), scores(sys.argv[2])
differ = [(name, key, gpu[name][key], cpu[name].get(key)) for name in sorted(set(gpu) & set(cpu))
          for key in gpu[name] if gpu[name][key] != cpu[name].get(key)]
print(f"{len(set(gpu) & set(cpu))} submissions graded both ways; {len(differ)} checks differ")
for row in differ[:40]:
    print("  ", row)
EOF
ls "$OUT"
