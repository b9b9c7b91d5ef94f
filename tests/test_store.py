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


def test_a_database_from_before_backends_is_migrated_and_its_rows_read_as_hf(tmp_path):
    import sqlite3

    path = tmp_path / "old.sqlite"
    with sqlite3.connect(path) as db:  # the schema before generation backends were recorded
        db.execute("CREATE TABLE generations (key TEXT PRIMARY KEY, model_key TEXT NOT NULL, prompt_id TEXT NOT NULL, "
                   "sampling_key TEXT NOT NULL, prompt TEXT NOT NULL, text TEXT NOT NULL, tokens INTEGER NOT NULL, "
                   "finish_reason TEXT NOT NULL, created TEXT NOT NULL DEFAULT 'then')")
        db.execute("INSERT INTO generations (key, model_key, prompt_id, sampling_key, prompt, text, tokens, finish_reason) "
                   "VALUES ('old', 'm', 'p', 's', 'p', 'kept', 3, 'stop')")
    s = Store(path)
    s.put_generations([{**row("new"), "tokens": None, "backend": "api"}])  # an API that reported no usage
    got = Store(path).get_generations(["old", "new"])
    assert (got["old"]["text"], got["old"]["backend"], got["old"]["created"]) == ("kept", "hf", "then")
    assert (got["new"]["backend"], got["new"]["tokens"]) == ("api", None)
