-- Broadcasts with a photo (E1): the Storage key of the optional photo (checked with Pillow when
-- uploaded). With a photo each recipient's row is a sendPhoto whose caption is the text (at
-- most 1024 characters); without, a sendMessage as before.
ALTER TABLE broadcasts ADD COLUMN photo_key text CHECK (photo_key ~ '^broadcasts/[A-Za-z0-9_-]{16,64}\.(jpg|png|webp)$');
