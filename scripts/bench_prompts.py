"""The prompt economy part of ``scripts/bench.py``: what the model is asked, how much
of it a server's cache already holds, how many calls a player waits for, and what that
costs in seconds on published token rates.

* :func:`prompt_report`: prompt sizes and prefix reuse from a fake server's request
  log, each request against the previous one of any kind (what one server slot sees)
  and decide against decide, with the tokens left to evaluate (not in the cache).
* :func:`run_history`: decide prompt size as a procedural game's history grows (1,000
  to 100,000 events of real play: the world grows, relations and inventions pile up).
* :func:`run_turns`: scripted player turns against the fake: model calls on the
  player's critical path and per tick, per-beat decide calls against one shared decide
  call for the tick's offscreen beats, and seconds per turn on :data:`RATES`.
"""

from __future__ import annotations

import asyncio
import os
import statistics
import tempfile
from collections import defaultdict
from pathlib import Path
from typing import Any

#: Published llama-bench figures (prompt processing ``pp512`` and generation ``tg128``,
#: tokens per second). NOT measured here: no model runs on this machine.
RATES: tuple[dict[str, Any], ...] = (
    {"device": "CPU i5-4278U, 2 threads", "model": "Llama 3.2 3B Q4_K_M",
     "pp": 17.70, "tg": 7.68, "source": "github.com/geerlingguy/ai-benchmarks/issues/53"},
    {"device": "CPU i3-1315U, 2 threads", "model": "Llama 3.2 3B Q4_K_M",
     "pp": 28.67, "tg": 11.05, "source": "github.com/geerlingguy/sbc-reviews/issues/107"},
    {"device": "GPU RTX 3080", "model": "Llama 3.1 8B Q4_K_M: a 3B is faster",
     "pp": 3806.89, "tg": 111.95,
     "source": "github.com/dmatora/LLM-inference-speed-benchmarks/issues/12"},
)

#: Player turns for the harbour world: talk, move, trade, take, and wishes the world
#: refuses, as a newcomer types them.
SCRIPT = (
    "I look around the tavern",
    "I ask Nell Gannet about Silas Crane",
    "I say to Captain Vane: we will get the Kestrel back",
    "I buy Vane's cutlass",
    "I go to the fish dock",
    "I ask Tamsin Reed about the lighthouse",
    "I take the brass key",
    "I go to the saltmarket",
    "I buy the storm lantern from Ysolde Brack",
    "I walk to the lighthouse",
    "I tell Ysolde Brack that Silas could swim",
    "I wait and listen",
)

#: What the issue asks of the prompts (scripts/bench.py prints each with its verdict).
REUSE_GOAL = 0.85
SIZE_GOAL = 0.10
CRITICAL_GOAL = 2


def common_prefix(a: str, b: str) -> int:
    return len(os.path.commonprefix([a, b]))


def request_text(messages: list[dict[str, Any]]) -> str:
    """What a chat template lays out: role markers, then each message, in order."""
    return "".join(f"<|{m.get('role')}|>{m.get('content', '')}" for m in messages)


def classify(entry: dict[str, Any]) -> str | None:
    """A fake log entry's phase: decide, repair, reask, narrate (None: not a generation)."""
    from simengine.storytellers.prompts import REASK_HEADER, REPAIR_HEADER

    body = entry.get("body") or {}
    messages = body.get("messages") or []
    if entry.get("path") != "/api/chat" or not messages:
        return None
    if not body.get("format"):
        return "narrate"
    last = str(messages[-1].get("content", ""))
    if last.startswith(REPAIR_HEADER):
        return "repair"
    return "reask" if last.startswith(REASK_HEADER) else "decide"


def _summary(values: list[float], digits: int = 3) -> dict[str, Any]:
    from bench import pct, summary  # one definition of the figures every section reports

    low = pct(values, 0.05)
    return {**summary(values, digits), "p5": None if low is None else round(low, digits)}


def requests(log: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Every generation request in order: its phase, size, and what the previous one left
    in a one-slot server's cache (``shared`` characters of common prefix)."""
    from simengine.storytellers.scene import TokenEstimator

    est = TokenEstimator()
    out: list[dict[str, Any]] = []
    previous = ""
    for entry in log:
        phase = classify(entry)
        if phase is None:
            continue
        messages = entry["body"]["messages"]
        text = request_text(messages)
        shared = common_prefix(previous, text)
        out.append({"phase": phase, "messages": messages, "text": text,
                    "tokens": est.estimate(text), "uncached": est.estimate(text[shared:]),
                    "reuse": shared / len(text) if previous else None,
                    "reply_tokens": _reply_tokens(entry)})
        previous = text
    return out


def _reply_tokens(entry: dict[str, Any]) -> int:
    from simengine.testing.fake_replies import tokens_of

    return len(tokens_of(entry["reply"])) if entry.get("reply") else 0


def prompt_report(log: list[dict[str, Any]]) -> dict[str, Any]:
    """Prompt sizes and prefix reuse, from a fake's request log (in order)."""
    rows = requests(log)
    decides = [r for r in rows if r["phase"] == "decide"]
    reuse_decide, previous = [], None
    for r in decides:
        if previous is not None:
            reuse_decide.append(common_prefix(previous, r["text"]) / len(r["text"]))
        previous = r["text"]
    by_phase: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for r in rows:
        by_phase[r["phase"]].append(r)
    systems = {r["messages"][0].get("content") for r in rows
               if r["messages"] and r["messages"][0].get("role") == "system"}
    return {
        "requests": len(rows), "decide_prompts": len(decides),
        "chars": _summary([len(r["text"]) for r in decides], 1),
        "est_tokens": _summary([r["tokens"] for r in decides], 1),
        "system_share": _summary([len(str(r["messages"][0].get("content", ""))) / len(r["text"])
                                  for r in decides]),
        "one_system_message": len(systems) == 1,
        "prefix_reuse_vs_previous_decide": _summary(reuse_decide),
        "prefix_reuse_vs_previous_call": _summary([r["reuse"] for r in rows
                                                   if r["reuse"] is not None]),
        "by_phase": {phase: {"requests": len(rs),
                             "tokens_mean": round(statistics.fmean(r["tokens"] for r in rs), 1),
                             "uncached_mean": round(statistics.fmean(r["uncached"] for r in rs),
                                                    1),
                             "reuse": _summary([r["reuse"] for r in rs if r["reuse"] is not None])}
                     for phase, rs in sorted(by_phase.items())},
    }


# ------------------------------------------------------------------- history
def run_history(marks: tuple[int, ...], beats: int, world: Path, seed: int = 7) -> dict[str, Any]:
    """Decide prompt size at each number of events of procedural play (narration off,
    as a headless run): ``beats`` beats' decide prompts measured at each mark, built by
    the same code an Ollama storyteller uses, for the very scenes the game built."""
    from simengine.sim import session as sm
    from simengine.storytellers.prompts import decide_messages
    from simengine.storytellers.scene import TokenEstimator
    from simengine.world.loader import load_world

    est = TokenEstimator()
    taken: list[dict[str, int]] = []
    measuring = [False]
    real = sm.build_scene

    def measured(state: Any, intent: Any, *args: Any, **kwargs: Any) -> Any:
        scene = real(state, intent, *args, **kwargs)
        if measuring[0]:
            system, user = decide_messages(scene, intent)
            taken.append({"tokens": est.estimate(system["content"] + user["content"]),
                          "changing": est.estimate(user["content"])})
        return scene

    out: dict[str, Any] = {"world": world.name, "marks": {}}
    with tempfile.TemporaryDirectory(prefix="simengine-bench-") as tmp:
        session = sm.Session.new(load_world(world), Path(tmp) / "history.db", seed=seed,
                                 narrate=False)
        sm.build_scene = measured

        async def play(until: int) -> None:
            while sum(session.metrics.events.values()) < until:
                if session.ending is not None:  # play on past the world's endings
                    session.continue_story()
                await session.step()

        try:
            for mark in marks:
                asyncio.run(play(mark))
                measuring[0], taken[:] = True, []
                done = sum(session.metrics.events.values())
                asyncio.run(play(done + beats))
                measuring[0] = False
                state = session.state
                out["marks"][str(mark)] = {
                    "events": done, "entities": len(state), "relations": len(state.relations()),
                    "decide_tokens": _summary([t["tokens"] for t in taken], 1),
                    "changing_tokens": _summary([t["changing"] for t in taken], 1)}
        finally:
            sm.build_scene = real
            session.close()
    return out


# --------------------------------------------------------------------- turns
def run_turns(world: Path, turns: int, seed: int = 7) -> dict[str, Any]:
    """Scripted player turns against the plausible fake: the calls a player waits for;
    and the same turns against the noisy fake (faults injected into proposals and
    prose, at the evaluation's rates), for the critical path when the model errs."""
    per_turn, log = play_turns(world, turns, seed, "plausible")
    rows = requests(log)
    critical = [t["critical"] for t in per_turn if t["critical"] is not None]
    noisy, _ = play_turns(world, turns, seed, "noisy")
    return {"world": world.name, "turns": len(per_turn), "per_turn": per_turn,
            "critical_calls": _summary(critical), "calls_per_tick": _summary(
                [t["tick"] for t in per_turn]),
            "noisy": {"per_turn": noisy, "critical_calls": _summary(
                [t["critical"] for t in noisy if t["critical"] is not None])},
            "prompts": prompt_report(log),
            # Headless runs may turn narration off: the same decide calls, no narrations.
            "layouts": {"narrated": compare_layouts(rows), "headless": compare_layouts(
                [r for r in rows if r["phase"] != "narrate"])},
            "cost": cost_table(rows, per_turn)}


def play_turns(world: Path, turns: int, seed: int,
               mode: str) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """:data:`SCRIPT`'s turns against the fake in ``mode``: per turn, the calls made
    before the player's beat was committed and told (``critical``) and in the whole
    tick; and the fake's request log."""
    from simengine.sim.evaluate import DEFAULT_RATES
    from simengine.sim.session import Committed, Session
    from simengine.storytellers.ollama import OllamaStoryteller
    from simengine.testing.fake_ollama import FakeOllama
    from simengine.world.loader import load_world

    per_turn: list[dict[str, Any]] = []
    with tempfile.TemporaryDirectory(prefix="simengine-bench-") as tmp, \
            FakeOllama(mode=mode, seed=seed) as fake:
        if mode == "noisy":
            fake.set_faults(DEFAULT_RATES)
        session = Session.new(load_world(world), Path(tmp) / "turns.db", seed=seed,
                              storyteller=OllamaStoryteller(host=fake.url, timeout=60))

        def generations() -> int:
            return sum(1 for e in list(fake.log) if classify(e))

        try:
            for i in range(turns):
                start, told = generations(), [None]

                def heard(message: Any, start: int = start, told: list = told) -> None:
                    if isinstance(message, Committed) and message.event.kind == "player":
                        told[0] = generations() - start

                stop = session.subscribe(heard)
                asyncio.run(session.act(SCRIPT[i % len(SCRIPT)]))
                stop()
                per_turn.append({"turn": SCRIPT[i % len(SCRIPT)], "critical": told[0],
                                 "tick": generations() - start})
        finally:
            session.close()
        log = list(fake.log)
    return per_turn, log


def _beat(row: dict[str, Any]) -> tuple[str | None, str | None]:
    """(beat kind, place) of a decide request, from its scene block."""
    from simengine.storytellers.prompts import read_scene_block

    facts = read_scene_block(str(row["messages"][-1].get("content", ""))) or {}
    return facts.get("beat"), facts.get("location")


def _ticks(rows: list[dict[str, Any]]) -> list[list[dict[str, Any]]]:
    """The requests, cut where a player's decide starts a new turn."""
    ticks: list[list[dict[str, Any]]] = []
    for r in rows:
        if not ticks or (r["phase"] == "decide" and _beat(r)[0] == "player"):
            ticks.append([])
        ticks[-1].append(r)
    return ticks


def _sequence_cost(texts: list[str]) -> int:
    """Tokens a one-slot server evaluates for these requests, in order."""
    from simengine.storytellers.scene import TokenEstimator

    est, previous, total = TokenEstimator(), "", 0
    for text in texts:
        total += est.estimate(text[common_prefix(previous, text):])
        previous = text
    return total


def compare_layouts(rows: list[dict[str, Any]]) -> dict[str, Any]:
    """Per-beat decide calls (what runs) against one shared decide call for each tick's
    offscreen beats (their user messages in one request, one proposal per actor in the
    reply), from the same requests: calls, and tokens a one-slot server evaluates.

    Only the cost is measured: whether a small model keeps several proposals valid
    in one reply cannot be measured without a model (the fake's faults are injected).
    """
    ticks = _ticks(rows)
    per_beat = [r["text"] for r in rows]
    shared: list[str] = []  # the same run with each tick's offscreen decide calls as one
    for tick in ticks:
        here = next((_beat(r)[1] for r in tick if r["phase"] == "decide"
                     and _beat(r)[0] == "player"), None)
        offscreen = [r for r in tick if r["phase"] == "decide" and _beat(r)[0] != "player"
                     and (here is None or _beat(r)[1] != here)]
        if len(offscreen) < 2:
            shared += [r["text"] for r in tick]
            continue
        joined = "\n\n".join(str(r["messages"][-1].get("content", "")) for r in offscreen)
        batch = request_text([offscreen[0]["messages"][0], {"role": "user", "content": joined}])
        merged = {id(r) for r in offscreen[1:]}
        shared += [batch if r is offscreen[0] else r["text"] for r in tick if id(r) not in merged]
    n, cpu = max(len(ticks), 1), RATES[1]
    out: dict[str, Any] = {}
    for name, texts in (("per_beat", per_beat), ("shared_offscreen", shared)):
        tokens = _sequence_cost(texts)  # one server slot, the whole run in order
        out[name] = {"calls_per_tick": round(len(texts) / n, 3),
                     "evaluated_tokens_per_tick": round(tokens / n, 1),
                     "prompt_s_per_tick_cpu": round(tokens / n / cpu["pp"], 2)}
    better = min(out, key=lambda k: (out[k]["evaluated_tokens_per_tick"],
                                     out[k]["calls_per_tick"]))
    out["kept"] = "per_beat"
    out["better_by_tokens"] = better
    return out


def cost_table(rows: list[dict[str, Any]], per_turn: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Seconds a player waits for the calls on the critical path, on :data:`RATES`, with
    the measured tokens and reuse, and with no cache at all (every prompt token again).
    The first turn is left out: its cold cache is paid once a session, not every turn."""
    turns = [t for t in _ticks(rows) if t and _beat(t[0])[0] == "player"]
    calls = [t[: c["critical"] or 0] for t, c in zip(turns, per_turn, strict=False)][1:]
    calls = [c for c in calls if c]
    if not calls:
        return []
    n = len(calls)
    prompt = sum(r["tokens"] for c in calls for r in c) / n
    uncached = sum(r["uncached"] for c in calls for r in c) / n
    reply = sum(r["reply_tokens"] for c in calls for r in c) / n
    return [{"device": rate["device"], "model": rate["model"], "source": rate["source"],
             "pp": rate["pp"], "tg": rate["tg"], "prompt_tokens": round(prompt, 1),
             "uncached_tokens": round(uncached, 1), "reply_tokens": round(reply, 1),
             "seconds": round(uncached / rate["pp"] + reply / rate["tg"], 2),
             "seconds_uncached": round(prompt / rate["pp"] + reply / rate["tg"], 2)}
            for rate in RATES]


# ------------------------------------------------------------------- targets
def prompt_targets(report: dict[str, Any], add: Any) -> None:
    """The prompt targets of issue 15 against what was measured (``add(name, value,
    goal, met)``)."""
    engine = report.get("engine", {}).get("sizes", {})
    if engine:
        small = engine[min(engine, key=int)]
        big = engine[max(engine, key=int)]
        a, b = small["prompts"]["est_tokens"]["median"], big["prompts"]["est_tokens"]["median"]
        growth = (b - a) / a if a else None
        add(f"decide prompt {small['entities']:,} -> {big['entities']:,} entities",
            None if growth is None else f"{growth:+.1%} ({a:g}->{b:g})", "within 10%",
            None if growth is None else abs(growth) <= SIZE_GOAL)
        for key, name in (("prefix_reuse_vs_previous_call", "any call"),
                          ("prefix_reuse_vs_previous_decide", "decide")):
            reuse = [s["prompts"][key] for s in engine.values()
                     if s["prompts"][key]["mean"] is not None]
            worst = min(reuse, key=lambda r: r["mean"]) if reuse else None
            add(f"prefix reuse vs previous {name} (mean, worst size)",
                None if worst is None else f"{worst['mean']:.1%} (p5 {worst['p5']:.1%})",
                f">= {REUSE_GOAL:.0%}", None if worst is None else worst["mean"] >= REUSE_GOAL)
        add("one system message for every call", all(
            s["prompts"]["one_system_message"] for s in engine.values()), "yes",
            all(s["prompts"]["one_system_message"] for s in engine.values()))
    marks = report.get("history", {}).get("marks", {})
    if len(marks) > 1:
        first, last = marks[min(marks, key=int)], marks[max(marks, key=int)]
        a, b = first["decide_tokens"]["median"], last["decide_tokens"]["median"]
        growth = (b - a) / a if a else None
        add(f"decide prompt {first['events']:,} -> {last['events']:,} events of play",
            None if growth is None else f"{growth:+.1%} ({a:g}->{b:g})", "within 10%",
            None if growth is None else abs(growth) <= SIZE_GOAL)
    turns = report.get("turns")
    if turns:
        crit = turns["critical_calls"]
        add("model calls on a player's critical path (mean / max)",
            f"{crit['mean']:.2f} / {crit['max']:g}", f"<= {CRITICAL_GOAL}",
            crit["mean"] is not None and crit["max"] <= CRITICAL_GOAL)
        noisy = turns.get("noisy", {}).get("critical_calls")
        if noisy and noisy["mean"] is not None:
            add("critical path calls, noisy fake (mean / max)",
                f"{noisy['mean']:.2f} / {noisy['max']:g}", f"<= {CRITICAL_GOAL}",
                noisy["max"] <= CRITICAL_GOAL)
        add("model calls per player tick (mean)", f"{turns['calls_per_tick']['mean']:.2f}", "-",
            None)
        reuse = turns["prompts"]["prefix_reuse_vs_previous_call"]["mean"]
        add("prefix reuse vs previous call, player turns (mean)", f"{reuse:.1%}",
            f">= {REUSE_GOAL:.0%}", reuse >= REUSE_GOAL)


def render_prompts(report: dict[str, Any], emit: Any, console: Any) -> None:
    """The history, turns, layouts and cost tables (``emit(title, columns, rows)``)."""
    marks = report.get("history", {}).get("marks", {})
    if marks:
        emit("decide prompt as history grows (procedural play)",
             ["events", "entities", "relations", "tokens median", "p95", "changing part"],
             [(m["events"], m["entities"], m["relations"], m["decide_tokens"]["median"],
               m["decide_tokens"]["p95"], m["changing_tokens"]["median"])
              for m in marks.values()])
    turns = report.get("turns")
    if not turns:
        return
    p = turns["prompts"]
    emit(f"scripted player turns ({turns['turns']}, plausible fake): reuse by call kind",
         ["phase", "requests", "tokens", "not cached", "reuse mean", "reuse p5"],
         [(phase, v["requests"], v["tokens_mean"], v["uncached_mean"],
           f"{v['reuse']['mean'] or 0:.1%}", f"{_p5(v) or 0:.1%}")
          for phase, v in p["by_phase"].items()])
    for mode, lay in turns["layouts"].items():
        emit(f"offscreen beats ({mode}): a decide call each vs one shared decide call a tick",
             ["layout", "calls/tick", "evaluated tokens/tick",
              f"prompt s/tick, {RATES[1]['device']}"],
             [(k.replace("_", " "), v["calls_per_tick"], v["evaluated_tokens_per_tick"],
               v["prompt_s_per_tick_cpu"]) for k, v in lay.items() if isinstance(v, dict)])
        console.print(f"kept: {lay['kept'].replace('_', ' ')} (fewer evaluated tokens: "
                      f"{lay['better_by_tokens'].replace('_', ' ')}; whether a small model "
                      "keeps shared replies valid is not measurable without one)")
    cost = turns["cost"]
    if cost:
        c0 = cost[0]
        emit(f"seconds a player waits, a turn after the first, for {c0['prompt_tokens']:,.0f} "
             "prompt tokens "
             f"({c0['uncached_tokens']:,.0f} not cached) and {c0['reply_tokens']:,.0f} reply "
             "tokens, at PUBLISHED llama-bench rates (not measured here)",
             ["device", "prompt tok/s", "reply tok/s", "s", "s, no cache"],
             [(c["device"], c["pp"], c["tg"], c["seconds"], c["seconds_uncached"])
              for c in cost])
        for c in cost:
            console.print(f"  {c['device']}: {c['model']}, {c['source']}")


def _p5(v: dict[str, Any]) -> float | None:
    return v["reuse"].get("p5")
