"""What a player typed, as commands: verbs and the phrases they name.

The parser reads plain English the way players of parser fiction type it:
politeness and adverbs are skipped ("could I please carefully take ..."), a line
may hold several commands ("take the key and go to the crypt"), speech may be
quoted. It only says what was *asked*; what the phrases name and whether the
world allows it are :mod:`simengine.storytellers.player`'s and the rules' to
decide. It never raises, whatever the input.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from simengine.world.state import WorldState, normalize_name

#: Only this much of a player's text is parsed; the rest cannot change the verdict.
MAX_PLAYER_TEXT = 500
#: At most this many commands are read from one line.
MAX_COMMANDS = 4


@dataclass(frozen=True)
class Command:
    """One command of a player's line.

    Attributes:
        verb: the canonical verb (see :data:`VERBS`), ``unknown`` when none fits.
        obj: the phrase the verb acts on ("the red lamp"), cleaned of articles.
        target: the second phrase (to whom, from whom, into what, about what).
        amount: a number of coins, for give and pay.
        words: what is said aloud (say, tell), as typed.
        text: the clause as the player typed it.
    """

    verb: str
    obj: str = ""
    target: str = ""
    amount: int | None = None
    words: str = ""
    text: str = ""


#: Every verb, with the words a player may use for it; /help and the README list these.
VERBS: dict[str, str] = {
    "look": "look, l, look around",
    "examine": "examine X, look at X, x X, inspect X, read X, search X",
    "go": "go to X, walk/run/head to X, enter X, leave, go N (an exit's number)",
    "take": "take X, get X, pick up X, grab X (from Y), take all",
    "drop": "drop X, put X down",
    "put": "put X in Y",
    "give": "give X to Y, give Y X, give N COIN to Y",
    "pay": "pay Y N COIN, pay N COIN to Y, pay Y for X",
    "buy": "buy X (from Y)",
    "sell": "sell X (to Y)",
    "trade": "trade X for Y (with Z)",
    "ask": "ask X about Y",
    "tell": "tell X about Y",
    "say": 'say "..." (to X), talk to X, greet X, or a line in quotes',
    "attack": "attack X, fight X, hit X",
    "hide": "hide",
    "rest": "rest, sleep",
    "wait": "wait, z",
    "inventory": "inventory, i",
    "follow": "follow X",
    "use": "use X (on Y)",
    "open": "open X",
    "close": "close X, shut X",
}

_ADVERBS = re.compile(
    r"^(?:(?:carefully|quietly|slowly|quickly|gently|calmly|boldly|cautiously|softly|swiftly"
    r"|politely|angrily|nervously|casually|silently|just|then|now|also|finally|first|again"
    r"|simply|immediately|suddenly|hastily|warily|[a-z]{4,}ly)\s+)+"
)
_LEAD = re.compile(
    r"^(?:(?:i|we)(?:'ll|'d)?\s+(?:(?:want|would\s+like|wish|need|try|am\s+going|intend"
    r"|decide|attempt|begin|start|mean)\s+to\s+|will\s+|shall\s+|would\s+|(?:can|could)\s+)?"
    r"|(?:can|could|may|might|shall)\s+(?:i|we)\s+|let\s+me\s+|let's\s+|please\s+|kindly\s+"
    r"|(?:try|attempt)\s+to\s+|and\s+|then\s+|so\s+|ok(?:ay)?,?\s+|well,?\s+|now,?\s+)+"
)
_TAIL = re.compile(
    r"(?:,?\s+(?:please|if\s+i\s+may|if\s+you\s+don't\s+mind|carefully|quietly|slowly|quickly"
    r"|now|again|at\s+once|right\s+away))+$"
)
_DETERMINERS = re.compile(
    r"^(?:(?:the|a|an|my|your|his|her|their|our|its|some|that|this|those|these|to|with|at)\s+)+"
)
_NUMBER_WORDS = {
    "one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6, "seven": 7, "eight": 8,
    "nine": 9, "ten": 10, "eleven": 11, "twelve": 12, "twenty": 20, "fifty": 50, "hundred": 100,
    "a": 1, "an": 1,
}
_NUM = r"(?P<n>\d{1,9}|" + "|".join(w for w in _NUMBER_WORDS if len(w) > 2) + r")"

_GO_WORDS = (r"go|walk|head|run|travel|wander|stroll|hurry|return|climb|move|step|sail|ride"
             r"|march|flee|sneak|proceed|jog|dash|rush|limp|stride|amble|make\s+(?:my|our)\s+way"
             r"|set\s+off|set\s+out|leave\s+for|get\s+going")
_PATTERNS: tuple[tuple[str, str], ...] = (
    ("inventory", r"^(?:i|inv|inventory|check\s+(?:my\s+)?(?:inventory|pockets|bag|purse)"
                  r"|what\s+(?:am\s+i|do\s+i\s+have|i'm)\s+(?:carrying|holding|have)"
                  r"|what\s+do\s+i\s+(?:carry|have))$"),
    ("look", r"^(?:l|look|look\s+around|glance\s+around|look\s+about|where\s+am\s+i"
             r"|survey\s+(?:the\s+)?(?:room|place|scene|area)|take\s+a\s+look(?:\s+around)?)$"),
    ("wait", r"^(?:z|wait|wait\s+a\s+(?:while|moment|bit)|pause|do\s+nothing|linger|idle)$"),
    ("hide", r"^(?:hide|take\s+cover|duck|hide\s+(?:myself|away|here)|lie\s+low|keep\s+out"
             r"\s+of\s+sight)(?:\s+(?:in|behind|under)\s+(?P<x>.+))?$"),
    ("rest", r"^(?:rest|sleep|nap|lie\s+down|sit\s+down|take\s+a\s+(?:rest|nap|break)"
             r"|get\s+some\s+(?:rest|sleep)|go\s+to\s+sleep|sit)(?:\s+.*)?$"),
    ("examine", r"^(?:look\s+(?:at|into|in|inside|over|closely\s+at)|examine|x|inspect|study"
                r"|check|read|search|peer\s+(?:at|into)|view|observe|watch|describe"
                r"|look\s+for)\s+(?P<x>.+)$"),
    ("examine", r"^(?:who|what)(?:'s|\s+is|\s+are|\s+was)\s+(?P<x>.+?)\??$"),
    ("examine", r"^where(?:'s|\s+is|\s+are)\s+(?P<x>.+?)\??$"),
    ("go", r"^(?:go|exit|take\s+exit)\s+(?:number\s+|#)?(?P<x>\d{1,3})$"),
    ("go", r"^#?(?P<x>\d{1,3})$"),
    ("go", rf"^(?:{_GO_WORDS})(?:\s+(?:back|over|on|out|up|down|off|along|away))?"
           r"(?:\s+(?:to|towards|toward|into|in|through|onto|inside|for|across|over\s+to))?"
           r"\s+(?P<x>.+)$"),
    ("go", r"^(?:enter|visit|leave\s+for|head\s+for|go)\s+(?P<x>.+)$"),
    ("go", r"^(?:leave|exit|go\s+out|go\s+away|get\s+out)$"),
    ("put", r"^(?:put|place|stow|slip|tuck)\s+(?P<x>.+?)\s+(?:in|into|inside|on|onto|under)"
            r"\s+(?P<y>.+)$"),
    ("drop", r"^(?:put|set|lay)\s+(?P<x>.+?)\s+down$"),
    ("drop", r"^(?:drop|discard|put\s+down|set\s+down|throw\s+away|toss|leave\s+behind|abandon)"
             r"\s+(?P<x>.+)$"),
    ("pay", rf"^pay\s+(?P<y>.+?)\s+{_NUM}(?:\s+(?P<c>[\w-]+(?:\s+[\w-]+)?))?$"),
    ("pay", rf"^pay\s+{_NUM}(?:\s+(?P<c>[\w-]+(?:\s+[\w-]+)?))?\s+to\s+(?P<y>.+)$"),
    ("buy", r"^pay\s+(?P<y>.+?)\s+for\s+(?P<x>.+)$"),
    ("pay", r"^pay\s+(?P<y>.+)$"),
    ("give", rf"^(?:give|hand|offer|pass|slip|toss)\s+{_NUM}\s+(?P<c>[\w-]+(?:\s+[\w-]+)?)"
             r"\s+to\s+(?P<y>.+)$"),
    ("give", rf"^(?:give|hand|offer|pass|slip|toss)\s+(?P<y>.+?)\s+{_NUM}"
             r"\s+(?P<c>[\w-]+(?:\s+[\w-]+)?)$"),
    ("give", r"^(?:give|hand|offer|pass|slip|toss|show)\s+(?P<x>.+?)\s+to\s+(?P<y>.+)$"),
    ("give", r"^(?:give|hand|offer|pass|show)\s+(?P<x>.+)$"),
    ("buy", r"^(?:buy|purchase|acquire)\s+(?P<x>.+?)\s+(?:from|off)\s+(?P<y>.+?)"
            r"(?:\s+for\s+.+)?$"),
    ("buy", r"^(?:buy|purchase)\s+(?P<x>.+?)(?:\s+for\s+.+)?$"),
    ("sell", r"^(?:sell|offer\s+to\s+sell)\s+(?P<x>.+?)(?:\s+to\s+(?P<y>.+?))?(?:\s+for\s+.+)?$"),
    ("trade", r"^(?:trade|swap|barter|exchange)\s+(?P<x>.+?)\s+for\s+(?P<y>.+?)"
              r"(?:\s+with\s+(?P<z>.+))?$"),
    ("trade", r"^(?:trade|barter|haggle|deal)\s+with\s+(?P<z>.+)$"),
    ("trade", r"^(?:trade|swap|barter|exchange)\s+(?P<x>.+?)(?:\s+with\s+(?P<z>.+))?$"),
    ("take", r"^pick\s+(?P<x>.+?)\s+up$"),
    ("take", r"^(?:take|grab|get|snatch|steal|collect|lift|pocket|pick\s+up|fetch|seize)\s+"
             r"(?P<x>.+?)(?:\s+(?:from|off|out\s+of)\s+(?P<y>.+))?$"),
    ("ask", r"^(?:ask|inquire|enquire)\s+(?:about|after|of|around\s+about)\s+(?P<x>.+)$"),
    ("ask", r"^(?:ask|question|quiz|query|interrogate)\s+(?P<y>.+?)\s+(?:about|of|regarding"
            r"|for|what\s+(?:they|he|she)\s+knows?\s+(?:about|of))\s+(?P<x>.+)$"),
    ("ask", r"^(?:ask|question|quiz|interrogate)\s+(?P<y>.+)$"),
    ("tell", r"^(?:tell|inform|warn|remind)\s+(?P<y>.+?)\s+(?:about|of|that|regarding)"
             r"\s+(?P<x>.+)$"),
    ("tell", r"^(?:tell|inform|warn)\s+(?P<y>.+)$"),
    ("say", r"^(?:talk|speak|chat|converse)\s+(?:to|with)\s+(?P<y>.+?)"
            r"(?:\s+(?:about|of|regarding)\s+(?P<x>.+))?$"),
    ("say", r"^(?:talk|speak|chat)(?:\s+(?:about|of)\s+(?P<x>.+))?$"),
    ("say", r"^(?:greet|hail|wave\s+(?:to|at)|nod\s+to|thank|salute|smile\s+at|bow\s+to"
            r"|introduce\s+myself\s+to|call\s+(?:to|out\s+to))\s+(?P<y>.+)$"),
    ("say", r"^(?:hello|hi|hey|greetings|good\s+(?:morning|evening|day|afternoon)|thanks"
            r"|thank\s+you|goodbye|bye|farewell)\b.*$"),
    ("say", r"^(?:say|shout|whisper|yell|call|mutter|reply|answer|murmur|cry|exclaim)"
            r"(?:\s+(?:to|at)\s+(?P<y>[^\"':,]+?)(?=\s*[:,]|$))?(?:\s*[:,]?\s*(?P<w>.+))?$"),
    ("attack", r"^(?:attack|fight|hit|punch|strike|stab|slash|kick|shoot|kill|murder|assault"
               r"|slap|tackle|wrestle|beat|club|brawl\s+with|swing\s+at|lunge\s+at|go\s+for"
               r"|knock\s+out|choke|strangle)\s+(?P<x>.+?)"
               r"(?:\s+(?:with|using)\s+(?P<y>.+?))?(?:\s+(?:with|in)\s+one\s+\w+)?$"),
    ("follow", r"^(?:follow|shadow|tail|go\s+after|chase|pursue|trail)\s+(?P<x>.+)$"),
    ("use", r"^(?:use|apply|try|light|ring|wield|wear|read)\s+(?P<x>.+?)"
            r"(?:\s+(?:on|with|against|at|in)\s+(?P<y>.+))?$"),
    ("open", r"^(?:open|unlock|unseal|unlatch|pry\s+open|force\s+open)\s+(?P<x>.+?)"
             r"(?:\s+(?:with|using)\s+(?P<y>.+))?$"),
    ("close", r"^(?:close|shut|lock|seal|latch)\s+(?P<x>.+?)(?:\s+(?:with|using)\s+(?P<y>.+))?$"),
)
_COMPILED = tuple((verb, re.compile(p)) for verb, p in _PATTERNS)
#: A clause starting with one of these words starts a new command after "and" or ",".
_STARTS = re.compile(
    r"^(?:i\s+|then\s+)?(?:look|l|examine|x|inspect|read|search|go|walk|head|run|enter|visit"
    r"|leave|return|climb|take|grab|get|pick|drop|put|place|give|hand|offer|pay|buy|purchase"
    r"|sell|trade|swap|ask|tell|say|talk|speak|greet|attack|fight|hit|stab|kill|hide|rest"
    r"|sleep|wait|follow|use|open|close|shut|unlock|lock|inventory|travel|move|sail|sit"
    r"|shout|whisper|thank|wave|check|study|light)\b"
)
#: A clause that states a fact rather than asking to do something ("it is mine now").
_DECLARED = re.compile(
    r"^(?:it|he|she|they|this|that|i|you|we|everyone|everybody)(?:'s|'m|'re|\s+(?:is|are|am"
    r"|was|were|has|have|had|will|must|shall|now|already|owns?|belongs?|agrees?|dies|falls))\b"
)
_QUOTE = re.compile(r"[\"\u201c\u201d](.*?)(?:[\"\u201c\u201d]|$)", re.S)


def parse(text: object) -> list[Command]:
    """The commands in a player's line, in order (at most :data:`MAX_COMMANDS`).

    Never raises: an empty or unreadable line is one ``look``; a clause no verb
    fits is an ``unknown`` command that keeps its words for the answer.
    """
    raw = " ".join(str(text or "")[:MAX_PLAYER_TEXT].split())
    if not raw:
        return [Command("look", text="")]
    stripped = raw.lstrip(" >*-")
    if stripped[:1] in ('"', "\u201c", "'"):
        said = _QUOTE.search(stripped)
        words = (said.group(1) if said else stripped).strip(" \"'\u201c\u201d")
        rest = stripped[said.end():] if said else ""
        to = re.search(r"\bto\s+(.+?)\s*[.!?]*$", rest.lower())
        return [Command("say", target=_clean(to.group(1)) if to else "", words=words,
                        text=raw)]
    commands: list[Command] = []
    for clause in split_commands(raw):
        command = _command(clause)
        if command.verb == "unknown" and commands and commands[-1].verb == "go" and \
                _ONWARD.match(_strip_lead(clause.lower())):
            command = _command(f"go {clause}")  # "go to the crossing, then to the office"
        commands.append(command)
    return commands[:MAX_COMMANDS] or [Command("look", text=raw)]


#: A clause that goes on where a "go" left off: "(and) then to the office".
_ONWARD = re.compile(r"^(?:on\s+|back\s+|over\s+)?(?:to|into|towards?|onto)\s+\S")


def split_commands(raw: str) -> list[str]:
    """A line cut into clauses: at sentence ends, ``;``, ``then``, and ``and``/``,``
    before a verb. Quoted speech is never cut."""
    quotes: list[str] = []

    def hold(m: re.Match[str]) -> str:
        quotes.append(m.group(0))
        return f"\x00{len(quotes) - 1}\x00"

    masked = re.sub(r"[\"\u201c][^\"\u201d]*[\"\u201d]?", hold, raw)
    pieces = re.split(r"(?<=[a-z0-9\x00'\)])[.!?;]+\s+|[.!?;]+$|\s*;\s*|,?\s+and\s+then\s+"
                      r"|,?\s+then\s+|\n", masked, flags=re.I)
    out: list[str] = []
    for piece in pieces:
        if not piece or not piece.strip():
            continue
        parts = re.split(r"(,?\s+and\s+|,\s+)", piece)
        current = parts[0]
        for i in range(1, len(parts), 2):
            nxt = parts[i + 1] if i + 1 < len(parts) else ""
            if _STARTS.match(_strip_lead(nxt.lower())) or _DECLARED.match(nxt.lower().strip()):
                out.append(current)
                current = nxt
            else:
                current += parts[i] + nxt
        out.append(current)

    def unmask(s: str) -> str:
        return re.sub(r"\x00(\d+)\x00", lambda m: quotes[int(m.group(1))], s)

    return [unmask(p).strip(" ,") for p in out if p.strip(" ,")]


def _strip_lead(line: str) -> str:
    previous = None
    while previous != line:
        previous = line
        line = _LEAD.sub("", line)
        line = _ADVERBS.sub("", line)
    return line


def _command(clause: str) -> Command:
    said = _QUOTE.search(clause)
    words = said.group(1).strip() if said else ""
    # The words of speech are kept as typed; the verb is read from the rest.
    bare = (clause[:said.start()] + clause[said.end():]) if said else clause
    line = " ".join(bare.lower().split()).strip(" \"'`*>/-:,.!?")
    line = _TAIL.sub("", _strip_lead(line)).strip(" ,")
    if not line and words:
        return Command("say", words=words, text=clause)
    for verb, pattern in _COMPILED:
        m = pattern.match(line)
        if not m:
            continue
        g = {k: v for k, v in m.groupdict().items() if v}
        amount = _number(g.get("n"))
        if verb in ("give", "pay") and g.get("c") and amount is not None:
            # "give 5 gold to Tamsin": the coin is the thing, the amount how much.
            return Command(verb, obj=_clean(g["c"]), target=_clean(g.get("y", "")),
                           amount=amount, text=clause)
        if verb == "trade":
            return Command(verb, obj=_clean(g.get("x", "")), target=_clean(g.get("y", "")),
                           words=_clean(g.get("z", "")), text=clause)
        if verb == "say":
            target = g.get("y", "")
            spoken = words or (g.get("w") or "").strip(" \"'")
            if words:
                to = re.search(r"\b(?:to|at)\s+(.+)$", line)
                target = to.group(1) if to else target
            elif g.get("w") and not target and (to := re.match(
                    r"^(.*?)\s+(?:to|at)\s+([^,]+?)$", g["w"])):
                spoken, target = to.group(1).strip(" \"'"), to.group(2)
            elif not g.get("w") and not g.get("y") and not g.get("x"):
                spoken = clause.strip(" .!")  # "hello": the greeting is what is said
            return Command("say", obj=_clean(g.get("x", "")), target=_clean(target),
                           words=spoken, text=clause)
        return Command(verb, obj=_clean(g.get("x", "")), target=_clean(g.get("y", "")),
                       amount=amount, words=words, text=clause)
    if words:
        return Command("say", words=words, text=clause)
    if _DECLARED.match(line):
        return Command("declared", obj=line, text=clause)
    return Command("unknown", obj=line, text=clause)


def _number(word: str | None) -> int | None:
    if not word:
        return None
    return int(word) if word.isdigit() else _NUMBER_WORDS.get(word)


def _clean(phrase: str) -> str:
    phrase = phrase.strip(" \"'`,:.!?")
    phrase = _TAIL.sub("", phrase).strip()
    return _DETERMINERS.sub("", phrase + " ").strip()


#: Words that stand for the last thing or person named.
PRONOUNS = frozenset({"it", "him", "her", "them", "that", "this", "one", "that one",
                      "this one", "the thing", "he", "she", "they"})


def is_pronoun(phrase: str) -> bool:
    return normalize_name(phrase) in PRONOUNS


def unknown_words(state: WorldState, phrase: str) -> list[str]:
    """The words of ``phrase`` no name, alias or id in the world uses."""
    index = state.name_index()
    known: set[str] = set()
    for key in index:
        known.update(key.split())
    small = {"of", "the", "a", "an", "and", "to", "in", "on", "at", "with", "for", "from",
             "my", "your", "his", "her", "their", "some", "me", "you"}
    return [w for w in normalize_name(phrase).split() if w not in known and w not in small]
