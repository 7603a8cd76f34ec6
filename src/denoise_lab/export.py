"""``python -m denoise_lab.export ckpt_path=... format=onnx|torchscript output=...``: a model for other runtimes.

Exports the network alone, float32, taking (1, 3, H, W) RGB in [0, 1] with any H and W and returning the
restored image of the same shape (tiling, file formats and bit depths stay with ``predict``):

* ``onnx``: ``torch.onnx.export`` through ``torch.export`` (the ``export`` extra: onnx, onnxscript; run it with
  onnxruntime), H and W dynamic;
* ``torchscript``: ``torch.jit.script``. TorchScript cannot compile the padding arithmetic of most families here
  (it works for ``dncnn`` and ``cae_deep``); a model it refuses is one line naming the model and the reason.

After writing, the exported file is run once on a 97x131 image and must match PyTorch to 1e-4.
"""

from __future__ import annotations

import logging
from pathlib import Path

import hydra
import torch
from omegaconf import DictConfig
from torch import nn

from denoise_lab.config import CONFIG_DIR, ConfigError, user_errors_in_one_line
from denoise_lab.console import quiet_console
from denoise_lab.files import written_in_place
from denoise_lab.inference.checkpoints import load_checkpoint

log = logging.getLogger(__name__)

FORMATS = ("onnx", "torchscript")
CHECK_SHAPE = (1, 3, 97, 131)  # odd, unaligned sizes: the padding inside the models is exercised
TOLERANCE = 1e-4


def write(model: nn.Module, fmt: str, path: Path) -> None:
    """Export ``model`` to ``path``; an exporter's refusal is a :class:`ConfigError` of one line."""
    example = torch.rand(CHECK_SHAPE, generator=torch.Generator().manual_seed(0))
    name = type(model).__name__
    try:
        if fmt == "onnx":
            dynamic = ({2: torch.export.Dim.DYNAMIC, 3: torch.export.Dim.DYNAMIC},)  # H and W, any size
            # external_data=False: the weights inside, one file that can be copied alone
            torch.onnx.export(
                model,
                (example,),
                str(path),
                input_names=["image"],
                output_names=["restored"],
                dynamic_shapes=dynamic,
                dynamo=True,
                verbose=False,
                external_data=False,
            )
        else:
            torch.jit.save(torch.jit.script(model), str(path))
    except ImportError as error:
        raise ConfigError(
            f"format={fmt} needs the `export` extra (pip install 'denoise_lab[export]'): {error}"
        ) from None
    except Exception as error:  # each exporter has its own error types
        reason = next(
            (line.strip() for line in str(error).splitlines() if line.strip()), type(error).__name__
        )
        raise ConfigError(f"{name} cannot be exported as {fmt}: {reason[:300]}") from None


def run_exported(fmt: str, path: Path, image: torch.Tensor) -> torch.Tensor:
    """The exported file's output on ``image``, computed by its own runtime."""
    if fmt == "onnx":
        import onnxruntime

        session = onnxruntime.InferenceSession(str(path), providers=["CPUExecutionProvider"])
        return torch.from_numpy(session.run(None, {"image": image.numpy()})[0])
    return torch.jit.load(str(path))(image)


def export(cfg: DictConfig) -> Path:
    if cfg.format not in FORMATS:
        raise ConfigError(f"format must be one of {list(FORMATS)}, got '{cfg.format}'")
    path = Path(cfg.output).expanduser()
    if path.exists() and not cfg.overwrite:
        raise ConfigError(f"output '{path}' exists; overwrite=true replaces it")
    model, _ = load_checkpoint(cfg.ckpt_path)
    image = torch.rand(CHECK_SHAPE, generator=torch.Generator().manual_seed(1))
    with written_in_place(path) as partial:  # checked before it takes its name: a bad file never does
        write(model, cfg.format, partial)
        with torch.no_grad():
            gap = (run_exported(cfg.format, partial, image) - model(image)).abs().max().item()
        if gap > TOLERANCE:
            raise ConfigError(
                f"the exported {cfg.format} file differs from PyTorch by {gap:.2e} (> {TOLERANCE:g})"
            )
    log.info(
        "exported %s (%s) to %s; max difference to PyTorch on 97x131: %.1e",
        type(model).__name__,
        cfg.format,
        path,
        gap,
    )
    return path


@hydra.main(version_base="1.3", config_path=CONFIG_DIR, config_name="export")
def main(cfg: DictConfig) -> None:
    """Hydra entry: one-line messages for errors a user can cause."""
    quiet_console()
    with user_errors_in_one_line():
        export(cfg)


if __name__ == "__main__":
    main()
