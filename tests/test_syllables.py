"""English syllable units for paraformer-demo's vocabulary: espeak-ng's count, the spelling's cut,
and the vocabulary built from them (a continued run moving onto it: test_train.py)."""

import shutil

import pytest

from workbench.train.syllables import ipa_syllables, split_word, spoken_syllables
from workbench.train.vocab import ParaformerVocab

needs_espeak = pytest.mark.skipif(shutil.which("espeak-ng") is None, reason="espeak-ng not installed")


@pytest.mark.parametrize("ipa, count", [
    ("ðˈə", 1), ("sˈɛvəntˌi", 3), ("nˈaɪntiːn", 2),  # aɪ is one vowel
    ("ɐbˈaʊt", 2), ("fˈɔːɹɾiəθ", 3),  # i then ə: two
    ("wˈɪndoʊ", 2), ("ɹˈʌnɪŋ", 2),  # ɪ after a consonant still counts
    ("pst", 0),
])
def test_ipa_syllables_counts_vowels_with_a_diphthong_once(ipa, count):
    assert ipa_syllables(ipa) == count


@pytest.mark.parametrize("word, syllables, pieces", [
    ("seventy", 3, ["se", "ven", "ty"]),
    ("hundred", 2, ["hun", "dred"]),
    ("five", 1, ["five"]),  # the silent e joins the nucleus before it
    ("radio", 3, ["ra", "di", "o"]),  # a vowel group cut in two
    ("squirrel", 1, ["squirrel"]),  # two vowel groups merged
    ("mother", 2, ["mo", "ther"]),  # th stays whole
    ("jacket", 2, ["jack", "et"]),
    ("pdf", 3, ["p", "d", "f"]),  # letter names: one piece per letter
    ("ok", 2, ["o", "k"]),
    ("you", 1, ["you"]),  # a leading y is a consonant
])
def test_split_word_gives_the_asked_number_of_pieces(word, syllables, pieces):
    assert split_word(word, syllables) == pieces


def test_split_word_without_a_count_uses_the_spelling():
    assert split_word("window") == ["win", "dow"]
    assert split_word("game") == ["game"]
    assert split_word("rhythm") == ["rhythm"]


@needs_espeak
def test_spoken_syllables_are_espeaks_count():
    counts = spoken_syllables(["the", "seventy", "hospital", "nineteen", "window", "thousand"])
    assert counts == {"the": 1, "seventy": 3, "hospital": 3, "nineteen": 2, "window": 2, "thousand": 2}
    assert spoken_syllables([]) == {}


@needs_espeak
def test_syllable_vocabulary_encodes_each_english_syllable_as_one_token(tmp_path):
    vocab = ParaformerVocab.build(["seventy five dollars", "我们开会", "请发email给我"], english_units="syllables")
    pieces = [vocab.tokens[i] for i in vocab.encode("seventy five dollars")]
    assert pieces == ["se@@", "ven@@", "ty", "five", "dol@@", "lars"]
    assert [vocab.tokens[i] for i in vocab.encode("发email")] == ["发", "e@@", "mail"]
    assert vocab.tokens[:3] == ["<blank>", "<s>", "</s>"] and vocab.tokens[-1] == "<unk>"
    # A word the training text did not have is cut by its spelling; pieces the vocabulary lacks are <unk>.
    assert [vocab.tokens[i] for i in vocab.encode("seven")] == ["se@@", "<unk>"]
    assert vocab.save(tmp_path) == ["tokens.json", "english_syllables.json"]
    again = ParaformerVocab.load(tmp_path)
    assert again.syllables == vocab.syllables and again.encode("seventy five") == vocab.encode("seventy five")

    from workbench.cif_check import reference_tokenizer
    (tmp_path / "config.json").write_text("{}")
    assert reference_tokenizer(tmp_path).encode("dollars") == vocab.encode("dollars")


def test_syllable_units_refuse_a_bpe_size_and_unknown_units():
    from workbench.errors import WorkbenchError
    from workbench.train.run import _paraformer_vocab

    with pytest.raises(WorkbenchError, match="--english-pieces sets the size of a BPE vocabulary"):
        _paraformer_vocab(["hello"], None, 100, "syllables")
    with pytest.raises(WorkbenchError, match="English units must be one of bpe, syllables, not 'words'"):
        ParaformerVocab.build(["hello"], english_units="words")
