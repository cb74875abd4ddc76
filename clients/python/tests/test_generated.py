"""The committed stubs are what generate.sh makes from proto/ now."""

import filecmp
import subprocess
import tempfile
import unittest
from pathlib import Path

CLIENT = Path(__file__).resolve().parents[1]


def differences(left: Path, right: Path) -> list:
    compared = filecmp.dircmp(left, right, ignore=["__pycache__"])
    found = [f"only in {left}: {n}" for n in compared.left_only] + [f"only in {right}: {n}" for n in compared.right_only]
    found += [f"differs: {left / n}" for n in compared.diff_files]
    _, mismatch, errors = filecmp.cmpfiles(left, right, compared.common_files, shallow=False)
    found += [f"differs: {left / n}" for n in mismatch + errors if f"differs: {left / n}" not in found]
    for name in compared.common_dirs:
        found += differences(left / name, right / name)
    return found


class GeneratedCode(unittest.TestCase):
    def test_the_committed_stubs_match_proto(self) -> None:
        with tempfile.TemporaryDirectory() as fresh:
            run = subprocess.run([str(CLIENT / "generate.sh"), fresh], capture_output=True, text=True)
            self.assertEqual(run.returncode, 0, run.stderr)
            found = []
            for package in ("auren/v1", "auren/google"):
                found += differences(CLIENT / package, Path(fresh) / package)
            self.assertEqual(found, [], "run clients/python/generate.sh and commit the result")


if __name__ == "__main__":
    unittest.main()
