from alignscope.store import Store


def row(key: str, text: str = "t") -> dict:
    return {"key": key, "model_key": "m", "prompt_id": key, "sampling_key": "s", "prompt": "p", "text": text, "tokens": 1, "finish_reason": "stop"}


def test_insert_is_idempotent_and_first_write_wins(tmp_path):
    s = Store(tmp_path / "a.sqlite")
    s.put_generations([row("a", "first"), row("b")])
    s.put_generations([row("a", "second")])
    assert s.count("generations") == 2
    assert s.get_generations(["a"])["a"]["text"] == "first"


def test_survives_reopen(tmp_path):
    Store(tmp_path / "a.sqlite").put_generations([row("a")])
    assert set(Store(tmp_path / "a.sqlite").get_generations(["a", "zz"])) == {"a"}


def test_many_keys_beyond_sqlite_parameter_limit(tmp_path):
    s = Store(tmp_path / "a.sqlite")
    s.put_generations([row(str(i)) for i in range(1200)])
    assert len(s.get_generations(str(i) for i in range(1300))) == 1200
