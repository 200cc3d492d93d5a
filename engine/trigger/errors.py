"""Turn Lark's parse failures into `TriggerSyntaxError`s that say what was expected, and where.

Lark reports the unexpected token and the set of terminals it would have accepted. Users need
the token *before* the failure too ("a value after '='"), so the text is re-lexed up to the
failure point. Every message names line and column and (via TriggerSyntaxError) shows a caret.
"""

from __future__ import annotations

from collections.abc import Iterator

from lark import Lark, Token
from lark.exceptions import UnexpectedCharacters, UnexpectedInput, UnexpectedToken

from engine.errors import TriggerSyntaxError

_VALUE_TERMINALS = frozenset({"STRING", "NUMBER", "TRUE", "FALSE", "NULL"})
_EXPR_START = frozenset({"IDENT", "QUOTED", "LPAR", "NOT", "BANG"})
_AFTER_EXPR = frozenset({"AND", "OR", "RPAR", "$END"})
_KEYWORD_HINTS = {"AND": "and", "OR": "or", "NOT": "not", "TRUE": "true", "FALSE": "false", "NULL": "null"}


def syntax_error(message: str, text: str, line: int, column: int, expected: str = "") -> TriggerSyntaxError:
    return TriggerSyntaxError(message, text=text, line=line, column=column, expected=expected)


def translate(exc: UnexpectedInput, text: str, lark: Lark) -> TriggerSyntaxError:
    """The TriggerSyntaxError for a Lark failure on `text`."""
    if isinstance(exc, UnexpectedCharacters):
        return _bad_character(exc, text, lark)
    if isinstance(exc, UnexpectedToken):
        return _bad_token(exc, text, lark)
    return syntax_error(str(exc).splitlines()[0], text, getattr(exc, "line", 1) or 1,
                        getattr(exc, "column", 1) or 1)


def _expected_at(lark: Lark, prefix: str) -> set[str]:
    """What the parser would accept after `prefix` (found by parsing the prefix alone)."""
    try:
        lark.parse(prefix)
    except UnexpectedToken as exc:
        if exc.token.type == "$END":
            found = set(exc.expected)
            # LALR reports the state after reducing to `or`; 'and' is just as acceptable there.
            return found | {"AND"} if "OR" in found else found
        return set()
    except UnexpectedInput:
        return set()
    return {"AND", "OR", "$END"}


def _bad_character(exc: UnexpectedCharacters, text: str, lark: Lark) -> TriggerSyntaxError:
    char = exc.char
    line, column = exc.line, exc.column
    rest = text[exc.pos_in_stream:]
    if char == '"' or char == "'":
        return syntax_error(f"unterminated string: no closing {char} for the string that starts here",
                            text, line, column, expected=f"closing {char}")
    if char == "`":
        return syntax_error("unterminated field name: no closing ` for the name that starts here",
                            text, line, column, expected="closing `")
    if rest.startswith("&&") or rest.startswith("&"):
        return syntax_error("unexpected '&': write 'and' to combine conditions", text, line, column,
                            expected="and")
    if rest.startswith("||") or rest.startswith("|"):
        return syntax_error("unexpected '|': write 'or' to combine conditions", text, line, column,
                            expected="or")
    wanted = _human(_expected_at(lark, text[:exc.pos_in_stream]))
    return syntax_error(f"unexpected character {char!r}; expected {wanted}", text, line, column,
                        expected=wanted)


_NAMES = {"STRING": "a string", "NUMBER": "a number", "TRUE": "true", "FALSE": "false", "NULL": "null",
          "IDENT": "a field name", "QUOTED": "a field name", "LPAR": "'('", "RPAR": "')'", "AND": "'and'",
          "OR": "'or'", "NOT": "'not'", "BANG": "'!'", "COMMA": "','", "DOT": "'.'",
          "COMPARE": "an operator", "$END": "the end of the expression"}


def _human(terminals: set[str]) -> str:
    """`{'AND', 'OR', '$END'}` → "'and', 'or' or the end of the expression"."""
    names = sorted({_NAMES.get(t, t) for t in terminals})
    if not names:
        return "something else"
    return names[0] if len(names) == 1 else ", ".join(names[:-1]) + " or " + names[-1]


def _tokens_before(lark: Lark, text: str, offset: int) -> list[Token]:
    """Tokens that end at or before `offset` (lexing stops quietly at the first bad character)."""
    found: list[Token] = []
    stream: Iterator[Token] = iter(lark.lex(text))
    while True:
        try:
            token = next(stream)
        except (StopIteration, UnexpectedInput):
            return found
        if token.start_pos is not None and token.start_pos >= offset:
            return found
        found.append(token)


def _end_position(text: str) -> tuple[int, int]:
    """Line and column just after the last non-blank character."""
    stripped = text.rstrip()
    line = stripped.count("\n") + 1
    column = len(stripped) - (stripped.rfind("\n") + 1) + 1
    return line, column


def _describe(token: Token) -> str:
    if token.type == "$END":
        return "the end of the expression"
    return repr(str(token))


def _bad_token(exc: UnexpectedToken, text: str, lark: Lark) -> TriggerSyntaxError:
    token = exc.token
    expected = set(exc.expected)
    at_end = token.type == "$END"
    if at_end:
        line, column = _end_position(text)
        offset = len(text)
    else:
        line, column = token.line or 1, token.column or 1
        offset = token.start_pos if token.start_pos is not None else len(text)
    before = _tokens_before(lark, text, offset)
    prev = before[-1] if before else None
    if at_end and prev is not None and prev.end_line is not None and prev.end_column is not None:
        # Point just after the previous token (where the missing piece belongs).
        line, column = prev.end_line, prev.end_column
    found = _describe(token)

    def fail(message: str, wanted: str) -> TriggerSyntaxError:
        return syntax_error(message, text, line, column, expected=wanted)

    if prev is None:
        return fail(f"expected an expression (a comparison such as type = \"track\"), found {found}",
                    "an expression")
    if prev.type == "COMPARE":
        op = str(prev)
        wanted = "a number" if op in ("<", "<=", ">", ">=") else \
            "a value (a string, a number, true, false or null)"
        hint = " (equality is a single '=')" if str(token) == "=" else ""
        if token.type in ("IDENT", "QUOTED"):
            hint = " (a field can only be compared with a literal value)"
        return fail(f"expected {wanted} after '{op}', found {found}{hint}", wanted)
    if prev.type == "LPAR" and "NOT" not in expected:
        return fail(f"expected a field name as the first argument of the function, found {found}",
                    "a field name")
    if prev.type == "COMMA":
        return fail(f"expected a string as the second argument of the function, found {found}", "a string")
    if prev.type in ("AND", "OR", "NOT", "BANG", "LPAR") and expected & _EXPR_START:
        word = str(prev)
        what = "'('" if prev.type == "LPAR" else f"'{word}'"
        hint = ""
        if token.type == "RPAR":
            hint = " (empty parentheses)" if prev.type == "LPAR" else ""
        return fail(f"expected an expression after {what}, found {found}{hint}", "an expression")
    if prev.type == "DOT":
        hint = " (put names that are keywords in backticks, e.g. `and`)" if token.type in _KEYWORD_HINTS \
            else ""
        return fail(f"expected a field name after '.', found {found}{hint}", "a field name")
    call = _open_call(before)
    if call is not None and "COMMA" in expected:
        return fail(f"expected ',' and a string after the field in {call}(...), found {found}", "','")
    if "COMPARE" in expected and "DOT" in expected:
        name = _field_before(before)
        if token.type == "LPAR" and len(name.split(".")) > 1:
            return fail(f"unknown function {name!r} (known functions: contains, match)", "a function name")
        return fail(f"expected an operator (=, !=, <, <=, >, >=) after the field {name!r}, found {found}",
                    "an operator")
    if expected == {"RPAR"}:
        return fail(f"expected ')' to close {call or 'the function'}(...), found {found}", "')'")
    if "LPAR" in expected and prev.type == "IDENT":
        return fail(f"expected '(' after the function name {str(prev)!r}, found {found}", "'('")
    if expected & _AFTER_EXPR:
        opener = _unclosed_paren(before)
        if at_end and opener is not None:
            return fail(f"expected ')' to close the '(' at line {opener.line}, column {opener.column}, "
                        f"found {found}", "')'")
        if token.type == "RPAR" and "RPAR" not in expected:
            return fail("unexpected ')': there is no '(' for it to close", "'and', 'or' or the end")
        hint = ""
        lowered = str(token).lower()
        if token.type == "IDENT" and lowered in ("and", "or", "not"):
            hint = f" (keywords are lower-case: write '{lowered}')"
        elif token.type == "COMPARE" and str(token) == "=" and prev.type == "COMPARE":
            hint = " (equality is a single '=')"
        wanted = "'and', 'or'" + (", ')'" if "RPAR" in expected else "") + " or the end of the expression"
        return fail(f"expected {wanted}, found {found}{hint}", wanted)
    wanted = _human(expected)
    return fail(f"unexpected {found}; expected {wanted}", wanted)


def _field_before(tokens: list[Token]) -> str:
    """The dotted field text that ends the token list (for messages)."""
    parts: list[str] = []
    for token in reversed(tokens):
        if token.type in ("IDENT", "QUOTED", "DOT"):
            parts.append(str(token))
        else:
            break
    return "".join(reversed(parts))


def _open_call(tokens: list[Token]) -> str | None:
    """The function name when the innermost unclosed '(' opens a function call."""
    stack: list[str | None] = []
    for index, token in enumerate(tokens):
        if token.type == "LPAR":
            before = tokens[index - 1] if index else None
            stack.append(str(before) if before is not None and before.type == "IDENT" else None)
        elif token.type == "RPAR" and stack:
            stack.pop()
    return stack[-1] if stack else None


def _unclosed_paren(tokens: list[Token]) -> Token | None:
    stack: list[Token] = []
    for token in tokens:
        if token.type == "LPAR":
            stack.append(token)
        elif token.type == "RPAR" and stack:
            stack.pop()
    return stack[-1] if stack else None
