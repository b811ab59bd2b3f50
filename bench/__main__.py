"""`make bench`: every benchmark, each against a baseline measured in the same run."""

from __future__ import annotations

import argparse

from bench import (
    bench_complaints,
    bench_crawl,
    bench_ingest,
    bench_recheck,
    bench_report,
    bench_review,
    bench_scorer,
)
from bench.common import report

BENCHMARKS = {
    "complaints": bench_complaints.run,
    "crawl": bench_crawl.run, "ingest": bench_ingest.run, "review": bench_review.run, "scorer": bench_scorer.run,
    "recheck": bench_recheck.run, "report": bench_report.run,
}


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench")
    parser.add_argument("only", nargs="*", help=f"run only these benchmarks: {', '.join(BENCHMARKS)}")
    parser.add_argument("--quick", action="store_true", help="a tenth of the sizes, to check the benchmarks run")
    args = parser.parse_args()
    unknown = set(args.only) - set(BENCHMARKS)
    if unknown:
        parser.error(f"unknown benchmark(s): {', '.join(sorted(unknown))}")
    figures = []
    for name, run in BENCHMARKS.items():
        if not args.only or name in args.only:
            figures.extend(run(quick=args.quick))
    report(figures)


if __name__ == "__main__":
    main()
