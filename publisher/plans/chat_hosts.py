"""Which chat tool a webhook address belongs to, from its host and path: for `publisher
check` (a Slack address under `kind: webhook`) and for the sender's words when such a
receiver refuses the publisher's own format."""

from __future__ import annotations

from urllib.parse import urlsplit

NAMES = {"slack": "Slack", "teams": "Microsoft Teams", "discord": "Discord"}

_SLACK = ("hooks.slack.com", "hooks.slack-gov.com")
_DISCORD = ("discord.com", "discordapp.com", "ptb.discord.com", "canary.discord.com")
# Teams: Workflows (Power Automate, on Logic Apps or Power Platform) and the old connectors.
_TEAMS = (".logic.azure.com", ".powerplatform.com", ".webhook.office.com")


def chat_tool(host: str, path: str = "/") -> str | None:
    """'slack', 'teams' or 'discord' when the address is one of theirs; else None."""
    host = host.lower().rstrip(".")
    if host in _SLACK:
        return "slack"
    if host in _DISCORD and path.startswith("/api/webhooks/"):
        return "discord"
    if host == "outlook.office.com" or host.endswith(_TEAMS):
        return "teams"
    return None


def chat_tool_of(url: str) -> str | None:
    """The same, for a whole URL; None for one that cannot be read."""
    try:
        parts = urlsplit(url)
    except ValueError:
        return None
    return chat_tool(parts.hostname or "", parts.path or "/")
