import type { Db } from './db';

interface Migration {
  version: number;
  name: string;
  sql: string;
}

/** Append only: a released migration is never edited, a change is a new version. */
export const migrations: Migration[] = [
  {
    version: 1,
    name: 'incidents, conversations, cards, audit',
    sql: `
      CREATE TABLE incidents (
        key              text PRIMARY KEY,
        arm_id           text NOT NULL,
        number           integer NOT NULL,
        severity         text NOT NULL,
        status           text NOT NULL,
        title            text NOT NULL,
        created_at       timestamptz NOT NULL,
        last_modified_at timestamptz,
        content_hash     text NOT NULL,
        version          integer NOT NULL DEFAULT 1,
        data             jsonb NOT NULL,
        received_at      timestamptz NOT NULL DEFAULT now(),
        updated_at       timestamptz NOT NULL DEFAULT now()
      );
      CREATE INDEX incidents_by_number ON incidents (number);
      CREATE INDEX incidents_open ON incidents (status, created_at DESC);

      CREATE TABLE conversations (
        id          text PRIMARY KEY,
        kind        text NOT NULL,
        tenant_id   text,
        team_id     text,
        name        text,
        service_url text NOT NULL,
        reference   jsonb NOT NULL,
        subscribed  boolean NOT NULL DEFAULT false,
        updated_at  timestamptz NOT NULL DEFAULT now()
      );

      CREATE TABLE incident_cards (
        incident_key    text NOT NULL REFERENCES incidents (key),
        conversation_id text NOT NULL REFERENCES conversations (id),
        activity_id     text,
        desired_version integer NOT NULL,
        sent_version    integer NOT NULL DEFAULT 0,
        attempts        integer NOT NULL DEFAULT 0,
        next_attempt_at timestamptz NOT NULL DEFAULT now(),
        claimed_until   timestamptz,
        last_error      text,
        sent_at         timestamptz,
        PRIMARY KEY (incident_key, conversation_id)
      );
      CREATE INDEX incident_cards_due ON incident_cards (next_attempt_at) WHERE sent_version < desired_version;

      CREATE TABLE audit (
        id      bigserial PRIMARY KEY,
        at      timestamptz NOT NULL DEFAULT now(),
        actor   text NOT NULL,
        action  text NOT NULL,
        target  text,
        details jsonb NOT NULL DEFAULT '{}'
      );
      CREATE FUNCTION audit_is_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN RAISE EXCEPTION 'audit is append-only'; END $$;
      CREATE TRIGGER audit_append_only BEFORE UPDATE OR DELETE ON audit
        FOR EACH ROW EXECUTE FUNCTION audit_is_append_only();
    `,
  },
  {
    version: 2,
    name: 'enrichment results; card update spacing',
    sql: `
      CREATE TABLE enrichments (
        incident_key text NOT NULL REFERENCES incidents (key),
        entity_kind  text NOT NULL,
        entity_value text NOT NULL,
        source       text NOT NULL,
        -- json, not jsonb: the facts keep the order the provider gave them, which the card shows
        result       json NOT NULL,
        at           timestamptz NOT NULL DEFAULT now(),
        PRIMARY KEY (incident_key, entity_kind, entity_value, source)
      );
      ALTER TABLE incident_cards ADD COLUMN requested_at timestamptz NOT NULL DEFAULT now();
    `,
  },
  {
    version: 3,
    name: 'on-call pages and their notices; Teams users',
    sql: `
      CREATE TABLE teams_users (
        aad_object_id text PRIMARY KEY,
        teams_id      text NOT NULL,
        name          text,
        tenant_id     text,
        service_url   text NOT NULL,
        updated_at    timestamptz NOT NULL DEFAULT now()
      );

      CREATE TABLE pages (
        id           bigserial PRIMARY KEY,
        incident_key text NOT NULL REFERENCES incidents (key),
        state        text NOT NULL CHECK (state IN ('open', 'acknowledged', 'resolved')),
        level        integer NOT NULL DEFAULT 0,
        next_at      timestamptz,
        reason       text NOT NULL,
        version      integer NOT NULL DEFAULT 1,
        acked_by     text,
        acked_at     timestamptz,
        resolved_at  timestamptz,
        created_at   timestamptz NOT NULL DEFAULT now()
      );
      -- One page per incident: a second process, a replay or a later enrichment cannot page twice.
      CREATE UNIQUE INDEX pages_one_per_incident ON pages (incident_key);
      CREATE INDEX pages_due ON pages (next_at) WHERE state = 'open';

      CREATE TABLE page_notices (
        id              bigserial PRIMARY KEY,
        page_id         bigint NOT NULL REFERENCES pages (id),
        level           integer NOT NULL,
        channel         text NOT NULL CHECK (channel IN ('teams', 'mention', 'pagerduty', 'webhook')),
        target          text NOT NULL,
        conversation_id text,
        activity_id     text,
        desired_version integer NOT NULL DEFAULT 1,
        sent_version    integer NOT NULL DEFAULT 0,
        attempts        integer NOT NULL DEFAULT 0,
        next_attempt_at timestamptz NOT NULL DEFAULT now(),
        claimed_until   timestamptz,
        last_error      text,
        UNIQUE (page_id, level, channel, target)
      );
      CREATE INDEX page_notices_due ON page_notices (next_attempt_at) WHERE sent_version < desired_version;
    `,
  },
  {
    version: 4,
    name: 'actions and their attempts',
    sql: `
      CREATE TABLE actions (
        id              uuid PRIMARY KEY,
        incident_key    text REFERENCES incidents (key),
        kind            text NOT NULL,
        target          jsonb NOT NULL,
        undo_of         uuid REFERENCES actions (id),
        state           text NOT NULL CHECK (state IN ('requested', 'approved', 'queued', 'running', 'succeeded', 'failed', 'rejected', 'expired', 'cancelled')),
        requested_by    text NOT NULL,
        approvals       jsonb NOT NULL DEFAULT '[]',
        approvals_needed integer NOT NULL,
        decided_by      text,
        expires_at      timestamptz NOT NULL,
        result          jsonb,
        attempts        integer NOT NULL DEFAULT 0,
        next_attempt_at timestamptz,
        claimed_until   timestamptz,
        version         integer NOT NULL DEFAULT 1,
        created_at      timestamptz NOT NULL DEFAULT now(),
        updated_at      timestamptz NOT NULL DEFAULT now()
      );
      CREATE INDEX actions_runnable ON actions (next_attempt_at) WHERE state IN ('approved', 'running');
      CREATE INDEX actions_by_incident ON actions (incident_key, created_at);

      CREATE TABLE action_attempts (
        id         bigserial PRIMARY KEY,
        action_id  uuid NOT NULL REFERENCES actions (id),
        attempt    integer NOT NULL,
        started_at timestamptz NOT NULL,
        ended_at   timestamptz,
        outcome    text,
        detail     jsonb NOT NULL DEFAULT '{}'
      );
    `,
  },
  {
    version: 5,
    name: 'action requests: one open request per target, names, chat cards, timings',
    sql: `
      ALTER TABLE actions ADD COLUMN target_key text;
      ALTER TABLE actions ADD COLUMN requested_by_name text;
      ALTER TABLE actions ADD COLUMN decided_reason text;
      ALTER TABLE actions ADD COLUMN card jsonb;
      ALTER TABLE actions ADD COLUMN started_at timestamptz;
      ALTER TABLE actions ADD COLUMN ended_at timestamptz;
      -- A double click, two analysts or two replicas asking for the same thing get one request.
      CREATE UNIQUE INDEX actions_one_open_per_target ON actions (COALESCE(incident_key, ''), target_key)
        WHERE state IN ('requested', 'approved', 'queued', 'running');
      CREATE INDEX actions_open ON actions (expires_at) WHERE state = 'requested';
      CREATE INDEX action_attempts_by_action ON action_attempts (action_id, attempt);
    `,
  },
  {
    version: 6,
    name: 'actions: one standing Undo per action',
    sql: `
      -- Two clicks on Undo, or an old chat card's Undo after a new block, must not undo twice.
      CREATE UNIQUE INDEX actions_one_undo ON actions (undo_of)
        WHERE undo_of IS NOT NULL AND state NOT IN ('rejected', 'expired', 'cancelled', 'failed');
    `,
  },
  {
    version: 7,
    name: 'ingest cursors: where each poller has read up to, and which replica polls',
    sql: `
      -- One row per polled source (the SecurityIncident table). position is the ingestion time of
      -- the last row handled; the lease lets one replica poll at a time and passes on when it dies.
      CREATE TABLE ingest_cursors (
        name        text PRIMARY KEY,
        position    timestamptz NOT NULL,
        lease_owner text,
        lease_until timestamptz,
        updated_at  timestamptz NOT NULL DEFAULT now()
      );
    `,
  },
  {
    version: 8,
    name: 'storm digests: lower-severity cards folded into one card per channel',
    sql: `
      -- One digest card in one channel, queued and paced like an incident card. Its lines are the
      -- incident_cards rows that point at it; 'lines' counts them for the cap.
      CREATE TABLE digests (
        id              bigserial PRIMARY KEY,
        conversation_id text NOT NULL REFERENCES conversations (id),
        activity_id     text,
        lines           integer NOT NULL DEFAULT 0,
        last_folded_at  timestamptz NOT NULL DEFAULT now(),
        sealed_at       timestamptz,
        desired_version integer NOT NULL DEFAULT 0,
        sent_version    integer NOT NULL DEFAULT 0,
        attempts        integer NOT NULL DEFAULT 0,
        next_attempt_at timestamptz NOT NULL DEFAULT now(),
        claimed_until   timestamptz,
        last_error      text,
        requested_at    timestamptz NOT NULL DEFAULT now(),
        sent_at         timestamptz,
        created_at      timestamptz NOT NULL DEFAULT now()
      );
      -- At most one digest per channel takes new lines.
      CREATE UNIQUE INDEX digests_one_open ON digests (conversation_id) WHERE sealed_at IS NULL;
      CREATE INDEX digests_by_conversation ON digests (conversation_id, id DESC);
      CREATE INDEX digests_due ON digests (next_attempt_at) WHERE sent_version < desired_version;

      -- A card delivered through a digest; promoted_at: it later rose to High and got its own card.
      ALTER TABLE incident_cards ADD COLUMN digest_id bigint REFERENCES digests (id);
      ALTER TABLE incident_cards ADD COLUMN promoted_at timestamptz;
      CREATE INDEX incident_cards_by_digest ON incident_cards (digest_id) WHERE digest_id IS NOT NULL;

      -- Vigil's own verdict (Critical/High) from enrichment: such incidents never wait in a digest.
      ALTER TABLE incidents ADD COLUMN assessed_severity text;
    `,
  },
  {
    version: 9,
    name: 'incident numbers are 64-bit',
    sql: `
      -- Sentinel's incidentNumber is an int64; Vigil takes up to 2^53 - 1 (a JS number, exactly).
      ALTER TABLE incidents ALTER COLUMN number TYPE bigint;
    `,
  },
  {
    version: 10,
    name: 'Teams send budgets shared by every replica',
    sql: `
      -- One row per budget (a conversation, a tenant): locked while a send is counted, so two
      -- processes never both take the last slot of a window.
      CREATE TABLE teams_send_budgets (key text PRIMARY KEY);
      -- Every send Vigil made, by budget, as the database's clock saw it; older than an hour is pruned.
      CREATE TABLE teams_sends (key text NOT NULL, sent_at timestamptz NOT NULL);
      CREATE INDEX teams_sends_by_key ON teams_sends (key, sent_at DESC);
    `,
  },
  {
    version: 11,
    name: 'durable jobs: the effects that must follow a state change',
    sql: `
      -- One row per effect (a Sentinel comment, a label, a card redraw, a Teams send): written in
      -- the transaction of the change it follows, claimed with a lease, retried until done or dead.
      CREATE TABLE jobs (
        id           bigserial PRIMARY KEY,
        kind         text NOT NULL,
        -- Chosen by the writer: the same effect asked for twice is one job.
        key          text NOT NULL UNIQUE,
        payload      jsonb NOT NULL,
        state        text NOT NULL DEFAULT 'queued' CHECK (state IN ('queued', 'done', 'dead')),
        -- Bumped when a done or running job is asked for again, so a run of an older ask cannot complete the newer one.
        generation   integer NOT NULL DEFAULT 1,
        attempts     integer NOT NULL DEFAULT 0,
        due_at       timestamptz NOT NULL DEFAULT now(),
        leased_until timestamptz,
        last_error   text,
        created_at   timestamptz NOT NULL DEFAULT now(),
        finished_at  timestamptz
      );
      CREATE INDEX jobs_due ON jobs (due_at) WHERE state = 'queued';
    `,
  },
  {
    version: 13,
    name: 'routing: the incidents each channel asked for',
    sql: `
      -- routed: the channel chose what it gets (its channel_routes, possibly none); until then it gets everything.
      ALTER TABLE conversations ADD COLUMN routed boolean NOT NULL DEFAULT false;
      -- One rule a channel subscribed to, in the form the rule parser reads back (formatRouteRule).
      CREATE TABLE channel_routes (
        id              bigserial PRIMARY KEY,
        conversation_id text NOT NULL REFERENCES conversations (id),
        rule            text NOT NULL,
        created_by      text,
        created_at      timestamptz NOT NULL DEFAULT now(),
        UNIQUE (conversation_id, rule)
      );
    `,
  },
  {
    version: 14,
    name: 'routing: the channels the workspaces file pins',
    sql: `
      -- The workspaces file's routes (a workspace's channels), replaced at every start; chat cannot remove them.
      -- No reference to conversations: a channel may be listed before Vigil is installed in it.
      CREATE TABLE pinned_routes (
        conversation_id text NOT NULL,
        rule            text NOT NULL,
        PRIMARY KEY (conversation_id, rule)
      );
    `,
  },
  {
    version: 15,
    name: 'the case (ServiceNow, Jira) opened for an incident',
    sql: `
      -- One case per incident: the case.create job writes it once the case system has the record.
      CREATE TABLE incident_cases (
        incident_key text PRIMARY KEY REFERENCES incidents (key) ON DELETE CASCADE,
        system       text NOT NULL,
        case_id      text NOT NULL,
        number       text NOT NULL,
        url          text NOT NULL,
        state        text NOT NULL CHECK (state IN ('open', 'resolved')),
        opened_at    timestamptz NOT NULL DEFAULT now(),
        updated_at   timestamptz NOT NULL DEFAULT now()
      );
    `,
  },
  {
    version: 16,
    name: 'incidents by Defender XDR id',
    sql: `
      -- Sentinel's copy and Graph's copy of one Defender XDR incident are found by its id and stored as one.
      CREATE INDEX incidents_by_xdr_id ON incidents ((data->>'xdrId')) WHERE data->>'xdrId' IS NOT NULL;
    `,
  },
];

/** Arbitrary, fixed: replicas starting together take turns migrating. */
const MIGRATION_LOCK = 72_101_001;

/**
 * Brings the schema up to date. Safe to run from several processes at once: each migration runs
 * in a transaction under an advisory lock, and an applied version is skipped.
 */
export async function migrate(db: Db): Promise<number[]> {
  // Under the lock too: CREATE TABLE IF NOT EXISTS is not safe against itself, and two replicas
  // starting at once on a new database would both try (one fails on pg_type's unique index).
  await db.transaction(async (tx) => {
    await tx.query('SELECT pg_advisory_xact_lock($1)', [MIGRATION_LOCK]);
    await tx.query(`CREATE TABLE IF NOT EXISTS schema_migrations (version integer PRIMARY KEY, name text NOT NULL, applied_at timestamptz NOT NULL DEFAULT now())`);
  });
  const applied: number[] = [];
  for (const m of migrations) {
    const ran = await db.transaction(async (tx) => {
      await tx.query('SELECT pg_advisory_xact_lock($1)', [MIGRATION_LOCK]);
      const done = await tx.query('SELECT 1 FROM schema_migrations WHERE version = $1', [m.version]);
      if (done.rowCount > 0) return false;
      await tx.exec(m.sql);
      await tx.query('INSERT INTO schema_migrations (version, name) VALUES ($1, $2)', [m.version, m.name]);
      return true;
    });
    if (ran) applied.push(m.version);
  }
  return applied;
}
