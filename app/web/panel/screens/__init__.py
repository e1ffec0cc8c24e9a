"""The panel's screens, one module per area; app/web/panel/__init__.py lists them in SCREENS."""
