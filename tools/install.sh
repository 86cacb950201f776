#!/usr/bin/env bash
# Install metric-hmr and its OpenMMLab stack into the *active* Python environment.
#
#   bash tools/install.sh            # everything, then the project in editable mode
#
# Idempotent: packages already at the pinned versions are left alone, and pip's
# cache (~/.cache/pip, or $PIP_CACHE_DIR) is reused, including the mmcv wheel it
# builds from source the first time (~7 min on 2 cores; seconds afterwards).
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-python}
PIP="$PY -m pip --disable-pip-version-check"
say() { printf '\n[install] %s\n' "$*"; }

# Torch: keep a working pair (torch<2.14, torchvision importing its C++ ops);
# otherwise install the measured PyPI pair.  torch>=2.14 needs C++20 that mmcv
# 2.1.0 cannot build with; a lone CPU torch 2.13 has no matching torchvision.
TORCH_PAIR="torch==2.12.1 torchvision==0.27.1"
if $PY - <<'PYEOF' 2>/dev/null
import torch, torchvision, sys
from packaging.version import Version
ok = Version(torch.__version__.split('+')[0]) < Version('2.14')
import torchvision.ops  # noqa: F401  (fails when torch/torchvision do not match)
torchvision.ops.nms(torch.zeros(1, 4), torch.zeros(1), 0.5)
sys.exit(0 if ok else 1)
PYEOF
then
  say "keeping installed torch $($PY -c 'import torch;print(torch.__version__)') / torchvision $($PY -c 'import torchvision;print(torchvision.__version__)')"
  # pin the installed *distribution* versions (torch.__version__ may carry a +cuXXX tag)
  TORCH_PIN="torch==$($PY -c 'import importlib.metadata as m;print(m.version("torch"))')"
  VISION_PIN="torchvision==$($PY -c 'import importlib.metadata as m;print(m.version("torchvision"))')"
else
  say "installing $TORCH_PAIR (PyPI builds; they also run on CPU)"
  $PIP install $TORCH_PAIR
  TORCH_PIN="torch==2.12.1"; VISION_PIN="torchvision==0.27.1"
fi

# One constraints file keeps every later step from moving these pins.
CONSTRAINTS=$(mktemp)
trap 'rm -f "$CONSTRAINTS"' EXIT
cat > "$CONSTRAINTS" <<CEOF
$TORCH_PIN
$VISION_PIN
numpy<2
opencv-python<4.12
setuptools>=77,<81
mmengine==0.10.7
mmcv==2.1.0
mmdet==3.3.0
mmpose==1.3.2
CEOF
PIPC="$PIP install -c $CONSTRAINTS"

say "build tools and pins: setuptools>=77,<81 (mmengine imports pkg_resources), wheel, numpy<2, opencv-python<4.12"
$PIPC "setuptools>=77,<81" wheel ninja "numpy<2" "opencv-python<4.12"

say "mmengine 0.10.7"
$PIPC mmengine==0.10.7

if $PY -c "import mmcv, mmcv.ops; assert mmcv.__version__ == '2.1.0'" 2>/dev/null; then
  say "mmcv 2.1.0 with ops already installed"
else
  say "mmcv 2.1.0 built from source with ops (first time ~7 min; cached wheel afterwards)"
  MMCV_WITH_OPS=1 MAX_JOBS=${MAX_JOBS:-2} $PIPC --no-build-isolation mmcv==2.1.0
fi

say "mmdet 3.3.0, mmpose 1.3.2, smplx, roma, transformers, scipy, anny, rcpchgrowth, and test/report tools"
$PIPC mmdet==3.3.0 mmpose==1.3.2 smplx roma transformers scipy anny rcpchgrowth \
      numba matplotlib trimesh tqdm pytest

say "metric-hmr (editable)"
$PIPC --no-build-isolation -e .

say "done: $($PY -c 'import torch,mmcv,mmdet,mmpose,mmengine;print("torch",torch.__version__,"mmengine",mmengine.__version__,"mmcv",mmcv.__version__,"mmdet",mmdet.__version__,"mmpose",mmpose.__version__)')"
