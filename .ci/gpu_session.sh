#!/usr/bin/env bash
# One prepared GPU session for issue 19 (testing throughput) and the GPU report, in about 10 minutes on one H100/H200
# with 16 cores, machine start excluded. Every part runs under its own time limit, so one that overruns costs only itself,
# and writes its CSVs (with the device's name in every row) into $OUT as soon as it has them:
#   data    the K600-shaped stand-in, 640 packed videos under /tmp/xvit-standin (xvit.bench.eval_standin)       ~ 40 s
#   eval    testing 600 videos 3x1 with XViT-B/16 in bf16, 15 loader workers: per view, per video, per video with
#           GPU JPEG decoding; each loader alone and with the model; the model alone  -> $OUT/eval_gpu.csv    ~ 90 s
#   decode  GPU JPEG decoding against libjpeg-turbo: frames/s, pixel and logit differences -> $OUT/gpu_decode.csv ~ 40 s
#   report  `xvit bench --report`'s measurements (xvit.bench.gpu_report), capped: T = 4..32, 5 rounds, the longest
#           clip searched up to 512 frames; each piece written when done -> $OUT/report/*_gpu.csv             <= 6 min
# Then copy them into nbs/bench_results/ (eval_gpu.csv, gpu_decode.csv, and report/*_gpu.csv as they are) and commit.
#
# Usage:   OUT=/some/dir .ci/gpu_session.sh               (on the GPU machine, from the repository root)
#          OUT=/tmp/smoke .ci/gpu_session.sh --cpu-smoke  (every part at a toy size on the CPU: checks this script)
# A bare GPU machine lacks PyAV, which xvit uses for the sample video; the stand-in falls back to OpenCV there. Wheels in
# .whl/ (`make gpu-wheels`) are installed first when present.
set -u
cd "$(dirname "$0")/.."
OUT=${OUT:-gpu_session_out}
mkdir -p "$OUT"
SMOKE=False
case "${1:-}" in
  --cpu-smoke) SMOKE=True ;;
  "") ;;
  *) echo "usage: OUT=DIR $0 [--cpu-smoke]" >&2; exit 2 ;;
esac
if [ -x .venv/bin/python ] && [ "$SMOKE" = True ]; then PY=${PYTHON:-.venv/bin/python}; else PY=${PYTHON:-python3}; fi
if [ -d .whl ] && ! $PY -c "import av" 2>/dev/null; then
  $PY -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade --target /tmp/site .whl/*.whl \
    && export PYTHONPATH=/tmp/site${PYTHONPATH:+:$PYTHONPATH}
fi
export PYTHONPATH=$PWD${PYTHONPATH:+:$PYTHONPATH} PYTHONUNBUFFERED=1
LOG="$OUT/session.log"
$PY -c "import torch, platform; print('torch', torch.__version__, '| cuda', torch.version.cuda, '|', torch.cuda.get_device_name() if torch.cuda.is_available() else 'no GPU', '|', platform.node())" 2>&1 | tee -a "$LOG"
nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv,noheader 2>/dev/null | tee -a "$LOG"
df -h /dev/shm /tmp 2>/dev/null | tee -a "$LOG"   # the workers hand batches over in /dev/shm: 15 workers x 2 batches of 64 clips is about 18 GB

part() {   # part NAME SECONDS: xvit.bench.gpu_session(NAME) under a time limit
  local name=$1 limit=$2 start=$SECONDS
  echo "== $name (at most ${limit} s)" | tee -a "$LOG"
  timeout --signal=INT --kill-after=15 "$limit" $PY -c "from xvit.bench import gpu_session; gpu_session('$name', '$OUT', smoke=$SMOKE)" 2>&1 | tee -a "$LOG"
  local rc=${PIPESTATUS[0]}
  echo "== $name: exit $rc after $((SECONDS - start)) s" | tee -a "$LOG"
  [ "$rc" = 0 ] || FAILED="${FAILED:-}$name "
}
part data 120
part eval 180
part decode 120
part report 360
ls -l "$OUT" "$OUT/report" 2>/dev/null | tee -a "$LOG"
if [ -n "${FAILED:-}" ]; then echo "parts that failed or ran out of time: $FAILED(see $LOG)" | tee -a "$LOG"; exit 1; fi
