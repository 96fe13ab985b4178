from voicecoach.vocabulary import (
    PHRASES,
    Intent,
    find_command_phrase,
    grammar_words,
    match_intent,
    normalize,
    phrases_for,
)


def test_every_intent_has_a_phrase():
    assert {i for i in PHRASES.values()} == set(Intent)


def test_normalize_strips_punctuation_and_case():
    assert normalize("That hurts,  STOP!") == "that hurts stop"


def test_whole_utterance_maps_to_intent():
    assert match_intent("That hurts, stop").intent is Intent.PAIN
    assert match_intent("ouch").intent is Intent.PAIN
    assert match_intent("Go on.").intent is Intent.RESUME
    assert match_intent("next one").intent is Intent.NEXT
    assert match_intent("hello there") is None
    assert match_intent("stop the music") is None


def test_safety_intents():
    assert Intent.PAIN.is_safety and Intent.STOP.is_safety
    assert not any(i.is_safety for i in Intent if i not in (Intent.PAIN, Intent.STOP))


def test_find_command_phrase_in_spoken_text():
    assert find_command_phrase("Go on all fours") == "go on"
    assert find_command_phrase("Stopping is fine") == "stopping"
    assert find_command_phrase("If it hurts, leave it out") == "it hurts"
    assert find_command_phrase("Waiting for you") == "waiting"
    assert find_command_phrase("Walking hurts? Leave it out.") == "hurts"
    # Words that merely start like a command are fine.
    assert find_command_phrase("Press against the mat") is None
    assert find_command_phrase("Get onto all fours, coming up: bridge") is None
    assert find_command_phrase("This is helpful") is None


def test_every_phrase_is_found_in_text_containing_it():
    for phrase in PHRASES:
        assert find_command_phrase(f"well {phrase} there") is not None, phrase


def test_phrases_for_and_grammar_words():
    assert "that hurts" in phrases_for(Intent.PAIN)
    words = grammar_words()
    assert "hurts" in words and "stop" in words and words == sorted(set(words))


def test_expected_answers_are_parsed_to_values():
    from voicecoach.vocabulary import Choice, Expectation, Number

    pain = Expectation(answer=Number(0, 10))
    assert [pain.parse(t) for t in ("Seven.", "7", "zero", "11", "eleven", "about seven")] == [
        7,
        7,
        0,
        None,
        None,
        None,
    ]
    assert pain.answer_phrases()["ten"] == 10 and "eleven" not in pain.answer_phrases()
    dose = Expectation(answer=Choice.of("easy", "fine", "hard"))
    assert (dose.parse("Fine!"), dose.parse("fin"), Expectation().parse("fine")) == (
        "fine",
        None,
        None,
    )
    loose = Choice((("core stability", "core"),), cutoff=0.75)
    assert loose.match("core stabilty") == "core"
