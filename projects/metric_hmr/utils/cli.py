"""Helpers for the command-line tools: config loading, launchers, one-line errors."""

from __future__ import annotations

import os
import os.path as osp
import pickle
import sys
from contextlib import contextmanager
from typing import Iterator, List, Optional

import torch
from mmengine.config import Config, DictAction  # noqa: F401  (re-exported for tools)

__all__ = ['Config', 'DictAction', 'ToolError', 'load_config', 'add_common_args',
           'prepare_runner_config', 'setup_launcher', 'check_checkpoint_matches', 'error_line',
           'one_line_errors']


class ToolError(Exception):
    """An error the user can fix (bad path, wrong checkpoint); printed as one line."""


def load_config(path: str, cfg_options: Optional[dict] = None) -> Config:
    """``Config.fromfile`` with a clear error for a missing file, then ``--cfg-options``."""
    if not osp.isfile(path):
        raise ToolError(f'config file not found: {path}')
    cfg = Config.fromfile(path)
    if cfg_options:
        cfg.merge_from_dict(cfg_options)
    return cfg


def add_common_args(parser) -> None:
    """Arguments shared by tools/train.py and tools/test.py."""
    parser.add_argument('--work-dir', help='folder for logs, checkpoints and metrics')
    parser.add_argument('--cfg-options', nargs='+', action=DictAction,
                        help='override config entries, e.g. train_dataloader.batch_size=2')
    parser.add_argument('--launcher', choices=['none', 'pytorch', 'slurm'], default='none')
    parser.add_argument('--local_rank', '--local-rank', type=int, default=0)
    parser.add_argument('--debug', action='store_true', help='show full tracebacks')


def prepare_runner_config(args) -> Config:
    """Register components, load ``args.config`` with overrides, set launcher and work_dir."""
    from metric_hmr import register_all_modules
    os.environ.setdefault('LOCAL_RANK', str(args.local_rank))
    register_all_modules(init_default_scope=False)
    cfg = load_config(args.config, args.cfg_options)
    setup_launcher(cfg, args.launcher)
    if args.work_dir is not None:
        cfg.work_dir = args.work_dir
    elif cfg.get('work_dir') is None:
        cfg.work_dir = osp.join('work_dirs', osp.splitext(osp.basename(args.config))[0])
    return cfg


def setup_launcher(cfg: Config, launcher: str) -> None:
    """Prepare ``cfg`` for the launcher; on CPU, initialise gloo ourselves.

    MMEngine's pytorch launcher calls ``torch.cuda.set_device`` unconditionally, which
    fails on machines without a GPU.  When no GPU is present we initialise the process
    group with gloo before the Runner does (it then skips its own init) and wrap the
    model with a DDP variant that passes ``device_ids=None`` as CPU modules require.
    """
    cfg.launcher = launcher
    if launcher == 'none':
        return
    if torch.cuda.is_available():
        cfg.setdefault('env_cfg', {}).setdefault('dist_cfg', {})['backend'] = 'nccl'
        return
    cfg.setdefault('env_cfg', {}).setdefault('dist_cfg', {})['backend'] = 'gloo'
    if launcher == 'slurm':
        _export_slurm_env()
    import torch.distributed as dist
    if not dist.is_initialized():
        dist.init_process_group(backend='gloo')
    wrapper = dict(cfg.get('model_wrapper_cfg') or {})
    # scoped name: the Runner looks wrappers up in MMEngine's root registry
    wrapper['type'] = 'metric_hmr.CPUDistributedDataParallel'
    # the Runner only forwards these to its default wrapper, so pass them on ourselves
    wrapper.setdefault('broadcast_buffers', False)
    wrapper.setdefault('find_unused_parameters', cfg.get('find_unused_parameters', False))
    cfg.model_wrapper_cfg = wrapper


def close_distributed() -> None:
    """End a finished distributed run: the ranks leave the process group together, then the
    process exits at once (logs flushed).  Left to interpreter exit, torch's distributed
    threads can be torn down while still joinable and one rank aborts ("terminate called
    without an active exception", SIGABRT) after a finished run; destroying the group
    alone made it rarer (1 in 32 two-process CPU runs), not gone.  Returns normally when
    the run was not distributed."""
    import logging
    import torch.distributed as dist
    if not (dist.is_available() and dist.is_initialized()):
        return
    dist.barrier()
    dist.destroy_process_group()
    logging.shutdown()
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(0)


def _export_slurm_env() -> None:
    """Translate Slurm variables into the torch.distributed env:// variables."""
    env = os.environ
    env.setdefault('RANK', env['SLURM_PROCID'])
    env.setdefault('WORLD_SIZE', env['SLURM_NTASKS'])
    env.setdefault('LOCAL_RANK', env.get('SLURM_LOCALID', '0'))
    env.setdefault('MASTER_PORT', '29500')
    if 'MASTER_ADDR' not in env:
        import subprocess
        nodes = env.get('SLURM_NODELIST', '127.0.0.1')
        env['MASTER_ADDR'] = subprocess.getoutput(f'scontrol show hostname {nodes} | head -n1') or nodes


def check_checkpoint_matches(model: torch.nn.Module, ckpt_path: str) -> None:
    """Raise :class:`ToolError` when ``ckpt_path`` is missing or holds another model.

    Compares parameter names and shapes; loading goes through ``weights_only=True`` with
    the allow-list of :mod:`metric_hmr.utils.checkpoint`.
    """
    if not osp.isfile(ckpt_path):
        raise ToolError(f'checkpoint not found: {ckpt_path}')
    try:
        ckpt = torch.load(ckpt_path, map_location='cpu', weights_only=True)
    except Exception as e:  # noqa: BLE001  (any unpickling error means: not our checkpoint)
        raise ToolError(f'cannot load checkpoint {ckpt_path}: {str(e).splitlines()[0]}') from e
    state = ckpt.get('state_dict', ckpt) if isinstance(ckpt, dict) else None
    if not isinstance(state, dict):
        raise ToolError(f'checkpoint {ckpt_path} holds no state_dict')
    own = model.state_dict()
    missing = [k for k in own if k not in state]
    unexpected = [k for k in state if k not in own]
    shape = [k for k in own if k in state and tuple(state[k].shape) != tuple(own[k].shape)]
    if missing or shape:
        parts: List[str] = []
        if missing:
            parts.append(f'missing key {missing[0]!r} (+{len(missing) - 1} more)')
        if shape:
            k = shape[0]
            parts.append(f'key {k!r} has shape {tuple(state[k].shape)}, model expects {tuple(own[k].shape)}')
        if unexpected:
            parts.append(f'unexpected key {unexpected[0]!r} (+{len(unexpected) - 1} more)')
        raise ToolError(f'checkpoint {ckpt_path} does not match the model '
                        f'{type(model).__name__}: ' + '; '.join(parts))


def error_line(e: BaseException) -> str:
    """One line for an exception: its message (MMEngine's wrapped build errors: the
    original message, the last line), else the type name; quotes are kept as written."""
    if isinstance(e, KeyError) and len(e.args) == 1:
        text = str(e.args[0])             # str(KeyError) adds quotes of its own
    else:
        text = str(e)
    lines = [ln.strip() for ln in text.strip().splitlines() if ln.strip()]
    if not lines:
        return type(e).__name__
    # MMEngine re-raises build errors as 'class `X` in module: <original message>'; an
    # unpickling error's first line is the useful one
    msg = lines[0] if isinstance(e, pickle.UnpicklingError) else lines[-1]
    known = (ToolError, FileNotFoundError, NotADirectoryError, KeyError, ValueError,
             pickle.UnpicklingError, PermissionError, FileExistsError)
    return msg if isinstance(e, known) else f'{type(e).__name__}: {msg}'


@contextmanager
def one_line_errors(debug: bool = False) -> Iterator[None]:
    """Print any error as one ``error:`` line and exit 1 (``--debug``: the traceback).

    Every exception type is caught (a tool's user should never need a traceback to know
    what failed); Ctrl-C exits 130 with one line.
    """
    try:
        yield
    except KeyboardInterrupt:
        if debug:
            raise
        print('error: interrupted', file=sys.stderr)
        sys.exit(130)
    except Exception as e:  # noqa: BLE001
        if debug:
            raise
        print(f'error: {error_line(e)}', file=sys.stderr)
        sys.exit(1)
