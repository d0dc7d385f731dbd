"""The only package that renders: the core and the plugins emit events and return data, and
these modules turn them into what people read.

    text.py      values made safe to print; metric keys and values for people
    progress.py  ConsoleUI: training and generation progress (bars, or plain lines)
    sweep.py     SweepView / SweepJson: a sweep's cell updates (live table, lines, JSON lines)
    tables.py    plain-text tables, a run's summary, reports in four formats
    listings.py  what the commands list: plugins, runs, results, gradient checks, new plugins
"""

from rnnlab.ui import listings as listings
from rnnlab.ui import sweep as sweep
from rnnlab.ui.progress import ConsoleUI as ConsoleUI
from rnnlab.ui.sweep import SweepJson as SweepJson
from rnnlab.ui.sweep import SweepView as SweepView
from rnnlab.ui.sweep import cell_info as cell_info
from rnnlab.ui.tables import render_report as render_report
from rnnlab.ui.tables import run_summary_table as run_summary_table
from rnnlab.ui.tables import show_report as show_report
from rnnlab.ui.tables import simple_table as simple_table
from rnnlab.ui.text import fmt_metric as fmt_metric
from rnnlab.ui.text import label as label
from rnnlab.ui.text import one_line as one_line
from rnnlab.ui.text import printable as printable
