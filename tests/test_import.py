import subprocess
import sys

HEAVY = ("torch", "diffusers", "transformers", "openai", "anthropic", "google.genai", "langgraph")


def test_import_composer_stays_light() -> None:
    code = (
        "import sys, composer, composer.core, composer.specialists, composer.agents, "
        "composer.evaluation, composer.report, composer.benchmarks; "
        f"print(','.join(m for m in {HEAVY!r} if m in sys.modules))"
    )
    loaded = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    )
    assert loaded.stdout.strip() == ""
