namespace FlagAnalyzer.Api.Storage;

/// <summary>
/// The schema, as an append-only list of versioned steps. A step never changes once released; a new
/// need is a new step. Version ranges by owner keep parallel work from colliding:
/// 1–99 core, 100–199 analysis, 200–299 assistant, 300–399 live, 400–499 cache/feed, 500–599 access, 600–699 evaluation,
/// 700–799 telemetry, 800–899 reliability, 900–999 rollouts, 1000–1099 webhooks, 1100–1199 change requests.
/// All times are INTEGER Unix milliseconds. Each step has its SQLite and its PostgreSQL text, with the same version
/// numbers: on PostgreSQL integers and ms timestamps are BIGINT, REAL is DOUBLE PRECISION, flags are BOOLEAN, blobs
/// BYTEA, rowid keys identity columns, and the text that is compared or ordered (ids, names, keys) is
/// <c>COLLATE "C"</c> so it sorts byte by byte, as SQLite does, whatever the database's locale.
/// </summary>
public static class Migrations
{
    public sealed record Step(int Version, string Name, string Sqlite, string Postgres)
    {
        public string For(DbProvider provider) => provider == DbProvider.Postgres ? Postgres : Sqlite;
    }

    public static readonly IReadOnlyList<Step> All =
    [
        new(1, "core tables", """
            CREATE TABLE feature_flags (
                id                  TEXT PRIMARY KEY,
                name                TEXT NOT NULL UNIQUE,
                description         TEXT NOT NULL DEFAULT '',
                enabled             INTEGER NOT NULL,
                rollout_percentage  REAL NOT NULL,
                target_environment  TEXT NOT NULL,
                owner               TEXT NOT NULL DEFAULT '',
                tags                TEXT NOT NULL DEFAULT '[]',
                auto_rollback       INTEGER NOT NULL DEFAULT 0,
                variants            TEXT NULL,
                rules               TEXT NULL,
                created_at          INTEGER NOT NULL,
                updated_at          INTEGER NOT NULL,
                version             INTEGER NOT NULL
            );
            CREATE INDEX ix_feature_flags_env ON feature_flags(target_environment);

            CREATE TABLE flag_changes (
                id              TEXT PRIMARY KEY,
                flag_id         TEXT NOT NULL,
                flag_name       TEXT NOT NULL,
                change_type     TEXT NOT NULL,
                previous_value  TEXT NULL,
                new_value       TEXT NULL,
                changed_by      TEXT NOT NULL,
                environment     TEXT NOT NULL,
                timestamp       INTEGER NOT NULL,
                prediction_id   TEXT NULL,
                reason          TEXT NULL
            );
            CREATE INDEX ix_flag_changes_flag ON flag_changes(flag_id, timestamp);
            CREATE INDEX ix_flag_changes_time ON flag_changes(timestamp);

            CREATE TABLE impact_metrics (
                id                       INTEGER PRIMARY KEY,
                flag_id                  TEXT NOT NULL,
                timestamp                INTEGER NOT NULL,
                cohort                   TEXT NULL,
                error_rate               REAL NOT NULL,
                latency_p50              REAL NOT NULL,
                latency_p99              REAL NOT NULL,
                request_count            INTEGER NOT NULL,
                conversion_rate          REAL NULL,
                user_satisfaction_score  REAL NULL
            );
            CREATE INDEX ix_impact_metrics_flag_time ON impact_metrics(flag_id, timestamp);

            CREATE TABLE predictions (
                id                 TEXT PRIMARY KEY,
                flag_id            TEXT NOT NULL,
                change_id          TEXT NULL,
                risk_level         TEXT NOT NULL,
                risk_score         REAL NOT NULL,
                error_rate_change  REAL NOT NULL,
                latency_change     REAL NOT NULL,
                user_impact        TEXT NOT NULL,
                recommendations    TEXT NOT NULL,
                confidence         REAL NOT NULL,
                reasoning          TEXT NOT NULL,
                evidence           TEXT NOT NULL,
                source             TEXT NOT NULL,
                created_at         INTEGER NOT NULL,
                updated_at         INTEGER NOT NULL
            );
            CREATE INDEX ix_predictions_flag ON predictions(flag_id, id);

            CREATE TABLE anomalies (
                id               TEXT PRIMARY KEY,
                flag_id          TEXT NOT NULL,
                type             TEXT NOT NULL,
                severity         TEXT NOT NULL,
                metric           TEXT NOT NULL,
                baseline_value   REAL NOT NULL,
                observed_value   REAL NOT NULL,
                change_percent   REAL NOT NULL,
                confidence       REAL NOT NULL,
                p_value          REAL NOT NULL,
                message          TEXT NOT NULL,
                status           TEXT NOT NULL,
                detected_at      INTEGER NOT NULL,
                acknowledged_at  INTEGER NULL,
                acknowledged_by  TEXT NULL,
                resolved_at      INTEGER NULL,
                change_id        TEXT NULL
            );
            CREATE INDEX ix_anomalies_flag ON anomalies(flag_id, status);
            CREATE INDEX ix_anomalies_status ON anomalies(status, id);

            CREATE TABLE chat_sessions (
                session_id  TEXT PRIMARY KEY,
                created_at  INTEGER NOT NULL,
                updated_at  INTEGER NOT NULL
            );
            CREATE TABLE conversations (
                id          INTEGER PRIMARY KEY,
                session_id  TEXT NOT NULL REFERENCES chat_sessions(session_id),
                role        TEXT NOT NULL,
                content     TEXT NOT NULL,
                created_at  INTEGER NOT NULL
            );
            CREATE INDEX ix_conversations_session ON conversations(session_id, id);
            """, """
            CREATE TABLE feature_flags (
                id                  TEXT COLLATE "C" PRIMARY KEY,
                name                TEXT COLLATE "C" NOT NULL UNIQUE,
                description         TEXT NOT NULL DEFAULT '',
                enabled             BOOLEAN NOT NULL,
                rollout_percentage  DOUBLE PRECISION NOT NULL,
                target_environment  TEXT COLLATE "C" NOT NULL,
                owner               TEXT COLLATE "C" NOT NULL DEFAULT '',
                tags                TEXT NOT NULL DEFAULT '[]',
                auto_rollback       BOOLEAN NOT NULL DEFAULT FALSE,
                variants            TEXT NULL,
                rules               TEXT NULL,
                created_at          BIGINT NOT NULL,
                updated_at          BIGINT NOT NULL,
                version             BIGINT NOT NULL
            );
            CREATE INDEX ix_feature_flags_env ON feature_flags(target_environment);

            CREATE TABLE flag_changes (
                id              TEXT COLLATE "C" PRIMARY KEY,
                flag_id         TEXT COLLATE "C" NOT NULL,
                flag_name       TEXT COLLATE "C" NOT NULL,
                change_type     TEXT COLLATE "C" NOT NULL,
                previous_value  TEXT NULL,
                new_value       TEXT NULL,
                changed_by      TEXT NOT NULL,
                environment     TEXT COLLATE "C" NOT NULL,
                timestamp       BIGINT NOT NULL,
                prediction_id   TEXT COLLATE "C" NULL,
                reason          TEXT NULL
            );
            CREATE INDEX ix_flag_changes_flag ON flag_changes(flag_id, timestamp);
            CREATE INDEX ix_flag_changes_time ON flag_changes(timestamp);

            CREATE TABLE impact_metrics (
                id                       BIGINT GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY,
                flag_id                  TEXT COLLATE "C" NOT NULL,
                timestamp                BIGINT NOT NULL,
                cohort                   TEXT COLLATE "C" NULL,
                error_rate               DOUBLE PRECISION NOT NULL,
                latency_p50              DOUBLE PRECISION NOT NULL,
                latency_p99              DOUBLE PRECISION NOT NULL,
                request_count            BIGINT NOT NULL,
                conversion_rate          DOUBLE PRECISION NULL,
                user_satisfaction_score  DOUBLE PRECISION NULL
            );
            CREATE INDEX ix_impact_metrics_flag_time ON impact_metrics(flag_id, timestamp);

            CREATE TABLE predictions (
                id                 TEXT COLLATE "C" PRIMARY KEY,
                flag_id            TEXT COLLATE "C" NOT NULL,
                change_id          TEXT COLLATE "C" NULL,
                risk_level         TEXT COLLATE "C" NOT NULL,
                risk_score         DOUBLE PRECISION NOT NULL,
                error_rate_change  DOUBLE PRECISION NOT NULL,
                latency_change     DOUBLE PRECISION NOT NULL,
                user_impact        TEXT NOT NULL,
                recommendations    TEXT NOT NULL,
                confidence         DOUBLE PRECISION NOT NULL,
                reasoning          TEXT NOT NULL,
                evidence           TEXT NOT NULL,
                source             TEXT COLLATE "C" NOT NULL,
                created_at         BIGINT NOT NULL,
                updated_at         BIGINT NOT NULL
            );
            CREATE INDEX ix_predictions_flag ON predictions(flag_id, id);

            CREATE TABLE anomalies (
                id               TEXT COLLATE "C" PRIMARY KEY,
                flag_id          TEXT COLLATE "C" NOT NULL,
                type             TEXT COLLATE "C" NOT NULL,
                severity         TEXT COLLATE "C" NOT NULL,
                metric           TEXT NOT NULL,
                baseline_value   DOUBLE PRECISION NOT NULL,
                observed_value   DOUBLE PRECISION NOT NULL,
                change_percent   DOUBLE PRECISION NOT NULL,
                confidence       DOUBLE PRECISION NOT NULL,
                p_value          DOUBLE PRECISION NOT NULL,
                message          TEXT NOT NULL,
                status           TEXT COLLATE "C" NOT NULL,
                detected_at      BIGINT NOT NULL,
                acknowledged_at  BIGINT NULL,
                acknowledged_by  TEXT NULL,
                resolved_at      BIGINT NULL,
                change_id        TEXT COLLATE "C" NULL
            );
            CREATE INDEX ix_anomalies_flag ON anomalies(flag_id, status);
            CREATE INDEX ix_anomalies_status ON anomalies(status, id);

            CREATE TABLE chat_sessions (
                session_id  TEXT COLLATE "C" PRIMARY KEY,
                created_at  BIGINT NOT NULL,
                updated_at  BIGINT NOT NULL
            );
            CREATE TABLE conversations (
                id          BIGINT GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY,
                session_id  TEXT COLLATE "C" NOT NULL REFERENCES chat_sessions(session_id),
                role        TEXT COLLATE "C" NOT NULL,
                content     TEXT NOT NULL,
                created_at  BIGINT NOT NULL
            );
            CREATE INDEX ix_conversations_session ON conversations(session_id, id);
            """),
        // environments (issue 26): the promotion path as rows, owned by Environments/. The three defaults come first; an
        // existing database's custom target environments follow in name order, so every flag's environment exists.
        // `protected` is reserved for change requests (governance) and always false for now.
        new(2, "environments", """
            CREATE TABLE environments (
                name        TEXT PRIMARY KEY,
                color       TEXT NOT NULL,
                position    INTEGER NOT NULL,
                protected   INTEGER NOT NULL DEFAULT 0,
                retired     INTEGER NOT NULL DEFAULT 0,
                created_at  INTEGER NOT NULL,
                updated_at  INTEGER NOT NULL
            );
            INSERT INTO environments(name, color, position, created_at, updated_at)
                SELECT name, color, position, now, now FROM (
                    SELECT 'development' AS name, '#16a34a' AS color, 0 AS position
                    UNION ALL SELECT 'staging', '#d97706', 1
                    UNION ALL SELECT 'production', '#dc2626', 2
                ) CROSS JOIN (SELECT CAST((julianday('now') - 2440587.5) * 86400000 AS INTEGER) AS now);
            INSERT INTO environments(name, color, position, created_at, updated_at)
                SELECT e.target_environment, '#64748b', 2 + ROW_NUMBER() OVER (ORDER BY e.target_environment), e.first_at, e.first_at
                FROM (SELECT target_environment, MIN(created_at) AS first_at FROM feature_flags
                      WHERE target_environment NOT IN ('development', 'staging', 'production') GROUP BY target_environment) e;
            """, """
            CREATE TABLE environments (
                name        TEXT COLLATE "C" PRIMARY KEY,
                color       TEXT NOT NULL,
                position    BIGINT NOT NULL,
                protected   BOOLEAN NOT NULL DEFAULT FALSE,
                retired     BOOLEAN NOT NULL DEFAULT FALSE,
                created_at  BIGINT NOT NULL,
                updated_at  BIGINT NOT NULL
            );
            INSERT INTO environments(name, color, position, created_at, updated_at)
                SELECT d.name, d.color, d.position, n.now, n.now FROM (VALUES
                    ('development', '#16a34a', 0), ('staging', '#d97706', 1), ('production', '#dc2626', 2)
                ) AS d(name, color, position)
                CROSS JOIN (SELECT (EXTRACT(EPOCH FROM clock_timestamp()) * 1000)::BIGINT AS now) n;
            INSERT INTO environments(name, color, position, created_at, updated_at)
                SELECT e.target_environment, '#64748b', 2 + ROW_NUMBER() OVER (ORDER BY e.target_environment), e.first_at, e.first_at
                FROM (SELECT target_environment, MIN(created_at) AS first_at FROM feature_flags
                      WHERE target_environment NOT IN ('development', 'staging', 'production') GROUP BY target_environment) e;
            """),
        // one configuration per flag and environment (issue 26); the seed-shaped feature_flags row mirrors the home one.
        // Rows for flags stored before this step are written at start-up (Flags/FlagConfigurationBackfill), not here: on a
        // new database this step runs before 600 adds the variant columns the home configuration is copied from
        new(3, "flag configuration per environment", """
            CREATE TABLE flag_environments (
                flag_id             TEXT NOT NULL,
                environment         TEXT NOT NULL,
                enabled             INTEGER NOT NULL,
                rollout_percentage  REAL NOT NULL,
                targeting           TEXT NULL,
                default_variant     TEXT NOT NULL,
                off_variant         TEXT NOT NULL,
                auto_rollback       INTEGER NOT NULL DEFAULT 0,
                version             INTEGER NOT NULL,
                updated_at          INTEGER NOT NULL,
                PRIMARY KEY (flag_id, environment)
            );
            CREATE INDEX ix_flag_environments_env ON flag_environments(environment);
            """, """
            CREATE TABLE flag_environments (
                flag_id             TEXT COLLATE "C" NOT NULL,
                environment         TEXT COLLATE "C" NOT NULL,
                enabled             BOOLEAN NOT NULL,
                rollout_percentage  DOUBLE PRECISION NOT NULL,
                targeting           TEXT NULL,
                default_variant     TEXT COLLATE "C" NOT NULL,
                off_variant         TEXT COLLATE "C" NOT NULL,
                auto_rollback       BOOLEAN NOT NULL DEFAULT FALSE,
                version             BIGINT NOT NULL,
                updated_at          BIGINT NOT NULL,
                PRIMARY KEY (flag_id, environment)
            );
            CREATE INDEX ix_flag_environments_env ON flag_environments(environment);
            """),
        // envdata (issue 26 item 3): a metric sample belongs to one environment of its flag; the rows written before
        // belong to their flag's home. The (flag, environment, time) index replaces (flag, time): every read names
        // the environment, and a flag-only read still uses its prefix, so ingest pays for one index as before.
        new(5, "metric sample environments", """
            ALTER TABLE impact_metrics ADD COLUMN environment TEXT NOT NULL DEFAULT '';
            UPDATE impact_metrics SET environment = COALESCE((SELECT f.target_environment FROM feature_flags f WHERE f.id = impact_metrics.flag_id), '');
            DROP INDEX ix_impact_metrics_flag_time;
            CREATE INDEX ix_impact_metrics_flag_env_time ON impact_metrics(flag_id, environment, timestamp);
            """, """
            ALTER TABLE impact_metrics ADD COLUMN environment TEXT COLLATE "C" NOT NULL DEFAULT '';
            UPDATE impact_metrics SET environment = f.target_environment FROM feature_flags f WHERE f.id = impact_metrics.flag_id;
            DROP INDEX ix_impact_metrics_flag_time;
            CREATE INDEX ix_impact_metrics_flag_env_time ON impact_metrics(flag_id, environment, timestamp);
            """),
        // analysis: a token per flag, rewritten by every detection pass, so the in-memory window cache can tell
        // whether its state matches what committed (a rolled-back pass leaves the old token behind)
        new(100, "analysis window tokens", """
            CREATE TABLE analysis_windows (
                flag_id  TEXT PRIMARY KEY,
                token    TEXT NOT NULL
            );
            """, """
            CREATE TABLE analysis_windows (
                flag_id  TEXT COLLATE "C" PRIMARY KEY,
                token    TEXT NOT NULL
            );
            """),
        // envdata (issue 26 item 3): detection runs per flag and environment — a window token per pair (the tokens are a
        // cache's check, so the old ones are dropped: the next pass rebuilds) — and anomalies and predictions carry the
        // environment they are about, the rows before this step their flag's home
        new(101, "analysis per environment", """
            DROP TABLE analysis_windows;
            CREATE TABLE analysis_windows (
                flag_id      TEXT NOT NULL,
                environment  TEXT NOT NULL,
                token        TEXT NOT NULL,
                PRIMARY KEY (flag_id, environment)
            );
            ALTER TABLE anomalies ADD COLUMN environment TEXT NOT NULL DEFAULT '';
            UPDATE anomalies SET environment = COALESCE((SELECT f.target_environment FROM feature_flags f WHERE f.id = anomalies.flag_id), '');
            CREATE INDEX ix_anomalies_environment ON anomalies(environment, id);
            ALTER TABLE predictions ADD COLUMN environment TEXT NOT NULL DEFAULT '';
            UPDATE predictions SET environment = COALESCE((SELECT f.target_environment FROM feature_flags f WHERE f.id = predictions.flag_id), '');
            """, """
            DROP TABLE analysis_windows;
            CREATE TABLE analysis_windows (
                flag_id      TEXT COLLATE "C" NOT NULL,
                environment  TEXT COLLATE "C" NOT NULL,
                token        TEXT NOT NULL,
                PRIMARY KEY (flag_id, environment)
            );
            ALTER TABLE anomalies ADD COLUMN environment TEXT COLLATE "C" NOT NULL DEFAULT '';
            UPDATE anomalies SET environment = f.target_environment FROM feature_flags f WHERE f.id = anomalies.flag_id;
            CREATE INDEX ix_anomalies_environment ON anomalies(environment, id);
            ALTER TABLE predictions ADD COLUMN environment TEXT COLLATE "C" NOT NULL DEFAULT '';
            UPDATE predictions SET environment = f.target_environment FROM feature_flags f WHERE f.id = predictions.flag_id;
            """),
        new(200, "conversation message ids and sources", """
            ALTER TABLE conversations ADD COLUMN message_id TEXT NULL;
            ALTER TABLE conversations ADD COLUMN source TEXT NULL;
            """, """
            ALTER TABLE conversations ADD COLUMN message_id TEXT COLLATE "C" NULL;
            ALTER TABLE conversations ADD COLUMN source TEXT NULL;
            """),
        // the environment scope of the key that started a chat session (null: an unscoped key); FlagScope keeps a
        // session, its messages and its live events to keys of that scope
        new(201, "chat session environment", """
            ALTER TABLE chat_sessions ADD COLUMN environment TEXT NULL;
            """, """
            ALTER TABLE chat_sessions ADD COLUMN environment TEXT COLLATE "C" NULL;
            """),
        // access: API keys (only a hash of each secret), their own audit trail, and the key that acted on each audited row
        // every change gets its place in one order across the deployment; rows logged before this step are numbered
        // in id order (ids are time-ordered), so an upgraded database has a feed from its first change
        new(400, "change feed: revisions and outbox", """
            ALTER TABLE flag_changes ADD COLUMN revision INTEGER NULL;
            UPDATE flag_changes SET revision = r.n
              FROM (SELECT id, ROW_NUMBER() OVER (ORDER BY id) AS n FROM flag_changes) AS r WHERE flag_changes.id = r.id;
            CREATE UNIQUE INDEX ux_flag_changes_revision ON flag_changes(revision);
            CREATE TABLE feed_revision (
                id        INTEGER PRIMARY KEY CHECK (id = 1),
                revision  INTEGER NOT NULL
            );
            INSERT INTO feed_revision(id, revision) SELECT 1, COUNT(*) FROM flag_changes;
            CREATE TABLE flag_outbox (
                revision       INTEGER PRIMARY KEY,
                flag_id        TEXT NOT NULL,
                environment    TEXT NOT NULL,
                payload        TEXT NOT NULL,
                created_at     INTEGER NOT NULL,
                lease_owner    TEXT NULL,
                lease_until    INTEGER NOT NULL,
                dispatched_at  INTEGER NULL
            );
            CREATE INDEX ix_flag_outbox_undispatched ON flag_outbox(dispatched_at, lease_until);
            """, """
            ALTER TABLE flag_changes ADD COLUMN revision BIGINT NULL;
            UPDATE flag_changes SET revision = r.n
              FROM (SELECT id, ROW_NUMBER() OVER (ORDER BY id) AS n FROM flag_changes) AS r WHERE flag_changes.id = r.id;
            CREATE UNIQUE INDEX ux_flag_changes_revision ON flag_changes(revision);
            CREATE TABLE feed_revision (
                id        BIGINT PRIMARY KEY CHECK (id = 1),
                revision  BIGINT NOT NULL
            );
            INSERT INTO feed_revision(id, revision) SELECT 1, COUNT(*) FROM flag_changes;
            CREATE TABLE flag_outbox (
                revision       BIGINT PRIMARY KEY,
                flag_id        TEXT COLLATE "C" NOT NULL,
                environment    TEXT COLLATE "C" NOT NULL,
                payload        TEXT NOT NULL,
                created_at     BIGINT NOT NULL,
                lease_owner    TEXT NULL,
                lease_until    BIGINT NOT NULL,
                dispatched_at  BIGINT NULL
            );
            CREATE INDEX ix_flag_outbox_undispatched ON flag_outbox(dispatched_at, lease_until);
            """),
        new(500, "api keys", """
            CREATE TABLE api_keys (
                id            TEXT PRIMARY KEY,
                prefix        TEXT NOT NULL,
                secret_hash   BLOB NOT NULL,
                name          TEXT NOT NULL,
                role          TEXT NOT NULL,
                environment   TEXT NULL,
                created_by    TEXT NOT NULL,
                created_at    INTEGER NOT NULL,
                last_used_at  INTEGER NULL,
                revoked_at    INTEGER NULL
            );
            CREATE INDEX ix_api_keys_prefix ON api_keys(prefix);

            CREATE TABLE api_key_events (
                id              TEXT PRIMARY KEY,
                key_id          TEXT NOT NULL,
                action          TEXT NOT NULL,
                actor_key_id    TEXT NULL,
                actor_name      TEXT NOT NULL,
                timestamp       INTEGER NOT NULL
            );
            CREATE INDEX ix_api_key_events_key ON api_key_events(key_id, timestamp);
            """, """
            CREATE TABLE api_keys (
                id            TEXT COLLATE "C" PRIMARY KEY,
                prefix        TEXT COLLATE "C" NOT NULL,
                secret_hash   BYTEA NOT NULL,
                name          TEXT NOT NULL,
                role          TEXT COLLATE "C" NOT NULL,
                environment   TEXT COLLATE "C" NULL,
                created_by    TEXT NOT NULL,
                created_at    BIGINT NOT NULL,
                last_used_at  BIGINT NULL,
                revoked_at    BIGINT NULL
            );
            CREATE INDEX ix_api_keys_prefix ON api_keys(prefix);

            CREATE TABLE api_key_events (
                id              TEXT COLLATE "C" PRIMARY KEY,
                key_id          TEXT COLLATE "C" NOT NULL,
                action          TEXT COLLATE "C" NOT NULL,
                actor_key_id    TEXT COLLATE "C" NULL,
                actor_name      TEXT NOT NULL,
                timestamp       BIGINT NOT NULL
            );
            CREATE INDEX ix_api_key_events_key ON api_key_events(key_id, timestamp);
            """),
        new(501, "actor of audited rows", """
            ALTER TABLE flag_changes ADD COLUMN actor_key_id TEXT NULL;
            ALTER TABLE flag_changes ADD COLUMN actor_name TEXT NULL;
            ALTER TABLE anomalies ADD COLUMN acknowledged_by_key_id TEXT NULL;
            ALTER TABLE anomalies ADD COLUMN acknowledged_by_name TEXT NULL;
            ALTER TABLE conversations ADD COLUMN actor_key_id TEXT NULL;
            ALTER TABLE conversations ADD COLUMN actor_name TEXT NULL;
            """, """
            ALTER TABLE flag_changes ADD COLUMN actor_key_id TEXT COLLATE "C" NULL;
            ALTER TABLE flag_changes ADD COLUMN actor_name TEXT NULL;
            ALTER TABLE anomalies ADD COLUMN acknowledged_by_key_id TEXT COLLATE "C" NULL;
            ALTER TABLE anomalies ADD COLUMN acknowledged_by_name TEXT NULL;
            ALTER TABLE conversations ADD COLUMN actor_key_id TEXT COLLATE "C" NULL;
            ALTER TABLE conversations ADD COLUMN actor_name TEXT NULL;
            """),
        // evaluation: the OpenFeature key (case-sensitive, defaults to the name), default/off variant and targeting.
        // `variants` was reserved as an array and never evaluated; such arrays move to legacy_variants, kept as
        // stored, and the flag serves the default on/off variants.
        new(600, "evaluation: flag key, variants, targeting", """
            ALTER TABLE feature_flags ADD COLUMN flag_key TEXT NULL;
            ALTER TABLE feature_flags ADD COLUMN default_variant TEXT NULL;
            ALTER TABLE feature_flags ADD COLUMN off_variant TEXT NULL;
            ALTER TABLE feature_flags ADD COLUMN targeting TEXT NULL;
            ALTER TABLE feature_flags ADD COLUMN legacy_variants TEXT NULL;
            UPDATE feature_flags SET legacy_variants = variants, variants = NULL WHERE json_valid(variants) AND json_type(variants) = 'array';
            UPDATE feature_flags SET flag_key = name WHERE flag_key IS NULL;
            CREATE UNIQUE INDEX ux_feature_flags_key ON feature_flags(flag_key);
            """, """
            ALTER TABLE feature_flags ADD COLUMN flag_key TEXT COLLATE "C" NULL;
            ALTER TABLE feature_flags ADD COLUMN default_variant TEXT COLLATE "C" NULL;
            ALTER TABLE feature_flags ADD COLUMN off_variant TEXT COLLATE "C" NULL;
            ALTER TABLE feature_flags ADD COLUMN targeting TEXT NULL;
            ALTER TABLE feature_flags ADD COLUMN legacy_variants TEXT NULL;
            UPDATE feature_flags SET legacy_variants = variants, variants = NULL
                WHERE variants IS NOT NULL AND jsonb_typeof(variants::jsonb) = 'array';
            UPDATE feature_flags SET flag_key = name WHERE flag_key IS NULL;
            CREATE UNIQUE INDEX ux_feature_flags_key ON feature_flags(flag_key);
            """),
        // evaluation: served variants per flag and minute, written in batches by the exposure flusher
        new(601, "evaluation: exposures", """
            CREATE TABLE flag_exposures (
                flag_id  TEXT NOT NULL,
                variant  TEXT NOT NULL,
                minute   INTEGER NOT NULL,
                count    INTEGER NOT NULL,
                PRIMARY KEY (flag_id, variant, minute)
            );
            """, """
            CREATE TABLE flag_exposures (
                flag_id  TEXT COLLATE "C" NOT NULL,
                variant  TEXT COLLATE "C" NOT NULL,
                minute   BIGINT NOT NULL,
                count    BIGINT NOT NULL,
                PRIMARY KEY (flag_id, variant, minute)
            );
            """),
        // envdata (issue 26 item 3): exposures are counted per environment served; the counts before this step are their
        // flag's home's. SQLite cannot change a primary key, so the table is rebuilt (on both stores, alike)
        new(602, "evaluation: exposures per environment", """
            ALTER TABLE flag_exposures RENAME TO flag_exposures_before_environments;
            CREATE TABLE flag_exposures (
                flag_id      TEXT NOT NULL,
                environment  TEXT NOT NULL,
                variant      TEXT NOT NULL,
                minute       INTEGER NOT NULL,
                count        INTEGER NOT NULL,
                PRIMARY KEY (flag_id, environment, variant, minute)
            );
            INSERT INTO flag_exposures(flag_id, environment, variant, minute, count)
                SELECT e.flag_id, COALESCE((SELECT f.target_environment FROM feature_flags f WHERE f.id = e.flag_id), ''), e.variant, e.minute, e.count
                FROM flag_exposures_before_environments e;
            DROP TABLE flag_exposures_before_environments;
            """, """
            ALTER TABLE flag_exposures RENAME TO flag_exposures_before_environments;
            ALTER TABLE flag_exposures_before_environments RENAME CONSTRAINT flag_exposures_pkey TO flag_exposures_before_environments_pkey;
            CREATE TABLE flag_exposures (
                flag_id      TEXT COLLATE "C" NOT NULL,
                environment  TEXT COLLATE "C" NOT NULL,
                variant      TEXT COLLATE "C" NOT NULL,
                minute       BIGINT NOT NULL,
                count        BIGINT NOT NULL,
                PRIMARY KEY (flag_id, environment, variant, minute)
            );
            INSERT INTO flag_exposures(flag_id, environment, variant, minute, count)
                SELECT e.flag_id, COALESCE(f.target_environment, ''), e.variant, e.minute, e.count
                FROM flag_exposures_before_environments e LEFT JOIN feature_flags f ON f.id = e.flag_id;
            DROP TABLE flag_exposures_before_environments;
            """),
        // telemetry (700–799): the variant a sample's requests were served, and the variant an anomaly is about
        new(700, "metric sample variants", """
            ALTER TABLE impact_metrics ADD COLUMN variant TEXT NULL;
            """, """
            ALTER TABLE impact_metrics ADD COLUMN variant TEXT COLLATE "C" NULL;
            """),
        new(701, "anomaly variants", """
            ALTER TABLE anomalies ADD COLUMN variant TEXT NULL;
            """, """
            ALTER TABLE anomalies ADD COLUMN variant TEXT COLLATE "C" NULL;
            """),
        // rollouts: staged plans (the newest row per flag is its plan) and scheduled flag changes; a schedule is
        // claimed by a conditional UPDATE of fired_at inside the write transaction that applies it, so it fires once
        new(900, "rollout plans and flag schedules", """
            CREATE TABLE rollout_plans (
                id                TEXT PRIMARY KEY,
                flag_id           TEXT NOT NULL,
                stages            TEXT NOT NULL,
                state             TEXT NOT NULL,
                current_stage     INTEGER NOT NULL,
                started_at        INTEGER NULL,
                stage_started_at  INTEGER NULL,
                reason            TEXT NULL,
                created_by        TEXT NOT NULL,
                created_at        INTEGER NOT NULL,
                updated_at        INTEGER NOT NULL,
                version           INTEGER NOT NULL
            );
            CREATE INDEX ix_rollout_plans_flag ON rollout_plans(flag_id, created_at);
            CREATE INDEX ix_rollout_plans_state ON rollout_plans(state);

            CREATE TABLE flag_schedules (
                id                  TEXT PRIMARY KEY,
                flag_id             TEXT NOT NULL,
                action              TEXT NOT NULL,
                rollout_percentage  REAL NULL,
                run_at              INTEGER NOT NULL,
                created_by          TEXT NOT NULL,
                created_at          INTEGER NOT NULL,
                fired_at            INTEGER NULL,
                outcome             TEXT NULL
            );
            CREATE INDEX ix_flag_schedules_flag ON flag_schedules(flag_id, run_at);
            CREATE INDEX ix_flag_schedules_due ON flag_schedules(fired_at, run_at);
            """, """
            CREATE TABLE rollout_plans (
                id                TEXT COLLATE "C" PRIMARY KEY,
                flag_id           TEXT COLLATE "C" NOT NULL,
                stages            TEXT NOT NULL,
                state             TEXT COLLATE "C" NOT NULL,
                current_stage     BIGINT NOT NULL,
                started_at        BIGINT NULL,
                stage_started_at  BIGINT NULL,
                reason            TEXT NULL,
                created_by        TEXT NOT NULL,
                created_at        BIGINT NOT NULL,
                updated_at        BIGINT NOT NULL,
                version           BIGINT NOT NULL
            );
            CREATE INDEX ix_rollout_plans_flag ON rollout_plans(flag_id, created_at);
            CREATE INDEX ix_rollout_plans_state ON rollout_plans(state);

            CREATE TABLE flag_schedules (
                id                  TEXT COLLATE "C" PRIMARY KEY,
                flag_id             TEXT COLLATE "C" NOT NULL,
                action              TEXT COLLATE "C" NOT NULL,
                rollout_percentage  DOUBLE PRECISION NULL,
                run_at              BIGINT NOT NULL,
                created_by          TEXT NOT NULL,
                created_at          BIGINT NOT NULL,
                fired_at            BIGINT NULL,
                outcome             TEXT NULL
            );
            CREATE INDEX ix_flag_schedules_flag ON flag_schedules(flag_id, run_at);
            CREATE INDEX ix_flag_schedules_due ON flag_schedules(fired_at, run_at);
            """),
        new(901, "rollout guardrails and evidence wait", """
            ALTER TABLE rollout_plans ADD COLUMN guardrails TEXT NULL;
            ALTER TABLE rollout_plans ADD COLUMN evidence_wait_factor INTEGER NULL;
            """, """
            ALTER TABLE rollout_plans ADD COLUMN guardrails TEXT NULL;
            ALTER TABLE rollout_plans ADD COLUMN evidence_wait_factor BIGINT NULL;
            """),
        // envdata (issue 26 item 3): one plan per flag and environment, schedules act on one environment's
        // configuration; the rows before this step are their flag's home's
        new(902, "rollouts per environment", """
            ALTER TABLE rollout_plans ADD COLUMN environment TEXT NOT NULL DEFAULT '';
            UPDATE rollout_plans SET environment = COALESCE((SELECT f.target_environment FROM feature_flags f WHERE f.id = rollout_plans.flag_id), '');
            CREATE INDEX ix_rollout_plans_flag_env ON rollout_plans(flag_id, environment, created_at);
            ALTER TABLE flag_schedules ADD COLUMN environment TEXT NOT NULL DEFAULT '';
            UPDATE flag_schedules SET environment = COALESCE((SELECT f.target_environment FROM feature_flags f WHERE f.id = flag_schedules.flag_id), '');
            """, """
            ALTER TABLE rollout_plans ADD COLUMN environment TEXT COLLATE "C" NOT NULL DEFAULT '';
            UPDATE rollout_plans SET environment = f.target_environment FROM feature_flags f WHERE f.id = rollout_plans.flag_id;
            CREATE INDEX ix_rollout_plans_flag_env ON rollout_plans(flag_id, environment, created_at);
            ALTER TABLE flag_schedules ADD COLUMN environment TEXT COLLATE "C" NOT NULL DEFAULT '';
            UPDATE flag_schedules SET environment = f.target_environment FROM feature_flags f WHERE f.id = flag_schedules.flag_id;
            """),
        // webhooks (1000–1099): subscriptions, one delivery row per (webhook, event) — the unique dedupe key makes a
        // repeated feed revision a no-op — delivered in seq order per webhook, and every attempt with its status and duration
        new(1000, "webhooks", """
            CREATE TABLE webhooks (
                id                    TEXT PRIMARY KEY,
                url                   TEXT NOT NULL,
                events                TEXT NOT NULL,
                environments          TEXT NULL,
                secret                TEXT NOT NULL,
                format                TEXT NOT NULL,
                enabled               INTEGER NOT NULL,
                disabled_reason       TEXT NULL,
                consecutive_failures  INTEGER NOT NULL,
                created_by            TEXT NOT NULL,
                created_at            INTEGER NOT NULL,
                updated_at            INTEGER NOT NULL
            );
            CREATE TABLE webhook_deliveries (
                seq              INTEGER PRIMARY KEY AUTOINCREMENT,
                id               TEXT NOT NULL UNIQUE,
                webhook_id       TEXT NOT NULL,
                dedupe_key       TEXT NOT NULL,
                event            TEXT NOT NULL,
                payload          TEXT NOT NULL,
                state            TEXT NOT NULL,
                attempts         INTEGER NOT NULL,
                next_attempt_at  INTEGER NOT NULL,
                lease_owner      TEXT NULL,
                lease_until      INTEGER NULL,
                last_status      INTEGER NULL,
                created_at       INTEGER NOT NULL,
                delivered_at     INTEGER NULL,
                UNIQUE (webhook_id, dedupe_key)
            );
            CREATE INDEX ix_webhook_deliveries_due ON webhook_deliveries(state, webhook_id, seq);
            CREATE TABLE webhook_attempts (
                id            TEXT PRIMARY KEY,
                delivery_id   TEXT NOT NULL,
                webhook_id    TEXT NOT NULL,
                attempted_at  INTEGER NOT NULL,
                status_code   INTEGER NULL,
                duration_ms   REAL NOT NULL,
                error         TEXT NULL
            );
            CREATE INDEX ix_webhook_attempts_delivery ON webhook_attempts(delivery_id, attempted_at);
            """, """
            CREATE TABLE webhooks (
                id                    TEXT COLLATE "C" PRIMARY KEY,
                url                   TEXT NOT NULL,
                events                TEXT NOT NULL,
                environments          TEXT NULL,
                secret                TEXT NOT NULL,
                format                TEXT COLLATE "C" NOT NULL,
                enabled               BOOLEAN NOT NULL,
                disabled_reason       TEXT NULL,
                consecutive_failures  BIGINT NOT NULL,
                created_by            TEXT NOT NULL,
                created_at            BIGINT NOT NULL,
                updated_at            BIGINT NOT NULL
            );
            CREATE TABLE webhook_deliveries (
                seq              BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
                id               TEXT COLLATE "C" NOT NULL UNIQUE,
                webhook_id       TEXT COLLATE "C" NOT NULL,
                dedupe_key       TEXT COLLATE "C" NOT NULL,
                event            TEXT COLLATE "C" NOT NULL,
                payload          TEXT NOT NULL,
                state            TEXT COLLATE "C" NOT NULL,
                attempts         BIGINT NOT NULL,
                next_attempt_at  BIGINT NOT NULL,
                lease_owner      TEXT NULL,
                lease_until      BIGINT NULL,
                last_status      BIGINT NULL,
                created_at       BIGINT NOT NULL,
                delivered_at     BIGINT NULL,
                UNIQUE (webhook_id, dedupe_key)
            );
            CREATE INDEX ix_webhook_deliveries_due ON webhook_deliveries(state, webhook_id, seq);
            CREATE TABLE webhook_attempts (
                id            TEXT COLLATE "C" PRIMARY KEY,
                delivery_id   TEXT COLLATE "C" NOT NULL,
                webhook_id    TEXT COLLATE "C" NOT NULL,
                attempted_at  BIGINT NOT NULL,
                status_code   BIGINT NULL,
                duration_ms   DOUBLE PRECISION NOT NULL,
                error         TEXT NULL
            );
            CREATE INDEX ix_webhook_attempts_delivery ON webhook_attempts(delivery_id, attempted_at);
            """),
        // webhooks: whether a row's secret is sealed (AES-GCM, WebhookSecrets); rows from 1000 are sealed by the app at start
        new(1001, "webhook secrets sealed", """
            ALTER TABLE webhooks ADD COLUMN secret_sealed INTEGER NOT NULL DEFAULT 0;
            """, """
            ALTER TABLE webhooks ADD COLUMN secret_sealed BOOLEAN NOT NULL DEFAULT FALSE;
            """),
        // webhooks: the notice outbox (anomaly, rollout and change-request events enlisted in the transactions that commit
        // them; seq from a one-row counter taken at enlistment, so seqs become visible in commit order with no gaps), and
        // the pump's cursors over the two sources it follows in order (the flag feed by revision, notices by seq)
        new(1002, "webhook notices and cursors", """
            CREATE TABLE webhook_notices (
                seq          INTEGER PRIMARY KEY,
                type         TEXT NOT NULL,
                environment  TEXT NULL,
                flag_id      TEXT NULL,
                flag_key     TEXT NULL,
                flag_name    TEXT NULL,
                actor        TEXT NULL,
                data         TEXT NOT NULL,
                at           INTEGER NOT NULL
            );
            CREATE TABLE webhook_notice_seq (id INTEGER PRIMARY KEY, seq INTEGER NOT NULL);
            INSERT INTO webhook_notice_seq(id, seq) VALUES (1, 0);
            CREATE TABLE webhook_cursors (source TEXT PRIMARY KEY, reached INTEGER NOT NULL);
            INSERT INTO webhook_cursors(source, reached) VALUES ('flags', 0), ('notices', 0);
            """, """
            CREATE TABLE webhook_notices (
                seq          BIGINT PRIMARY KEY,
                type         TEXT COLLATE "C" NOT NULL,
                environment  TEXT COLLATE "C" NULL,
                flag_id      TEXT COLLATE "C" NULL,
                flag_key     TEXT NULL,
                flag_name    TEXT NULL,
                actor        TEXT NULL,
                data         TEXT NOT NULL,
                at           BIGINT NOT NULL
            );
            CREATE TABLE webhook_notice_seq (id BIGINT PRIMARY KEY, seq BIGINT NOT NULL);
            INSERT INTO webhook_notice_seq(id, seq) VALUES (1, 0);
            CREATE TABLE webhook_cursors (source TEXT COLLATE "C" PRIMARY KEY, reached BIGINT NOT NULL);
            INSERT INTO webhook_cursors(source, reached) VALUES ('flags', 0), ('notices', 0);
            """),
        // change requests (1100–1199, issue 27): a change held for a second person's approval in a protected environment,
        // owned by ChangeRequests/. Two columns of other folders' tables ride along, each the smallest hook of the feature:
        // flag_changes.approved_by (Flags' change log names who approved the change it applied) and
        // environments.approval_exemptions (Environments: which safety actions skip approval there; NULL = the default, all).
        new(1100, "change requests", """
            CREATE TABLE change_requests (
                id                  TEXT PRIMARY KEY,
                environment         TEXT NOT NULL,
                flag_id             TEXT NOT NULL,
                flag_key            TEXT NOT NULL,
                flag_name           TEXT NOT NULL,
                target              TEXT NOT NULL,
                patch               TEXT NOT NULL,
                diff                TEXT NOT NULL,
                base_version        INTEGER NOT NULL,
                changed_by          TEXT NOT NULL,
                author_key_id       TEXT NULL,
                author_name         TEXT NOT NULL,
                author_role         TEXT NOT NULL,
                author_environment  TEXT NULL,
                state               TEXT NOT NULL,
                created_at          INTEGER NOT NULL,
                decided_at          INTEGER NULL,
                decided_by_key_id   TEXT NULL,
                decided_by_name     TEXT NULL,
                comment             TEXT NULL,
                applied_change_id   TEXT NULL
            );
            CREATE INDEX ix_change_requests_state ON change_requests(state, environment, id);
            ALTER TABLE flag_changes ADD COLUMN approved_by TEXT NULL;
            ALTER TABLE environments ADD COLUMN approval_exemptions TEXT NULL;
            """, """
            CREATE TABLE change_requests (
                id                  TEXT COLLATE "C" PRIMARY KEY,
                environment         TEXT COLLATE "C" NOT NULL,
                flag_id             TEXT COLLATE "C" NOT NULL,
                flag_key            TEXT COLLATE "C" NOT NULL,
                flag_name           TEXT COLLATE "C" NOT NULL,
                target              TEXT COLLATE "C" NOT NULL,
                patch               TEXT NOT NULL,
                diff                TEXT NOT NULL,
                base_version        BIGINT NOT NULL,
                changed_by          TEXT NOT NULL,
                author_key_id       TEXT COLLATE "C" NULL,
                author_name         TEXT NOT NULL,
                author_role         TEXT COLLATE "C" NOT NULL,
                author_environment  TEXT COLLATE "C" NULL,
                state               TEXT COLLATE "C" NOT NULL,
                created_at          BIGINT NOT NULL,
                decided_at          BIGINT NULL,
                decided_by_key_id   TEXT COLLATE "C" NULL,
                decided_by_name     TEXT NULL,
                comment             TEXT NULL,
                applied_change_id   TEXT COLLATE "C" NULL
            );
            CREATE INDEX ix_change_requests_state ON change_requests(state, environment, id);
            ALTER TABLE flag_changes ADD COLUMN approved_by TEXT NULL;
            ALTER TABLE environments ADD COLUMN approval_exemptions TEXT NULL;
            """),
        // issue 27's gap: how a schedule was let into a protected environment (an approved change request, an admin's
        // bypass), so one stored while its environment was open cannot fire there unapproved once it is protected
        new(1101, "schedule approvals", """
            ALTER TABLE flag_schedules ADD COLUMN approval TEXT NULL;
            """, """
            ALTER TABLE flag_schedules ADD COLUMN approval TEXT NULL;
            """),
    ];
}
