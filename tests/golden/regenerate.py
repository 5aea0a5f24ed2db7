"""Write the golden summaries: ``python -m tests.golden.regenerate`` from the repo root.

Each library scenario's ``summary.json`` at 2,000 paths and the default seed,
as the engine gives it now.  A change that moves numbers on purpose runs this
in the same commit and says why in its message.
"""

import json
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]
GOLDEN_PATHS = 2_000


def library_scenarios() -> list[Path]:
    from tests.test_golden import library_scenario_files

    return library_scenario_files()


def golden_summary(path: Path) -> dict:
    import pivotsim

    result = pivotsim.run(path, paths=GOLDEN_PATHS)
    # Round-trip through JSON: the comparison is on what summary.json holds.
    return json.loads(result.to_json())


def main() -> int:
    for path in library_scenarios():
        out = HERE / f"{path.stem}.json"
        out.write_text(json.dumps(golden_summary(path), indent=1, ensure_ascii=False) + "\n")
        print(f"wrote {out.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
