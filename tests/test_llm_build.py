"""The llama.cpp build the LLM tests run on is the portable one (Makefile: LLAMA_CMAKE), never a native build.

A ``-march=native`` wheel built on an Intel VM whose CPU flags list ``amx_*`` (the hypervisor not enabling the AMX
tile state) dies with SIGILL on the first real prompt, and a wheel built on one machine must not run on another
whose CPU lacks its features. llama.cpp reports the CPU features it was compiled with: AVX2/FMA/F16C, and no
AVX-512 or AMX, is what runs on every x86-64 machine of this workplace.
"""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from testkit.llama_server import REQUIRED_ENV, unavailable_reason


def compiled_features() -> dict[str, str]:
    """``llama_print_system_info()`` of the installed llama-cpp-python, read in a child process."""
    reason = unavailable_reason()
    if reason is not None:
        if os.environ.get(REQUIRED_ENV) == "1":
            pytest.fail(f"{REQUIRED_ENV}=1 but {reason}")
        pytest.skip(reason)
    script = "import llama_cpp; print(llama_cpp.llama_print_system_info().decode())"
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=True,
                         timeout=120).stdout
    line = next(line for line in out.splitlines() if line.startswith("CPU :"))
    pairs = (part.split("=") for part in line.removeprefix("CPU :").split("|") if "=" in part)
    return {name.strip(): value.strip() for name, value in pairs}


def test_the_llama_cpp_build_is_portable() -> None:
    features = compiled_features()
    assert features.get("AVX2") == "1" and features.get("FMA") == "1", features
    unportable = sorted(name for name, on in features.items() if on == "1" and name.startswith(("AVX512", "AMX")))
    assert unportable == [], f"llama.cpp was built with {unportable}: run `make llm-test-deps` (portable flags)"
