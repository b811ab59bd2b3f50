"""Routes: public (login, health), pages, admin, api. Thin: they parse, call the core, render."""
