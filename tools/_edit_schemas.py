"""Descriptions and JSON schemas of the repository-editing tools."""

from __future__ import annotations

from typing import Any

__all__ = ["APPLY_PATCH", "DIFF", "EDIT_FILE", "RUN", "WRITE_FILE"]

_PATH = {
    "type": "string",
    "minLength": 1,
    "maxLength": 4096,
    "description": "Path relative to the repository root, e.g. 'src/app.py'.",
}


def _schema(properties: dict[str, Any], required: list[str]) -> dict[str, Any]:
    return {"type": "object", "properties": properties, "required": required, "additionalProperties": False}


EDIT_FILE: tuple[str, dict[str, Any]] = (
    "Replace an exact piece of text in a file of the working copy. old_text must match the file exactly "
    "(whitespace and indentation included) and occur once; otherwise the error says how many times and at which "
    "lines it occurs, so add surrounding lines to make it unique, or set replace_all. Returns the diff of the file.",
    _schema(
        {
            "path": _PATH,
            "old_text": {"type": "string", "minLength": 1, "description": "The exact text to replace."},
            "new_text": {"type": "string", "description": "The replacement text (may be empty to delete)."},
            "replace_all": {
                "type": "boolean",
                "default": False,
                "description": "Replace every occurrence instead of requiring exactly one.",
            },
        },
        ["path", "old_text", "new_text"],
    ),
)

WRITE_FILE: tuple[str, dict[str, Any]] = (
    "Create a file, or replace a file's whole content, in the working copy (parent folders are created).",
    _schema(
        {"path": _PATH, "content": {"type": "string", "description": "The complete new content of the file."}},
        ["path", "content"],
    ),
)

APPLY_PATCH: tuple[str, dict[str, Any]] = (
    "Apply a unified diff to the working copy: '--- a/path' and '+++ b/path' headers, then '@@ -l,s +l,s @@' "
    "hunks of ' ' context, '-' removed and '+' added lines (use /dev/null to create or delete a file). All "
    "hunks apply or none do; a failing hunk is reported with the line it expected. Returns the resulting diff.",
    _schema({"patch": {"type": "string", "minLength": 1, "description": "The unified diff text."}}, ["patch"]),
)

RUN: tuple[str, dict[str, Any]] = (
    "Run a shell command (e.g. the test suite or a benchmark) in the working copy, inside the sandbox: no "
    "network, only the working copy is writable, killed after timeout_s. Returns exit_code, timed_out, "
    "duration_s, stdout and stderr (long output keeps its beginning and its end).",
    _schema(
        {
            "command": {
                "type": "string",
                "minLength": 1,
                "maxLength": 4000,
                "description": "Shell command run with /bin/sh -c in the repository root, e.g. 'python -m pytest -q'.",
            },
            "timeout_s": {
                "type": "number",
                "exclusiveMinimum": 0,
                "maximum": 600,
                "default": 300,
                "description": "Wall-clock limit in seconds.",
            },
        },
        ["command"],
    ),
)

DIFF: tuple[str, dict[str, Any]] = (
    "Show the unified diff of the working copy against the original repository (all changes so far, or only "
    'under path). Returns {"changed": [paths], "diff": text}.',
    _schema({"path": {**_PATH, "description": "Only changes to this file or under this folder."}}, []),
)
