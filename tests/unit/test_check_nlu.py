from pathlib import Path

from ops.check_nlu import examples, overlap, plain_text
from ops.render import ROOT

PHRASES = ROOT / "territory" / "demo" / "knowledge" / "phrases"


def test_plain_text_strips_annotations():
    text = 'jveux 1 rdv pr ma [cni]{"entity": "document_type", "value": "cni"} [jeudi](date)'
    assert plain_text(text) == "jveux 1 rdv pr ma cni jeudi"


def test_overlap_is_detected(tmp_path: Path):
    train = tmp_path / "train"
    train.mkdir()
    (train / "a.yml").write_text("nlu:\n- intent: greet\n  examples: |\n    - Bonjour  à vous\n")
    test = tmp_path / "test.yml"
    test.write_text("nlu:\n- intent: greet\n  examples: |\n    - bonjour à vous\n    - salut\n")
    assert overlap(train, test) == {"bonjour à vous"}


def test_held_out_set_is_really_held_out():
    """The NLU score only means something if no test phrase was seen in training."""
    assert overlap(ROOT / "data", ROOT / "tests" / "nlu") == set()
    assert overlap(PHRASES, ROOT / "tests" / "nlu") == set()


def test_every_intent_has_enough_varied_examples():
    # The knowledge phrasings' faq/<key> blocks are the top-level intent faq for the classifiers.
    train = examples(sorted((ROOT / "data").rglob("*.yml")) + sorted(PHRASES.glob("*.yml")))
    counts: dict = {}
    for intent in train.values():
        intent = intent.split("/", 1)[0]
        counts[intent] = counts.get(intent, 0) + 1
    assert len(counts) == 36  # + report_problem, share_photo, share_location, faq, reminder_request, rate_*
    assert min(counts.values()) >= 25, counts
    for test_file in (ROOT / "tests" / "nlu").glob("*.yml"):
        assert set(examples([test_file]).values()) == set(counts), test_file
