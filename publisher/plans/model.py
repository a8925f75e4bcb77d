"""The plan and channel file formats (schema 1), as pydantic models.

These models are the one source of truth for the formats: the JSON Schema, the field
descriptions an editor shows, and the checker's "missing field" messages come from them.
Rules that need more than one field, or the places and themes lists, live in rules.py.

Over 400 lines on purpose: the format is one document, read top to bottom by whoever
changes it, in the order a plan file is written; splitting it would scatter one schema.
"""

from __future__ import annotations

import datetime as dt
from enum import StrEnum
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from publisher.plans.dates import PlanDate

SCHEMA_VERSION = 1
SLUG_PATTERN = r"^[a-z0-9]+(-[a-z0-9]+)*$"

Slug = Annotated[
    str,
    Field(
        pattern=SLUG_PATTERN,
        max_length=80,
        description="Lower-case letters, digits and hyphens, like leeds-social-prescribing.",
    ),
]
# A place a plan names: a slug from places.yaml or from the places every plan may name
# (publisher/plans/england-places.csv), or that place's ONS code.
PLACE_CODE_PATTERN = r"^[EWSN]\d{8}$"
PlaceCode = Annotated[
    str,
    Field(pattern=PLACE_CODE_PATTERN, description="An ONS code, like E08000016 (Barnsley)."),
]
PlaceRef = Annotated[
    str,
    Field(
        pattern=r"^([a-z0-9]+(-[a-z0-9]+)*|[EWSN]\d{8})$",
        max_length=80,
        description="A place's slug (barnsley) or its ONS code (E08000016).",
    ),
]
Text = Annotated[str, Field(min_length=1, max_length=5000)]
ShortText = Annotated[str, Field(min_length=1, max_length=200)]
Url = Annotated[
    str,
    Field(
        pattern=r"^https?://\S+$", max_length=2000, description="A web address starting https://"
    ),
]
Email = Annotated[
    str,
    Field(pattern=r"^[^@\s]+@[^@\s]+\.[^@\s]+$", max_length=320, description="An email address"),
]
Pounds = Annotated[float, Field(ge=0, description="Pounds sterling, as a plain number: 400000")]
Reason = Annotated[str, Field(min_length=1, max_length=2000)]


class Status(StrEnum):
    IDEA = "idea"
    PLANNING = "planning"
    ENGAGEMENT = "engagement"
    OPEN = "open"
    EVALUATING = "evaluating"
    AWARDED = "awarded"
    CANCELLED = "cancelled"


class Funding(StrEnum):
    CONTRACT = "contract"
    GRANT = "grant"
    GRANT_PROGRAMME = "grant-programme"
    UNDECIDED = "undecided"


class Route(StrEnum):
    # Provider Selection Regime (NHS health services)
    DIRECT_AWARD_A = "direct-award-a"
    DIRECT_AWARD_B = "direct-award-b"
    DIRECT_AWARD_C = "direct-award-c"
    MOST_SUITABLE_PROVIDER = "most-suitable-provider"
    COMPETITIVE = "competitive"
    # Procurement Act 2023
    OPEN = "open"
    COMPETITIVE_FLEXIBLE = "competitive-flexible"
    DIRECT_AWARD = "direct-award"
    LIGHT_TOUCH = "light-touch"
    # collaborative models
    ALLIANCE_CONTRACT = "alliance-contract"
    INNOVATION_PARTNERSHIP = "innovation-partnership"
    # grants
    OPEN_GRANT_ROUND = "open-grant-round"
    INVITED_GRANT = "invited-grant"
    GRANT_VIA_INFRASTRUCTURE_BODY = "grant-via-infrastructure-body"
    UNDECIDED = "undecided"


GRANT_ROUTES = frozenset(
    {Route.OPEN_GRANT_ROUND, Route.INVITED_GRANT, Route.GRANT_VIA_INFRASTRUCTURE_BODY}
)
GRANT_FUNDING = frozenset({Funding.GRANT, Funding.GRANT_PROGRAMME})


class Strict(BaseModel):
    """Every format model refuses fields it does not know, so a typo is never ignored."""

    model_config = ConfigDict(
        extra="forbid", frozen=True, str_strip_whitespace=True, defer_build=True
    )


class Contact(Strict):
    name: ShortText = Field(description="Who to ask: a team or a person.")
    email: Email | None = None
    phone: Annotated[str, Field(max_length=40)] | None = None


class Commissioner(Strict):
    id: Slug = Field(description="Stable id; the plan file is named <id>.yaml.")
    name: ShortText = Field(description="The body's full name, as the public knows it.")
    kind: Literal["icb", "council", "nhs-trust", "other"] = Field(
        description="icb, council, nhs-trust or other."
    )
    website: Url | None = None
    contact: Contact | None = None


class NoticePolicy(Strict):
    weeks_before_tender: Annotated[int, Field(ge=0, le=104)] = Field(
        default=12,
        description="The body's promise: each headline is published at least this many "
        "weeks before the tender or applications open.",
    )


class Range(Strict):
    min: Pounds
    max: Pounds

    @model_validator(mode="after")
    def _ordered(self) -> Range:
        if self.min > self.max:
            raise ValueError(
                f"the range starts at £{self.min:,.0f}, above its end £{self.max:,.0f}"
            )
        return self


Amount = Pounds | Range


class GrantSize(Strict):
    """What one grant or award can be: from `min` (optional) up to `max`."""

    min: Pounds | None = Field(
        default=None, description="The smallest grant; leave out for 'up to'."
    )
    max: Pounds = Field(description="The largest grant one organisation can get.")

    @model_validator(mode="after")
    def _ordered(self) -> GrantSize:
        if self.min is not None and self.min > self.max:
            raise ValueError(
                f"the range starts at £{self.min:,.0f}, above its end £{self.max:,.0f}"
            )
        return self


# One award's size: a number when every grant is the same, else {min, max} or {max}.
PerAward = Pounds | GrantSize


class Money(Strict):
    """How much money: a total, a yearly amount, or both; each exact or a range. `per_award`
    says what one organisation can get, so a small group can tell whether to apply."""

    total: Amount | None = Field(default=None, description="For the whole duration.")
    per_year: Amount | None = Field(default=None, description="For each year.")
    min: Pounds | None = Field(default=None, description="Shorthand: the lowest total.")
    max: Pounds | None = Field(default=None, description="Shorthand: the highest total.")
    per_award: PerAward | None = Field(
        default=None,
        description="What one grant or award is worth: 4000 when every grant is the same, "
        "{min: 500, max: 4000} for a range, or {max: 4000} for 'up to £4,000'.",
    )

    @model_validator(mode="after")
    def _some_amount(self) -> Money:
        if (self.min is None) != (self.max is None):
            raise ValueError("a range needs both min and max")
        if self.min is not None and self.total is not None:
            raise ValueError("give either total or min and max, not both")
        if self.min is not None and self.max is not None and self.min > self.max:
            raise ValueError(
                f"the range starts at £{self.min:,.0f}, above its end £{self.max:,.0f}"
            )
        if (
            self.total is None
            and self.per_year is None
            and self.min is None
            and self.per_award is None
        ):
            raise ValueError("give total, per_year, or min and max")
        return self


class Duration(Strict):
    years: Annotated[float, Field(gt=0, le=50)] | None = None
    months: Annotated[int, Field(gt=0, le=600)] | None = None
    extension_years: Annotated[float, Field(ge=0, le=50)] | None = None
    extension_months: Annotated[int, Field(ge=0, le=600)] | None = None

    @model_validator(mode="after")
    def _some_length(self) -> Duration:
        if self.years is None and self.months is None:
            raise ValueError("give years or months")
        return self


class Lot(Strict):
    id: Slug
    title: ShortText
    summary: Text | None = None
    places: list[PlaceRef] = Field(default_factory=list)
    value: Money | None = None


class AmountRequirement(Strict):
    amount: Pounds = Field(description="0 means no minimum.")
    why: Reason | None = Field(default=None, description="Why this is needed.")


class YesNoRequirement(Strict):
    required: bool
    why: Reason | None = Field(default=None, description="Why this is needed.")


class Requirements(Strict):
    """What a provider must have: the things that commonly shut small organisations out."""

    minimum_turnover: AmountRequirement | None = None
    reserves: AmountRequirement | None = None
    insurance: AmountRequirement | None = None
    data_security_toolkit: YesNoRequirement | None = None
    cqc_registration: YesNoRequirement | None = None
    consortia_welcome: bool | None = None
    subcontracting_welcome: bool | None = None


class OrganisationKind(StrEnum):
    """Kinds of organisation that may apply; their plain names are in text/organisations.py."""

    REGISTERED_CHARITY = "registered-charity"
    CIO = "cio"
    CIC = "cic"
    COMMUNITY_BENEFIT_SOCIETY = "community-benefit-society"
    CO_OPERATIVE = "co-operative"
    COMPANY_LIMITED_BY_GUARANTEE = "company-limited-by-guarantee"
    CONSTITUTED_GROUP = "constituted-group"
    UNCONSTITUTED_GROUP = "unconstituted-group"
    SOCIAL_ENTERPRISE = "social-enterprise"
    FAITH_GROUP = "faith-group"
    PARISH_COUNCIL = "parish-council"
    PRIVATE_COMPANY = "private-company"
    PUBLIC_BODY = "public-body"


class Eligibility(Strict):
    kinds: list[OrganisationKind] = Field(
        default_factory=list,
        description="The kinds of organisation that can apply: registered-charity, cio, cic, "
        "community-benefit-society, co-operative, company-limited-by-guarantee, "
        "constituted-group, unconstituted-group, social-enterprise, faith-group, "
        "parish-council, private-company, public-body.",
    )


class Recipient(Strict):
    """An organisation funded, once an opportunity is awarded."""

    name: ShortText = Field(description="The organisation's name, as the public knows it.")
    amount: Pounds | None = Field(default=None, description="How much it was given.")
    website: Url | None = None


class Criterion(Strict):
    name: ShortText
    weight: Literal["high", "medium", "low"] | Annotated[int, Field(ge=0, le=100)] | None = None


class Evaluation(Strict):
    criteria: list[Criterion] = Field(default_factory=list)
    social_value_weight: Annotated[int, Field(ge=0, le=100)] | None = Field(
        default=None, description="Percentage of the score for social value."
    )
    vcse_panel_member: bool | None = Field(
        default=None, description="Someone from the local VCSE sector scores the bids."
    )


class EngagementEvent(Strict):
    id: Slug | None = Field(
        default=None,
        description="Optional stable id, so calendars keep the event even if its title "
        "changes or another event gets the same title.",
    )
    title: ShortText
    start: PlanDate
    end: PlanDate | None = None
    where: ShortText | None = Field(default=None, description="The venue and town.")
    online: bool | None = None
    link: Url | None = Field(default=None, description="Booking or joining link.")
    recorded: bool | None = None
    host: Slug | None = Field(default=None, description="Infrastructure body hosting it.")
    paid_participation: ShortText | None = Field(
        default=None, description="What participants are paid for their time, if anything."
    )


class Dates(Strict):
    engagement: list[EngagementEvent] = Field(default_factory=list)
    engagement_closes: PlanDate | None = Field(
        default=None,
        description="When preliminary market engagement closes: the last day providers can "
        "take part or send their views. A Procurement Act UK2 notice must give it.",
    )
    tender_opens: PlanDate | None = Field(
        default=None, description="When the tender opens (for grants: applications open)."
    )
    tender_closes: PlanDate | None = Field(default=None, description="The closing date.")
    decision: PlanDate | None = Field(default=None, description="When the provider is chosen.")
    intention_to_award: PlanDate | None = Field(
        default=None,
        description="Provider Selection Regime (direct award C, most suitable provider, "
        "competitive): when the intention to award is published. The standstill of 8 "
        "working days after it is worked out.",
    )
    service_starts: PlanDate | None = None


class KeyCriteria(Strict):
    """The reasons for the choice against each of the Provider Selection Regime's five key
    criteria, in a sentence or a few."""

    quality_and_innovation: Reason | None = None
    value: Reason | None = None
    integration_collaboration_and_sustainability: Reason | None = Field(
        default=None, description="Integration, collaboration and service sustainability."
    )
    access_inequalities_and_choice: Reason | None = Field(
        default=None,
        description="Improving access, reducing health inequalities and facilitating choice.",
    )
    social_value: Reason | None = None


class Conflict(Strict):
    """A conflict of interest declared by someone involved in the decision."""

    who: ShortText = Field(description="Their role, not their name: 'A board member'.")
    interest: Reason = Field(description="What the interest is.")
    managed: Reason = Field(description="How it was managed: 'They took no part in the decision.'")


class AwardDecision(Strict):
    """Provider Selection Regime: what the intention to award says. Who decided, the reasons
    against the key criteria, and the conflicts of interest declared."""

    decided_by: list[ShortText] = Field(
        default_factory=list,
        description="Who made the decision, by role: 'ICB Contracts Committee'.",
    )
    provider: ShortText | None = Field(
        default=None, description="The provider the commissioner intends to award to."
    )
    key_criteria: KeyCriteria | None = Field(
        default=None, description="The reasons, against each of the five key criteria."
    )
    conflicts_of_interest: list[Conflict] | None = Field(
        default=None,
        description="Each conflict declared and how it was managed; [] when none was declared.",
    )


class CurrentProvider(Strict):
    name: ShortText
    contract_ends: PlanDate | None = None


class Support(Strict):
    by: Slug = Field(description="The infrastructure body offering help (its channel file id).")
    what: ShortText
    link: Url | None = None


class Apply(Strict):
    """How to apply or bid while it is open: a link to the portal or form, or an email
    address and what to send. The closing date and time are `dates.tender_closes`."""

    link: Url | None = Field(
        default=None, description="Where to apply or bid: the portal, form or tender page."
    )
    email: Email | None = Field(
        default=None, description="Where to send an application by email, if that is the way."
    )
    what_to_send: ShortText | None = Field(
        default=None,
        description="What to send, in a few plain words: 'the application form and your "
        "latest accounts'.",
    )

    @model_validator(mode="after")
    def _some_way(self) -> Apply:
        if self.link is None and self.email is None:
            raise ValueError("give a link, an email address, or both")
        return self


class Instead(Strict):
    """For a closed, cancelled or awarded opportunity: what to look at instead."""

    what: ShortText = Field(
        description="What to look at instead, in a sentence: 'Leeds City Council's new "
        "carers' service will offer these breaks.'"
    )
    link: Url | None = Field(default=None, description="A web page about it.")


class Opportunity(Strict):
    id: Slug = Field(description="Stable forever; unique within the file.")
    title: ShortText = Field(description="Who wants what, in a few plain words.")
    summary: Text = Field(description="The need, who it is for and what the service will do.")
    status: Status = Field(description="Where this opportunity has got to.")
    places: list[PlaceRef] = Field(
        default_factory=list,
        description="Slugs from places.yaml or England's places, or their ONS codes.",
    )
    themes: list[Slug] = Field(default_factory=list, description="Slugs from themes.yaml.")
    funding: Funding | None = None
    route: Route | None = Field(default=None, description="How the provider will be chosen.")
    value: Money | None = None
    duration: Duration | None = None
    lots: list[Lot] = Field(default_factory=list)
    recurrent: bool | None = Field(default=None, description="Ongoing funding, or one-off.")
    requirements: Requirements | None = None
    eligibility: Eligibility | None = Field(
        default=None, description="Who can apply: the kinds of organisation."
    )
    evaluation: Evaluation | None = None
    dates: Dates = Field(default_factory=Dates)
    current_provider: CurrentProvider | None = None
    award_decision: AwardDecision | None = Field(
        default=None,
        description="Provider Selection Regime: who decided, the reasons against the key "
        "criteria, and conflicts of interest, as the intention to award says.",
    )
    awarded: list[Recipient] = Field(
        default_factory=list,
        description="Once awarded: who was funded, and how much each was given.",
    )
    support: list[Support] = Field(default_factory=list)
    unknown: dict[str, Reason] = Field(
        default_factory=dict,
        description="Why a gap is a gap: field name -> the reason it is not known yet.",
    )
    short_notice_reason: Reason | None = Field(
        default=None, description="Required when the notice policy cannot be met."
    )
    first_published: PlanDate | None = Field(
        default=None, description="When the headline was first published, if not from git."
    )
    apply: Apply | None = Field(
        default=None,
        description="How to apply or bid while it is open: link, email, what_to_send.",
    )
    instead: Instead | None = Field(
        default=None,
        description="Once it is closed, cancelled or awarded: what to look at instead.",
    )
    more_information: Url | None = None
    contact: Contact | None = None


class PlanHeader(Strict):
    schema_version: Literal[1] = Field(alias="schema", description="The format version: 1.")
    example: bool = Field(
        default=False, description="True for made-up example plans; pages say so."
    )
    written_for: dt.date | None = Field(
        default=None,
        description="Example plans only: the day the example was written for, like "
        "2026-11-23. The site moves every date in the plan on by the whole weeks since, so "
        "the example reads as current on any day. Leave it out to let the dates pass.",
    )
    commissioner: Commissioner
    notice_policy: NoticePolicy = Field(default_factory=NoticePolicy)

    @model_validator(mode="after")
    def _written_for_examples(self) -> PlanHeader:
        if self.written_for is not None and not self.example:
            raise ValueError(
                "written_for is only for example plans (example: true): a real plan's "
                "dates are never moved"
            )
        return self


class PlanFile(PlanHeader):
    """A commissioning body's forward procurement plan: plans/<commissioner-id>.yaml."""

    model_config = ConfigDict(title="Forward plan (schema 1)")
    opportunities: list[Opportunity] = Field(default_factory=list)


# Channels: plans/channels/<infrastructure-body-id>.yaml

Reminder = Annotated[
    str, Field(pattern=r"^\d{1,3}[dw]$", description="Like 8w (weeks) or 3d (days).")
]


class Organisation(Strict):
    id: Slug = Field(description="Stable id; the channel file is named <id>.yaml.")
    name: ShortText
    website: Url | None = None
    kind: Literal["cvs", "vcse-alliance", "other"] | None = None


class ChannelFilter(Strict):
    places: list[PlaceRef] = Field(default_factory=list, description="Empty means everywhere.")
    themes: list[Slug] = Field(default_factory=list, description="Empty means every theme.")
    funding: list[Funding] = Field(default_factory=list, description="Empty means any.")
    min_value: Pounds | None = None
    max_value: Pounds | None = None


class ChannelBase(Strict):
    id: Slug
    cadence: Literal["immediate", "daily", "weekly"] = "immediate"
    digest_time: Annotated[str, Field(pattern=r"^([01]\d|2[0-3]):[0-5]\d$")] = Field(
        default="08:00", description="Local time (Europe/London) digests are sent."
    )
    digest_day: Literal[
        "monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday"
    ] = "monday"
    filter: ChannelFilter = Field(default_factory=ChannelFilter)
    reminders: list[Reminder] = Field(
        default_factory=lambda: ["8w", "2w"],
        description="Before the tender or applications open.",
    )
    closing_reminders: list[Reminder] = Field(default_factory=lambda: ["1w"])
    event_reminders: list[Reminder] = Field(default_factory=lambda: ["1w"])
    closing_soon: Reminder | None = Field(
        default="2w",
        description="Daily and weekly digests end with what closes within this time (like "
        "2w); null for no such list.",
    )
    settings_url: Url | None = Field(
        default=None,
        description="Where readers can change what this channel sends them; every message "
        "links it.",
    )


class EmailChannel(ChannelBase):
    kind: Literal["email"]
    to: list[Email] = Field(
        default_factory=list,
        description="Addresses here are in git for anyone to read: a mailing list's address, "
        "or an editor's. Members' own addresses go in to_file or to_env.",
    )
    to_file: ShortText | None = Field(
        default=None,
        description="A file outside the plans repository, one address a line (# starts a "
        "note); a relative path is from the folder the publisher runs in.",
    )
    to_env: Annotated[str, Field(pattern=r"^[A-Z][A-Z0-9_]*$")] | None = Field(
        default=None,
        description="An environment variable holding addresses, separated by commas, spaces "
        "or new lines.",
    )

    @model_validator(mode="after")
    def _someone(self) -> EmailChannel:
        if not (self.to or self.to_file or self.to_env):
            raise ValueError("an email channel needs to:, to_file: or to_env: to say who gets it")
        return self


class WebhookChannel(ChannelBase):
    kind: Literal["webhook"]
    url: Url
    secret_env: Annotated[str, Field(pattern=r"^[A-Z][A-Z0-9_]*$")] = Field(
        description="The environment variable holding the signing secret; never the secret."
    )


class ChatChannel(ChannelBase):
    """A chat tool's incoming webhook: messages in the tool's own format (delivery/slack.py,
    teams.py, discord.py)."""

    url_env: Annotated[str, Field(pattern=r"^[A-Z][A-Z0-9_]*$")] = Field(
        description="The environment variable holding the webhook address the chat tool "
        "gave you; never the address itself: anyone who has it can post to your channel."
    )


class SlackChannel(ChatChannel):
    kind: Literal["slack"]


class TeamsChannel(ChatChannel):
    kind: Literal["teams"]


class DiscordChannel(ChatChannel):
    kind: Literal["discord"]


AnyChannel = EmailChannel | WebhookChannel | SlackChannel | TeamsChannel | DiscordChannel
Channel = Annotated[AnyChannel, Field(discriminator="kind")]


class ChannelHeader(Strict):
    schema_version: Literal[1] = Field(alias="schema", description="The format version: 1.")
    organisation: Organisation


class ChannelFile(ChannelHeader):
    """An infrastructure body's channels: plans/channels/<organisation-id>.yaml."""

    model_config = ConfigDict(title="Channels (schema 1)")
    channels: list[Channel] = Field(default_factory=list)


# Reference lists: plans/places.yaml and plans/themes.yaml


class Place(Strict):
    slug: Slug
    name: ShortText
    kind: Literal["system", "place", "neighbourhood", "ward", "other"] = "place"
    within: PlaceRef | None = Field(default=None, description="The place this one is part of.")
    code: PlaceCode | None = Field(default=None, description="Its ONS code, if it has one.")


class PlacesFile(Strict):
    model_config = ConfigDict(title="Places (schema 1)")
    schema_version: Literal[1] = Field(alias="schema")
    places: Annotated[list[Place], Field(min_length=1)]


class Theme(Strict):
    slug: Slug
    name: ShortText
    description: Text | None = None


class ThemesFile(Strict):
    model_config = ConfigDict(title="Themes (schema 1)")
    schema_version: Literal[1] = Field(alias="schema")
    themes: Annotated[list[Theme], Field(min_length=1)]
