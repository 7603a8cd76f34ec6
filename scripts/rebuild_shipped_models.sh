#!/usr/bin/env bash
# Rebuild both shipped models from public data in one go, sized for one CUDA GPU: fetch the training sets, build
# the training folders, train `gaussian` from scratch on CBSD432 + BSD400 gray crops, then `camera` from it
# (synthetic camera noise through raw, then PolyU's Canon real pairs mixed with synthetic pairs and with clean
# photos paired with themselves), and ship both with their measured tables:
#
#   scripts/rebuild_shipped_models.sh <work dir>                  # one CUDA GPU
#   TRAINER=cpu scripts/rebuild_shipped_models.sh <work dir>      # the CPU fallback: about 6 h of one thread on a
#                                                                 # CPU with AVX512-BF16 (0.37 s a step), far longer without
#   SMOKE=1 TRAINER=cpu scripts/rebuild_shipped_models.sh <dir>   # every step, tiny: checks the script (9 min here)
#
# Neither full run has been made yet (no GPU was at hand): the shipped files came from the staged CPU runs of
# docs/shipped_models.md, which this script condenses; compare its reports with the README's tables.
#
# Writes <work dir>/gaussian.safetensors and camera.safetensors (use them with ckpt_path=<file>), the runs under
# <work dir>/runs/ and the reports under <work dir>/reports/. Never trains on CBSD68 or PolyU's NikonD800/Sony crops:
# they are the test sets. Each training resumes from its own last.ckpt when the script is started again.
set -euo pipefail

work=${1:?usage: scripts/rebuild_shipped_models.sh <work dir>   (TRAINER=cpu, SMOKE=1: see the script)}
python=${PYTHON:-python}
marker=.rebuild_shipped_models  # the folder is this script's: it may add to it again
if [ -d "$work" ] && [ -n "$(ls -A "$work")" ] && [ ! -f "$work/$marker" ]; then
  echo "error: $work holds files this script did not make; give a new folder" >&2; exit 2
fi
mkdir -p "$work" && cd "$work" && touch "$marker"

# Sizes: a GPU takes 8x the CPU recipe's batch per step; SMOKE shrinks every run to seconds (debug=fast).
if [ "${TRAINER:-gpu}" = gpu ]; then
  device=(trainer=gpu data.batch_size=128 data.patches_per_epoch=32768 data.num_workers=8 compile=false)
  gaussian_epochs=40; camera_epochs=10; pairs_epochs=24
else
  device=(trainer=cpu threads=1)
  gaussian_epochs=200; camera_epochs=10; pairs_epochs=24
fi
[ -n "${SMOKE:-}" ] && { device+=(debug=fast); gaussian_epochs=1; camera_epochs=1; pairs_epochs=1; }

train() {  # train <name> <overrides...>: one run in runs/<name>, resumed from its last.ckpt when there is one
  local name=$1; shift
  local resume=(); [ -f "runs/$name/checkpoints/last.ckpt" ] && resume=(ckpt_path="runs/$name/checkpoints/last.ckpt")
  "$python" -m denoise_lab "$@" "${device[@]}" test_after_fit=false hydra.run.dir="runs/$name" "${resume[@]}"
}

ship() {  # ship <name> <data> <what it saw> <evaluate overrides...>: evaluate the run's last weights, write <name>.safetensors
  local name=$1 data=$2 saw=$3; shift 3
  if [ -f "$name.safetensors" ]; then echo "keeping $name.safetensors (delete it to ship again)"; return; fi
  "$python" -m denoise_lab.evaluate ckpt_path="runs/$name/checkpoints/last.ckpt" data="$data" eval.view_size=4096 \
    eval.self_ensemble=2 eval.baselines.max_images=0 "$@" hydra.run.dir="reports/$name"
  "$python" -m denoise_lab.pretrained.ship "runs/$name/checkpoints/last.ckpt" "$name.safetensors" --data "$data" \
    --table "reports/$name/metrics.csv" --recipe "scripts/rebuild_shipped_models.sh (${TRAINER:-gpu}${SMOKE:+, smoke}): $saw"
}

# 1. Data: the training sets (and CBSD68 for the report) into the cache (checked by sha256), then folders of links into it.
"$python" -m denoise_lab.datasets fetch cbsd432 bsd400 polyu polyu_canon_full cbsd68  # cbsd68: the report only
cache=$("$python" -c "from denoise_lab.datasets.store import cache_root; print(cache_root())")
if [ ! -d pairs ]; then  # made once; a second start reuses them
mkdir -p train/cbsd432 train/bsd400 pairs/low pairs/high syn
ln -s "$cache"/cbsd432/* train/cbsd432/
ls "$cache/bsd400" | awk 'NR%4==1' | while read -r f; do ln -s "$cache/bsd400/$f" train/bsd400/; done
for copy in a b; do  # PolyU's Canon pairs, each twice: the 55 crops and the 16 full-size scenes
  for f in "$cache"/polyu/Canon*_real.JPG; do s=$(basename "$f" _real.JPG)
    ln -s "$f" "pairs/low/${copy}_$s.JPG"; ln -s "$cache/polyu/${s}_mean.JPG" "pairs/high/${copy}_$s.JPG"; done
  for f in "$cache"/polyu_canon_full/*_Real.JPG; do s=$(basename "$f" _Real.JPG)
    ln -s "$f" "pairs/low/${copy}_full_$s.JPG"; ln -s "$cache/polyu_canon_full/${s}_mean.JPG" "pairs/high/${copy}_full_$s.JPG"; done
done
ls "$cache/cbsd432" | awk 'NR%4==3' | while read -r f; do ln -s "$cache/cbsd432/$f" syn/; done
"$python" - "$cache/cbsd432" <<'PY'  # clean pairs: 48 photos evenly, and the 48 others that look noisiest while clean
import sys
from pathlib import Path

import numpy as np
from PIL import Image
from skimage.restoration import estimate_sigma

photos = sorted(Path(sys.argv[1]).iterdir())
even = photos[::9]


def noise(path: Path) -> float:
    rgb = np.asarray(Image.open(path).convert("RGB")) / 255.0
    return estimate_sigma(rgb, channel_axis=-1, average_sigmas=True)


grainy = sorted((p for p in photos if p not in even), key=noise, reverse=True)[:48]
for prefix, chosen in (("clean", even), ("clean2", grainy)):
    for path in chosen:
        for side in ("low", "high"):
            Path(f"pairs/{side}/{prefix}_{path.name}").symlink_to(path)
PY
"$python" -m denoise_lab.degrade input=syn output=pairs degradation=camera  # one camera-noise draw per photo
fi

# 2. gaussian: blind Gaussian noise, sigma 0-55, from scratch.
train gaussian experiment=pretrain_gaussian data=folder data.dir=train data.val_ratio=0.02 model.blocks=4 \
  trainer.max_epochs=$gaussian_epochs
ship gaussian cbsd68 "blind Gaussian noise (sigma 0-55) on CBSD432 and 100 BSD400 gray photos" \
  eval.protocol=standard 'eval.sigmas=[0,15,25,50]'

# 3. camera: synthetic camera noise from the Gaussian model, then the real pairs with synthetic and clean ones.
train camera_synthetic experiment=pretrain_camera data=folder data.dir=train data.val_ratio=0.02 \
  init_from=runs/gaussian/checkpoints/last.ckpt trainer.max_epochs=$camera_epochs
train camera experiment=pretrain_camera data=paired data.dir=pairs data.val_ratio=0.1 \
  init_from=runs/camera_synthetic/checkpoints/last.ckpt optim.optimizer.lr=2e-4 trainer.max_epochs=$pairs_epochs \
  callbacks.ema.decay=0.99
ship camera polyu "synthetic camera noise on CBSD432 and BSD400, then PolyU Canon pairs with synthetic and clean pairs" \
  eval.protocol=paired

echo "models: $work/gaussian.safetensors, $work/camera.safetensors; reports: $work/reports/"
