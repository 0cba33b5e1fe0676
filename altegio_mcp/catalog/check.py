"""Compare the catalog with the official operation list: nothing missing, nothing invented.

Run `python -m altegio_mcp.catalog.check`; exits 1 and lists the differences if there are any.
Every v1 operation of `operations.tsv` must be in `catalog.json` or listed there as deliberately
excluded (with a reason); every v1 operation of the catalog must be in the list.
"""

from __future__ import annotations

import csv
import sys
from dataclasses import dataclass, field
from importlib import resources

from altegio_mcp import catalog


@dataclass(slots=True)
class Report:
    listed: int = 0
    catalogued: int = 0
    excluded: int = 0
    full: int = 0
    missing: list[str] = field(default_factory=list[str])
    invented: list[str] = field(default_factory=list[str])
    tag_mismatch: list[str] = field(default_factory=list[str])

    @property
    def ok(self) -> bool:
        return not (self.missing or self.invented or self.tag_mismatch)


def official_list() -> list[tuple[str, str, str, str]]:
    """(tag, method, path, title) of every v1 operation in the official list."""
    text = resources.files(catalog.__name__).joinpath("operations.tsv").read_text(encoding="utf-8")
    rows = csv.DictReader(text.splitlines(), delimiter="\t")
    return [(r["tag"], r["method"], r["path"], r["summary"]) for r in rows]


def compare() -> Report:
    report = Report()
    listed = {(m, p): tag for tag, m, p, _title in official_list()}
    report.listed = len(listed)
    v1 = {(op.method, op.path): op for op in catalog.operations() if op.version == "v1"}
    out = {(e.method, e.path) for e in catalog.excluded() if e.reason.strip()}
    report.catalogued, report.excluded = len(v1), len(out)
    report.full = sum(op.facts == "full" for op in v1.values())
    for key, tag in listed.items():
        if key not in v1 and key not in out:
            report.missing.append(" ".join(key))
        elif key in v1 and v1[key].tag != tag:
            report.tag_mismatch.append(f"{' '.join(key)}: {v1[key].tag} != {tag}")
    report.invented = [" ".join(key) for key in [*v1, *out] if key not in listed]
    return report


def main() -> int:
    report = compare()
    sys.stderr.write(
        f"listed {report.listed}, catalogued {report.catalogued} (full facts {report.full}), "
        f"excluded {report.excluded}\n"
    )
    for title, items in (
        ("missing", report.missing),
        ("invented", report.invented),
        ("tag", report.tag_mismatch),
    ):
        for item in items:
            sys.stderr.write(f"{title}: {item}\n")
    return 0 if report.ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
