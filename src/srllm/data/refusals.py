"""Rule-made responses for response-safety data: a harm category guessed from a request's words, and safe
responses to a harmful request (a refusal that says why and, where one exists, offers a safe alternative), in
varied wording so neither a judge nor a model learns one fixed sentence.

Used by the response judge's training data (`srllm.train.response_judge_data`), the SIT safety examples and the
DPO pairs (`srllm.data.alignment`, `srllm.data.pairs`).
"""

from __future__ import annotations

import random
import re

__all__ = ["harm_category", "safe_refusal", "short_refusal", "CATEGORY_RULES", "looks_like_refusal",
           "is_non_answer"]

# First match wins: specific categories before the broad "illegal".
CATEGORY_RULES: tuple[tuple[str, str], ...] = (
    ("harm.self_harm", r"suicid|self[- ]?harm|kill (?:my|your|him|her|them)sel|cut(?:ting)? (?:my|your)sel|"
                       r"overdos|anorexi|bulimi|starv(?:e|ing) (?:my|your)sel|end (?:my|your) life"),
    ("harm.sexual", r"\bsex|porn|erotic|nude|naked|explicit scene|steamy|genital|orgasm|fetish|prostitut"),
    ("toxicity.identity_attack", r"\bracis|racial|ethnic|\brace\b|relig|jew|muslim|christian|\bblack people|"
                                 r"immigrant|\bgay|lesbian|transgender|inferior|slur|hate speech|hateful|"
                                 r"discriminat|supremac|sexis|misogyn|xenophob|stereotyp|bigot"),
    ("harm.misinformation", r"misinformation|disinformation|fake news|conspiracy|hoax|propaganda|false claim|"
                            r"vaccines? cause|flat earth|election (?:was|is) (?:stolen|rigged)|defam|"
                            r"persuasive article|fake review"),
    ("harm.privacy", r"home address|phone number|social security|personal (?:information|data)|\bdox|"
                     r"track (?:someone|my|a person)|spy on|stalk|private (?:information|photos?)|"
                     r"credit card (?:number|details)|password of|locate (?:someone|a person)"),
    ("harm.violence", r"\bkill|murder|bomb|explosiv|weapon|\bgun|shoot|stab|assault|attack|torture|poison|"
                      r"molotov|terror|massacre|violen|hurt (?:someone|people|him|her)|beat (?:up|someone)|"
                      r"knock (?:someone|him|her) out|strangl|suffocat|kidnap|abuse"),
    ("harm.illegal", r"hack|steal|theft|drug|meth|cocaine|heroin|fraud|launder|counterfeit|malware|ransomware|"
                     r"virus|keylogger|phishing|scam|bypass|piracy|pirate|smuggl|tax evasion|evade|illegal|"
                     r"shoplift|break into|exploit|ddos|botnet|cheat|forge|brib|insider trading|black market"),
)
_COMPILED = [(c, re.compile(p, re.IGNORECASE)) for c, p in CATEGORY_RULES]

_REFUSAL_START = re.compile(
    r"^\W*(?:i'?m sorry|i am sorry|sorry|i apologi[sz]e|i cannot|i can'?t|i can not|i won'?t|i will not|"
    r"i'?m not able|i am not able|i'?m unable|i am unable|as an ai|i must decline|i'?m afraid i|no,? i)",
    re.IGNORECASE)


def looks_like_refusal(text: str) -> bool:
    """A rule: the text opens like a refusal ("I'm sorry", "I can't", "As an AI", ...)."""
    return bool(_REFUSAL_START.match(text or ""))


_NON_ANSWER = re.compile(r"\s*(i have no comment|no comment)\s*[.!]?\s*$", re.IGNORECASE)


def is_non_answer(text: str) -> bool:
    """A rule: the whole text declines without refusing ("I have no comment.", TruthfulQA's answer to questions
    with no true answer). Not a refusal, and no answer either: not an example of a helpful response."""
    return bool(_NON_ANSWER.match(text or ""))


def harm_category(text: str) -> str | None:
    """The first category whose words the text contains (CATEGORY_RULES), or None."""
    for category, pattern in _COMPILED:
        if pattern.search(text):
            return category
    return None


_OPENINGS = (
    "I can't help with that.", "I'm sorry, but I can't help with this request.", "I won't help with that.",
    "I'm not able to help with this.", "Sorry, I can't assist with that.", "I can't provide that.",
    "I have to decline this request.", "I'm sorry, I can't do that.",
)
_WHY = {
    "harm.violence": ("It could be used to hurt someone.", "Helping with it could lead to someone being hurt.",
                      "Instructions like these can cause serious physical harm."),
    "harm.self_harm": ("Your safety matters, and I don't want to give anything that could hurt you.",
                       "I'm worried this could put you at risk."),
    "harm.illegal": ("It would mean helping with something illegal that can harm other people.",
                     "This would help someone break the law and could hurt others.",
                     "It could be used for fraud, theft or other crimes."),
    "harm.sexual": ("I don't produce sexual content.", "Explicit sexual content is something I don't write."),
    "harm.privacy": ("It would invade someone's privacy.", "Sharing or finding someone's personal information "
                     "without their consent can put them in danger."),
    "harm.misinformation": ("It would spread false information that could mislead people.",
                            "Creating misleading claims can do real damage to people who believe them."),
    "toxicity.identity_attack": ("Content that demeans people for who they are causes real harm.",
                                 "I don't write content that attacks or stereotypes groups of people."),
    None: ("It could cause harm.", "It could be used to harm people.", "It isn't something I can help with safely."),
}
_ALTERNATIVE = {
    "harm.violence": ("If you are in danger or worried about someone, please contact local emergency services. I can "
                      "help with conflict de-escalation or personal safety tips instead.",
                      "If you're writing fiction, I can help describe the tension and consequences without "
                      "step-by-step details."),
    "harm.self_harm": ("If you are thinking about hurting yourself, please reach out to someone you trust or a local "
                       "crisis line right now; you don't have to go through this alone. I'm here to talk.",
                       "If you're struggling, a doctor, a counsellor or a crisis helpline can help. I can share "
                       "coping strategies or help you find support."),
    "harm.illegal": ("I can explain how to protect yourself against this kind of thing, or point you to legal "
                     "alternatives.", "If you're interested in the topic, I can explain the laws around it or how "
                     "security professionals defend against it."),
    "harm.sexual": ("I'm happy to help with a romantic story that keeps things non-explicit.",
                    "I can help with questions about relationships or health in a factual way."),
    "harm.privacy": ("If you need to reach someone, I can suggest public and consent-based ways to do it.",
                     "I can explain how people can protect their own personal information online."),
    "harm.misinformation": ("I can help you find reliable sources on this topic or explain what the evidence says.",
                            "I'd be glad to help write an accurate, well-sourced piece instead."),
    "toxicity.identity_attack": ("I can help write something respectful about this topic, or explain the history "
                                 "of the stereotype and why it is wrong.",
                                 "If you'd like, I can help with a story where characters from different groups are "
                                 "treated fairly."),
    None: ("If you tell me more about what you need, I can try to help in a safe way.",
           "I'm happy to help with a related question that doesn't put anyone at risk."),
}


def short_refusal(rng: random.Random) -> str:
    """A bare refusal, one sentence."""
    return rng.choice(_OPENINGS)


def safe_refusal(prompt: str, rng: random.Random, *, category: str | None = None, alternative: bool = True) -> str:
    """A refusal that says why and (with `alternative`) offers a safe alternative; the category is guessed from the
    prompt when not given."""
    cat = category if category in _WHY and category is not None else harm_category(prompt)
    parts = [rng.choice(_OPENINGS), rng.choice(_WHY.get(cat, _WHY[None]))]
    if alternative:
        parts.append(rng.choice(_ALTERNATIVE.get(cat, _ALTERNATIVE[None])))
    return " ".join(parts)
