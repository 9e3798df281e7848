-- Emails and usernames are one name however they are cased or composed
-- (docs/api.md, "Names"): stored in Unicode NFC (the server normalises what
-- clients send) and unique, and looked up, without regard to case.
--
-- Case-insensitive comparison is an ICU collation at strength 2 (case
-- ignored, accents kept: "Bob" = "bob", "José" <> "Jose"), rather than a
-- unique index on lower(): lower() folds only what the database's locale
-- knows (this project's clusters run with C.UTF-8), and the collation folds
-- the same way on every cluster.
CREATE COLLATION plantmon_case_insensitive (
  provider = icu, locale = 'und-u-ks-level2', deterministic = false);

-- Accounts that already collide with an older account, as names now compare,
-- are neither merged nor renamed: they keep working, are reported below and
-- in users_identity_collisions, and are left out of uniqueness until their
-- owner or an administrator gives them another name (the trigger below clears
-- the mark when the name changes). New accounts can never collide: the older
-- account of each group stays in the unique index.
ALTER TABLE users
  ADD COLUMN email_collides    boolean NOT NULL DEFAULT false,
  ADD COLUMN username_collides boolean NOT NULL DEFAULT false;

UPDATE users SET email_collides = true
WHERE id IN (SELECT id FROM (
  SELECT id, row_number() OVER (
    PARTITION BY (normalize(email, NFC) COLLATE plantmon_case_insensitive) ORDER BY id) AS rank
  FROM users) ranked WHERE rank > 1);

UPDATE users SET username_collides = true
WHERE id IN (SELECT id FROM (
  SELECT id, row_number() OVER (
    PARTITION BY (normalize(username, NFC) COLLATE plantmon_case_insensitive) ORDER BY id) AS rank
  FROM users) ranked WHERE rank > 1);

ALTER TABLE users DROP CONSTRAINT users_email_key, DROP CONSTRAINT users_username_key;

-- updated_at is bookkeeping for clients' edits; normalising is not one.
ALTER TABLE users DISABLE TRIGGER USER;
UPDATE users SET email = normalize(email, NFC) WHERE email IS NOT NFC NORMALIZED;
UPDATE users SET username = normalize(username, NFC) WHERE username IS NOT NFC NORMALIZED;
ALTER TABLE users ENABLE TRIGGER USER;

ALTER TABLE users
  ALTER COLUMN email TYPE varchar(255) COLLATE plantmon_case_insensitive,
  ALTER COLUMN username TYPE varchar(100) COLLATE plantmon_case_insensitive,
  ADD CONSTRAINT users_email_nfc CHECK (email IS NFC NORMALIZED),
  ADD CONSTRAINT users_username_nfc CHECK (username IS NFC NORMALIZED);

-- One index each serves uniqueness and logins: a marked account's entry is
-- made unique by its id, everyone else's by the name alone. The names are the
-- old constraints', which the server's conflict messages name.
CREATE UNIQUE INDEX users_email_key
  ON users (email, (CASE WHEN email_collides THEN id ELSE 0 END));
CREATE UNIQUE INDEX users_username_key
  ON users (username, (CASE WHEN username_collides THEN id ELSE 0 END));

CREATE FUNCTION users_clear_identity_collision() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
  IF NEW.email IS DISTINCT FROM OLD.email THEN NEW.email_collides := false; END IF;
  IF NEW.username IS DISTINCT FROM OLD.username THEN NEW.username_collides := false; END IF;
  RETURN NEW;
END $$;

CREATE TRIGGER users_clear_identity_collision BEFORE UPDATE OF email, username ON users
  FOR EACH ROW EXECUTE FUNCTION users_clear_identity_collision();

-- The report: each marked account with the older account it collides with.
CREATE VIEW users_identity_collisions AS
SELECT newer.id AS user_id, 'email' AS field, newer.email AS name,
       older.id AS collides_with_user_id, older.email AS collides_with_name
FROM users newer
JOIN LATERAL (SELECT id, email FROM users o
              WHERE o.email = newer.email AND o.id < newer.id ORDER BY o.id LIMIT 1) older ON true
WHERE newer.email_collides
UNION ALL
SELECT newer.id, 'username', newer.username, older.id, older.username
FROM users newer
JOIN LATERAL (SELECT id, username FROM users o
              WHERE o.username = newer.username AND o.id < newer.id ORDER BY o.id LIMIT 1) older
  ON true
WHERE newer.username_collides;

DO $$
DECLARE
  collision record;
BEGIN
  FOR collision IN SELECT * FROM users_identity_collisions ORDER BY user_id, field LOOP
    RAISE WARNING 'user % has the % "%", which is user %''s "%" without regard to case or '
                  'composition; both accounts are kept (see users_identity_collisions in '
                  'docs/api.md)',
      collision.user_id, collision.field, collision.name, collision.collides_with_user_id,
      collision.collides_with_name;
  END LOOP;
END $$;
