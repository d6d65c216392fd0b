"""`python -m agent plan FILE`: the plan the lab acts on, as front-matter YAML ready to paste, each entry with the line
it came from, and the lines it does not hold. `--write` puts a drafted plan into the file's front matter."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from agent.errors import InputFileError
from agent.policy.compiled import CompiledPolicy
from agent.policy.coverage import unexplained_lines
from agent.policy.plan import spec_from_plan
from agent.policy.plan_spec import PlanSpec


def plan_yaml(compiled: CompiledPolicy, drafted: PlanSpec | None = None, by: str = "the rules") -> str:
    """The plan as a `plan:` block with a comment per entry quoting its line; a drafted plan is preceded by the lines
    it does not hold. `drafted`: a plan a model drafted (`by`), shown instead of the rules' draft."""
    policy = compiled.main
    plan = compiled.plan_from(drafted) if drafted is not None else compiled.read_plan
    spec = drafted or (policy.meta.plan if policy.meta.plan is not None else spec_from_plan(plan))
    texts = dict(enumerate(policy.text.splitlines(), start=1))
    explicit = drafted is None and plan.explicit
    head = [f"# the explicit plan of {policy.path} (front matter, line {policy.plan_line})"] if explicit else [
        f"# drafted by {by} from the text of {policy.path}: check it, correct it, then paste it into the front matter",
        "# (or run python -m agent plan FILE --write)",
    ]  # fmt: skip
    missing = unexplained_lines(policy, plan)
    if missing:
        head.append("# lines this plan does not hold (write what they say into the plan):")
        head += [f"#   line {m.line}: {'; '.join(m.what)}: {m.text[:90]}" for m in missing]
    return "\n".join([*head, *_block(spec, texts)]) + "\n"


def _block(spec: PlanSpec, texts: dict[int, str]) -> list[str]:
    data = _tidy(spec.model_dump(mode="json", by_alias=True, exclude_none=True))
    lines = ["plan:"]
    for key in ("pacing", "stacking"):
        lines.append(f"  {key}: {yaml.safe_dump(data[key]).strip().removesuffix('...').strip()}")
    lines.append("  offers:" + (" []" if not data["offers"] else ""))
    for offer in data["offers"]:
        line = offer.get("line")
        if line in texts:
            lines.append(f"    # line {line}: {texts[line].strip()[:100]}")
        lines += _entry(offer, "    ")
    lines.append(f"  excluded: {_flow(data['excluded'])}")
    if spec.handover is not None:
        handover = data["handover"]
        if handover.get("line") in texts:
            lines.append(f"  # line {handover['line']}: {texts[handover['line']].strip()[:100]}")
        lines.append("  handover:")
        lines += [f"    {k}: {_flow(v)}" for k, v in handover.items()]
    if spec.confirmations:
        lines.append(f"  confirmations: {_flow(data['confirmations'])}")
    return lines


def _entry(offer: dict[str, Any], indent: str) -> list[str]:
    lines = []
    for number, (key, value) in enumerate(offer.items()):
        lead = f"{indent}- " if number == 0 else f"{indent}  "
        lines.append(f"{lead}{key}: {_flow(value)}")
    return lines


def _flow(value: Any) -> str:
    text = yaml.safe_dump(value, default_flow_style=True, sort_keys=False, width=200)
    return text.strip().removesuffix("...").strip()


def with_plan(compiled: CompiledPolicy, drafted: PlanSpec | None = None) -> str:
    """The policy's text with its drafted plan (the rules', or `drafted`) in the front matter (refused when it has a
    plan already)."""
    policy = compiled.main
    if policy.meta.plan is not None:
        raise InputFileError(policy.path, "plan", "the front matter has a plan already", "edit it in the file")
    spec = drafted or spec_from_plan(compiled.read_plan)
    shift = len(_block(spec, {}))  # the body moves down by the block's lines: the entries' lines move with it
    block = "\n".join(_block(_shifted(spec, shift), {}))
    closing = policy.text.index("\n---", 3)
    return policy.text[:closing] + "\n" + block + policy.text[closing:]


def write_plan(compiled: CompiledPolicy, drafted: PlanSpec | None = None) -> Path:
    """Put the drafted plan into the policy file's front matter (refused when it already has one)."""
    compiled.main.path.write_text(with_plan(compiled, drafted), encoding="utf-8")
    return compiled.main.path


def _shifted(spec: PlanSpec, by: int) -> PlanSpec:
    offers = [o.model_copy(update={"line": o.line + by}) if o.line else o for o in spec.offers]
    handover = spec.handover
    if handover is not None and handover.line:
        handover = handover.model_copy(update={"line": handover.line + by})
    return spec.model_copy(update={"offers": offers, "handover": handover})


def _tidy(value: Any) -> Any:
    """10.0 -> 10, in nested data, so the YAML reads as people write it."""
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, dict):
        return {k: _tidy(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_tidy(v) for v in value]
    return value
