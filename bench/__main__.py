"""`make bench`: every benchmark beside its baseline, one table, kept in bench/RESULTS.md.

BENCH_SCALE=full (default) or smoke; BENCH_ONLY=api,pipeline,... runs a subset (the file is
written only for a full run of all of them). A shorter full run on a busy machine:
BENCH_API_SECONDS, BENCH_PIPELINE_JOBS, BENCH_LATENCY_SAMPLES, BENCH_SCALE_JOBS,
BENCH_INFLIGHT_JOBS / _LATENCY_S / _WINDOW_S, BENCH_ROUNDTRIP_CALLS (the report names them)."""

from __future__ import annotations

import asyncio
import os
import sys
import time
import traceback
from pathlib import Path

from bench import api, contention, latency, lineage, memory, pipeline, polling, roundtrips, scaling
from bench.common import Results, Row, machine, scale

BENCHMARKS = {"api": api.run, "pipeline": pipeline.run, "latency": latency.run, "contention": contention.run,
              "lineage": lineage.run, "memory": memory.run, "polling": polling.run, "scaling": scaling.run,
              "roundtrips": roundtrips.run}
RESULTS_FILE = Path(__file__).with_name("RESULTS.md")
SHORTENERS = ("BENCH_API_SECONDS", "BENCH_PIPELINE_JOBS", "BENCH_LATENCY_SAMPLES", "BENCH_SCALE_JOBS",
              "BENCH_INFLIGHT_JOBS", "BENCH_INFLIGHT_LATENCY_S", "BENCH_INFLIGHT_WINDOW_S", "BENCH_ROUNDTRIP_CALLS")
HEADER = ("benchmark", "metric", "pixrelay", "baseline", "ratio", "goal", "met?")


def number(value: float | None) -> str:
    if value is None:
        return "-"
    if abs(value) >= 100:
        return f"{value:,.0f}"
    return f"{value:.2f}" if abs(value) >= 1 else f"{value:.3f}"


def cells(row: Row) -> tuple[str, ...]:
    baseline = f"{number(row.baseline)} ({row.baseline_name})" if row.baseline_name else number(row.baseline)
    ratio = "-" if row.ratio is None else f"{row.ratio:.2f}x"
    met = "-" if row.met is None else ("yes" if row.met else "NO")
    return (row.benchmark, row.metric, number(row.pixrelay), baseline, ratio, row.goal or "-", met)


def table(rows: list[Row]) -> str:
    lines = [cells(r) for r in rows]
    widths = [max(len(h), *(len(line[i]) for line in lines)) if lines else len(h) for i, h in enumerate(HEADER)]
    def fmt(values: tuple[str, ...]) -> str:
        return "| " + " | ".join(v.ljust(w) for v, w in zip(values, widths, strict=True)) + " |"
    return "\n".join([fmt(HEADER), "|" + "|".join("-" * (w + 2) for w in widths) + "|", *map(fmt, lines)])


async def run_all(names: list[str]) -> tuple[Results, dict[str, float]]:
    results = Results()
    took: dict[str, float] = {}
    for name in names:
        began = time.perf_counter()
        print(f"bench: {name} ...", file=sys.stderr, flush=True)
        try:
            await BENCHMARKS[name](results)
        except Exception as error:
            traceback.print_exc()
            results.add(Row(name, f"FAILED: {error.__class__.__name__}: {str(error)[:120]}", None, None, met=False))
        took[name] = time.perf_counter() - began
        print(f"bench: {name} done in {took[name]:.1f} s", file=sys.stderr, flush=True)
    return results, took


def report(results: Results, facts: dict[str, str], took: dict[str, float]) -> str:
    missed = [r for r in results.rows if r.met is False]
    lines = [
        "# pixrelay benchmarks", "",
        "Written by `make bench` (`python -m bench`); every benchmark runs beside its baseline in the same "
        "run, on loopback, against the local Postgres and Redis. Ratios are pixrelay / baseline.", "",
        "## Machine", "", *(f"- {k}: {v}" for k, v in facts.items()),
        *(f"- shortened: {k}={v}" for k, v in sorted(os.environ.items()) if k in SHORTENERS),
        f"- run time: {sum(took.values()):.0f} s ({', '.join(f'{k} {v:.0f} s' for k, v in took.items())})", "",
        "## Results", "", table(results.rows), "",
        f"Goals met: {sum(1 for r in results.rows if r.met)} of {sum(1 for r in results.rows if r.met is not None)}.",
        "",
    ]
    if results.notes:
        lines += ["## Notes from the run", "", *(f"- {n}" for n in results.notes), ""]
    if missed:
        lines += ["Missed: " + "; ".join(f"{r.benchmark} {r.metric}" for r in missed), ""]
    return "\n".join(lines)


def main() -> int:
    names = [n.strip() for n in os.environ.get("BENCH_ONLY", ",".join(BENCHMARKS)).split(",") if n.strip()]
    unknown = [n for n in names if n not in BENCHMARKS]
    if unknown:
        print(f"unknown benchmarks: {', '.join(unknown)}; known: {', '.join(BENCHMARKS)}", file=sys.stderr)
        return 2
    facts = asyncio.run(machine())
    results, took = asyncio.run(run_all(names))
    text = report(results, facts, took)
    print(text)
    if scale() == "full" and names == list(BENCHMARKS):
        analysis = ""
        if RESULTS_FILE.exists():  # keep the hand-written analysis below the generated part
            old = RESULTS_FILE.read_text()
            marker = "## Analysis"
            analysis = old[old.index(marker):] if marker in old else ""
        RESULTS_FILE.write_text(text + ("\n" + analysis if analysis else ""))
        print(f"written to {RESULTS_FILE}", file=sys.stderr)
    return 1 if any(r.metric.startswith("FAILED") for r in results.rows) else 0


if __name__ == "__main__":
    sys.exit(main())
