"""The terminal UI (Textual): the launcher and the play screen, on top of ``Session``."""
