"""One definition per op: every op kind carries every piece, and nothing else lists them.

The toy-op test adds an op the way an engineer would (one module in the ops package)
and shows the wire format, canon, the rules, apply, the prompt, the model's schema,
summaries and world-file ``forbid`` all take it up without another file changing.
"""

from __future__ import annotations

import ast
import inspect
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from simengine.world.ops import OP_CLASSES, OP_NAMES, OP_TYPES, OpBase, Proposal, prompt_lines
from simengine.world.spec import KINDS
from simengine.world.state import FACT

ROOT = Path(__file__).resolve().parents[2]
PACKAGE = ROOT / "simengine"
OPS_DIR = PACKAGE / "world" / "ops"
MINI = ROOT / "tests" / "fixtures" / "mini.toml"


@pytest.mark.parametrize("op_type", OP_TYPES, ids=OP_NAMES)
def test_every_op_carries_every_piece(op_type: type[OpBase]):
    name = op_type.wire_name()
    fields = op_type.wire_fields()
    assert not inspect.isabstract(op_type), f"{name} leaves a hook unwritten"
    for field, kinds in op_type.REFS.items():
        assert field in fields, f"{name}.REFS names '{field}', not a field"
        assert kinds and set(kinds) <= {*KINDS, FACT}, (name, field, kinds)
    for field, kind in op_type.INVENTS.items():
        assert field in op_type.REFS and kind in op_type.REFS[field], (name, field, kind)
    for attr in ("SUBJECT", "AIM"):
        value = getattr(op_type, attr)
        assert value is None or value in fields, (name, attr, value)
    assert bool(op_type.SUBJECT) == bool(op_type.VERB), name
    # A model learns the op from a prompt line (its own, or one that names it).
    assert any(f'"{name}"' in line for line in prompt_lines()), name
    schema = op_type.schema_fragment()
    assert schema["properties"]["op"].get("const", schema["properties"]["op"].get("default")) \
        == name
    assert set(schema["properties"]) == {"op", *fields}


def test_the_registry_keeps_the_wire_format_and_its_order():
    assert OP_NAMES == ("move", "transfer", "adjust", "set", "relate", "unrelate", "connect",
                        "create", "kill", "tell", "learn", "fact")
    assert len({t.ORDER for t in OP_TYPES}) == len(OP_TYPES)
    assert OP_CLASSES["set"].__name__ == "SetAttr"
    wire = {"actor": "mara", "summary": "s", "ops": [
        {"op": "move", "entity": "mara", "to": "dock"},
        {"op": "create", "entity": {"id": "map", "kind": "item", "name": "Map", "at": "mara"}},
        {"op": "kill", "entity": "silas", "cause": "fever"},
    ]}
    p = Proposal.model_validate(wire)
    assert [type(op).__name__ for op in p.ops] == ["Move", "Create", "Kill"]
    assert json.loads(p.model_dump_json())["ops"][0] == {"op": "move", "entity": "mara",
                                                          "to": "dock"}


# ------------------------------------------------------------ nobody else lists ops
def _python_files_outside_ops() -> list[Path]:
    return [p for p in sorted(PACKAGE.rglob("*.py")) if OPS_DIR not in p.parents]


def _isinstance_classes(test: ast.expr) -> set[str]:
    """Op class names an ``if`` test checks with ``isinstance``."""
    found: set[str] = set()
    for node in ast.walk(test):
        if isinstance(node, ast.Call) and getattr(node.func, "id", None) == "isinstance":
            for arg in ast.walk(node.args[1]) if len(node.args) == 2 else ():
                if isinstance(arg, ast.Name) and arg.id in _CLASS_NAMES:
                    found.add(arg.id)
    return found


_CLASS_NAMES = {t.__name__ for t in OP_TYPES}


def _ladders(tree: ast.AST) -> list[tuple[int, set[str]]]:
    """Runs of ``if``/``elif`` (or ``if ...: return`` in a row) that test several op classes."""
    out = []
    for node in ast.walk(tree):
        for body in (getattr(node, "body", None), getattr(node, "orelse", None)):
            if not isinstance(body, list):
                continue
            run: set[str] = set()
            start = 0
            for stmt in body:
                if not isinstance(stmt, ast.If):
                    if len(run) > 2:
                        out.append((start, run))
                    run = set()
                    continue
                start = start if run else stmt.lineno
                branch: ast.stmt | None = stmt
                while isinstance(branch, ast.If):
                    run |= _isinstance_classes(branch.test)
                    branch = branch.orelse[0] if len(branch.orelse) == 1 else None
            if len(run) > 2:
                out.append((start, run))
    return out


def test_no_layer_keeps_its_own_table_or_ladder_of_op_kinds():
    problems = []
    for path in _python_files_outside_ops():
        tree = ast.parse(path.read_text(encoding="utf-8"))
        rel = path.relative_to(ROOT)
        for line, classes in _ladders(tree):
            problems.append(f"{rel}:{line}: isinstance ladder over {sorted(classes)}")
        for node in ast.walk(tree):
            if isinstance(node, ast.Dict):
                keys = {k.value for k in node.keys if isinstance(k, ast.Constant)}
                if len(keys & set(OP_NAMES)) > 2:
                    problems.append(f"{rel}:{node.lineno}: a table keyed by op kinds")
            if isinstance(node, ast.Compare) and any(
                isinstance(c, ast.Constant) and c.value in OP_NAMES for c in node.comparators
            ) and "op" in ast.unparse(node.left).split(".")[-1:]:
                problems.append(f"{rel}:{node.lineno}: compares an op to a kind by name")
    assert not problems, "\n".join(problems)


# ------------------------------------------------------------------- a new op
TOY_OP = '''
from __future__ import annotations

from typing import Literal

from simengine.world.ops.base import OpBase, Ref


class Mark(OpBase):
    op: Literal["mark"] = "mark"
    entity: Ref
    sign: str

    ORDER = 1000
    REFS = {"entity": ("character",)}
    SUBJECT = "entity"
    VERB = "mark"
    AIM = "entity"
    PROMPT = '- {"op": "mark", "entity": "<character>", "sign": "<word>"}: chalk a sign on someone'

    def apply(self, state, event_id=None):
        state.set_attribute(self.entity, "sign", self.sign)

    def summary(self, n):
        return f"{n(self.entity)} bears the {self.sign} sign"

    def told(self, n, kind):
        return f"now {self.summary(n)}"

    def sentence(self, n):
        return f"{self.summary(n).capitalize()}."
'''

EXERCISE = '''
import importlib.util, json, sys

import simengine.world  # the parent package; the ops package is not loaded yet

spec = importlib.util.find_spec("simengine.world.ops")
spec.submodule_search_locations.append(sys.argv[1])  # where the new op module lies
ops = importlib.util.module_from_spec(spec)
sys.modules[spec.name] = ops
spec.loader.exec_module(ops)

from simengine.sim.narrate import describe
from simengine.storytellers.base import Intent
from simengine.storytellers.prompts import describe_op, parse_proposal, proposal_schema
from simengine.storytellers.scene import build_scene
from simengine.world.rules.authored import parse_forbid
from simengine.world.canon import resolve
from simengine.world.loader import load_world
from simengine.world.rules import check
from simengine.world.state import WorldState

from simengine.world.ops import Mark, OpList, Proposal

state = WorldState.from_spec(load_world(sys.argv[2]))
reply = ('{"actor": "mara", "summary": "", "ops": [{"op": "mark", "entity": "Silas", '
         '"sign": "gull", "item": "lantern"}]}')
resolution = resolve(parse_proposal(reply), state)
resolved = resolution.proposal
wrong = Proposal(actor="mara", ops=[Mark(entity="lantern", sign="x")])
scene = build_scene(state, Intent("npc", "mara"))
schema = proposal_schema(scene, Intent("npc", "mara"))["properties"]["ops"]["items"]
out = {
    "names": list(ops.OP_NAMES),
    "resolved": json.loads(resolved.model_dump_json())["ops"],
    "canon_violations": [v.message for v in resolution.violations],
    "violations": [v.rule for v in check(resolved, state)],
    "wrong_kind": [v.rule for v in check(wrong, state)],
    "prompt": scene.prefix,
    "enum": schema["properties"]["op"]["enum"],
    "sign_field": "sign" in schema["properties"],
    "told": describe_op(resolved.ops[0], state),
    "summary": describe(resolved.ops, state),
    "forbid": list(parse_forbid("mark entity silas", ids=list(state.entities()))),
    "round_trip": OpList.dump_json(OpList.validate_json(OpList.dump_json(resolved.ops))).decode(),
}
state.apply(resolved.ops, tick=1)
out["applied"] = state.attr("silas", "sign")
print(json.dumps(out))
'''


def test_a_new_op_is_one_module_and_every_layer_takes_it_up(tmp_path):
    (tmp_path / "mark.py").write_text(TOY_OP, encoding="utf-8")
    path = os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")])
    env = {**os.environ, "PYTHONPATH": path}
    run = subprocess.run([sys.executable, "-c", EXERCISE, str(tmp_path), str(MINI)],
                         capture_output=True, text=True, env=env, timeout=300)
    assert run.returncode == 0, run.stderr
    out = json.loads(run.stdout)
    assert out["names"][-1] == "mark"
    assert out["resolved"] == [{"op": "mark", "entity": "silas", "sign": "gull"}]  # name -> id
    assert out["canon_violations"] == []
    assert out["violations"] == []
    assert out["wrong_kind"] == ["kind.mismatch"]  # its REFS are checked like any op's
    assert '- {"op": "mark", "entity": "<character>", "sign": "<word>"}' in out["prompt"]
    assert "mark" in out["enum"] and out["sign_field"]
    assert out["told"] == "now Silas bears the gull sign"
    assert out["summary"] == "Silas bears the gull sign"
    assert out["forbid"] == ["mark", {"entity": "silas"}]
    assert json.loads(out["round_trip"]) == out["resolved"]
    assert out["applied"] == "gull"
