"""Optuna's own figures of a hyper-parameter search (``hparams_search=...``): the optimisation history (each
trial's score and the best so far) and the parameters' importance (a random forest fitted to the trials'
scores, each parameter's mean decrease in impurity, Breiman 2001; Optuna 2's default, fANOVA, fails under
NumPy 2).

Both are drawn from the study Hydra's Optuna sweeper kept in ``<sweep dir>/optuna.db`` (the search configs set
``hydra.sweeper.storage`` there), so ``python -m denoise_lab.compare <sweep dir>`` draws them again, or after
more trials. They need the ``sweeps`` extra (Optuna; scikit-learn for the importance).
"""

from __future__ import annotations

import logging
import warnings
from pathlib import Path
from types import ModuleType
from typing import TYPE_CHECKING

from matplotlib.ticker import MaxNLocator

from denoise_lab.reporting.figures import plt

if TYPE_CHECKING:
    from optuna.study import Study

log = logging.getLogger(__name__)

STUDY_FILE = "optuna.db"
HISTORY_FIGURE, IMPORTANCE_FIGURE = "optuna_history.png", "optuna_importance.png"


def save_search_figures(sweep_dir: Path, metric: str = "objective") -> None:
    """Draw the history and the importance figures of the study in ``sweep_dir``; nothing when the sweep kept
    no study (a grid sweep, or a study stored elsewhere). ``metric`` names the score."""
    if not (sweep_dir / STUDY_FILE).is_file():
        return
    import optuna
    from optuna.visualization import matplotlib as optuna_plots

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    storage = f"sqlite:///{(sweep_dir / STUDY_FILE).resolve()}"
    (summary,) = optuna.get_all_study_summaries(storage)  # a search config keeps one study per sweep
    study = optuna.load_study(study_name=summary.study_name, storage=storage)
    completed = study.get_trials(deepcopy=False, states=(optuna.trial.TrialState.COMPLETE,))
    with warnings.catch_warnings():
        # Optuna 2 marks its matplotlib figures experimental, and says so on every call
        warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
        if completed:
            _save(history_figure(optuna_plots, study, metric), sweep_dir / HISTORY_FIGURE)
        if len(completed) < 2:
            log.info(
                "%s not drawn: it needs two finished trials, the study has %d",
                IMPORTANCE_FIGURE,
                len(completed),
            )
            return
        try:
            importances = optuna.importance.get_param_importances(
                study, evaluator=optuna.importance.MeanDecreaseImpurityImportanceEvaluator(seed=0)
            )
        except ImportError as error:  # the random forest is scikit-learn's
            log.warning("%s not drawn: %s (pip install 'denoise_lab[sweeps]')", IMPORTANCE_FIGURE, error)
            return
    _save(importance_figure(importances, metric, len(completed)), sweep_dir / IMPORTANCE_FIGURE)


def history_figure(optuna_plots: ModuleType, study: Study, metric: str) -> plt.Figure:
    """Optuna's optimisation history, its trials numbered as the sweep's job folders are (0, 1, ...).
    Optuna switches matplotlib to its ggplot style for good; the context gives the other figures theirs back."""
    with plt.rc_context():
        axes = optuna_plots.plot_optimization_history(study, target_name=metric)
    axes.xaxis.set_major_locator(MaxNLocator(integer=True))
    axes.set_xlabel("trial (= job folder in the sweep dir)")
    return axes.figure


def importance_figure(importances: dict[str, float], metric: str, trials: int) -> plt.Figure:
    """The parameters' importances as horizontal bars, the most important on top. Drawn here: Optuna 2's own
    importance figure calls a colour-map function matplotlib 3.9 removed."""
    names = list(importances)[::-1]
    figure, axes = plt.subplots()
    bars = axes.barh(names, [importances[n] for n in names], color="C0")
    axes.bar_label(bars, labels=[f"{importances[n]:.2f}" for n in names], padding=3, fontsize=8)
    axes.set_xlim(0, 1.1 * max(max(importances.values()), 1e-9))
    axes.set_xlabel(f"importance for {metric} (mean decrease in impurity; sums to 1)")
    axes.set_title(f"Hyper-parameter importance over {trials} trials")
    return figure


def _save(figure: plt.Figure, path: Path) -> None:
    figure.set_size_inches(7, 4.5)
    figure.tight_layout()
    figure.savefig(path, dpi=110)
    plt.close(figure)
