"""Judges: keyword, offline refusal classifier, policy and StrongREJECT rubrics, guard classifiers.

Every judge follows the ``Judge`` protocol (``key``, ``kind``, ``judge_batch``); the stage
``judge_cached`` caches verdicts and turns every failure into an error verdict.
"""

from alignscope.http import ChatClient, EndpointConfig
from alignscope.judge._agree import cohen_kappa, compare, human_projection, project
from alignscope.judge._classifier import train_probe
from alignscope.judge._defang import defang, special_token_strings
from alignscope.judge._keyword import QI2023_REFUSAL_KEYWORDS, KeywordJudge
from alignscope.judge._policy import (
    POLICY_RUBRIC,
    STRONGREJECT_RUBRIC,
    ParseError,
    PolicyJudge,
    StrongRejectJudge,
    load_template,
    parse_policy,
    parse_strongreject,
)
from alignscope.judge._stage import (
    JUDGES,
    PARSE_FAILURE,
    Judge,
    JudgeSpec,
    as_spec,
    build_judges,
    get_judge,
    judge_cached,
    stored_verdict,
    verdict_key,
    worth_retrying,
)

__all__ = [
    "JUDGES",
    "PARSE_FAILURE",
    "cohen_kappa",
    "compare",
    "human_projection",
    "project",
    "train_probe",
    "special_token_strings",
    "load_template",
    "POLICY_RUBRIC",
    "QI2023_REFUSAL_KEYWORDS",
    "STRONGREJECT_RUBRIC",
    "ChatClient",
    "EndpointConfig",
    "Judge",
    "JudgeSpec",
    "KeywordJudge",
    "ParseError",
    "PolicyJudge",
    "StrongRejectJudge",
    "as_spec",
    "build_judges",
    "defang",
    "get_judge",
    "judge_cached",
    "parse_policy",
    "parse_strongreject",
    "stored_verdict",
    "verdict_key",
    "worth_retrying",
]
