"""The README's distributed recipe: one `write_shard` task per log file on a Dask cluster, all
into one dataset; `bnlog report DATASET` then equals the report over the logs, byte for byte."""

from __future__ import annotations

from pathlib import Path

import pytest

from analyzer import Options, analyze
from analyzer.events_io import write_shard
from analyzer.render import Style, renderers

distributed = pytest.importorskip("distributed")

ROOT = Path(__file__).resolve().parents[1]
STYLE = Style(color=False, width=100, chart=True)
# Stories with several files (one of them gzip-compressed, one docker json-file): one task each.
STORIES = ("ban_storm", "shapes")


def test_one_task_per_file_gives_the_report_of_the_logs(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(ROOT)  # evidence paths read sample_logs/…, as the tasks name them
    files = {
        story: sorted(
            str(p.relative_to(ROOT))
            for p in (ROOT / "sample_logs" / story).rglob("*")
            if p.is_file()
        )
        for story in STORIES
    }
    assert sum(len(names) for names in files.values()) == 7
    with (
        distributed.LocalCluster(
            n_workers=1, threads_per_worker=2, processes=False, dashboard_address=None
        ) as cluster,
        distributed.Client(cluster) as client,
    ):
        for story, names in files.items():
            dest = str(tmp_path / story)
            tasks = client.map(write_shard, [[name] for name in names], dest=dest, pure=False)
            shard_ids = client.gather(tasks)
            assert len(set(shard_ids)) == len(names)  # one shard per file, none clobbered
    for story in STORIES:
        from_logs = analyze([f"sample_logs/{story}"], Options())
        from_dataset = analyze([str(tmp_path / story)], Options())
        for fmt in ("text", "json", "markdown"):
            render = renderers()[fmt]
            assert render(from_dataset, STYLE) == render(from_logs, STYLE), (story, fmt)
