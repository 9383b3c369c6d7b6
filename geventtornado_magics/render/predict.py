"""The questions of ``--predict``, before the report, with the answers behind ``<details>``.

The reveal is plain HTML (``<details>`` passes JupyterLab's sanitizer and
needs no script), so it works in an untrusted notebook, nbconvert's HTML and
GitHub alike. The report follows, collapsed, so the class answers first.
"""

from __future__ import annotations

from html import escape
from string import ascii_uppercase

from ..run import Run
from .replay import BOX


def letter(question, choice: str) -> str:
    return ascii_uppercase[question.choices.index(choice)]


def predict_html(run: Run, report_html: str) -> str:
    parts = [
        '<div class="gtm-predict">',
        f"<div><b>Predict first: {len(run.questions)} questions about this %%{escape(run.model)} cell.</b> "
        "Answer each, then open its answer; the report is below, closed.</div>",
    ]
    for n, question in enumerate(run.questions, 1):
        choices = "".join(
            f'<div style="margin-left:18px">{ascii_uppercase[i]}. {escape(choice)}</div>'
            for i, choice in enumerate(question.choices)
        )
        answer = f"{letter(question, question.answer)}. {question.answer}"
        why = f" — {escape(question.why)}" if question.why else ""
        parts.append(
            f'<div class="gtm-question" style="{BOX}"><div><b>{n}. {escape(question.text)}</b></div>{choices}'
            f"<details><summary>answer</summary><b>{escape(answer)}</b>{why}</details></div>"
        )
    parts.append(
        f"<details><summary><b>The report</b> (open it after answering)</summary>{report_html}</details>"
    )
    parts.append("</div>")
    return "".join(parts)


def predict_text(run: Run, report_text: str) -> str:
    lines = [f"Predict first: {len(run.questions)} questions about this %%{run.model} cell."]
    for n, question in enumerate(run.questions, 1):
        lines.append(f"{n}. {question.text}")
        lines += [f"   {ascii_uppercase[i]}. {choice}" for i, choice in enumerate(question.choices)]
    answers = ", ".join(f"{n} {letter(q, q.answer)}" for n, q in enumerate(run.questions, 1))
    lines += [f"Answers: {answers}", "", report_text]
    return "\n".join(lines)


def predict_bundle(run: Run, report: dict[str, str]) -> dict[str, str]:
    """The questions of ``run``, then ``report`` (a display bundle: the run's, or a comparison's)."""
    return {"text/html": predict_html(run, report["text/html"]), "text/plain": predict_text(run, report["text/plain"])}
