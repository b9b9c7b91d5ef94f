"""Judges: the ``Judge`` protocol, the keyword judge, and the cached ``judge`` stage."""

from alignscope.judge._keyword import QI2023_REFUSAL_KEYWORDS, KeywordJudge
from alignscope.judge._stage import JUDGES, Judge, get_judge, judge_cached, verdict_key

__all__ = ["JUDGES", "QI2023_REFUSAL_KEYWORDS", "Judge", "KeywordJudge", "get_judge", "judge_cached", "verdict_key"]
