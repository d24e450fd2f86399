"""Descriptions and JSON schemas of the repository tools: what the model reads to call them."""

from __future__ import annotations

from typing import Any

__all__ = ["FILE_INFO", "LIST_FILES", "READ_FILE", "SEARCH"]

_PATH = {
    "type": "string",
    "description": "Path relative to the repository root, e.g. 'src/app.py' or 'src' ('.' is the root).",
    "minLength": 1,
    "maxLength": 4096,
}


def _schema(properties: dict[str, Any], required: list[str]) -> dict[str, Any]:
    return {"type": "object", "properties": properties, "required": required, "additionalProperties": False}


LIST_FILES: tuple[str, dict[str, Any]] = (
    "List the files and directories of the repository as a tree (paths relative to the root, file sizes in "
    "bytes). Files ignored by .gitignore and the .git directory are left out unless include_ignored is true. "
    'Returns {"entries": [{"path", "type": "file"|"dir"|"symlink", "size"}], "files", "bytes", "truncated"}; '
    "directories end with '/'. Start at the root with a small max_depth, then list subdirectories.",
    _schema(
        {
            "path": {**_PATH, "default": ".", "description": "Directory to list (default '.', the root)."},
            "max_depth": {
                "type": "integer",
                "minimum": 1,
                "maximum": 20,
                "default": 3,
                "description": "How many directory levels to descend (1 = only the directory's own entries).",
            },
            "max_entries": {
                "type": "integer",
                "minimum": 1,
                "maximum": 5000,
                "default": 500,
                "description": "Stop after this many entries (the result says truncated).",
            },
            "include_ignored": {
                "type": "boolean",
                "default": False,
                "description": "Also list files that .gitignore excludes (build output, node_modules, ...).",
            },
        },
        [],
    ),
)

READ_FILE: tuple[str, dict[str, Any]] = (
    "Read a text file, or a range of its lines, with line numbers ('     1<TAB>first line'). "
    "Binary files are refused. Long output is capped at max_bytes; the result then says truncated and which "
    'start_line to continue from. Returns {"path", "start_line", "end_line", "total_lines", "encoding", "content"}; '
    "total_lines is null when the file is too large to count past the lines shown, and a line longer than "
    "max_bytes is cut.",
    _schema(
        {
            "path": _PATH,
            "start_line": {"type": "integer", "minimum": 1, "default": 1, "description": "First line (1-based)."},
            "end_line": {
                "type": "integer",
                "minimum": 1,
                "description": "Last line, inclusive (default: the end of the file).",
            },
            "max_bytes": {
                "type": "integer",
                "minimum": 256,
                "maximum": 1048576,
                "default": 65536,
                "description": "Cap on the returned content in bytes.",
            },
        },
        ["path"],
    ),
)

SEARCH: tuple[str, dict[str, Any]] = (
    "Search the repository's text files for a literal string (default) or a regular expression, like grep. "
    "Skips binary files, files over 2 MB and files ignored by .gitignore. Returns "
    '{"matches": [{"path", "line", "text", "before", "after"}], "count", "files_searched", "truncated"}; '
    "before/after hold context lines. Narrow with path (a directory or one file) and glob (e.g. '*.py').",
    _schema(
        {
            "pattern": {
                "type": "string",
                "minLength": 1,
                "maxLength": 1000,
                "description": "Text to find; a regular expression when is_regex is true (RE2 syntax: like "
                "Python's, without backreferences or lookaround).",
            },
            "path": {**_PATH, "default": ".", "description": "Directory or file to search (default '.')."},
            "is_regex": {"type": "boolean", "default": False, "description": "Treat pattern as a regex."},
            "case_sensitive": {"type": "boolean", "default": True, "description": "Match case exactly."},
            "glob": {
                "type": "string",
                "maxLength": 200,
                "description": "Only files whose name or relative path matches this glob, e.g. '*.py' or 'src/*.ts'.",
            },
            "context_lines": {
                "type": "integer",
                "minimum": 0,
                "maximum": 10,
                "default": 2,
                "description": "Lines of context before and after each match.",
            },
            "max_matches": {
                "type": "integer",
                "minimum": 1,
                "maximum": 500,
                "default": 50,
                "description": "Stop after this many matching lines.",
            },
        },
        ["pattern"],
    ),
)

FILE_INFO: tuple[str, dict[str, Any]] = (
    "Describe one path: type (file/dir/other), size in bytes, modification time (UTC), permission bits, "
    "whether it is a symlink, whether .gitignore ignores it, and for text files the line count and encoding.",
    _schema({"path": _PATH}, ["path"]),
)
