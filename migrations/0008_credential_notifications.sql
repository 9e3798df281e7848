-- Credential changes are announced, so that every server process drops what
-- it cached about a credential at once (services/auth/credential_cache.h):
-- a logout or expiry-by-revocation (user_sessions), a revoked or deleted API
-- key, and any change to an account (disabled, password changed, profile
-- edited, deleted). Payload: "user:<id>", "session:<id>" or "api_key:<id>".
CREATE FUNCTION notify_credential_change() RETURNS trigger
LANGUAGE plpgsql AS $$
DECLARE
  changed_id bigint;
BEGIN
  IF TG_OP = 'DELETE' THEN
    changed_id := OLD.id;
  ELSE
    changed_id := NEW.id;
  END IF;
  PERFORM pg_notify('plantmon_credentials', TG_ARGV[0] || ':' || changed_id);
  RETURN NULL;
END;
$$;

CREATE TRIGGER users_credentials_notify AFTER UPDATE OR DELETE ON users
  FOR EACH ROW EXECUTE FUNCTION notify_credential_change('user');
CREATE TRIGGER user_sessions_credentials_notify AFTER UPDATE OR DELETE ON user_sessions
  FOR EACH ROW EXECUTE FUNCTION notify_credential_change('session');
-- Not on last_used_at, which every uncached use of a key updates.
CREATE TRIGGER api_keys_credentials_notify AFTER UPDATE OF revoked_at, user_id, key_hash OR DELETE
  ON api_keys FOR EACH ROW EXECUTE FUNCTION notify_credential_change('api_key');
