-- The language of the console a worker chose on "My account" ('fr' or 'en'); empty: the browser's
-- language, as before.
ALTER TABLE workers ADD COLUMN language TEXT NOT NULL DEFAULT '' CHECK (language IN ('', 'fr', 'en'));
