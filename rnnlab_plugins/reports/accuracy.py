"""The homework table: each run's test primary metric per configuration and sequence length,
over every seed run.

The metric is the one each run recorded as primary, shown as its dataset declares it (the
adding task's test accuracy in %, the images' test mse). Each cell: mean ± std over the
completed runs of that configuration and L, their number n, for a percentage that improves
upward how many reached 99% (the success rate), mean epochs used and mean training time. Runs
without a sequence length (image data) get a single column.

Runs that differ in anything but the seed (paths and device do not change results) are rows of
their own: the row names the model, its dataset when the table holds several, its recipe
(sweep recipes), and the options and settings that differ among the runs of that model and
recipe, e.g. `lstm (lr=0.001)` and `lstm (lr=0.01)`. Runs of the same configuration and seed (a
cell run twice, a copied run directory; for a warm start, after the same earlier stages) are
one result: the one that started last is counted (a rerun replaces what it reran; of copies,
the first), the others are listed as duplicates; so are the runs of one cell of a sweep's
curriculum, also where an earlier stage's run is gone and the chain was rerun. The last rows
are the baselines the datasets declare, e.g. what always predicting 0 scores on the same test
data: the floor that means "learned nothing".

Warm-started runs (`--init-from`, a sweep's `stages:`) are rows of their own, named by the
lengths they were trained on before, e.g. `alarmwork (L 50→100→200)`; their cells add the
training budget in sequence-steps, their ancestors' included (`_sequence_steps`), and count
the epochs and training time of every stage, "(all stages)", when the ancestors are among the
report's runs, else the last stage's, "(last stage)" (`_stages`: all or last). The earlier
stages of a sweep's curriculum are not rows: they are part of their final stage's budget.
Curricula that differ only in an earlier stage are rows of their own (`stage1.epochs=5`).

A run whose training diverged (its loss became NaN or infinite: status failed) is an outcome
of its configuration, not a missing result: it counts in the success rate as a run that did
not reach 99% ("1/5 ≥99% (1 diverged)"), and not in mean ± std, epochs or time. A curriculum
whose earlier stage diverged ended there: it counts so in the row its other seeds' final
stages are in, or, where none got there, in a row named by the lengths it reached
(`alarmwork (L 50→100→…)`).

Row keys (csv, json): `L{L}_acc_mean`, `_acc_std`, `_n`, `_diverged`, `_success`, `_epochs`,
`_train_time_s` (and `_sequence_steps`, `_stages` for warm starts) per length, `all_...` for
runs without one; `acc` is the primary metric.
"""

from __future__ import annotations

import functools
import json
import math
import statistics
from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any

from rnnlab import (
    Column,
    ReportRequest,
    ReportResult,
    RnnlabError,
    Run,
    Setting,
    TrainConfig,
    get_plugin,
)
from rnnlab_plugins.reports import lineage

SUCCESS = 99.0  # a percentage (higher is better) that counts as solving the task
# not a difference between rows (a warm start's parent is shown as the lengths before it)
IGNORED = ("seed", "runs_dir", "data_dir", "device", "init_from")
SHOWN_APART = ("model", "data", "L", "settings")  # name, dataset, column; settings one by one
NO_L = "all"  # the column of runs without a sequence length (image data)


@dataclass(frozen=True)
class Metric:
    """How a dataset's metrics are shown: which are percentages, which way is better, and
    its baselines {metric key: label}."""

    percentages: tuple[str, ...] = ()
    higher_is_better: bool = True
    baselines: dict[str, str] = field(default_factory=dict)


def _metric_style(data: str) -> Metric:
    """What the dataset plugin declares (nothing, if it is no longer installed)."""
    try:
        plugin = get_plugin("dataset", data)
    except RnnlabError:
        return Metric()
    return Metric(tuple(plugin.percentages), bool(plugin.higher_is_better),
                  dict(plugin.baselines))


def _cell(row: dict[str, Any], col: str, percent: bool) -> str:
    n, blown = row.get(f"{col}_n") or 0, row.get(f"{col}_diverged", 0)
    if not n and not blown:
        return "-"
    digits = ".1f" if percent else ".4g"
    text = format(row[f"{col}_acc_mean"], digits) if n else "diverged"
    if n > 1:
        text += f" ± {format(row[f'{col}_acc_std'], digits)} (n={n})"
    if f"{col}_train_time_s" in row or blown:
        parts = [f"{row[f'{col}_success']}/{n + blown} ≥{SUCCESS:g}%"
                 + (f" ({blown} diverged)" if blown else "")] if f"{col}_success" in row else []
        if not n:
            return text + ("\n" + parts[0] if parts else f" ({blown} runs)")
        parts += [f"{row[f'{col}_epochs']:.0f} ep"] if f"{col}_epochs" in row else []
        parts += [f"{row[f'{col}_train_time_s']:.0f} s"]
        stages = row.get(f"{col}_stages")
        text += "\n" + ", ".join(parts) + (f" ({stages} stages)" if stages == "all" else
                                           " (last stage)" if stages else "")
    steps = row.get(f"{col}_sequence_steps")
    if steps is not None:
        shown = f"{steps / 1e6:.3g}M" if steps >= 1e6 else f"{steps:,.0f}"
        text += f"\nbudget {shown} seq-steps"
    return text


def _later(run: Run, other: Run) -> bool:
    """Whether `run` started after `other` (a copy of a run started when it did)."""
    return str(run.summary.get("started_at", "")) > str(other.summary.get("started_at", ""))


def _intermediate(summary: dict[str, Any]) -> bool:
    """An earlier stage of a sweep's curriculum (its final stage is the result)."""
    stage, stages = summary.get("stage"), summary.get("stages")
    return isinstance(stage, int) and isinstance(stages, int) and stage < stages


def _finite(value: Any) -> bool:
    if not isinstance(value, (int, float)) or isinstance(value, bool):
        return False
    try:
        return math.isfinite(value)
    except OverflowError:  # an int beyond any float
        return False


def _number(value: Any) -> float:
    """A count from a summary as a float; 0 where it is not a sane count."""
    return float(value) if _finite(value) and 0 <= value <= 1e18 else 0.0


def _usable(run: Run) -> dict[str, Any] | None:
    summary = run.summary
    key = summary.get("primary_metric")
    test = summary.get("test") or {}
    if summary.get("status") != "completed" or key not in test:
        return None
    if not _finite(test[key]):
        return None  # e.g. null: a metric that was NaN when it was measured
    return summary


def _diverged(run: Run) -> dict[str, Any] | None:
    """The summary of a run whose training diverged (its loss became NaN or infinite): an
    outcome of the recipe, counted in the success rate as a run that did not get there."""
    summary = run.summary
    if (summary.get("status") == "failed" and summary.get("primary_metric")
            and str(summary.get("reason", "")).startswith("training diverged")):
        return {**summary, "diverged": True}
    return None


def _diverged_stages(cut_short: list[tuple[Run, dict[str, Any]]], chains: dict[str, list[Run]],
                     counted: dict[str, tuple[Any, dict[str, str], dict[str, Any]]],
                     by_id: dict[str, Run]) -> list[tuple[Any, dict[str, str], dict[str, Any]]]:
    """Curricula whose earlier stage diverged, as outcomes of their final stage's row: in the
    row (and length) of the sweep's chains that went through the same stages with other seeds,
    else in a row of their own named by the lengths they got to ("L 50→100→…")."""
    def seedless(chain: list[Run]) -> list[str]:
        return [_result_key({**r.config, "seed": None}) for r in chain]

    def place(run: Run) -> tuple[str, ...]:
        summary = run.summary
        return (str(summary.get("sweep")), str(summary.get("recipe", "")),
                str(summary.get("stages")))

    entries = []
    for run, summary in cut_short:
        earlier = lineage(run, by_id)[1] if run.config.get("init_from") else []
        if earlier is None:
            continue  # an earlier stage of its own is missing: nothing to match it by
        mine = seedless([*earlier, run])
        rows = [key for key, chain in chains.items() if place(chain[-1]) == place(run)
                and seedless(chain[:len(mine)]) == mine]
        seeds = {counted[key][2].get("seed") for key in rows}
        if rows and summary.get("seed") in seeds:
            continue  # that seed's curriculum completed (another attempt)
        if rows:
            group, options, final = counted[rows[0]]
            entries.append((group, options, {**summary, "L": final.get("L")}))
            continue
        lengths = [r.config.get("L") for r in [*earlier, run]]
        shown = "L " + "→".join("?" if L is None else str(L) for L in lengths) + "→…"
        recipe = str(summary.get("recipe", ""))
        options = _options(run.config)
        group = (str(summary.get("model")), str(summary.get("data") or ""),
                 f"{recipe}, {shown}" if recipe else shown, json.dumps(options, sort_keys=True))
        entries.append((group, options, summary))
    return entries


def _column(summary: dict[str, Any]) -> str:
    L = summary.get("L")
    return NO_L if L is None else f"L{int(L)}"


def _options(config: dict[str, Any]) -> dict[str, str]:
    """What a run's configuration sets besides the seed, paths, device, model, dataset and L
    (those are shown apart): training options (missing ones at their defaults, as in runs
    recorded before the option existed) and plugin settings, each as comparable text."""
    merged = {**TrainConfig().to_dict(), **config}
    options = {k: v for k, v in merged.items() if k not in IGNORED + SHOWN_APART}
    settings = merged.get("settings")
    if isinstance(settings, dict):  # shown as `name=value`, like the options
        options.update({**_neutral(str(merged.get("model")), str(merged.get("data"))),
                        **settings})
    return {str(k): json.dumps(v, sort_keys=True, default=str) for k, v in options.items()}


NO_NEUTRAL = Setting(None).neutral  # the `neutral` of a setting that declares none


@functools.cache
def _neutral(model: str, data: str) -> dict[str, Any]:
    """The settings a run records none of at their neutral value (so that its configuration
    is what it was before the setting existed): that value, for runs with and without it
    to read alike, e.g. the simple RNN's nonlinearity=tanh."""
    found: dict[str, Any] = {}
    for kind, name in (("model", model), ("dataset", data)):
        try:
            declared = get_plugin(kind, name).settings
        except RnnlabError:  # not installed here, or no such plugin
            continue
        for key, setting in declared.items():
            if setting.neutral is not NO_NEUTRAL:
                found.setdefault(key, setting.neutral)
    return found


def _result_key(config: dict[str, Any]) -> str:
    """What a run computed, seed included, without its paths or its parent's id (a warm start
    is compared by its earlier stages' own keys): equal keys, equal results."""
    apart = [config.get(k) for k in ("model", "data", "L", "seed")]
    return json.dumps([apart, _options(config)], sort_keys=True, default=str)


def _shown(value: str) -> str:
    """An option's value as written in a row name (0.001, adam, None)."""
    loaded = json.loads(value)
    return loaded if isinstance(loaded, str) else str(loaded)


def _names(groups: dict[tuple[str, str, str, str], dict[str, str]], several_datasets: bool
           ) -> dict[tuple[str, str, str, str], str]:
    """Row names: model [dataset] (recipe, the options that differ among that model's runs
    under that recipe)."""
    apart: dict[tuple[str, str, str], list[dict[str, str]]] = defaultdict(list)
    for (model, data, recipe, _), options in groups.items():
        apart[(model, data, recipe)].append(options)
    names = {}
    for group, options in groups.items():
        model, data, recipe, _ = group
        siblings = apart[(model, data, recipe)]
        keys = sorted({k for o in siblings for k in o})
        # an earlier stage's option (stageN.key) counts where known: a chain with a stage
        # missing from the store is not another row for that
        differ = [k for k in keys if len({o.get(k) for o in siblings
                                          if k in o or not k.startswith("stage")}) > 1]
        parts = [recipe] if recipe else []
        parts += [f"{k}={_shown(options[k])}" if k in options else f"{k} unset" for k in differ
                  if k in options or not k.startswith("stage")]
        name = f"{model} [{data}]" if several_datasets else model
        names[group] = name + (f" ({', '.join(parts)})" if parts else "")
    return names


def _mean(values: list[float]) -> float:
    """The mean; exactly the value when all are equal (a baseline on the same test data)."""
    return values[0] if len(set(values)) == 1 else statistics.fmean(values)


def accuracy_table(request: ReportRequest) -> ReportResult:
    skipped = 0
    counted: dict[str, Run] = {}  # config key -> the first completed run of that config
    duplicates: list[tuple[Run, Run]] = []
    found: list[tuple[tuple[str, str, str, str], dict[str, str], dict[str, Any]]] = []
    by_id = {run.id: run for run in request.runs}
    broken_of: dict[str, bool] = {}  # per counted result: its earlier stages not all found
    slot: dict[str, int] = {}  # per counted result: its place in `found`
    intermediate: list[str] = []  # earlier stages of curricula: part of a final stage's budget
    cut_short: list[tuple[Run, dict[str, Any]]] = []  # earlier stages that diverged
    chains: dict[str, list[Run]] = {}  # per counted warm start: its runs, first stage first
    same_cell: dict[tuple[str, str], str] = {}  # a sweep's warm-started cell -> its key
    continued: set[str] = set()  # the runs final stages were warm-started from, and theirs
    for run in request.runs:
        summary = _usable(run) or _diverged(run)
        if summary is None:
            skipped += 1
            continue
        if _intermediate(summary):
            if summary.get("diverged"):  # its curriculum ended there: an outcome (below)
                cut_short.append((run, summary))
            else:
                intermediate.append(run.id)
            continue
        warm = bool(run.config.get("init_from"))
        records, earlier = lineage(run, by_id) if warm else ([], [])
        # the same configuration, seed and recipe after the same earlier stages: one result,
        # not two seeds (a warm start's history is part of what it computed)
        history = ([_result_key(r.config) for r in earlier] if earlier is not None
                   else [f"?{run.config.get('init_from')}"])
        key = "/".join([str(summary.get("recipe", "")), *history, _result_key(run.config)])
        if warm and summary.get("sweep") and summary.get("cell"):  # one sweep cell: one result,
            # also where an earlier stage's run is gone and it was rerun from a new one
            key = same_cell.setdefault((str(summary["sweep"]), str(summary["cell"])), key)
        continued.update(r.id for r in earlier or [])
        previous = counted.get(key)
        if previous is not None and not _later(run, previous):
            duplicates.append((run, previous))
            continue
        if previous is not None:  # a rerun (e.g. `sweep --force`): its result replaces it
            duplicates.append((previous, run))
        counted[key] = run
        data = str(summary.get("data") or run.config.get("data") or "")
        options = _options(run.config)
        recipe = str(summary.get("recipe", ""))
        if warm:  # named by the lengths it was trained on
            lengths = [record.get("L") for record in records] + [summary.get("L")]
            shown = "L " + "→".join("?" if L is None else str(L) for L in lengths)
            recipe = f"{recipe}, {shown}" if recipe else shown
            broken_of[key] = earlier is None
            for i, stage in enumerate(earlier or []):  # other earlier stages: another row
                options.update({f"stage{i + 1}.{k}": v for k, v in _options(stage.config).items()})
            if earlier is not None:  # the whole chain's epochs and time, as its budget
                chain = [*(r.summary for r in earlier), summary]
                summary = {**summary, "chain": {
                    "train_time_s": sum(_number(s.get("train_time_s")) for s in chain),
                    **({"epochs": sum(_number(s["epochs"]) for s in chain)}
                       if all("epochs" in s for s in chain) else {})}}
        group = (str(summary.get("model")), data, recipe, json.dumps(options, sort_keys=True))
        slot[key] = slot.get(key, len(found))
        found[slot[key]:slot[key] + 1] = [(group, options, summary)]
        if warm and earlier is not None:
            chains[key] = [*earlier, run]
    found += [entry for entry in _diverged_stages(cut_short, chains, {
        k: found[i] for k, i in slot.items()}, by_id) if not request.lengths
        or entry[2].get("L") in request.lengths]  # where it would have ended
    broken = sum(broken_of.values())
    datasets = sorted({group[1] for group, _, _ in found})
    styles = {data: _metric_style(data) for data in datasets}
    names = _names({group: options for group, options, _ in found}, len(datasets) > 1)
    cells: dict[str, dict[str, list[dict[str, Any]]]] = defaultdict(lambda: defaultdict(list))
    data_of: dict[str, str] = {}
    for group, _, summary in found:
        cells[names[group]][_column(summary)].append(summary)
        data_of[names[group]] = group[1]
    percent: dict[str, bool] = {}  # row name -> its numbers are percentages
    rows: list[dict[str, Any]] = []
    for name in sorted(cells):
        row: dict[str, Any] = {"model": name}
        style = styles[data_of[name]]
        for col, outcomes in sorted(cells[name].items()):
            key = outcomes[0]["primary_metric"]
            percent[name] = key in style.percentages
            success = percent[name] and style.higher_is_better and col != "all"
            summaries = [s for s in outcomes if not s.get("diverged")]
            if len(summaries) < len(outcomes):
                row[f"{col}_diverged"] = len(outcomes) - len(summaries)
            if not summaries:  # every run of the cell diverged
                if success:
                    row[f"{col}_success"] = 0
                continue
            values = [s["test"][key] for s in summaries]
            row[f"{col}_acc_mean"] = statistics.fmean(values)
            row[f"{col}_acc_std"] = statistics.stdev(values) if len(values) > 1 else 0.0
            row[f"{col}_n"] = len(values)
            warm = any(s.get("init_from") for s in summaries)
            if warm:  # a chain's epochs and time when every seed's chain was found
                whole = all("chain" in s for s in summaries)
                row[f"{col}_stages"] = "all" if whole else "last"
                if whole:  # the chain's figures replace the stage's own
                    summaries = [{**{k: v for k, v in s.items() if k != "epochs"}, **s["chain"]}
                                 for s in summaries]
            if success:  # the long-sequence question, for sequence data (by L)
                row[f"{col}_success"] = sum(v >= SUCCESS for v in values)
            if all("epochs" in s for s in summaries):  # not update-budget runs
                row[f"{col}_epochs"] = statistics.fmean(s["epochs"] for s in summaries)
            row[f"{col}_train_time_s"] = statistics.fmean(s.get("train_time_s", 0.0)
                                                          for s in summaries)
            budgets = [s.get("total_sequence_steps") for s in summaries if s.get("init_from")]
            if budgets and all(_finite(b) for b in budgets):
                row[f"{col}_sequence_steps"] = statistics.fmean(budgets)
        rows.append(row)
    rows += _baselines(found, styles, percent)
    columns = [Column("model", "model")]
    used = {col for by_col in cells.values() for col in by_col}
    lengths = sorted(int(col[1:]) for col in used if col != NO_L)
    columns += [Column(f"L={L}", fmt=lambda row, c=f"L{L}": _cell(row, c, percent[row["model"]]))
                for L in lengths]
    metrics = _described(found, styles)
    if NO_L in used:
        plain = {summary["primary_metric"] for _, _, summary in found if summary.get("L") is None}
        header = f"test {next(iter(plain))}" if len(plain) == 1 else "no L"
        columns.append(Column(header, fmt=lambda row: _cell(row, NO_L, percent[row["model"]])))
    blown = sum(1 for _, _, summary in found if summary.get("diverged"))
    notes = [f"{', '.join(metrics)}; {_count(len(found) - blown, 'completed run')}"]
    if blown:
        notes.append(f"{_count(blown, 'run')} whose training diverged (loss NaN or infinite) "
                     f"counted in the success rate as not reaching {SUCCESS:g}%, not in the mean")
    single = {summary["primary_metric"] for _, _, summary in found}
    what = f"a test {next(iter(single))}" if len(single) == 1 else "a finite test result"
    budget = sum(ident in continued for ident in intermediate)
    if budget:
        notes.append(f"{_count(budget, 'earlier stage run')} of curricula counted in their "
                     "final stage's budget")
    if len(intermediate) > budget:
        notes.append(f"{_count(len(intermediate) - budget, 'earlier stage run')} of curricula "
                     "not shown: their final stage is not among the runs reported (see "
                     "`rnnlab runs`)")
    if broken:
        notes.append(f"{_count(broken, 'warm-started run')} with an earlier stage not found, "
                     "unreadable or not the run its record names: epochs and time of its last "
                     "stage only")
    if skipped:
        notes.append(f"{_count(skipped, 'run')} not completed or without {what} left out")
    if duplicates:
        pairs = ", ".join(f"{dup.id} (= {first.id})" for dup, first in duplicates)
        notes.append(f"{_count(len(duplicates), 'duplicate run')} of a configuration and "
                     f"seed already counted left out: {pairs}")
    if not rows:  # what there was, if anything, and that nothing is left to show
        notes = [*notes[1:], "no completed runs match" + (
            "" if len(notes) > 1 else " (train some with `rnnlab train MODEL`)")]
    title = ("T" + metrics[0][1:].replace(" in %", " (%)") if len(metrics) == 1
             else "Test results")  # several metrics: the notes name them
    title += " by model" + (" and sequence length L" if lengths else "")
    files = []
    if request.settings.get("plot") and rows:
        if not lengths:
            notes.append("nothing to plot: the runs have no sequence length")
        else:
            from rnnlab_plugins.reports.accuracy_plot import (
                accuracy_figure,
                epoch_time_figure,
                success_figure,
            )

            ylabel = metrics[0].replace(" in %", " (%)") if len(metrics) == 1 else "test result"
            files = [accuracy_figure(rows, ylabel, request.out_dir),
                     epoch_time_figure(rows, request.out_dir)]
            if any(key.endswith("_success") for row in rows for key in row):
                files.append(success_figure(rows, ylabel, SUCCESS, request.out_dir))
    return ReportResult(title=title, columns=columns, rows=rows, notes=notes, files=files)


def _count(n: int, noun: str) -> str:
    """'1 completed run', '2 completed runs'."""
    return f"{n} {noun}{'' if n == 1 else 's'}"


def _described(found: list[tuple[Any, dict[str, str], dict[str, Any]]],
               styles: dict[str, Metric]) -> list[str]:
    """The metrics of the table, e.g. 'test accuracy in %', 'test mse' (with the dataset when
    the datasets' metrics differ)."""
    seen: dict[str, set[str]] = defaultdict(set)
    for group, _, summary in found:
        key = summary["primary_metric"]
        text = f"test {key}" + (" in %" if key in styles[group[1]].percentages else "")
        seen[text].add(group[1])
    if len(seen) <= 1:
        return list(seen)
    return [f"{text} ({', '.join(sorted(data))})"
            for text, data in sorted(seen.items(), key=lambda item: sorted(item[1]))]


def _baselines(found: list[tuple[tuple[str, str, str, str], dict[str, str], dict[str, Any]]],
               styles: dict[str, Metric], percent: dict[str, bool]) -> list[dict[str, Any]]:
    """One row per baseline a dataset declares: what it scores on the runs' test data."""
    datasets = sorted({group[1] for group, _, _ in found})
    rows = []
    for data in datasets:
        style = styles[data]
        for key, label in style.baselines.items():
            name = f"{label} [{data}] (baseline)" if len(datasets) > 1 else f"{label} (baseline)"
            row: dict[str, Any] = {"model": name}
            by_col: dict[str, list[float]] = defaultdict(list)
            for group, _, summary in found:
                value = (summary.get("test") or {}).get(key)  # none for a diverged run
                if group[1] == data and _finite(value):
                    by_col[_column(summary)].append(float(value))
            for col, values in sorted(by_col.items()):
                row[f"{col}_acc_mean"] = _mean(values)
                row[f"{col}_n"] = 1
            if by_col:
                percent[name] = key in style.percentages
                rows.append(row)
    return rows
