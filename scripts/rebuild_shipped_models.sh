#!/usr/bin/env bash
# Rebuild both shipped models from public data in one go, sized for one CUDA GPU: fetch the training sets, build
# the training folders, train `gaussian` from scratch on CBSD432 + BSD400 gray crops, then `camera` from it
# (synthetic camera noise through raw, then PolyU's Canon real pairs mixed with synthetic pairs and with clean
# photos paired with themselves, then again with the clean photos it changed most added, shipped as the mean of
# those last two runs' weights), and ship both with their measured tables:
#
#   scripts/rebuild_shipped_models.sh <work dir>                  # one CUDA GPU
#   TRAINER=cpu scripts/rebuild_shipped_models.sh <work dir>      # the CPU fallback: about 6.5 h of one thread on a
#                                                                 # CPU with AVX512-BF16 (0.37 s a step), far longer without
#   SMOKE=1 TRAINER=cpu scripts/rebuild_shipped_models.sh <dir>   # every step, tiny: checks the script (9-40 min)
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
  gaussian_epochs=40; camera_epochs=10; pairs_epochs=24; clean_epochs=12
else
  device=(trainer=cpu threads=1)
  gaussian_epochs=200; camera_epochs=10; pairs_epochs=24; clean_epochs=12
fi
mined=96  # clean photos added in camera's last run
[ -n "${SMOKE:-}" ] && { device+=(debug=fast); gaussian_epochs=1; camera_epochs=1; pairs_epochs=1; clean_epochs=1; mined=2; }

train() {  # train <name> <overrides...>: one run in runs/<name>, resumed from its last.ckpt when there is one
  local name=$1; shift
  local resume=(); [ -f "runs/$name/checkpoints/last.ckpt" ] && resume=(ckpt_path="runs/$name/checkpoints/last.ckpt")
  "$python" -m denoise_lab "$@" "${device[@]}" test_after_fit=false hydra.run.dir="runs/$name" "${resume[@]}"
}

ship() {  # ship <name> <weights> <data> <what it saw> <evaluate overrides...>: evaluate, write <name>.safetensors
  local name=$1 weights=$2 data=$3 saw=$4; shift 4
  if [ -f "$name.safetensors" ]; then echo "keeping $name.safetensors (delete it to ship again)"; return; fi
  "$python" -m denoise_lab.evaluate ckpt_path="$weights" data="$data" eval.view_size=4096 \
    eval.self_ensemble=2 eval.baselines.max_images=0 "$@" hydra.run.dir="reports/$name"
  "$python" -m denoise_lab.pretrained.ship "$weights" "$name.safetensors" --data "$data" \
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
ship gaussian runs/gaussian/checkpoints/last.ckpt cbsd68 "blind Gaussian noise (sigma 0-55) on CBSD432 and 100 BSD400 gray photos" \
  eval.protocol=standard 'eval.sigmas=[0,15,25,50]'

# 3. camera: synthetic camera noise from the Gaussian model, then the real pairs with synthetic and clean ones,
#    then again with the clean training photos that run changed most (so that it leaves their grain alone),
#    shipped as the mean of the last two runs' weights (WiSE-FT's halfway mix: most of the first's strength on
#    real noise, most of the second's care for clean photos).
train camera_synthetic experiment=pretrain_camera data=folder data.dir=train data.val_ratio=0.02 \
  init_from=runs/gaussian/checkpoints/last.ckpt trainer.max_epochs=$camera_epochs
train camera experiment=pretrain_camera data=paired data.dir=pairs data.val_ratio=0.1 \
  init_from=runs/camera_synthetic/checkpoints/last.ckpt optim.optimizer.lr=2e-4 trainer.max_epochs=$pairs_epochs \
  callbacks.ema.decay=0.99
if [ ! -d pairs_clean ]; then  # pairs plus the clean photos camera changed most, as clean3_<name> pairs
mkdir -p pairs_clean && cp -a pairs/low pairs/high pairs_clean/
"$python" - "$cache/cbsd432" "$mined" <<'PY'
import sys
from pathlib import Path

import numpy as np
from PIL import Image

import denoise_lab

used = {p.name.split("_", 1)[1] for p in Path("pairs_clean/low").glob("clean*_*")}


def psnr(path: Path) -> float:  # of the clean photo through camera's first pairs run
    clean = np.asarray(Image.open(path).convert("RGB"))
    restored = denoise_lab.denoise(clean, model="runs/camera/checkpoints/last.ckpt", self_ensemble=1)
    return 10 * np.log10(255**2 / max(np.mean((restored.astype(float) - clean) ** 2), 1e-10))


photos = [p for p in sorted(Path(sys.argv[1]).iterdir()) if p.name not in used]
for path in sorted(photos, key=psnr)[: int(sys.argv[2])]:
    for side in ("low", "high"):
        Path(f"pairs_clean/{side}/clean3_{path.name}").symlink_to(path)
PY
fi
train camera_clean experiment=pretrain_camera data=paired data.dir=pairs_clean data.val_ratio=0.1 \
  init_from=runs/camera/checkpoints/last.ckpt optim.optimizer.lr=1e-4 trainer.max_epochs=$clean_epochs \
  callbacks.ema.decay=0.99
[ -f runs/camera_mean.safetensors ] || "$python" -m denoise_lab.pretrained.ship \
  runs/camera_clean/checkpoints/last.ckpt runs/camera_mean.safetensors --average-with runs/camera/checkpoints/last.ckpt
ship camera runs/camera_mean.safetensors polyu "synthetic camera noise on CBSD432 and BSD400, then PolyU Canon pairs \
with synthetic and clean pairs, then with the clean photos it changed most; the mean of the last two runs" \
  eval.protocol=paired

echo "models: $work/gaussian.safetensors, $work/camera.safetensors; reports: $work/reports/"
