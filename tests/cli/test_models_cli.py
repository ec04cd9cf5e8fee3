"""`simengine models`, `models pull` and `simengine doctor` against the fake server."""

from __future__ import annotations

import pytest
from click.testing import CliRunner

from simengine.cli.models import doctor, models
from simengine.testing.fake_ollama import FakeOllama, Fault
from simengine.testing.fixtures import dead_url


@pytest.fixture
def fake():
    with FakeOllama(models=["qwen2.5:3b", "llama3.2:3b"]) as server:
        yield server


def invoke(command, *args: str, **env: str):
    result = CliRunner().invoke(command, list(args), env=env or None)
    assert "Traceback" not in result.output
    assert result.exception is None or isinstance(result.exception, SystemExit), result.exception
    return result


def test_every_command_has_help_with_an_example():
    for command in (models, models.commands["pull"], doctor):
        assert "Example:" in (command.help or "")


def test_models_lists_name_size_parameters_quantization_and_modified(fake):
    result = invoke(models, "--host", fake.url)
    assert result.exit_code == 0
    lines = result.output.splitlines()
    assert lines[0].split() == ["name", "size", "parameters", "quantization", "modified"]
    row = next(line for line in lines if line.strip().startswith("qwen2.5:3b"))
    assert row.split()[:6] == ["qwen2.5:3b", "*", "1.9", "GB", "3.1B", "Q4_K_M"]
    assert "2025-12-01" in row and "llama3.2:3b" in result.output


def test_models_says_when_the_model_is_missing(fake):
    result = invoke(models, "--host", fake.url, "--model", "mistral:7b")
    assert result.exit_code == 0 and "simengine models pull mistral:7b" in result.output


def test_models_reads_the_host_from_the_environment(fake):
    result = invoke(models, OLLAMA_HOST=fake.url)
    assert result.exit_code == 0 and "qwen2.5:3b" in result.output


def test_models_without_a_server_is_one_clear_line():
    result = invoke(models, "--host", dead_url())
    assert result.exit_code == 1
    assert result.output.startswith("Error: Ollama is not reachable") and "`ollama serve`" in (
        result.output)


def test_pull_shows_progress_and_the_model_arrives(fake):
    result = invoke(models, "pull", "mistral:7b", "--host", fake.url)
    assert result.exit_code == 0, result.output
    assert "pulling manifest" in result.output and "1.9/1.9 GB" in result.output
    assert result.output.rstrip().endswith(f"pulled mistral:7b on {fake.url}")
    assert "mistral:7b" in fake.models


def test_pull_of_an_unknown_model_fails_clearly(fake):
    fake.pullable = []
    result = invoke(models, "--host", fake.url, "pull", "no-such-model")
    assert result.exit_code == 1
    assert "Error: pull of 'no-such-model' failed: pull model manifest: file does not exist" in (
        result.output)


def test_doctor_all_green_against_the_fake(fake):
    result = invoke(doctor, "--host", fake.url)
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    assert [line.split(":")[0] for line in lines[:4]] == ["✓ server", "✓ model", "✓ num_ctx",
                                                          "✓ decide"]
    assert "Ollama 0.13.5" in lines[0] and "the model allows 32768" in lines[2]
    assert "a valid proposal" in lines[3]
    assert lines[-1].startswith("all good")
    decide = [e for e in fake.requests if e["path"] == "/api/chat"]
    assert len(decide) == 1 and isinstance(decide[0]["body"]["format"], dict)


def test_doctor_without_a_server_is_red_with_the_fix():
    result = invoke(doctor, "--host", dead_url())
    assert result.exit_code == 1
    assert result.output.startswith("✗ server: nothing answers at http://127.0.0.1:")
    assert "fix: start it with `ollama serve`" in result.output


def test_doctor_names_the_pull_when_the_model_is_missing(fake):
    result = invoke(doctor, "--host", fake.url, "--model", "mistral:7b")
    assert result.exit_code == 1
    assert "✗ model: 'mistral:7b' is not pulled" in result.output
    assert "fix: run `ollama pull mistral:7b`" in result.output


def test_doctor_reports_a_failing_decide_call(fake):
    fake.enqueue(Fault.http(500, "runner crashed"))
    result = invoke(doctor, "--host", fake.url)
    assert result.exit_code == 1
    assert "✗ decide: the test decide call failed: Ollama at" in result.output
    assert "runner crashed" in result.output


def test_doctor_reads_num_ctx_from_a_world_file(fake, tmp_path):
    world = tmp_path / "w.toml"
    world.write_text('[world]\nid = "w"\nname = "W"\n\n[storyteller]\nnum_ctx = 1024\n'
                     '\n[[locations]]\nid = "here"\nname = "Here"\n')
    result = invoke(doctor, "--host", fake.url, "--world", str(world))
    assert result.exit_code == 1
    assert "✗ num_ctx: num_ctx 1024 (world file [storyteller]) is too small" in result.output
    assert "fix: set num_ctx = 4096 in [storyteller]" in result.output


def test_doctor_with_a_broken_world_file_is_one_clear_line(tmp_path):
    world = tmp_path / "w.toml"
    world.write_text("[world\n")
    result = invoke(doctor, "--world", str(world))
    assert result.exit_code == 1 and result.output.startswith("Error: ")
