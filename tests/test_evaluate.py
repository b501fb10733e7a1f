"""`workbench eval`'s scoring: the edit script behind CER/WER, confusion pairs and where errors sit."""

import json
from functools import lru_cache
from pathlib import Path
from types import SimpleNamespace

from hypothesis import given
from hypothesis import strategies as st

from workbench.evaluate import edit_distance, edits, evaluate, units

ROOT = Path(__file__).parent.parent


def levenshtein(a: tuple, b: tuple) -> int:
    """The textbook recursion, memoised: an oracle independent of `edits`' table and backtrace."""
    @lru_cache(maxsize=None)
    def d(i: int, j: int) -> int:
        if i == 0 or j == 0:
            return i + j
        return min(d(i - 1, j) + 1, d(i, j - 1) + 1, d(i - 1, j - 1) + (a[i - 1] != b[j - 1]))
    return d(len(a), len(b))


def apply(ref: list[str], script: list[tuple[int, str, str]]) -> list[str]:
    """Carry out an edit script on `ref`."""
    out = []
    for i in range(len(ref) + 1):
        here = [(r, h) for pos, r, h in script if pos == i]
        out += [h for r, h in here if not r]  # insertions before unit i
        if i < len(ref):
            replaced = [h for r, h in here if r]
            if replaced:
                assert here[-1][0] == ref[i]  # the edit names the unit it changes
                out += [h for h in replaced if h]
            else:
                out.append(ref[i])
    return out


@given(st.lists(st.sampled_from("abc"), max_size=9), st.lists(st.sampled_from("abc"), max_size=9))
def test_edit_script_is_minimal_and_turns_ref_into_hyp(ref, hyp):
    script = edits(ref, hyp)
    assert len(script) == edit_distance(ref, hyp) == levenshtein(tuple(ref), tuple(hyp))
    assert apply(ref, script) == hyp
    assert [pos for pos, _, _ in script] == sorted(pos for pos, _, _ in script)


def test_edit_script_names_the_confusion():
    assert edits(list("李建华"), list("黎建华")) == [(0, "李", "黎")]  # one substitution, not delete + insert
    assert edits(list("abc"), list("xabc")) == [(0, "", "x")]
    assert edits(list("abc"), list("ab")) == [(2, "c", "")]
    assert edits([], []) == []


def fake_pipeline(texts: dict[str, str]):
    return SimpleNamespace(transcribe=lambda file, **_: SimpleNamespace(text=texts[file], duration=2.0, tokens=[]))


def test_report_counts_confusions_and_where_errors_sit():
    refs = [{"file": "a", "language": "zh", "text": "贺子涵去了长沙", "held_out_voice": False},
            {"file": "b", "language": "zh", "text": "江春梅在东京", "held_out_voice": False},
            {"file": "c", "language": "zh", "text": "李建华去了郑州", "held_out_voice": True},
            {"file": "d", "language": "en", "text": "there were twenty notebooks", "held_out_voice": False}]
    hyps = {"a": "何子涵去了长沙", "b": "江春梅在东京了", "c": "黎建华去郑州", "d": "where were twenty notebooks too"}
    report = evaluate(fake_pipeline(hyps), refs)
    rows, summary = report["utterances"], report["summary"]
    assert [r["edits"] for r in rows] == [[[0, "贺", "何"]], [[6, "", "了"]], [[0, "李", "黎"], [4, "了", ""]],
                                          [[0, "there", "where"], [4, "", "too"]]]
    assert [r["errors"] for r in rows] == [1, 1, 2, 2]
    assert summary["CER (zh)"] == 4 / 20 and summary["WER (en)"] == 2 / 4
    # zh: a and c lose their first unit, b gains text after its last; one inner error (c's 了) over
    # 5 + 4 + 5 inner units. en: both edges, nothing between.
    assert summary["edges (zh)"] == {"first unit wrong": 2 / 3, "last unit wrong": 1 / 3, "inner CER": 1 / 14}
    assert summary["edges (en)"] == {"first unit wrong": 1, "last unit wrong": 1, "inner WER": 0}
    assert summary["confusions"][:2] == [["贺", "何", 1], ["", "了", 1]] and len(summary["confusions"]) == 6
    held = summary["held-out voice"]
    assert held["CER (zh)"] == 2 / 7 and held["edges (zh)"]["first unit wrong"] == 1


def test_cli_report_edits_rebuild_every_hypothesis(tmp_path, capsys):
    from workbench.cli import main

    assert main(["eval", str(ROOT / "sample_audio" / "refs.tsv"), "--model", "paraformer-demo", "--limit", "3",
                 "--json", str(tmp_path / "r.json")]) == 0
    report = json.loads((tmp_path / "r.json").read_text())
    assert json.loads(capsys.readouterr().out.splitlines()[-1]) == report["summary"]
    for row in report["utterances"]:
        ref, hyp = units(row["reference"], row["language"]), units(row["hypothesis"], row["language"])
        assert apply(ref, [tuple(e) for e in row["edits"]]) == hyp and row["errors"] == len(row["edits"])
    first_wrong = [units(r["reference"], "zh")[0] != units(r["hypothesis"], "zh")[0] for r in report["utterances"]]
    assert report["summary"]["edges (zh)"]["first unit wrong"] == sum(first_wrong) / 3
