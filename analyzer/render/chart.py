"""The timeline chart: events per time bucket, stacked by category, drawn with plotext as text."""

from __future__ import annotations

import plotext as plt

from analyzer.report import Timeline

HEIGHT = 14
# Fixed colour and marker per category, so a category looks the same in every report.
_LOOK: dict[str, tuple[str, str]] = {
    "general": ("red", "#"),
    "http": ("magenta", "%"),
    "network": ("gray", ":"),
    "order": ("yellow", "o"),
    "filter": ("cyan", "="),
    "request": ("blue", "+"),
    "unknown": ("white", "?"),
}
_MAX_TICKS = 6


def render_chart(timeline: Timeline, *, width: int, color: bool) -> str:
    """The chart as a string (no trailing newline); empty when no event has a time."""
    if not timeline.starts:
        return ""
    categories = [c for c in timeline.series if any(timeline.series[c])]
    if not categories:
        return ""
    multi_day = timeline.starts[-1].date() != timeline.starts[0].date()
    daily = timeline.bucket.endswith("d")
    fmt = "%m-%d" if daily else "%m-%d %H:%M" if multi_day else "%H:%M"
    xs = list(range(1, len(timeline.starts) + 1))
    # Labels must never touch: plotext places colliding labels unpredictably.
    label_len = len(timeline.starts[0].strftime(fmt))
    max_ticks = max(2, min(_MAX_TICKS, (min(width, 160) - 10) // (2 * label_len + 2)))
    step = max(1, -(-len(xs) // max_ticks))
    ticks = xs[::step]
    labels = [timeline.starts[i - 1].strftime(fmt) for i in ticks]
    totals = [sum(timeline.series[c][i] for c in categories) for i in range(len(xs))]
    top = max(totals)
    ystep = max(1, -(-top // 4))
    yticks = list(range(0, top + ystep, ystep))

    plt.clear_figure()
    plt.plot_size(max(40, min(width, 160)), HEIGHT)
    plt.theme("clear")
    plt.stacked_bar(
        xs,
        [list(timeline.series[c]) for c in categories],
        labels=categories,
        color=[_LOOK.get(c, ("white", "?"))[0] for c in categories] if color else None,
        marker=None if color else [_LOOK.get(c, ("white", "?"))[1] for c in categories],
        width=0.9,
    )
    plt.xticks(ticks, labels)
    plt.yticks(yticks, [str(y) for y in yticks])
    plt.title(f"events per {timeline.bucket} (UTC), by category")
    text = plt.build()
    plt.clear_figure()
    if not color:
        text = plt.uncolorize(text)
    return "\n".join(line.rstrip() for line in text.splitlines())
