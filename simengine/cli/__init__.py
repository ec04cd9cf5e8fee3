"""The ``simengine`` command: a click group of thin commands over the library."""

from __future__ import annotations

import click

from simengine import __version__
from simengine.cli.batch import batch
from simengine.cli.evaluate import eval_cmd
from simengine.cli.importer import import_command
from simengine.cli.models import doctor, models
from simengine.cli.play import play
from simengine.cli.rules import rules
from simengine.cli.run import run
from simengine.cli.saves import saves
from simengine.cli.world import new, validate


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="simengine")
def main() -> None:
    """simengine: worlds where models propose and the code disposes.

    Play in the terminal (play), author worlds (new, validate, rules), run headless
    (run, batch, eval), manage saves (saves) and models (models, doctor).

    Example: simengine play worlds/harbour.toml
    """


main.add_command(play)
main.add_command(validate)
main.add_command(new)
main.add_command(run)
main.add_command(batch)
main.add_command(models)
main.add_command(doctor)
main.add_command(saves)
main.add_command(eval_cmd, name="eval")
main.add_command(import_command)
main.add_command(rules)
