"""The UK profile's part of a release (Find a Tender's OCDS under the Procurement Act 2023):
which Procurement Act notice a planning release stands for (`noticeType` UK1, UK2, UK3), who
a tender suits (`tender.suitability`), and whether a party is a VCSE (docs/ocds.md)."""

from __future__ import annotations

from publisher.formats.data import Json
from publisher.formats.ocds_values import moment
from publisher.model.views import OpportunityView, SiteData
from publisher.plans.model import GRANT_FUNDING, GRANT_ROUTES, Funding, OrganisationKind, Route
from publisher.plans.routes import ACT_ROUTES

# The extensions Find a Tender declares for these fields (the UK extension also depends on
# the suitability extension; both are named, as Find a Tender names them).
UK_EXTENSION = (
    "https://raw.githubusercontent.com/cabinetoffice/ocds_uk_extension/main/extension.json"
)
SUITABILITY_EXTENSION = (
    "https://raw.githubusercontent.com/open-contracting-extensions/"
    "ocds_suitability_extension/master/extension.json"
)

# Health care services chosen under the Provider Selection Regime are outside the
# Procurement Act 2023, so no Procurement Act notice stands for them.
PSR_ROUTES = frozenset(
    {
        Route.DIRECT_AWARD_A,
        Route.DIRECT_AWARD_B,
        Route.DIRECT_AWARD_C,
        Route.MOST_SUITABLE_PROVIDER,
        Route.COMPETITIVE,
    }
)

# Kinds of organisation that are voluntary, community or social enterprises, and kinds that
# are businesses (small and medium enterprises, when small).
VCSE_KINDS = frozenset(
    {
        OrganisationKind.REGISTERED_CHARITY,
        OrganisationKind.CIO,
        OrganisationKind.CIC,
        OrganisationKind.COMMUNITY_BENEFIT_SOCIETY,
        OrganisationKind.CO_OPERATIVE,
        OrganisationKind.COMPANY_LIMITED_BY_GUARANTEE,
        OrganisationKind.CONSTITUTED_GROUP,
        OrganisationKind.UNCONSTITUTED_GROUP,
        OrganisationKind.SOCIAL_ENTERPRISE,
        OrganisationKind.FAITH_GROUP,
    }
)
BUSINESS_KINDS = frozenset(
    {
        OrganisationKind.PRIVATE_COMPANY,
        OrganisationKind.CIC,
        OrganisationKind.CO_OPERATIVE,
        OrganisationKind.COMMUNITY_BENEFIT_SOCIETY,
        OrganisationKind.SOCIAL_ENTERPRISE,
    }
)
PUBLIC_BODIES = frozenset({"icb", "council", "nhs-trust"})

NOTICES: dict[str, tuple[str, str]] = {
    # noticeType -> (documentType, what the notice is called)
    "UK1": ("plannedProcurementNotice", "pipeline notice"),
    "UK2": ("marketEngagementNotice", "preliminary market engagement notice"),
    "UK3": ("plannedProcurementNotice", "planned procurement notice"),
}


def rules(view: OpportunityView) -> str | None:
    """'act' when the Procurement Act 2023 applies, 'psr' for the Provider Selection Regime,
    'grant' for a grant (not a public contract), None when the plan does not say yet (the
    route is undecided, or does not fix the rules, as an alliance contract)."""
    item = view.item
    if item.route in PSR_ROUTES:
        return "psr"
    if item.route in GRANT_ROUTES or item.funding in GRANT_FUNDING:
        return "grant"
    if item.route in ACT_ROUTES:
        return "act"
    return None


def notice_type(view: OpportunityView) -> str | None:
    """The Procurement Act notice a planning release of this opportunity stands for: UK2 while
    it has preliminary market engagement (events, or a date it closes), else UK3; None
    outside the Act, or while it is not even known to be a contract."""
    if rules(view) in ("psr", "grant") or view.item.funding is not Funding.CONTRACT:
        return None
    dates = view.item.dates
    return "UK2" if dates.engagement or dates.engagement_closes else "UK3"


# The milestone's id. Find a Tender's own UK2 releases use "engagement"; an engagement
# event of ours may already have that id (its key comes from its title), so ours says more.
ENGAGEMENT_CLOSES = "engagement-closes"


def engagement_closes(view: OpportunityView, taken: set[str]) -> Json | None:
    """When preliminary market engagement closes, as a planning milestone. Find a Tender
    gives a UK2 notice's engagement closing date so: `planning.milestones[]` with `type`
    "engagement" (OCDS's milestoneType codelist: "community, market or other engagement
    activities") and `dueDate` at the end of that day; seen in its published UK2 releases,
    such as notice 035136-2025 (ocid ocds-h6vhtk-05538f, Nottingham City Council, June
    2025): {"id": "engagement", "type": "engagement", "dueDate":
    "2025-07-04T23:59:59+01:00", "status": "scheduled"}, beside planning.documents[] with
    documentType "marketEngagementNotice" and noticeType "UK2". Not tender.enquiryPeriod,
    which is for bidders' questions once a tender is open. `taken`: the ids of the other
    milestones, so this one's stays unique."""
    closes = view.item.dates.engagement_closes
    if closes is None:
        return None
    key = ENGAGEMENT_CLOSES
    while key in taken:
        key += "-date"
    return {
        "id": key,
        "title": "Market engagement closes",
        "type": "engagement",
        "description": "The last day to take part in preliminary market engagement.",
        "dueDate": moment(closes, end=True),
        "datePrecision": {"dueDate": closes.precision.value},
    }


def planning_documents(site: SiteData, view: OpportunityView, notice: str | None) -> list[Json]:
    """The notice page as the Procurement Act notice `notice` (UK1, UK2, UK3) would be: what
    the plan says, not a notice published on Find a Tender."""
    if notice is None:
        return []
    kind, name = NOTICES[notice]
    return [
        {
            "id": notice,
            "documentType": kind,
            "noticeType": notice,
            "title": view.item.title,
            "description": f"What a {name} ({notice}) would say, from the commissioner's "
            "forward plan. It has not been published on Find a Tender.",
            "url": site.link(view.url),
            "format": "text/html",
            "language": "en",
        }
    ]


def suitability(view: OpportunityView) -> Json | None:
    """Who may bid or apply, from the kinds of organisation the plan names: suitable for
    VCSEs when one of the kinds is, for small and medium enterprises when a kind of business
    is. Nothing when the plan names no kinds: it is not guessed."""
    eligibility = view.item.eligibility
    if eligibility is None or not eligibility.kinds:
        return None
    kinds = set(eligibility.kinds)
    return {"sme": bool(kinds & BUSINESS_KINDS), "vcse": bool(kinds & VCSE_KINDS)}


def buyer_details(kind: str) -> Json:
    """A commissioner that is a public body is not a VCSE; of another kind nothing is said."""
    return {"vcse": False} if kind in PUBLIC_BODIES else {}
