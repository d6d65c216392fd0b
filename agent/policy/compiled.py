"""A compiled policy: the main policy with every policy it references, its offer plan, and its system prompt.

The offer plan is computed here once, over the main policy and every included one, with the file and line of each
offer. The linter, the chat lab, the offline model, the runner and the scorers all read `CompiledPolicy.offer_plan`.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from functools import cached_property, lru_cache
from pathlib import Path

from jinja2 import Environment, FileSystemLoader, StrictUndefined

from agent.policy.document import Policy, PolicyLibrary, load_policy, parse_policy, resolve_references
from agent.policy.offers import read_offer_plan
from agent.policy.plan import OfferPlan, plan_from_spec
from agent.policy.plan_spec import PlanSpec
from agent.store.domain import Customer
from agent.tools.kinds import OfferKind
from agent.tools.toolkit import apply_tool, offer_tools

_TEMPLATES = Environment(
    loader=FileSystemLoader(Path(__file__).parent / "templates"),
    undefined=StrictUndefined,
    keep_trailing_newline=True,
    autoescape=False,
)


@dataclass(frozen=True)
class CompiledPolicy:
    """A policy with everything it references, ready to become a system prompt."""

    main: Policy
    included: list[Policy] = field(default_factory=list)

    @property
    def name(self) -> str:
        return self.main.meta.name

    @property
    def version(self) -> str:
        return self.main.meta.version

    @property
    def max_discount_percent(self) -> float:
        return self.main.meta.limits.max_discount_percent

    @property
    def max_coupon_percent(self) -> float:
        """The coupon cap: the front matter's, else the highest coupon the policy offers (0 when it offers none)."""
        stated = self.main.meta.limits.max_coupon_percent
        if stated is not None:
            return stated
        coupon = self.offer_plan.get("future_coupon")
        if coupon is None or coupon.top_percent is None:
            return 0.0
        return coupon.top_percent

    @property
    def documents(self) -> list[Policy]:
        return [self.main, *self.included]

    @property
    def plan_is_explicit(self) -> bool:
        """Whether the main policy's front matter states the plan (else it is drafted from the prose)."""
        return self.main.meta.plan is not None

    @cached_property
    def drafted_plan(self) -> OfferPlan:
        """The plan the reader drafts from the prose: the main policy's offers, then those of included policies that
        it does not make itself, with every exclusion, limit and setting."""
        plan = OfferPlan()
        for document in self.documents:
            plan = plan.merged(
                read_offer_plan(document.body, offer_tools(), document.path.name, document.body_first_line)
            )
        return plan

    @cached_property
    def read_plan(self) -> OfferPlan:
        """The plan as stated: the front matter's `plan:` when present (the one source), else the draft."""
        spec = self.main.meta.plan
        if spec is None:
            return self.drafted_plan
        return self.plan_from(spec)

    def plan_from(self, spec: PlanSpec) -> OfferPlan:
        """The plan `spec` states for this policy (a model's draft, say), with its entries' lines quoted."""
        tools = {kind: apply_tool(kind) for kind in OfferKind}
        lines = dict(enumerate(self.main.text.splitlines(), start=1))
        return plan_from_spec(spec, self.main.path.name, self.main.plan_line, tools, lines)

    @cached_property
    def offer_plan(self) -> OfferPlan:
        """The offers the agent may make: excluded kinds dropped, amounts within the policy's limits."""
        return self.read_plan.effective()

    @cached_property
    def sha(self) -> str:
        """A short hash of every text this policy is made of: the version actually in use."""
        return hashlib.sha256("\x00".join(p.text for p in self.documents).encode()).hexdigest()[:16]

    @cached_property
    def cache_key(self) -> str:
        """The version and the files it was read from: what is computed from a policy (its plan, whose lines name
        the files) is the same for two compiled policies with the same key."""
        return ":".join([self.sha, *(str(p.path) for p in self.documents)])

    def system_prompt(self, customer: Customer, ticket_id: int) -> str:
        return _TEMPLATES.get_template("system_prompt.md.j2").render(
            policy=self.main, included=self.included, customer=customer, ticket_id=ticket_id
        )


def compile_policy(policy: Policy, library: PolicyLibrary | None = None) -> CompiledPolicy:
    """Resolve a policy's references (from its own folder unless a library is given)."""
    library = library or PolicyLibrary.from_dir(policy.path.parent)
    return CompiledPolicy(main=policy, included=resolve_references(policy, library))


def compile_policy_file(path: Path | str) -> CompiledPolicy:
    return compile_policy(load_policy(path))


def compile_policy_text(text: str, path: Path | str) -> CompiledPolicy:
    """Compile edited text as if it were saved at `path` (its references resolve from that folder, itself included).
    The same text, at the same path, among the same neighbouring files, compiles once per process."""
    path = Path(path)
    return _compiled_text(text, path, PolicyLibrary.signature(path.parent))


@lru_cache(maxsize=64)
def _compiled_text(text: str, path: Path, _neighbours: tuple[tuple[str, int, int], ...]) -> CompiledPolicy:
    policy = parse_policy(text, path)
    return compile_policy(policy, PolicyLibrary.from_dir(path.parent).with_policy(policy))
