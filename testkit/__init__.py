"""Test support that the tests and the benchmarks share: real servers on loopback (an ASGI app or an http.server
handler in a thread, llama.cpp, PostgreSQL, FHIR, SMART authorization, a JWK Set, recorded LLM replies) and the
builders of fixture files (PDFs printed by Chromium, Word/HTML/Markdown documents).

It is its own package because the benchmarks must not import ``tests/`` (a test module is not a library: it may
change or go with the tests it serves); what both need lives here, and ``tests/`` keeps what only tests use.
Like ``tests`` and ``benchmarks`` it runs from the clone and is not shipped in the wheel.
"""
