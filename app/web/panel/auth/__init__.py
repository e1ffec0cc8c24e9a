"""Who may see what in the panel: access rules, routes, sessions, CSRF, pages and the guard."""
