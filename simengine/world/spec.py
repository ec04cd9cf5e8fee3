"""The world-file schema: what an author writes in ``worlds/*.toml``.

Every model forbids unknown keys, so a typo in a world file is an error with a
"did you mean" rather than a silently ignored line. Semantic checks (references,
cycles, bounds) live in :mod:`simengine.world.loader`, which also attaches file
and line numbers to every problem.
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, field_validator

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

    @field_validator("laws", mode="before")
    @classmethod
    def _laws_as_lines(cls, value: object) -> object:
        # Authors may write laws as one block of prose or as a list of lines.
        if isinstance(value, str):
            return [line.strip() for line in value.strip().splitlines() if line.strip()]
        return value


class StorytellerSpec(Strict):
    """The ``[storyteller]`` table: who proposes what happens, by default."""

    kind: Literal["auto", "procedural", "ollama"] = "procedural"
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


class ItemSpec(EntitySpec):
    at: Slug


class FactionSpec(EntitySpec):
    pass


class RelationSpec(Strict):
    source: Slug
    relation: Slug
    target: Slug


class PlayerSpec(Strict):
    character: Slug


class StorySpec(Strict):
    """The ``[story]`` table: how the story is told to the player."""

    #: ``second``: the player's own doings read "You take the lantern." in play;
    #: ``third``: by name. Unset: second person in play, third in headless runs.
    voice: Literal["second", "third"] | None = None


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
    story: StorySpec = Field(default_factory=StorySpec)

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


#: Sections of a world file that are lists of entities, and their kinds.
ENTITY_SECTIONS: dict[str, str] = {
    "locations": "location",
    "characters": "character",
    "items": "item",
    "factions": "faction",
}
