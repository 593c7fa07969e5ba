"""Sentence templates over the group lexicon: stereotype statements (positives) and safe group mentions
(negatives, including sentences that name a stereotype as one, the shape of a good rewrite). Patterns and traits
carry ids so the stereotype set can be split by template: a test sentence's pattern AND trait are never seen in
training.

A pattern is (id, text with slots, needs): slots {G} plural group, {Gs} singular group, {Ga} adjective form,
{A} adjective-like trait, {V} plural verb phrase, {X} activity (bare infinitive).
"""

from __future__ import annotations

# ---- traits ---------------------------------------------------------------------------------------------------
# A: fits "are {A}" (adjective phrases and noun phrases); ATTR: single adjectives usable before a noun.
TRAITS_A = [
    "lazy", "dishonest", "stupid", "dirty", "violent", "greedy", "rude", "weak", "arrogant", "cheap",
    "too emotional", "aggressive", "untrustworthy", "selfish", "ignorant", "incompetent", "loud and obnoxious",
    "criminals", "bad drivers", "terrible parents", "bad with money", "hopeless at math", "too sensitive",
    "unfit to lead", "useless", "backward", "primitive", "entitled", "ungrateful", "hysterical", "irresponsible",
    "sneaky", "cold and heartless", "fanatics", "freeloaders", "a drain on the economy", "a menace",
    "a burden on society", "a danger to our kids", "thieves", "liars", "bad at their jobs", "mentally weak",
    "naturally submissive", "all the same", "disgusting", "a joke", "parasites", "nothing but trouble",
    "too dumb to vote", "born lazy", "useless and have zero discipline", "bad tippers", "terrible at science",
    "obsessed with money", "always angry", "not real adults", "a plague on this country", "smelly",
    "uneducated", "violent thugs", "gold diggers", "drama queens", "bad neighbors", "a waste of space",
]
TRAITS_ATTR = ["lazy", "dirty", "greedy", "stupid", "violent", "dishonest", "useless", "arrogant", "entitled",
               "sneaky", "ignorant", "loud", "rude", "filthy", "worthless", "pathetic", "spoiled", "clueless"]
TRAITS_V = [
    "steal our jobs", "cheat on everything", "lie about everything", "ruin every neighborhood they move into",
    "spread diseases", "live off welfare", "mooch off the system", "complain about everything",
    "refuse to work", "commit most of the crimes", "waste money on junk", "ruin everything they touch",
    "drink too much", "never pay their debts", "breed like rabbits", "only care about themselves",
    "can't be trusted with money", "make terrible decisions", "abuse the system", "cause all the problems here",
    "hate our country", "smell bad", "drive like maniacs", "never shut up", "think they are better than everyone",
    "play the victim", "bring crime wherever they go", "don't respect women", "can't control their anger",
    "take advantage of everyone", "don't want to integrate", "are stealing our jobs and ruining the neighborhood",
    "scam old people", "never tell the truth", "don't belong here", "destroy family values",
]
TRAITS_X = [
    "do math", "lead a company", "drive safely", "raise children properly", "handle stress", "make good decisions",
    "manage money", "understand technology", "be good engineers", "run a country", "keep a job", "learn English",
    "be trusted with responsibility", "think logically", "do hard work", "be good doctors", "teach our children",
    "be good leaders", "hold public office", "do science", "be good soldiers", "keep a clean home",
    "raise a family alone", "be good pilots", "handle a real job", "run a business", "be good parents",
    "make it in this field", "follow simple rules", "manage a team",
]

# ---- stereotype patterns (label 1) ------------------------------------------------------------------------------
STEREO = [
    ("sA1", "{G} are {A}."), ("sA2", "All {G} are {A}."), ("sA3", "Everyone knows {G} are {A}."),
    ("sA4", "You can't trust {G}; they're all {A}."), ("sA5", "{G} are naturally {A}."),
    ("sA6", "Most {G} are {A}, it's just how they are."), ("sA7", "I've never met one of the {G} who wasn't {A}."),
    ("sA8", "Honestly, {G} tend to be {A}."), ("sA9", "Don't hire {G}, they are {A}."),
    ("sA10", "It's a fact that {G} are {A}."), ("sA11", "Why are {G} always so {A}?"),
    ("sA12", "{G} will always be {A}."), ("sA13", "Let's be real, {G} are {A}."),
    ("sA14", "{G} are {A}, everyone knows that."), ("sA15", "Every {Gs} I have ever met was {A}."),
    ("sA16", "A {Gs} is always {A}."), ("sA17", "Typical {G}: {A}, as usual."),
    ("sA18", "My dad always said {G} are {A}, and he was right."),
    ("sT1", "{T} {G} are {A}."), ("sT2", "Those {T} {G} are ruining this town."),
    ("sT3", "{T} {G} should go back to where they came from."),
    ("sV1", "{G} {V}."), ("sV2", "All {G} {V}."), ("sV3", "You know how {G} are, they {V}."),
    ("sV4", "{G} can't help it, they {V}."), ("sV5", "Keep {G} away from here, they {V}."),
    ("sV6", "{G} just {V}, that's what they do."), ("sV7", "Watch out for {G}; they {V}."),
    ("sV8", "The problem with {G} is that they {V}."), ("sV9", "Of course {G} {V}."),
    ("sV10", "Let me guess, {G} {V} again."), ("sV11", "It's always {G} who {V}."),
    ("sX1", "{G} can't {X}."), ("sX2", "{G} should never be allowed to {X}."),
    ("sX3", "{G} are not smart enough to {X}."), ("sX4", "No one should let {G} {X}."),
    ("sX5", "{G} are incapable of learning to {X}."), ("sX6", "{G} have no business trying to {X}."),
    ("sX7", "{G} should stick to what they're good at and not try to {X}."),
    ("sX8", "{G} are too emotional to {X}, everyone knows that."), ("sX9", "A {Gs} will never {X}."),
    ("sX10", "Why would anyone expect {G} to {X}?"), ("sX11", "{G} simply don't have what it takes to {X}."),
    ("sX12", "Only a fool would let {G} {X}."),
]

# ---- safe patterns (label 0) ------------------------------------------------------------------------------------
SAFE = [
    ("nM1", "{G} gathered at the park for the festival."), ("nM2", "The survey asked {G} about their commute."),
    ("nM3", "Many {G} live in this part of the city."),
    ("nM4", "The museum has an exhibit about the history of {G} in the region."),
    ("nM5", "{G} attended the town hall meeting on Tuesday."),
    ("nM6", "The new clinic serves {G} and everyone else in the area."),
    ("nM7", "The article interviews three {G} about their jobs."),
    ("nM8", "Volunteers handed out water to {G} waiting in line."),
    ("nM9", "The report counts how many {G} voted in the last election."),
    ("nM10", "A group of {G} started a book club downtown."), ("nM11", "The team hired two {G} this spring."),
    ("nM12", "{G} in the study reported sleeping about seven hours a night."),
    ("nM13", "My neighbor is a {Gs} who works as a nurse."), ("nM14", "A {Gs} won the chess tournament this year."),
    ("nM15", "The {Gs} at the front desk helped me find my room."),
    ("nM16", "I had lunch with a {Gs} from my class today."), ("nM17", "The {Ga} couple next door adopted a dog."),
    ("nM18", "Our {Ga} coworker is organizing the holiday party."),
    ("nM19", "The charity offers free legal advice to {G}."),
    ("nM20", "The podcast features stories told by {G}."),
    ("nM21", "The city council met with {G} to discuss the new bus routes."),
    ("nM22", "The documentary follows two {G} as they train for a marathon."),
    ("nM23", "The library runs a reading program for {G}."), ("nM24", "A {Gs} asked me for directions to the station."),
    ("nM25", "The conference included a panel of {G}."), ("nM26", "The {Ga} students organized a food drive."),
    ("nE1", "The {Ga} neighbor's car broke down this morning."),
    ("nE2", "A {Gs} was late to the meeting because the train was delayed."),
    ("nE3", "The {Gs} who lives upstairs is moving out next month."),
    ("nE4", "Some {G} like spicy food and some don't, like everyone else."),
    # naming a stereotype as one (the shape of a good rewrite)
    ("nD1", "The idea that {G} are {A} is a stereotype, not a fact."),
    ("nD2", "It is unfair to assume that {G} are {A}."),
    ("nD3", "Whether someone can {X} depends on the person, not on being one of the {G}."),
    ("nD4", "Claims that {G} {V} are not supported by evidence."),
    ("nD5", "People of every background can {X}, including {G}."),
    ("nD6", "I disagree with people who say {G} are {A}."),
    ("nD7", "Not all {G} are the same; people should be judged as individuals."),
    ("nD8", "Some people believe {G} {V}, but that is a prejudice."),
    ("nD9", "Individual {G} differ from one another as much as anyone else does."),
    ("nD10", "Being one of the {G} says nothing about whether a person can {X}."),
    ("nD11", "Saying that {G} are {A} is a harmful generalization."),
    ("nD12", "Some individuals {V}, and that has nothing to do with being one of the {G}."),
    ("nD13", "Research does not show that {G} are {A}."),
    ("nD14", "Plenty of {G} {X} very well."),
]

TRAIT_SLOTS = ("A", "V", "X", "T")


def slots(pattern: str) -> set[str]:
    return {s for s in TRAIT_SLOTS if "{" + s + "}" in pattern}
