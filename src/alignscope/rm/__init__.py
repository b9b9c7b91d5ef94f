"""Reward-model reliability study (after Li et al. 2025, "Picky LLMs and Unreliable RMs").

Scorers: the ``RewardModel`` protocol (sequence classifier, implicit DPO reward) and the
``PairwiseRM`` protocol (a generative judge comparing two responses in both orders), all
cached in the workspace store as verdicts. Metrics: pure functions of RM scores and labels:
pairwise accuracy with tie policies, agreement (Fleiss' and Cohen's κ), McNemar tests,
temperature calibration, length/format bias probes, the RM-Bench style matrix, and whether
RM rankings track true safety.
"""

from alignscope.rm._config import RMEvalConfig, load_rm_config
from alignscope.rm._implicit import ImplicitRewardRM
from alignscope.rm._metrics import (
    FLAG_ERROR_RATE,
    RMBENCH_STYLES,
    TIE_POLICIES,
    accuracy,
    accuracy_by,
    calibration,
    fit_temperature,
    fleiss_kappa,
    fleiss_kappa_counts,
    kappa_vs_human,
    kendall_tau,
    longer_baseline,
    margin_length_correlation,
    mcnemar_by_category,
    mcnemar_rms,
    pair_outcome,
    pairwise_kappas,
    pearson,
    rmbench_matrix,
    selection_regret,
    sensitivity,
    split_heldout,
)
from alignscope.rm._pairwise import PAIRWISE_PROMPT, PairwiseJudgeRM, parse_pairwise
from alignscope.rm._protocol import (
    PairScores,
    PairwiseRM,
    RewardModel,
    order_swap_disagreement,
    pair_preference,
    pairwise_prefs,
    response_id,
    score_pairs,
)
from alignscope.rm._seqcls import SequenceClassifierRM
from alignscope.rm._stage import run_rm_eval

__all__ = [
    "load_rm_config",
    "run_rm_eval",
    "FLAG_ERROR_RATE",
    "RMBENCH_STYLES",
    "TIE_POLICIES",
    "accuracy",
    "accuracy_by",
    "calibration",
    "fit_temperature",
    "fleiss_kappa",
    "fleiss_kappa_counts",
    "kappa_vs_human",
    "kendall_tau",
    "longer_baseline",
    "margin_length_correlation",
    "mcnemar_by_category",
    "mcnemar_rms",
    "pair_outcome",
    "pairwise_kappas",
    "pearson",
    "rmbench_matrix",
    "selection_regret",
    "sensitivity",
    "split_heldout",
    "PAIRWISE_PROMPT",
    "ImplicitRewardRM",
    "PairScores",
    "PairwiseJudgeRM",
    "PairwiseRM",
    "RewardModel",
    "SequenceClassifierRM",
    "order_swap_disagreement",
    "pair_preference",
    "pairwise_prefs",
    "parse_pairwise",
    "response_id",
    "score_pairs",
    "RMEvalConfig",
    "load_rm_config",
    "run_rm_eval",
]
