"""The evaluation's adversarial model: an Ollama-speaking server that lies at known rates.

``simengine eval`` (:mod:`simengine.sim.evaluate`) runs the engine against it and
scores what the rules caught. Production code may use it; tests reach it through
:mod:`simengine.testing` too. May import storytellers and world, nothing above.

- :mod:`simengine.eval.adversary`: the server (modes scripted, plausible, noisy, hostile)
- :mod:`simengine.eval.replies`: what it says, and the contradictions it injects
- :mod:`simengine.eval.hostile`: replies built to break a client
"""
