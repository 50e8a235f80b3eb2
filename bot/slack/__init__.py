"""Everything that speaks Slack: the client, the writer, listeners and the app."""
