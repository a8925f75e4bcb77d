"""Forward plan publisher: commissioners' plans as plain-English notices, feeds and calendars."""
