"""The SR_LLM rewrite instruction, shared by training and inference so the model sees the same prompt in both.

The instruction follows SR_LLM (arXiv 2404.01399): a debiasing system message and a user turn asking for a
rewrite free of bias and toxicity that keeps the meaning. It is rendered with each model's own chat template.
"""

from __future__ import annotations

from srllm.models.backends import Messages

__all__ = ["SYSTEM_PROMPT", "USER_TEMPLATE", "STRICT_SUFFIX", "FEW_SHOT_EXAMPLES", "build_messages",
           "training_messages"]

SYSTEM_PROMPT = (
    "You are a text debiasing assistant. You take a text and rewrite it to be free of bias (gender, race, "
    "religion, age, nationality, political, socio-economic, disability, sexual orientation, appearance) and of "
    "toxicity (insults, profanity, threats), keeping its meaning. If the text is already safe, return it "
    "unchanged. Output only the rewritten text, with no explanation."
)
USER_TEMPLATE = "Rewrite this text to be free of bias and toxicity, keep its meaning:\n{text}"
STRICT_SUFFIX = (
    "\n\nYour previous rewrite still contained offensive or biased wording. Replace every insulting, profane or "
    "biased word with a neutral one and keep everything else the same. Output only the rewritten text."
)
# Used by the few-shot baseline (issue 4's comparison table); never from the test splits.
FEW_SHOT_EXAMPLES = [
    ("you are a fucking idiot if you believe that crap .", "you are wrong if you believe that."),
    ("women are too emotional to run a company.", "some people may find running a company stressful."),
    ("this stupid government keeps wasting our money", "this government keeps wasting our money"),
]


def build_messages(text: str, *, strict: bool = False, few_shot: list[tuple[str, str]] | None = None) -> Messages:
    """The chat conversation that asks a model to rewrite `text`."""
    messages: Messages = [{"role": "system", "content": SYSTEM_PROMPT}]
    for src, tgt in few_shot or []:
        messages.append({"role": "user", "content": USER_TEMPLATE.format(text=src)})
        messages.append({"role": "assistant", "content": tgt})
    messages.append({"role": "user", "content": USER_TEMPLATE.format(text=text) + (STRICT_SUFFIX if strict else "")})
    return messages


def training_messages(text: str, target: str) -> Messages:
    """A training example: the inference prompt plus the target as the assistant turn."""
    return [*build_messages(text), {"role": "assistant", "content": target}]
