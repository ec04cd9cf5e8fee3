"""What every op kind is: :class:`OpBase`, the shared field types and the hooks layers use.

An op module subclasses :class:`OpBase` once and fills in the class attributes and
methods below; the package ``__init__`` collects it. Nothing outside the op's
module needs to know the op exists.
"""

from __future__ import annotations

from abc import abstractmethod
from collections.abc import Callable
from typing import TYPE_CHECKING, Annotated, ClassVar, Protocol

from pydantic import Field, StringConstraints

from simengine.world.spec import KINDS, AttrValue, BoundedInt, FiniteFloat, Kind, Strict

if TYPE_CHECKING:
    from simengine.world.state import WorldState

WIRE_VERSION = 1

#: A reference: an entity id, or a name for canon to resolve.
Ref = Annotated[str, StringConstraints(min_length=1, max_length=120)]
Amount = BoundedInt | FiniteFloat

#: Any kind at all: what a reference field names when the op does not narrow it.
ANY: tuple[str, ...] = KINDS

#: ``id -> name`` as a sentence should say it (resolved ids, new entities by their new names).
Namer = Callable[[str], str]
#: ``id -> kind`` (None for an id the world does not know).
Kinder = Callable[[str], "str | None"]


#: Relations whose making stirs a story, and those whose breaking does.
HOSTILE_RELATIONS = frozenset({"enemy_of", "rival_of", "distrusts", "fears"})
WARM_RELATIONS = frozenset({"friend_of", "loves", "trusts"})


class NewEntity(Strict):
    """What a ``create`` op brings into the world."""

    id: str | None = None
    kind: Kind
    name: str = Field(min_length=1, max_length=80)
    description: str = Field("", max_length=1000)
    at: Ref | None = None
    attributes: dict[str, AttrValue] = Field(default_factory=dict, max_length=32)
    #: A new character's ways and wants (how they behave, what they are after).
    traits: list[Annotated[str, StringConstraints(min_length=1, max_length=60)]] = Field(
        default_factory=list, max_length=6)
    goals: list[Annotated[str, StringConstraints(min_length=1, max_length=200)]] = Field(
        default_factory=list, max_length=3)
    #: Facts a new character arrives knowing (ids; a rumour they bring). Empty on old saves.
    knows: list[Ref] = Field(default_factory=list, max_length=4)


class Resolving(Protocol):
    """What canon offers an op while resolving its names (see ``world/canon.py``).

    ``ref`` resolves one field of the op to an id (of the kinds the op allows there),
    inventing a ``creating`` kind at ``at`` for an unknown name when the world allows;
    it records a violation and returns None when it cannot.
    """

    def ref(self, op: OpBase, field: str, *, creating: str | None = None,
            at: str | None = None) -> str | None: ...

    def lookup(self, value: str, kinds: tuple[str, ...]) -> tuple[str | None, list[str]]: ...

    def where_of(self, entity_id: str | None) -> str | None: ...

    def made(self, entity_id: str) -> bool: ...

    def fail(self, op: OpBase, message: str, candidates: list[str]) -> None: ...

    def adopt(self, entity: NewEntity) -> NewEntity: ...

    def refund(self) -> None: ...


def words(name: str) -> str:
    """An attribute or relation as people say it: ``friend_of`` -> ``friend of``."""
    return name.replace("_", " ")


class OpBase(Strict):
    """One op kind. Subclasses set ``op`` to a ``Literal`` (the wire discriminator).

    Class attributes (upper case, so they never clash with a field):

    - ``ORDER``: where the op stands in lists (prompt, schema enum, error messages).
    - ``REFS``: each field holding an entity reference -> the kinds it may name.
    - ``INVENTS``: each field where an unknown name may become a new entity -> that kind.
    - ``SUBJECT``: the field naming whom the op acts upon (None: nobody in particular);
      ``VERB`` says what it does to them ("move", "change" ...) for refusals, and
      ``DEAD_CANNOT`` what a dead subject cannot do ("move", "die again"; empty: the
      dead are not asked).
    - ``AIM``: the field naming the place or thing the op goes to or acts on.
    - ``PROMPT``: the line that teaches a model the op, in the "How to propose" list
      (empty: another op's line covers it).
    """

    op: str
    ORDER: ClassVar[int]
    REFS: ClassVar[dict[str, tuple[str, ...]]] = {}
    INVENTS: ClassVar[dict[str, str]] = {}
    SUBJECT: ClassVar[str | None] = None
    VERB: ClassVar[str] = ""
    DEAD_CANNOT: ClassVar[str] = ""
    AIM: ClassVar[str | None] = None
    PROMPT: ClassVar[str]

    @classmethod
    def wire_name(cls) -> str:
        """The wire name: ``move``, ``transfer`` ..."""
        return str(cls.model_fields["op"].default)

    @classmethod
    def wire_fields(cls) -> tuple[str, ...]:
        """The op's own fields in wire order (without ``op``)."""
        return tuple(f for f in cls.model_fields if f != "op")

    @classmethod
    def taught(cls, state: WorldState) -> bool:
        """Whether prompts in this world teach the op (the knowledge ops: where it matters)."""
        return True

    @classmethod
    def schema_fragment(cls) -> dict:
        """The op's JSON schema (pydantic's), as a fragment of the proposal's."""
        return cls.model_json_schema()

    # ----------------------------------------------------------- references
    def references(self) -> list[tuple[str, str]]:
        """(field, value) pairs of the entity references the op makes."""
        return [(f, getattr(self, f)) for f in self.REFS]

    def kinds_of(self, field: str) -> tuple[str, ...]:
        """The kinds the reference in ``field`` may name."""
        return self.REFS[field]

    def brings(self) -> NewEntity | None:
        """The entity the op brings into being, if any."""
        return None

    def created(self) -> str | None:
        """The id of the entity the op brings into being, if any."""
        new = self.brings()
        return new.id if new else None

    def touches(self) -> list[str]:
        """Every entity the op refers to or creates (for scope and witnesses)."""
        out = [value for _, value in self.references()]
        new = self.created()
        return [*out, new] if new else out

    def placed(self) -> tuple[str, str | None] | None:
        """``(thing, where it now is)`` when the op puts something somewhere."""
        return None

    def doer(self) -> str | None:
        """Who does the op, when the op itself says so (a move's mover)."""
        return None

    def aim(self) -> str | None:
        """The place or thing the op goes to or acts on (``target`` in author rules)."""
        return getattr(self, self.AIM) if self.AIM else None

    def carried(self) -> str | None:
        """The item that changes place (``item`` in author rules)."""
        return None

    def stirs(self, paid: frozenset[str]) -> float:
        """How much the op stirs the story (the director's tension): 0 for most ops.

        ``paid`` holds the attributes some op of the same event raises, so money
        changing hands does not count as a loss.
        """
        return 0.0

    def deadly(self) -> bool:
        """Whether the op ends a life."""
        return False

    # ------------------------------------------------------------- behaviour
    def resolve(self, c: Resolving) -> OpBase | None:
        """This op with names resolved to ids, or None (canon recorded why, or made it)."""
        resolved = {f: c.ref(self, f) for f in self.REFS}
        return self.model_copy(update=resolved) if all(resolved.values()) else None

    @abstractmethod
    def apply(self, state: WorldState, event_id: object = None) -> None:
        """Change ``state`` (the op is resolved and checked)."""

    @abstractmethod
    def summary(self, n: Namer) -> str:
        """The event line when nobody wrote one: ``Mara goes to the Market``."""

    @abstractmethod
    def told(self, n: Namer, kind: Kinder) -> str:
        """The line a narrating model reads about what happened."""

    @abstractmethod
    def sentence(self, n: Namer) -> str:
        """A plain narration sentence, for an op no richer telling covered."""


class KnowledgeOp(OpBase):
    """An op about who knows what (``tell``, ``learn``, ``fact``): taught to models only
    where some people know what others do not, and told as its own summary."""

    @classmethod
    def taught(cls, state: WorldState) -> bool:
        return state.private_knowledge()

    def told(self, n: Namer, kind: Kinder) -> str:
        return self.summary(n)

    def sentence(self, n: Namer) -> str:
        return f"{self.summary(n)}."
