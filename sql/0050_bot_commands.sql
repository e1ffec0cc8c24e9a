-- The bot's commands and texts edited in the panel (S1). `name` is the command without its
-- slash; 'start' and 'help' hold the greeting and the help text (their menu descriptions stay
-- the translated ones); any other name is an admin-defined command with a description (the
-- command menu) and a text per language, {"en": ..., "ru": ..., "uz": ...}. A language left
-- out falls back (app/domain/support/commands.py). Every process keeps them all in memory.
CREATE TABLE bot_commands (
    name         text PRIMARY KEY CHECK (name ~ '^[a-z0-9_]{1,32}$'),
    descriptions jsonb NOT NULL DEFAULT '{}',
    texts        jsonb NOT NULL DEFAULT '{}',
    position     integer NOT NULL DEFAULT 0,
    updated_at   timestamptz NOT NULL DEFAULT now()
);
