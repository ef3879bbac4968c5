"""REST endpoints of the exceptions app: exceptions, tasks, external events, webhooks."""
