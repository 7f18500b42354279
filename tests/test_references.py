"""Every reference to a session rule, an edge case or a section of the backend's contract resolves,
and nothing points at documents outside the repository.

The code and the docs cite the rules of docs/rules.md by number ("rule 7", "# Rule 2: ...",
"rules 6 and 7", "rules 1 to 10 and 13", `test_rule8_...`), its edge cases ("edge case 15",
"edge cases 1, 2 and 18", `test_case4_...`), the numbered sections of docs/backend.md
("docs/backend.md section 2", "section 4 of docs/backend.md", "contract sections 2 and 4", and
plain "section N" inside docs/backend.md itself), its headings by name (`docs/backend.md ("Counters")`)
and headings of the docs by link (`rules.md#rule-7-unexpected-rejection`). The design and contract
documents these numbers first came from lived outside the repository; no mention of them may come
back, so the repository reads whole on its own.

`offences()` is the checker; the tests at the end feed it synthetic text to prove that it catches
each kind of bad reference and lets the good ones (and words that merely look alike) through.
"""

from __future__ import annotations

import re
import tomllib
from dataclasses import dataclass
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
DOCS = ROOT / "docs"
RULES_DOC = DOCS / "rules.md"
BACKEND_DOC = DOCS / "backend.md"
SHIPPED = ROOT / "tui" / "scenario" / "shipped"
SELF = Path(__file__).resolve()  # its synthetic bad references are the point; it is not scanned

CODE_DIRS = ("session", "api", "tui", "tests", "bench")
SCANNED_SUFFIXES = {".py", ".md", ".toml", ".tcss", ".html", ".graphql"}
SKIPPED_DIRS = {"__pycache__", "__snapshots__", "node_modules"}

# "7", "6 and 7", "1 to 10 and 13", "7 / 13", "3, 4 and 5", "rules 6 and rule 7".
_NUMBERS = r"\d+(?:\s*(?:,|and|or|to|through|/|-|\u2013)\s*(?:rules?\s*)?\d+)*"
# Between the word and the number: spaces, or one line break (in a comment, after its `#`), unless
# the number then starts a numbered list ("## Adding a rule" over "1. If something ...").
_GAP = r"(?:[ \t]*|[ \t]*\n[ \t]*(?:(?:#|//)[ \t]*)?(?=\d+(?!\d|\.\s)))"
_TOKENS = re.compile(r"(\d+)|\b(to|through)\b|([-\u2013])", re.IGNORECASE)

# A letter may not come just before: "ruler", "overrule" and `idle_rule:` cite nothing, but
# `test_rule7_` does. The number must follow at once (`@rule(burst=...)` is no citation).
RULE_RE = re.compile(rf"(?<![a-z])rules?{_GAP}(?P<nums>{_NUMBERS})", re.IGNORECASE)
# "edge case 15" in prose; `test_case4_` as a test's name. A bare "case 3" is too common a phrase.
EDGE_RE = re.compile(rf"(?<![a-z])(?:edge\s+cases?{_GAP}|case(?=\d))(?P<nums>{_NUMBERS})", re.IGNORECASE)
SECTION_RES = (
    re.compile(rf"(?:docs/)?backend\.md\)?,?\s+sections?{_GAP}(?P<nums>{_NUMBERS})", re.IGNORECASE),
    re.compile(
        rf"sections?{_GAP}(?P<nums>{_NUMBERS})\s+of\s+(?:the\s+)?\[?(?:docs/)?backend\.md", re.IGNORECASE
    ),
    re.compile(rf"(?<![a-z])contract(?:'s)?\s+sections?{_GAP}(?P<nums>{_NUMBERS})", re.IGNORECASE),
)
# Inside docs/backend.md, "section 4" is one of its own.
OWN_SECTION_RE = re.compile(rf"(?<![a-z])sections?{_GAP}(?P<nums>{_NUMBERS})", re.IGNORECASE)
# `docs/backend.md ("Counters")`, `(docs/backend.md, "How a request is handled")`.
TITLE_RE = re.compile(r"(?:docs/)?backend\.md[\s,(]*\"(?P<title>[^\"]+)\"")
# `(rules.md#rule-7-unexpected-rejection)`, `docs/backend.md#2-session-endpoints`, `(#the-edge-cases)`.
ANCHOR_RE = re.compile(r"(?:(?P<doc>[\w.-]+\.md)|\]\()#(?P<anchor>[\w-]+)")
# The documents that lived outside: by name, and by the way code used to cite them.
OUTSIDE_RE = re.compile(r"\b(?:DESIGN|CONTRACT)\b|\b(?i:design|contract)\.md\b|\.\./shared\b|/work/shared\b")


@dataclass(frozen=True)
class Targets:
    """What a reference may point at."""

    rules: frozenset[int]
    edge_cases: frozenset[int]
    sections: frozenset[int]
    backend_titles: tuple[str, ...]  # headings of docs/backend.md, without a leading "N. "
    anchors: dict[str, frozenset[str]]  # a doc's file name -> the anchors of its headings


def numbers(listed: str) -> list[int]:
    """Every number a list names: "1 to 10 and 13" is 1, 2, ..., 10, 13."""
    found: list[int] = []
    ranging = False
    for match in _TOKENS.finditer(listed):
        if match.group(1) is None:
            ranging = True
            continue
        n = int(match.group(1))
        if ranging and found and found[-1] < n:
            found.extend(range(found[-1] + 1, n + 1))
        else:
            found.append(n)
        ranging = False
    return found


def headings(markdown: str) -> list[str]:
    """The text of every heading, outside fenced code blocks."""
    found: list[str] = []
    fenced = False
    for line in markdown.splitlines():
        if line.startswith("```"):
            fenced = not fenced
        elif not fenced and (match := re.match(r"#{1,6}\s+(.+?)\s*#*\s*$", line)):
            found.append(match.group(1))
    return found


def anchor(heading: str) -> str:
    """The anchor GitHub gives a heading: lower case, punctuation dropped, spaces as hyphens."""
    return re.sub(r"[^\w\- ]", "", heading.lower()).replace(" ", "-")


def section(markdown: str, title: str) -> str:
    """The text under the `## title` heading, up to the next heading of that level."""
    start = markdown.index(f"\n## {title}\n")
    end = markdown.find("\n## ", start + 1)
    return markdown[start : end if end != -1 else len(markdown)]


def targets_of(rules_md: str, backend_md: str, docs: dict[str, str]) -> Targets:
    rule_headings = [re.match(r"Rule (\d+): \S", h) for h in headings(rules_md)]
    edge_rows = re.findall(r"^\| (\d+) \|", section(rules_md, "The edge cases"), re.MULTILINE)
    backend_headings = headings(backend_md)
    numbered = [re.match(r"(\d+)\. (.+)", h) for h in backend_headings]
    return Targets(
        rules=frozenset(int(m.group(1)) for m in rule_headings if m),
        edge_cases=frozenset(int(n) for n in edge_rows),
        sections=frozenset(int(m.group(1)) for m in numbered if m),
        backend_titles=tuple(m.group(2) if m else h for h, m in zip(backend_headings, numbered, strict=True)),
        anchors={name: frozenset(anchor(h) for h in headings(text)) for name, text in docs.items()},
    )


def offences(text: str, where: str, targets: Targets) -> list[str]:
    """Every reference in `text` (the file `where`, a path from the repository's root) that points
    at nothing, as `where:line: what`; [] when all resolve."""
    found: list[str] = []
    name = Path(where).name

    def say(start: int, what: str) -> None:
        found.append(f"{where}:{text.count(chr(10), 0, start) + 1}: {what}")

    def check(pattern: re.Pattern[str], known: frozenset[int], what: str, doc: str) -> None:
        for match in pattern.finditer(text):
            for n in numbers(match.group("nums")):
                if n not in known:
                    say(match.start(), f"{what} {n} is not in {doc} ({match.group(0).strip()!r})")

    check(RULE_RE, targets.rules, "rule", "docs/rules.md")
    check(EDGE_RE, targets.edge_cases, "edge case", "docs/rules.md")
    for pattern in SECTION_RES:
        check(pattern, targets.sections, "section", "docs/backend.md")
    if where == "docs/backend.md":
        check(OWN_SECTION_RE, targets.sections, "section", "docs/backend.md")
    for match in TITLE_RE.finditer(text):
        title = match.group("title")
        if not any(heading.startswith(title) for heading in targets.backend_titles):
            say(match.start(), f'"{title}" is no heading of docs/backend.md')
    if where.endswith(".md"):
        for match in ANCHOR_RE.finditer(text):
            doc = match.group("doc") or name
            if doc not in targets.anchors:
                continue  # a file the docs do not hold (or no markdown link at all)
            if match.group("anchor") not in targets.anchors[doc]:
                say(match.start(), f"#{match.group('anchor')} is no heading of {doc}")
    for match in OUTSIDE_RE.finditer(text):
        say(match.start(), f"{match.group(0)!r} points outside the repository: cite docs/ instead")
    return found


def scanned_files() -> list[Path]:
    files = [*ROOT.glob("*.md"), *DOCS.rglob("*.md")]
    for top in CODE_DIRS:
        for path in (ROOT / top).rglob("*"):
            parts = path.relative_to(ROOT).parts
            if path.suffix not in SCANNED_SUFFIXES or not path.is_file():
                continue
            if any(part.startswith(".") or part in SKIPPED_DIRS for part in parts):
                continue
            files.append(path)
    return sorted({f.resolve() for f in files} - {SELF})


def project_targets() -> Targets:
    docs = {p.name: p.read_text(encoding="utf-8") for p in [*DOCS.glob("*.md"), ROOT / "README.md"]}
    return targets_of(docs["rules.md"], docs["backend.md"], docs)


def relative(path: Path) -> str:
    return path.relative_to(ROOT).as_posix()


# -- the project as it is ------------------------------------------------------------------------


def test_the_documents_hold_the_rules_the_edge_cases_and_the_contracts_sections() -> None:
    targets = project_targets()
    assert targets.rules == set(range(1, 17))
    assert targets.edge_cases == set(range(1, 21))
    assert targets.sections == {1, 2, 3, 4}
    rules = [m.group(1) for h in headings(RULES_DOC.read_text()) if (m := re.match(r"Rule (\d+):", h))]
    assert [int(n) for n in rules] == sorted(targets.rules)  # in order, each once


def test_every_reference_resolves() -> None:
    targets = project_targets()
    found = [
        o for path in scanned_files() for o in offences(path.read_text("utf-8"), relative(path), targets)
    ]
    assert not found, "references that point at nothing:\n" + "\n".join(found)


def test_the_scan_reads_the_code_and_the_docs_and_finds_their_references() -> None:
    files = {relative(p) for p in scanned_files()}
    assert {"README.md", "docs/rules.md", "docs/backend.md", "session/engine.py", "tui/cli.py"} <= files
    assert "tests/test_references.py" not in files
    texts = [p.read_text("utf-8") for p in scanned_files()]
    rules = sum(len(RULE_RE.findall(t)) for t in texts)
    sections = sum(len(r.findall(t)) for t in texts for r in SECTION_RES)
    assert rules > 150, rules  # the code's citations and the tests named after the rules
    assert sections >= 10, sections


def test_the_edge_case_table_names_the_shipped_scenarios_that_cover_each_case() -> None:
    covering: dict[int, set[str]] = {}
    for path in SHIPPED.glob("*.toml"):
        covers = tomllib.loads(path.read_text(encoding="utf-8")).get("covers", [])
        for case in [covers] if isinstance(covers, int) else covers:
            covering.setdefault(case, set()).add(path.stem)
    table = section(RULES_DOC.read_text(encoding="utf-8"), "The edge cases")
    rows = re.findall(r"^\| (\d+) \|.*\| ([^|]*) \|$", table, re.MULTILINE)
    named = {int(n): set(re.findall(r"`([^`]+)`", cell)) for n, cell in rows}
    assert named == covering


def test_a_rule_marked_not_built_is_cited_by_no_code() -> None:
    """When one is built, its citations will tell: then say in docs/rules.md where it lives."""
    text = RULES_DOC.read_text(encoding="utf-8")
    parts = re.split(r"^## ", text, flags=re.MULTILINE)
    marked = [p for p in parts if "Status: not built yet" in p]
    unbuilt = {int(m.group(1)) for p in marked if (m := re.match(r"Rule (\d+):", p))}
    assert len(unbuilt) == len(marked)  # each mark is a rule's
    cited: dict[str, set[int]] = {}
    for path in scanned_files():
        if path.suffix != ".md":
            for m in RULE_RE.finditer(path.read_text("utf-8")):
                cited.setdefault(relative(path), set()).update(numbers(m["nums"]))
    assert {path: ns & unbuilt for path, ns in cited.items() if ns & unbuilt} == {}


# -- the checker catches each kind of bad reference ------------------------------------------------

SYNTHETIC = Targets(
    rules=frozenset(range(1, 17)),
    edge_cases=frozenset(range(1, 21)),
    sections=frozenset({1, 2, 3, 4}),
    backend_titles=("Command line", "Session endpoints", "How a request is handled (the gate)", "Counters"),
    anchors={
        "rules.md": frozenset({"rule-7-unexpected-rejection", "the-edge-cases"}),
        "backend.md": frozenset({"2-session-endpoints", "counters"}),
    },
)


@pytest.mark.parametrize(
    ("where", "text", "expected"),
    [
        ("x.py", "# Rule 17: nothing", "x.py:1: rule 17 is not in docs/rules.md ('Rule 17')"),
        ("x.py", '"""Two lines.\n\nThe rule 30 says so."""', "x.py:3: rule 30 is not in docs/rules.md"),
        ("x.py", "# see rules 6 and 71", "x.py:1: rule 71 is not in docs/rules.md"),
        ("x.py", "x = 1\n# as the rule\n# 30 says", "x.py:2: rule 30 is not in docs/rules.md"),
        ("x.py", "# calls held (edge case\n# 21) overtaken", "x.py:1: edge case 21 is not in docs/rules.md"),
        ("x.py", "# rules 1 to 18", "x.py:1: rule 17 is not in docs/rules.md"),
        ("x.py", "# rules 1 to 18", "x.py:1: rule 18 is not in docs/rules.md"),
        ("x.py", "# rule 7 / 19: recovery", "x.py:1: rule 19 is not in docs/rules.md"),
        ("x.py", "# (rule 0's path)", "x.py:1: rule 0 is not in docs/rules.md"),
        ("x.py", "def test_rule99_something() -> None:", "x.py:1: rule 99 is not in docs/rules.md"),
        ("x.md", "RULE 20 in capitals", "x.md:1: rule 20 is not in docs/rules.md"),
        ("x.py", "# edge case 21", "x.py:1: edge case 21 is not in docs/rules.md"),
        ("x.py", "# edge cases 3, 8 and 0", "x.py:1: edge case 0 is not in docs/rules.md"),
        ("x.py", "async def test_case25_y() -> None:", "x.py:1: edge case 25 is not in docs/rules.md"),
        ("x.py", "# docs/backend.md section 5", "x.py:1: section 5 is not in docs/backend.md"),
        ("x.py", "# section 9 of docs/backend.md", "x.py:1: section 9 is not in docs/backend.md"),
        ("x.md", "the contract sections 2 and 7", "x.md:1: section 7 is not in docs/backend.md"),
        ("x.md", "[backend.md section 6](backend.md#6-x)", "x.md:1: section 6 is not in docs/backend.md"),
        ("x.md", "[backend.md section 6](backend.md#6-x)", "x.md:1: #6-x is no heading of backend.md"),
        ("docs/backend.md", "faults (section 5)", "docs/backend.md:1: section 5 is not in docs/backend.md"),
        ("x.py", '# docs/backend.md ("Nowhere")', 'x.py:1: "Nowhere" is no heading of docs/backend.md'),
        ("x.md", "[r](rules.md#rule-99-none)", "x.md:1: #rule-99-none is no heading of rules.md"),
        ("rules.md", "[up](#no-such-heading)", "rules.md:1: #no-such-heading is no heading of rules.md"),
        ("x.py", '"""The routes of CONTRACT.md section 2."""', "x.py:1: 'CONTRACT' points outside"),
        ("x.py", "# (DESIGN rule 2)", "x.py:1: 'DESIGN' points outside"),
        ("x.md", "see design.md", "x.md:1: 'design.md' points outside"),
        ("x.md", "in ../shared/", "x.md:1: '../shared' points outside"),
    ],
)
def test_the_checker_catches_the_bad_reference(where: str, text: str, expected: str) -> None:
    found = offences(text, where, SYNTHETIC)
    assert any(o.startswith(expected) for o in found), found


@pytest.mark.parametrize(
    "text",
    [
        "# Rule 2: a 5xx moves nothing; rules 6 and 7; rules 1 to 10 and 13; rule 16's bound",
        "def test_rule16_bounded() -> None: ...\ndef test_case20_malformed() -> None: ...",
        "# edge cases 1, 2, 3, 8, 9, 12, 13, 14, 15, 16 and 18; edge case 20",
        "# docs/backend.md section 4; section 2 of docs/backend.md; contract sections 2 and 4",
        '# docs/backend.md ("Counters"); (docs/backend.md, "How a request is handled")',
        "[rule 7](rules.md#rule-7-unexpected-rejection), [s](docs/backend.md#2-session-endpoints)",
        "[c](other.md#anything) [e](https://example.com/#fragment)",
        "## Adding a rule\n\n1. If something new can happen\n\n## Each rule\n17. a list item",
        # words that look alike and cite nothing
        "a ruler 30 cm long; overrule 3 objections; idle_rule = True; @rule(burst=1)",
        "class M(RuleBasedStateMachine): ...; in case 25 calls; showcase99; section 9 of the README",
        "the design is ours; the contract's two styles; a Contract of 3 parts",
    ],
)
def test_the_checker_lets_good_references_and_look_alikes_through(text: str) -> None:
    assert offences(text, "x.md", SYNTHETIC) == []


def test_a_list_of_numbers_reads_as_people_write_it() -> None:
    assert numbers("7") == [7]
    assert numbers("6 and 7") == [6, 7]
    assert numbers("1 to 4 and 13") == [1, 2, 3, 4, 13]
    assert numbers("7 / 13") == [7, 13]
    assert numbers("3, 8 and 0") == [3, 8, 0]
    assert numbers("5-7") == numbers("5\u20137") == [5, 6, 7]


def test_an_anchor_is_the_one_github_makes() -> None:
    assert anchor("Rule 7: unexpected rejection") == "rule-7-unexpected-rejection"
    assert anchor("2. Session endpoints") == "2-session-endpoints"
    assert anchor("4. QA control (`/__qa`)") == "4-qa-control-__qa"
    assert anchor("How a request is handled (the gate)") == "how-a-request-is-handled-the-gate"


# -- names of the code the docs point at --------------------------------------------------------

_NAMED = re.compile(r"`(SessionEngine|SessionManager|SessionAuth|Flights|Wakeups|StoredSessionKeeper)\.(\w+)")


def test_every_method_the_docs_name_exists() -> None:
    """docs/*.md name the methods that decide a rule (`SessionEngine._call_live`): a method renamed
    or gone leaves a newcomer looking for nothing."""
    from sessionkeeper.api.middleware import SessionAuth
    from sessionkeeper.session.engine import SessionEngine
    from sessionkeeper.session.flights import Flights
    from sessionkeeper.session.manager import SessionManager
    from sessionkeeper.session.stored import StoredSessionKeeper
    from sessionkeeper.session.wakeups import Wakeups

    classes: dict[str, type] = {
        "SessionEngine": SessionEngine,
        "SessionManager": SessionManager,
        "SessionAuth": SessionAuth,
        "Flights": Flights,
        "Wakeups": Wakeups,
        "StoredSessionKeeper": StoredSessionKeeper,
    }
    missing = []
    for doc in sorted((ROOT / "docs").glob("*.md")):
        for number, line in enumerate(doc.read_text().splitlines(), 1):
            for owner, name in _NAMED.findall(line):
                if not hasattr(classes[owner], name):
                    missing.append(f"{doc.relative_to(ROOT)}:{number}: {owner}.{name}")
    assert missing == []
