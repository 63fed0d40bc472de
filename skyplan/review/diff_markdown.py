"""A change of plan as a pull-request comment (Infracost / Atlantis style) and as JSON."""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal
from typing import Any

from skyplan.plan import Placement
from skyplan.review.diff import RuleCheck, StackDiff, TransferChange
from skyplan.units import fmt_usd, round_usd

#: GitHub refuses comments over 65,536 characters; stay clear of it.
LIMIT = 65_000
MARKER = "<!-- skyplan:{stack} -->"
#: Longest rule line of a summarised comment (an `avoid` list can be very long).
RULE_CHARS = 300


def signed(amount: Decimal) -> str:
    """`+$12.30` / `-$4.00` / `$0.00`."""
    if amount == 0:
        return "$0.00"
    return ("+" if amount > 0 else "-") + fmt_usd(abs(amount))


def _code(text: str) -> str:
    return f"`{text}`"


def where_text(p: Placement | None, code: Callable[[str], str] = _code) -> str:
    """Where a job runs and how much of it: region, instance, nodes and hours."""
    if p is None:
        return "—"
    size = f"{p.nodes} node{'s' if p.nodes != 1 else ''} × {float(p.hours):g} h"
    return f"{code(p.region_key)} {p.instance_type}{' spot' if p.spot else ''}, {size}"


def source_text(c: TransferChange, code: Callable[[str], str] = _code) -> str:
    """Where a copy is read from; `old → new` when its source moved."""
    a, b = c.old, c.new
    if a is not None and b is not None and a.src != b.src:
        return f"{code(a.src)} → {code(b.src)}"
    t = b or a
    return "—" if t is None else code(t.src)


def gb_text(c: TransferChange) -> str:
    """GB copied; `old → new` when the amount changed."""
    a, b = c.old, c.new
    if a is not None and b is not None and a.gb != b.gb:
        return f"{float(a.gb):g} → {float(b.gb):g}"
    t = b or a
    return "" if t is None else f"{float(t.gb):g}"


def clip(text: str, chars: int = RULE_CHARS) -> str:
    """`text`, cut at a word with `…` when longer than `chars`."""
    if len(text) <= chars:
        return text
    cut = text[: chars - 1]
    return (cut.rsplit(" ", 1)[0] if " " in cut else cut) + " …"


def headline(d: StackDiff, against: str) -> list[str]:
    """The title line and the one-line summary of what changed."""
    new = d.new.total_usd
    if d.old is None:
        change = "new stack"
    elif d.delta == 0:
        change = "no cost change"
    else:
        arrow = "▲" if d.delta > 0 else "▼"
        pct = f" ({d.delta / d.old.total_usd:+.1%})" if d.old.total_usd else ""
        change = f"{arrow} {signed(d.delta)}{pct}"
    kinds: dict[str, int] = {}
    for c in d.placements:
        kinds[c.kind] = kinds.get(c.kind, 0) + 1
    jobs = ", ".join(f"{n} {k}" for k, n in sorted(kinds.items())) or "no job changes"
    copies = f"{len(d.transfers)} cop{'y' if len(d.transfers) == 1 else 'ies'} changed"
    tf = "; ".join(
        f"{m.cloud} +{len(m.added)} ~{len(m.changed)} -{len(m.destroyed)}" for m in d.modules
    )
    other = f" · ⚠️ different stack: compared with `{d.other_stack}`" if d.other_stack else ""
    return [
        MARKER.format(stack=d.new.stack),
        f"### skyplan · `{d.new.stack}` · **{fmt_usd(new)}** per run · {change}{other}",
        "",
        f"Compared with `{against}`: {jobs} · {copies} · Terraform: {tf or 'no changes'}",
    ]


def _table(head: list[str], rows: list[list[str]], limit: int | None) -> list[str]:
    shown = rows if limit is None else rows[:limit]
    aligns = ["---:" if h in ("cost change", "cost", "GB", "$/h") else "---" for h in head]
    out = ["| " + " | ".join(head) + " |", "|" + "|".join(aligns) + "|"]
    out += ["| " + " | ".join(r) + " |" for r in shown]
    if len(shown) < len(rows):
        out.append(
            f"| … {len(rows) - len(shown)} more rows | " + " | ".join([""] * (len(head) - 1)) + " |"
        )
    return out


def _sections(d: StackDiff, limit: int | None) -> list[str]:
    out: list[str] = []
    if d.placements:
        rows = [
            [f"`{c.job}`", c.kind, where_text(c.old), where_text(c.new), signed(c.delta)]
            for c in d.placements
        ]
        out += ["", "**Placements**", ""]
        out += _table(["job", "change", "from", "to", "cost change"], rows, limit)
    if d.transfers:
        rows = [
            [f"`{c.dataset}`", c.kind, source_text(c), f"`{c.dst}`", gb_text(c), signed(c.delta)]
            for c in d.transfers
        ]
        out += ["", "**Transfers**", ""]
        out += _table(["data set", "change", "from", "to", "GB", "cost change"], rows, limit)
    if d.modules:
        rows = [[f"`{m.cloud}/`", str(len(m.added)), str(len(m.changed)), str(len(m.destroyed))]
                for m in d.modules]  # fmt: skip
        out += ["", "**Terraform** (generated modules)", ""]
        out += _table(["module", "add", "change", "destroy"], rows, None)
    return out + rule_lines(d, limit)


def _mark(r: RuleCheck, chars: int | None) -> str:
    return f"{'✅' if r.ok else '❌'} {r.text if chars is None else clip(r.text, chars)}"


def rules_summary(d: StackDiff) -> str:
    """One line counting the rule lines that hold and those broken."""
    broken = sum(1 for r in d.rules if not r.ok)
    return f"**Rules:** {len(d.rules) - broken} holding, {broken} broken"


def rule_lines(d: StackDiff, limit: int | None) -> list[str]:
    """Why the rules were not checked, or one line per rule; summarised (at most `limit` broken
    rules, each line clipped, and a count) when the comment must shrink."""
    if d.unchecked:
        return ["", f"⚠️ {d.unchecked}"]
    if not d.rules:
        return []
    if limit is None:
        return [""] + [_mark(r, None) for r in d.rules]
    broken = sum(1 for r in d.rules if not r.ok)
    shown = (f" (the first {limit} shown)" if limit else " (none shown)") if broken > limit else ""
    out = ["", rules_summary(d) + shown]
    left = limit
    for r in d.rules:
        if r.ok or left > 0:
            out.append(_mark(r, RULE_CHARS))
            left -= not r.ok
    if broken > limit:
        out.append(f"❌ … {broken - limit} more broken rules (`--format json` lists them all)")
    return out


def _details(d: StackDiff, limit: int | None) -> list[str]:
    place = [
        [f"`{p.job}`", f"`{p.region_key}`", p.instance_type + (" spot" if p.spot else ""),
         str(p.nodes), f"{float(p.hours):g}", fmt_usd(p.usd)]
        for p in sorted(d.new.placements, key=lambda p: p.job)
    ]  # fmt: skip
    trans = [
        [f"`{t.dataset}`", f"`{t.src}`", f"`{t.dst}`", f"{float(t.gb):g}", fmt_usd(t.usd)]
        for t in sorted(d.new.transfers, key=lambda t: (t.dataset, t.dst))
    ]
    out = ["", f"<details><summary>All placements ({len(place)})</summary>", ""]
    out += _table(["job", "region", "instance", "nodes", "hours", "cost"], place, limit)
    out += ["", "</details>", "", f"<details><summary>All transfers ({len(trans)})</summary>", ""]
    out += _table(["data set", "from", "to", "GB", "cost"], trans, limit)
    out += ["", "</details>"]
    if d.modules:
        lines = [
            f"{sign} {m.cloud}: `{addr}`"
            for m in d.modules
            for sign, addrs in (("+", m.added), ("~", m.changed), ("-", m.destroyed))
            for addr in addrs
        ]
        shown = lines if limit is None else lines[:limit]
        out += ["", f"<details><summary>Terraform blocks ({len(lines)})</summary>", "", "```diff"]
        out += shown + ([f"  … {len(lines) - len(shown)} more"] if len(shown) < len(lines) else [])
        out += ["```", "", "</details>"]
    return out


def diff_markdown(d: StackDiff, against: str, limit_chars: int = LIMIT) -> str:
    """The comment; tables are cut (and the cut said) when the whole would exceed the limit."""
    for rows in (None, 200, 50, 20, 5, 0):
        body = headline(d, against) + _sections(d, rows) + _details(d, rows)
        if rows is not None:
            note = (
                f"_Summarised to stay under GitHub's comment limit: tables and broken rules "
                f"show at most {rows} rows. `skyplan diff OLD NEW --format table` shows them all._"
            )
            body += ["", note]
        text = "\n".join(body) + "\n"
        if len(text) <= limit_chars:
            return text
    # still too long (an enormous headline): the headline clipped and the counts alone
    head = [clip(line, limit_chars // 8) for line in headline(d, against)]
    tail = (
        [clip(d.unchecked or rules_summary(d), limit_chars // 8)] if d.unchecked or d.rules else []
    )
    note = "_Summarised to stay under GitHub's comment limit: only the totals are shown._"
    return "\n".join([*head, "", *tail, "", note]) + "\n"


def diff_dict(d: StackDiff, against: str) -> dict[str, Any]:
    """The change as plain data (`--format json`)."""
    return {
        "stack": d.new.stack,
        "previous_stack": d.old.stack if d.old else None,
        "against": against,
        "total_usd": round_usd(d.new.total_usd),
        "previous_total_usd": round_usd(d.old.total_usd) if d.old else None,
        "change_usd": round_usd(d.delta),
        "placements": [
            {"job": c.job, "change": c.kind,
             "from": _loc(c.old), "to": _loc(c.new), "change_usd": round_usd(c.delta)}
            for c in d.placements
        ],
        "transfers": [
            {"dataset": c.dataset, "to": c.dst, "change": c.kind, "change_usd": round_usd(c.delta),
             "from_before": c.old.src if c.old else None,
             "from_after": c.new.src if c.new else None,
             "gb_before": float(c.old.gb) if c.old else None,
             "gb_after": float(c.new.gb) if c.new else None}
            for c in d.transfers
        ],
        "terraform": [
            {"module": m.cloud, "add": list(m.added), "change": list(m.changed),
             "destroy": list(m.destroyed)}
            for m in d.modules
        ],
        "rules": [{"ok": r.ok, "text": r.text} for r in d.rules],
        "rules_unchecked": d.unchecked,
    }  # fmt: skip


def _loc(p: Placement | None) -> dict[str, Any] | None:
    if p is None:
        return None
    return {"region": p.region_key, "instance_type": p.instance_type, "spot": p.spot,
            "nodes": p.nodes, "usd": round_usd(p.usd)}  # fmt: skip
