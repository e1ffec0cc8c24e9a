-- The bot's main menu as a tree of buttons edited in the panel (S4). A node is a button: its
-- label per language ({"en": ..., "ru": ..., "uz": ...}; a language left out falls back, and an
-- action's empty label is its built-in translated one) and what it does (`kind`): an answer
-- text, a submenu (its children, `texts` the heading shown above them), a URL, a knowledge-base
-- entry, or one of the bot's actions. Buttons go two to a row in `position` order; a `wide` one
-- takes a row of its own. Every process keeps the tree in memory and reloads it on the settings
-- notification sent with each change (app/domain/support/menus.py); menu_state.version orders
-- the reloads, and its row lock takes the edits one at a time (no cycles by a race).
CREATE TABLE menu_state (
    id      boolean PRIMARY KEY DEFAULT true CHECK (id),
    version bigint NOT NULL DEFAULT 0
);
INSERT INTO menu_state DEFAULT VALUES;

CREATE TABLE menu_nodes (
    id          bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    parent_id   bigint REFERENCES menu_nodes ON DELETE CASCADE,
    position    integer NOT NULL,
    kind        text NOT NULL CHECK (kind IN ('text', 'submenu', 'url', 'kb', 'action')),
    labels      jsonb NOT NULL DEFAULT '{}',
    texts       jsonb NOT NULL DEFAULT '{}',
    url         text CHECK (url IS NULL OR length(url) <= 2048),
    kb_entry_id bigint REFERENCES support_kb_entries ON DELETE CASCADE,
    action      text,
    wide        boolean NOT NULL DEFAULT false,
    updated_at  timestamptz NOT NULL DEFAULT now(),
    CHECK (id IS DISTINCT FROM parent_id),
    CHECK ((kind = 'url') = (url IS NOT NULL)),
    CHECK ((kind = 'kb') = (kb_entry_id IS NOT NULL)),
    CHECK ((kind = 'action') = (action IS NOT NULL))
);
CREATE INDEX menu_nodes_parent ON menu_nodes (parent_id, position);

-- Today's menu: the marketplace's buttons, as actions with their built-in labels.
INSERT INTO menu_nodes (position, kind, action) VALUES
    (1, 'action', 'post'), (2, 'action', 'my_ads'), (3, 'action', 'support'),
    (4, 'action', 'tasks'), (5, 'action', 'language');
