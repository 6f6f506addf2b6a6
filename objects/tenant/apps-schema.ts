/**
 * @module objects/tenant/apps-schema
 * The tables behind tenant apps (docs/apps.md): immutable app versions addressed by their content
 * hash, which version of each app is active, the tenant's encrypted secrets, each app's own
 * key-value storage (with a byte count for its quota) and its bounded log. The kernel is their
 * only writer; tenant code reaches `app_kv` and `app_logs` only through capabilities scoped to
 * (tenant, app).
 */

/** Schema (never edit: add a new migration). */
export const APPS_SCHEMA_V1 = `
CREATE TABLE app_versions (
  app TEXT NOT NULL, hash TEXT NOT NULL, version TEXT NOT NULL, manifest TEXT NOT NULL, modules TEXT NOT NULL,
  bytes INTEGER NOT NULL, deployed_by TEXT NOT NULL, deployed_at INTEGER NOT NULL,
  PRIMARY KEY (app, hash)
);
CREATE TABLE apps (app TEXT PRIMARY KEY, active_hash TEXT NOT NULL, updated_at INTEGER NOT NULL);
CREATE TABLE app_secrets (name TEXT PRIMARY KEY, kid TEXT NOT NULL, iv TEXT NOT NULL, ct TEXT NOT NULL, updated_at INTEGER NOT NULL);
CREATE TABLE app_kv (app TEXT NOT NULL, key TEXT NOT NULL, value TEXT NOT NULL, bytes INTEGER NOT NULL, PRIMARY KEY (app, key));
CREATE TABLE app_logs (id INTEGER PRIMARY KEY AUTOINCREMENT, app TEXT NOT NULL, ts INTEGER NOT NULL, level TEXT NOT NULL, message TEXT NOT NULL);
CREATE INDEX app_logs_app ON app_logs (app, id);
`;
