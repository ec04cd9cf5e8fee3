"""The world-file schema: what an author writes in ``worlds/*.toml``.

Every model forbids unknown keys, so a typo in a world file is an error with a
"did you mean" rather than a silently ignored line. Semantic checks (references,
cycles, bounds) live in :mod:`simengine.world.loader`, which also attaches file
and line numbers to every problem.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import (
    AliasChoices,
    BaseModel,
    ConfigDict,
    Field,
    PrivateAttr,
    StringConstraints,
    field_validator,
)
from pydantic_core import PydanticCustomError

from simengine.world.text import either, fresh_name

SLUG_PATTERN = r"^[a-z0-9][a-z0-9_-]*$"
Slug = Annotated[str, StringConstraints(pattern=SLUG_PATTERN, max_length=64)]
Kind = Literal["character", "location", "item", "faction"]
KINDS: tuple[str, ...] = ("character", "location", "item", "faction")
#: Numbers a world or a model may write: finite, and small enough to add up exactly.
FiniteFloat = Annotated[float, Field(allow_inf_nan=False, ge=-1e15, le=1e15)]
BoundedInt = Annotated[int, Field(ge=-(10**15), le=10**15)]
AttrValue = bool | BoundedInt | FiniteFloat | Annotated[str, StringConstraints(max_length=500)]

#: Relation kinds every world understands; a world file may add its own.
DEFAULT_RELATION_KINDS: tuple[str, ...] = (
    "knows",
    "friend_of",
    "enemy_of",
    "rival_of",
    "loves",
    "fears",
    "trusts",
    "distrusts",
    "serves",
    "owes",
    "member_of",
    "leads",
    "family_of",
)

#: The item attribute that makes an item priced (paid for in the world's currency).
PRICE_ATTRIBUTE = "value"

#: What beats other than the player's may do to the player's character, if the
#: world's ``npcs_may`` says so: lower their numbers (health ...), take their money
#: or things, kill them. Nobody but the player ever moves them.
NpcDeed = Literal["wound", "rob", "kill"]
DEFAULT_NPCS_MAY: tuple[str, ...] = ("wound",)


class Strict(BaseModel):
    """Base for every authored or model-written record: unknown keys are errors."""

    model_config = ConfigDict(extra="forbid")


class WorldMeta(Strict):
    """The ``[world]`` table: identity, premise and the world's physics knobs."""

    id: Slug
    name: str = Field(min_length=1)
    premise: str = ""
    tone: str = ""
    seed: int = 0
    travel: Literal["adjacent", "anywhere"] = "adjacent"
    creativity: float = Field(0.5, ge=0.0, le=1.0)
    laws: list[str] = Field(default_factory=list)
    tick: str = "hour"
    currency: Slug | None = None
    relation_kinds: list[Slug] = Field(default_factory=list)
    npcs_may: list[NpcDeed] = Field(default_factory=lambda: list(DEFAULT_NPCS_MAY))

    #: What the player reads before the first turn (an imported card's first message).
    opening: str = ""
    #: Other openings kept from an imported card (its alternate greetings).
    alternate_openings: list[str] = Field(default_factory=list)
    #: Tokens of activated ``[[lore]]`` a prompt may carry; the rest is dropped, and said so.
    lore_budget: int = Field(400, ge=0, le=100_000)

    @field_validator("laws", mode="before")
    @classmethod
    def _laws_as_lines(cls, value: object) -> object:
        # Authors may write laws as one block of prose or as a list of lines.
        if isinstance(value, str):
            return [line.strip() for line in value.strip().splitlines() if line.strip()]
        return value


#: The storyteller kinds a world file may name. The storytellers' registry
#: (``storytellers/config.py``, ``register``) adds each kind it knows here, and
#: refuses to load if a name here has no storyteller there.
STORYTELLER_KINDS: list[str] = ["auto", "procedural", "ollama"]


class StorytellerSpec(Strict):
    """The ``[storyteller]`` table: who proposes what happens, by default."""

    kind: str = "procedural"
    model: str = "qwen2.5:3b"
    temperature: float = Field(0.8, ge=0.0, le=2.0)
    decide_temperature: float = Field(0.2, ge=0.0, le=2.0)
    num_ctx: int = Field(4096, ge=512)
    keep_alive: str = "10m"
    timeout: float = Field(60.0, gt=0)
    npc_rate: float = Field(0.3, ge=0.0, le=1.0)
    world_event_rate: float = Field(0.1, ge=0.0, le=1.0)
    #: Who tells beats away from the player: the same storyteller, or the procedural
    #: one, so a slow model spends its time on what the player sees.
    elsewhere: Literal["same", "procedural"] = "same"

    @field_validator("kind")
    @classmethod
    def _known_kind(cls, kind: str) -> str:
        if kind not in STORYTELLER_KINDS:
            raise PydanticCustomError("literal_error", "Input should be {expected}",
                                      {"expected": either([repr(k) for k in STORYTELLER_KINDS])})
        return kind


class AttributeDef(Strict):
    """An ``[attributes.NAME]`` definition: type, bounds and what may change it."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    type: Literal["int", "float", "str", "bool"]
    min: FiniteFloat | None = None
    max: FiniteFloat | None = None
    default: AttrValue | None = None
    protected: bool = False
    conserved: bool = False
    kinds: list[Kind] = Field(default_factory=lambda: ["character"])
    description: str = ""

    @property
    def numeric(self) -> bool:
        return self.type in ("int", "float")


def lower_bound(name: str, d: AttributeDef) -> float | None:
    """An attribute's minimum: a price (``value``) is never negative unless the world says."""
    if d.min is None and name == PRICE_ATTRIBUTE and d.numeric:
        return 0
    return d.min


class EntitySpec(Strict):
    id: Slug
    name: str = Field(min_length=1)
    description: str = ""
    aliases: list[str] = Field(default_factory=list)
    attributes: dict[str, AttrValue] = Field(default_factory=dict)


class LocationSpec(EntitySpec):
    connects: list[Slug] = Field(default_factory=list)


class CharacterSpec(EntitySpec):
    at: Slug
    traits: list[str] = Field(default_factory=list)
    goals: list[str] = Field(default_factory=list)
    alive: bool = True
    #: The story needs them: the director never lets them die by chance (a player's
    #: deliberate blow, or an author's ending, still can).
    essential: bool = False
    #: Fields of an imported character card the engine does not read (example dialogue,
    #: creator notes, tags, extensions ...), kept so an exported card carries them back.
    card: dict[str, Any] = Field(default_factory=dict)


class ItemSpec(EntitySpec):
    at: Slug
    #: Facts (``[[facts]]`` ids) a character learns by examining this thing at hand.
    reveals: list[Slug] = Field(default_factory=list)


class FactionSpec(EntitySpec):
    pass


class RelationSpec(Strict):
    source: Slug
    relation: Slug
    target: Slug


class PlayerSpec(Strict):
    character: Slug


LoreLogic = Literal["and_any", "and_all", "not_any", "not_all"]


class LoreSpec(Strict):
    """A ``[[lore]]`` entry: background that enters a prompt when its keys come up.

    Lore is a fact (:class:`FactSpec` is the same table spelled ``[[facts]]``):
    known by everyone unless ``known_by`` names who knows it. Only lore everyone
    knows and that is not ``secret`` comes into prompts by its keys; the rest
    enters the scene of a character who knows it.

    An entry is active when one of its ``keys`` appears in the scene or the recent
    story and its ``secondary_keys`` agree under ``logic`` (``and_any``: one of them
    appears too; ``and_all``: all of them; ``not_any``: none; ``not_all``: not all);
    with no secondary keys the primary match is enough. ``constant`` entries are
    always active, disabled ones never. When the active entries cost more than the
    world's ``lore_budget``, the higher ``order`` is kept first.
    """

    id: Slug | None = None
    name: str = ""
    keys: list[Annotated[str, StringConstraints(min_length=1, max_length=200)]] = Field(
        default_factory=list
    )
    secondary_keys: list[Annotated[str, StringConstraints(min_length=1, max_length=200)]] = (
        Field(default_factory=list)
    )
    logic: LoreLogic = "and_any"
    #: The entry's text (``text`` in ``[[facts]]``; either spelling is read).
    content: str = Field(min_length=1, validation_alias=AliasChoices("content", "text"))
    #: Who knows it (character ids). Absent: everyone; ``[]``: nobody yet.
    known_by: list[Slug] | None = None
    #: Its knowers do not share it lightly (only with a friend).
    secret: bool = False
    constant: bool = False
    enabled: bool = True
    order: int = Field(100, ge=-(10**9), le=10**9)
    #: The entry's cost against the lore budget (default: estimated from its text).
    tokens: int | None = Field(None, ge=1, le=100_000)
    case_sensitive: bool = False
    whole_words: bool = True
    #: Fields other tools wrote (probability, depth, groups ...), kept and not read.
    extensions: dict[str, Any] = Field(default_factory=dict)


class FactSpec(LoreSpec):
    """A ``[[facts]]`` entry: something true in the world, and who knows it.

    The same record as a ``[[lore]]`` entry, written for the story rather than
    for a prompt: ``id`` is required (goals, items and conditions name it),
    ``text`` is what is known, and ``keys`` are optional.
    """

    id: Slug  # type: ignore[assignment]
    content: str = Field(min_length=1, max_length=2000,
                         validation_alias=AliasChoices("text", "content"))


class StorySpec(Strict):
    """The ``[story]`` table: how the story is told to the player."""

    #: ``second``: the player's own doings read "You take the lantern." in play;
    #: ``third``: by name. Unset: second person in play, third in headless runs.
    voice: Literal["second", "third"] | None = None
    #: The chance per tick that two acquaintances in one place share a fact one of
    #: them knows and the other does not (never a secret): gossip's pace.
    gossip: float = Field(0.2, ge=0.0, le=1.0)
    #: How the director paces the story (see ``sim/director.py``): ``steady`` builds to a
    #: crisis now and then, ``dramatic`` to sharper and more frequent ones, ``calm``
    #: seldom and softly.
    director: Literal["steady", "dramatic", "calm"] = "steady"


class GoalSpec(Strict):
    """A ``[[goals]]`` entry: something the story is about, done when ``done`` holds.

    ``done`` is a condition (:mod:`simengine.world.conditions`); once it has held at
    the end of a beat the goal stays done. ``who`` is whose goal it is (default: the
    player's); the director steers that character's beats toward it.
    """

    id: Slug
    text: str = Field(min_length=1, max_length=300)
    done: str = Field(min_length=1, max_length=1000)
    who: Slug | None = None


class EndingSpec(Strict):
    """An ``[[endings]]`` entry: when ``when`` holds, the story ends with ``text``.

    ``kind`` is ``win`` (the player's), ``lose``, or ``other``. Endings are tried in
    the order written; the first that holds ends the branch.
    """

    id: Slug
    when: str = Field(min_length=1, max_length=1000)
    kind: Literal["win", "lose", "other"] = "other"
    text: str = Field(min_length=1, max_length=4000)


class RuleSpec(Strict):
    """A ``[[rules]]`` entry: an author's rule, checked like the built-in ones.

    ``forbid`` names an op kind, optionally narrowed by fields ("move to crypt",
    "transfer item knife"); ``when`` and ``unless`` are conditions
    (:mod:`simengine.world.conditions`). An op of that kind is refused when
    ``when`` holds (or is absent) and ``unless`` does not; ``says`` is what the
    player reads and what a model gets back for repair.
    """

    id: Slug
    forbid: str = Field(min_length=1, max_length=200)
    when: str | None = Field(None, max_length=1000)
    unless: str | None = Field(None, max_length=1000)
    says: str = Field(min_length=1, max_length=500)


class WorldSpec(Strict):
    """A whole world file."""

    world: WorldMeta
    storyteller: StorytellerSpec = Field(default_factory=StorytellerSpec)
    attributes: dict[Slug, AttributeDef] = Field(default_factory=dict)
    locations: list[LocationSpec] = Field(default_factory=list)
    characters: list[CharacterSpec] = Field(default_factory=list)
    items: list[ItemSpec] = Field(default_factory=list)
    factions: list[FactionSpec] = Field(default_factory=list)
    relations: list[RelationSpec] = Field(default_factory=list)
    player: PlayerSpec | None = None
    lore: list[LoreSpec] = Field(default_factory=list)
    facts: list[FactSpec] = Field(default_factory=list)
    story: StorySpec = Field(default_factory=StorySpec)
    rules: list[RuleSpec] = Field(default_factory=list)
    goals: list[GoalSpec] = Field(default_factory=list)
    endings: list[EndingSpec] = Field(default_factory=list)

    @field_validator("lore", mode="after")
    @classmethod
    def _lore_ids(cls, entries: list[LoreSpec]) -> list[LoreSpec]:
        return fill_lore_ids(entries)

    # What the loader noticed but does not refuse (``simengine validate`` prints them).
    _warnings: list = PrivateAttr(default_factory=list)

    @property
    def warnings(self) -> list:
        """The loader's warnings about this file (``WorldProblem`` records), if any."""
        return self._warnings

    @property
    def knowledge(self) -> list[LoreSpec]:
        """Every fact of the world: the ``[[lore]]`` entries, then the ``[[facts]]``."""
        return [*self.lore, *self.facts]

    def fact_nodes(self) -> list[tuple[str, LoreSpec]]:
        """Each fact with the id of its node in the state graph.

        A ``[[facts]]`` id is the node's. Lore ids were once apart from entity ids,
        so a ``[[lore]]`` entry named like an entity (an imported place keeps its
        entry's id) gets the node ``<id>-lore``; its lore keeps the id it was written with.
        """
        taken = {e.id for section in ENTITY_SECTIONS for e in getattr(self, section)}
        taken |= {f.id for f in self.facts}
        out: list[tuple[str, LoreSpec]] = []
        for entry in self.knowledge:
            node = str(entry.id)
            if not isinstance(entry, FactSpec) and node in taken:
                node = fresh_name(f"{node}-lore", taken.__contains__)
            taken.add(node)
            out.append((node, entry))
        return out

    @property
    def relation_kinds(self) -> list[str]:
        kinds = list(DEFAULT_RELATION_KINDS)
        for kind in [*self.world.relation_kinds, *(r.relation for r in self.relations)]:
            if kind not in kinds:
                kinds.append(kind)
        return kinds

    @property
    def currency(self) -> str | None:
        """The conserved attribute prices are paid in, if the world has one."""
        if self.world.currency:
            return self.world.currency
        conserved = [name for name, d in self.attributes.items() if d.conserved]
        return conserved[0] if conserved else None


def fill_lore_ids(entries: list[LoreSpec]) -> list[LoreSpec]:
    """Give every lore entry without an ``id`` one (``lore-N``, N its position from 1)."""
    taken = {e.id for e in entries if e.id}
    for n, entry in enumerate(entries, start=1):
        if entry.id is None:
            entry.id = fresh_name(f"lore-{n}", taken.__contains__)
            taken.add(entry.id)
    return entries


#: Sections of a world file that are lists of entities, and their kinds.
ENTITY_SECTIONS: dict[str, str] = {
    "locations": "location",
    "characters": "character",
    "items": "item",
    "factions": "faction",
}
